// hilt_runner_bench — what the sequence runner costs, end to end, on emulated benches in virtual
// time: hilt::run_sequence in this process (fixture, emulated devices behind their wires, the real
// CMIS driver, the recorder writing SQLite in WAL to a temporary file), exactly what `hilt run`
// does minus the command line. A scenario program that prints figures, not a pass/fail test:
//
//   (a) runner overhead per step: N trivial steps (`wait 0 s`, then `log`) on every DUT of the
//       default emulated bench (8 modules); µs of wall time per step per DUT, taken as the slope
//       between N = n1 and N = n2 so that start-up (fixture, emulation, database) cancels out;
//   (b) per stored sample: a thermal_soak dwell on the same bench with a 1 min interval, every
//       monitor of every DUT sampled (the CMIS monitor pages read over the emulated bus, one sample
//       row per reading); µs of wall time per sample row, as the slope between two dwell lengths;
//       once as `hilt run` does today (no module flags read registered) and once with the CMIS
//       driver's latched-flags read registered (one more page read per instant);
//   (c) soak speed: sequences/library/htol-soak.yaml (85 C, 10 min interval, drift limit) on
//       fixtures/soak-32.yaml and fixtures/soak-256.yaml, in virtual seconds per wall second —
//       for the whole run (start-up included) and as the slope between two soak lengths.
//
// Usage: hilt_runner_bench [--quick] [--only a|b|c]   (--quick: smaller sizes, a smoke run)
// Build it in a release build (RelWithDebInfo): Debug numbers mean nothing. The machine's other
// load shows up in wall time: compare figures taken under the same conditions.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/builtin_drivers.hpp"
#include "hilt/driver.hpp"
#include "hilt/log.hpp"
#include "hilt/runner.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path k_repo = HILT_REPO_DIR;

