// hilt_recorder_bench — how close the recorder gets to SQLite's own insert speed.
//
// Side by side, on a fresh WAL database with the hilt schema each time:
//   plain_insert     a prepared INSERT into samples in a loop, all N rows in one transaction:
//                    the most SQLite can do with this schema and these settings;
//   recorder_samples recorder::add_sample for N rows from one producer thread, timed up to and
//                    including the final flush() (so every row is committed).
// Both write the same rows, interleaved over 640 series the way a soak produces them
// (4 DUTs x 20 metrics x 8 lanes, time advancing once per sweep over the series), with the same
// connection settings (synchronous=FULL, and the recorder's default page cache and WAL
// auto-checkpoint), so the ratio measures the recorder's machinery: queue, writer thread,
// batching into 200 ms / 2^17-row transactions, sorting. Wall-clock time: the recorder's
// writer thread is part of the cost. After the benchmarks the program prints
//   recorder/plain ratio: X
// (items per second of the recorder over those of the plain loop; the goal is >= 0.8).
// Build it in a release build (RelWithDebInfo): Debug numbers mean nothing.
#include <unistd.h>

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <benchmark/benchmark.h>

#include "hilt/db/database.hpp"
#include "hilt/db/recorder.hpp"

namespace {

constexpr int k_duts = 4;
constexpr int k_metrics = 20;
constexpr int k_lanes = 8;

const hilt::db::recorder_options k_recorder_options{};

// A fresh database path per iteration, removed (with -wal / -shm) afterwards.
class scratch_db {
 public:
  scratch_db() {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("hilt-recorder-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = dir_ / ("bench-" + std::to_string(counter++) + ".db");
  }
  ~scratch_db() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ec);
    }
    std::filesystem::remove(dir_, ec);  // only succeeds once empty
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

// Calls f(dut, metric, lane, t, value) for n samples in soak order.
template <typename F>
void for_each_sample(std::int64_t n, F&& f) {
  std::int64_t i = 0;
  for (double t = 0; i < n; t += 1.0) {
    for (int dut = 1; dut <= k_duts && i < n; ++dut) {
      for (int metric = 1; metric <= k_metrics && i < n; ++metric) {
        for (int lane = -1; lane < k_lanes - 1 && i < n; ++lane, ++i) {
          f(dut, metric, lane, t, static_cast<double>(i) * 0.5);
        }
      }
    }
  }
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::abort();
  }
}

void plain_insert(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    state.PauseTiming();
    {
      scratch_db scratch;
      hilt::db::database db(scratch.path(), {.cache_size_kib = k_recorder_options.cache_size_kib});
      db.exec("PRAGMA wal_autocheckpoint=" +
              std::to_string(k_recorder_options.wal_autocheckpoint_pages));
      sqlite3* h = db.handle();
      sqlite3_stmt* insert = nullptr;
      check(sqlite3_prepare_v2(h,
                               "INSERT INTO samples (run_id, dut_id, metric_id, lane, t, value) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                               -1, &insert, nullptr),
            h, "prepare");
      state.ResumeTiming();

      check(sqlite3_exec(h, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), h, "begin");
      for_each_sample(n, [&](int dut, int metric, int lane, double t, double value) {
        sqlite3_bind_int64(insert, 1, 1);
        sqlite3_bind_int64(insert, 2, dut);
        sqlite3_bind_int64(insert, 3, metric);
        sqlite3_bind_int(insert, 4, lane);
        sqlite3_bind_double(insert, 5, t);
        sqlite3_bind_double(insert, 6, value);
        check(sqlite3_step(insert), h, "insert");
        sqlite3_reset(insert);
      });
      check(sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr), h, "commit");

      state.PauseTiming();
      sqlite3_finalize(insert);
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void recorder_samples(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  hilt::db::recorder_stats last{};
  for (auto _ : state) {
    state.PauseTiming();
    {
      scratch_db scratch;
      hilt::db::recorder rec(scratch.path(), k_recorder_options);
      const std::int64_t run = rec.begin_run({.sequence_name = "bench"});
      for (int m = 1; m <= k_metrics; ++m)
        rec.metric("metric" + std::to_string(m), "V");
      rec.flush();
      state.ResumeTiming();

      for_each_sample(n, [&](int dut, int metric, int lane, double t, double value) {
        rec.add_sample(run, dut, metric, lane, t, value);
      });
      rec.flush();

      state.PauseTiming();
      last = rec.stats();
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["batches"] = static_cast<double>(last.batches);
  state.counters["max_batch_latency_ms"] =
      static_cast<double>(last.max_batch_latency.count()) / 1000.0;
}

constexpr std::int64_t k_rows = 1'000'000;
BENCHMARK(plain_insert)->Arg(k_rows)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(recorder_samples)
    ->Arg(k_rows)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Console output as usual, plus the items/s of each benchmark for the ratio.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const auto found = run.counters.find("items_per_second");
      if (found == run.counters.end() || run.aggregate_name == "stddev" ||
          run.aggregate_name == "cv") {
        continue;
      }
      // With --benchmark_repetitions the mean is what we compare; otherwise the single run.
      const std::string name = run.run_name.function_name;
      if (run.aggregate_name.empty() || run.aggregate_name == "mean") {
        if (run.aggregate_name == "mean" || !means_.count(name)) {
          rates_[name] = found->second.value;
          if (run.aggregate_name == "mean") means_[name] = true;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rates_;

 private:
  std::map<std::string, bool> means_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  const auto plain = reporter.rates_.find("plain_insert");
  const auto recorded = reporter.rates_.find("recorder_samples");
  if (plain != reporter.rates_.end() && recorded != reporter.rates_.end() && plain->second > 0) {
    std::printf("plain insert: %.0f samples/s, recorder: %.0f samples/s\n", plain->second,
                recorded->second);
    std::printf("recorder/plain ratio: %.2f\n", recorded->second / plain->second);
  }
  return 0;
}