// A scratch directory for sequences and databases, removed at exit.
class scratch {
 public:
  scratch() {
    dir_ = fs::temp_directory_path() / ("hilt-runner-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  fs::path fresh_db() { return dir_ / ("run-" + std::to_string(++count_) + ".db"); }

 private:
  fs::path dir_;
  int count_ = 0;
};

long long count_rows(const fs::path& db, const char* table) {
  sqlite3* h = nullptr;
  long long n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    const std::string q = std::string("SELECT count(*) FROM ") + table;
    if (sqlite3_prepare_v2(h, q.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

struct outcome {
  double wall_s = 0;     // run_sequence, start to end (wall clock)
  double virtual_s = 0;  // harness time at the end
  long long steps = 0, samples = 0, events = 0;
  std::string status;
};

outcome run(scratch& s, const hilt::driver_registry& reg, const fs::path& sequence,
            const fs::path& fixture, std::map<std::string, std::string> overrides = {}) {
  hilt::run_options o;
  o.sequence = sequence;
  o.fixture = fixture;
  o.db = s.fresh_db();
  o.overrides = std::move(overrides);
  o.handle_signals = false;
  o.operator_name = "bench";
  const auto t0 = std::chrono::steady_clock::now();
  const hilt::run_summary r = hilt::run_sequence(o, reg);
  outcome out;
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.virtual_s = r.duration_s;
  out.status = r.status;
  out.steps = count_rows(o.db, "steps");
  out.samples = count_rows(o.db, "samples");
  out.events = count_rows(o.db, "events");
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"})
    fs::remove(o.db.string() + suffix, ec);
  return out;
}

// The best (least disturbed) of `reps` runs.
outcome best_of(int reps, scratch& s, const hilt::driver_registry& reg, const fs::path& seq,
                const fs::path& fixture, const std::map<std::string, std::string>& ov = {}) {
  outcome best;
  for (int i = 0; i < reps; ++i) {
    outcome o = run(s, reg, seq, fixture, ov);
    if (i == 0 || o.wall_s < best.wall_s) best = o;
  }
  return best;
}

std::string steps_sequence(std::string_view step, int n) {
  std::string y = "sequence: step-overhead\nmain:\n";
  for (int i = 0; i < n; ++i) {
    y += step == "wait" ? "  - { step: wait, duration: 0 s }\n"
                        : "  - { step: log, message: step " + std::to_string(i) + " }\n";
  }
  return y;
}

void bench_steps(scratch& s, const hilt::driver_registry& reg, bool quick) {
  const fs::path fixture = k_repo / "fixtures/emulated-bench.yaml";
  const int duts = 8;
  const int n1 = quick ? 50 : 200, n2 = quick ? 250 : 2000;
  std::printf(
      "(a) runner overhead per step: %d DUTs (fixtures/emulated-bench.yaml), N = %d vs %d "
      "steps per DUT, best of 3\n",
      duts, n1, n2);
  for (const char* kind : {"wait", "log"}) {
    const auto a = s.write(std::string(kind) + "-a.yaml", steps_sequence(kind, n1));
    const auto b = s.write(std::string(kind) + "-b.yaml", steps_sequence(kind, n2));
    const outcome ra = best_of(3, s, reg, a, fixture);
    const outcome rb = best_of(3, s, reg, b, fixture);
    const double per_step_us = (rb.wall_s - ra.wall_s) / (n2 - n1) / duts * 1e6;
    std::printf(
        "    %-12s N=%-5d %8.3f s wall (%lld step rows)   N=%-5d %8.3f s wall (%lld step "
        "rows)  ->  %7.2f us per step per DUT  [%s]\n",
        kind == std::string_view("wait") ? "wait 0 s" : "log", n1, ra.wall_s, ra.steps, n2,
        rb.wall_s, rb.steps, per_step_us, rb.status.c_str());
  }
}

void bench_samples(scratch& s, const hilt::driver_registry& reg, bool quick) {
  const fs::path fixture = k_repo / "fixtures/emulated-bench.yaml";
  const auto seq = s.write("sample-bench.yaml",
                           "sequence: sample-bench\n"
                           "parameters:\n"
                           "  hours: { default: 10 h }\n"
                           "main:\n"
                           "  - step: thermal_soak\n"
                           "    chamber: chamber1\n"
                           "    profile: [{ dwell: \"${hours}\" }]\n"
                           "    interval: 1 min\n");
  const std::string h1 = quick ? "2 h" : "10 h", h2 = quick ? "6 h" : "50 h";
  std::printf(
      "(b) per stored sample: thermal_soak dwell, 1 min interval, 8 DUTs "
      "(fixtures/emulated-bench.yaml), %s vs %s, best of 3\n",
      h1.c_str(), h2.c_str());
  auto one = [&](const char* label) {
    const outcome ra = best_of(3, s, reg, seq, fixture, {{"hours", h1}});
    const outcome rb = best_of(3, s, reg, seq, fixture, {{"hours", h2}});
    const double rows = static_cast<double>(rb.samples - ra.samples);
    const double instants = rows > 0 ? (rb.virtual_s - ra.virtual_s) / 60.0 * 8 : 0;
    std::printf(
        "    %-26s %lld rows %7.3f s   %lld rows %7.3f s  ->  %6.2f us per sample row "
        "(%.1f rows per DUT instant, %.1f us per DUT instant)  [%s]\n",
        label, ra.samples, ra.wall_s, rb.samples, rb.wall_s, (rb.wall_s - ra.wall_s) / rows * 1e6,
        instants > 0 ? rows / instants : 0,
        instants > 0 ? (rb.wall_s - ra.wall_s) / instants * 1e6 : 0, rb.status.c_str());
  };
  one("CMIS flags read at every sample");
}

void bench_soak(scratch& s, const hilt::driver_registry& reg, bool quick) {
  const fs::path seq = k_repo / "sequences/library/htol-soak.yaml";
  std::printf(
      "(c) soak speed: sequences/library/htol-soak.yaml (ramp to 85 C at 2 C/min, "
      "stabilise, dwell; 10 min interval), one run each\n");
  struct size_case {
    const char* fixture;
    int duts;
    const char *h1, *h2;
  };
  const std::vector<size_case> cases =
      quick ? std::vector<size_case>{{"fixtures/soak-32.yaml", 32, "20 h", "60 h"},
                                     {"fixtures/soak-256.yaml", 256, "5 h", "15 h"}}
            : std::vector<size_case>{{"fixtures/soak-32.yaml", 32, "200 h", "1000 h"},
                                     {"fixtures/soak-256.yaml", 256, "50 h", "250 h"}};
  for (const auto& c : cases) {
    const outcome ra = run(s, reg, seq, k_repo / c.fixture, {{"hours", c.h1}});
    const outcome rb = run(s, reg, seq, k_repo / c.fixture, {{"hours", c.h2}});
    std::printf(
        "    %3d DUTs  dwell %-6s %9.0f virtual s in %7.2f s wall = %9.0f virtual s/s  "
        "(%lld sample rows)  [%s]\n",
        c.duts, c.h1, ra.virtual_s, ra.wall_s, ra.virtual_s / ra.wall_s, ra.samples,
        ra.status.c_str());
    std::printf(
        "    %3d DUTs  dwell %-6s %9.0f virtual s in %7.2f s wall = %9.0f virtual s/s  "
        "(%lld sample rows)  [%s]\n",
        c.duts, c.h2, rb.virtual_s, rb.wall_s, rb.virtual_s / rb.wall_s, rb.samples,
        rb.status.c_str());
    const double dv = rb.virtual_s - ra.virtual_s, dw = rb.wall_s - ra.wall_s;
    std::printf(
        "    %3d DUTs  in the dwell (slope): %9.0f virtual s per wall s = %.1f virtual h "
        "per wall s; %.2f us per sample row\n",
        c.duts, dv / dw, dv / dw / 3600, dw / static_cast<double>(rb.samples - ra.samples) * 1e6);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--only a|b|c]\n", argv[0]);
      return 2;
    }
  }
  hilt::log::init(spdlog::level::warn);
  hilt::driver_registry reg;
  hilt::register_builtin_drivers(reg);
  scratch s;
#ifdef NDEBUG
  std::printf("hilt_runner_bench (optimised build)\n");
#else
  std::printf(
      "hilt_runner_bench (NDEBUG not defined: a debug build, figures are not meaningful)\n");
#endif
  if (only.empty() || only == "a") bench_steps(s, reg, quick);
  if (only.empty() || only == "b") bench_samples(s, reg, quick);
  if (only.empty() || only == "c") bench_soak(s, reg, quick);
  return 0;
}
