// hilt run SEQUENCE [--fixture F] [--db PATH] [--set NAME=VALUE]... [--clock real|virtual] [--seed
// N]
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "cli.hpp"
#include "hilt/db/error.hpp"
#include "hilt/error.hpp"
#include "hilt/runner.hpp"

namespace hilt::cli {

std::map<std::string, std::string> parse_sets(const std::vector<std::string>& sets);
int print_run_summary(const std::string& db_path, std::int64_t run_id);

namespace {

std::string hms(double s) {
  return format_duration(
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s < 0 ? 0 : s)));
}

// Live progress. On a terminal: a block with one line per DUT (current step, time in it, time
// left and ETA when the step said how long it waits), redrawn at most ten times a second, with
// failures and operator messages printed above it. Otherwise: one plain line per finished step.
class progress_display {
 public:
  explicit progress_display(bool tty) : tty_(tty) {}

  void on(const progress_event& e) {
    now_ = e.t;
    switch (e.what) {
      case progress_event::kind::step_started: {
        auto& l = lines_[e.slot];
        l.dut = e.dut;
        l.step = describe(e);
        l.since = e.t;
        l.until.reset();
        l.note.clear();
        break;
      }
      case progress_event::kind::step_waiting: {
        auto& l = lines_[e.slot];
        l.until = e.until;
        l.note = e.message;
        break;
      }
      case progress_event::kind::step_finished: {
        const std::string line =
            fmt::format("{}: {} -> {}{} ({:.3f} s)", who(e), describe(e), to_string(e.verdict),
                        e.message.empty() ? "" : ": " + e.message, e.duration);
        if (!tty_) {
          print_line(line);
        } else if (e.verdict == verdict::fail || e.verdict == verdict::error) {
          print_line(line);  // failures stay on screen above the live block
        }
        lines_[e.slot].until.reset();
        break;
      }
      case progress_event::kind::dut_finished: {
        auto& l = lines_[e.slot];
        l.dut = e.dut;
        l.finished = true;
        l.step = fmt::format("done: {}{}", to_string(e.verdict),
                             e.message.empty() ? "" : " (" + e.message + ")");
        print_line(fmt::format("{}: finished, {}{}", who(e), to_string(e.verdict),
                               e.message.empty() ? "" : ": " + e.message));
        break;
      }
      case progress_event::kind::message:
        if (e.slot == 0 || !tty_)
          print_line(e.slot ? who(e) + ": " + e.message : e.message);
        else
          lines_[e.slot].note = e.message;
        break;
      case progress_event::kind::tick:
        break;
    }
    redraw(false);
  }

  void close() { redraw(true); }

 private:
  struct line {
    std::string dut, step, note;
    double since = 0;
    std::optional<double> until;
    bool finished = false;
  };

  static std::string who(const progress_event& e) {
    if (e.slot == 0) return "station";
    if (e.dut == fmt::format("slot{}", e.slot)) return fmt::format("slot {}", e.slot);
    return fmt::format("slot {} {}", e.slot, e.dut);
  }
  static std::string describe(const progress_event& e) {
    const auto type = e.path.substr(e.path.rfind('/') + 1);
    return e.step.empty() || e.step == type ? e.path : fmt::format("{} ({})", e.path, e.step);
  }

  void print_line(const std::string& text) {
    erase();
    fmt::print("{}\n", text);
    std::fflush(stdout);
  }

  void erase() {
    if (!tty_ || drawn_ == 0) return;
    fmt::print("\x1b[{}F\x1b[J", drawn_);  // up to the block's first line, clear to the end
    drawn_ = 0;
  }

  void redraw(bool force) {
    if (!tty_) return;
    const auto wall = std::chrono::steady_clock::now();
    if (!force && wall - last_ < std::chrono::milliseconds(100)) return;
    last_ = wall;
    erase();
    std::size_t running = 0;
    for (const auto& [slot, l] : lines_)
      running += l.finished ? 0 : 1;
    fmt::print("harness time {} · {} of {} running\n", hms(now_), running, lines_.size());
    for (const auto& [slot, l] : lines_) {
      std::string timing;
      if (!l.finished) {
        timing = fmt::format("  {} in step", hms(now_ - l.since));
        if (l.until && *l.until > now_) {
          timing += fmt::format(", {} left (ETA harness {})", hms(*l.until - now_), hms(*l.until));
        }
      }
      fmt::print("  {:<9} {:<10} {}{}{}\n", slot == 0 ? "station" : fmt::format("slot {}", slot),
                 l.dut, l.step, timing, l.note.empty() ? "" : "  [" + l.note + "]");
    }
    drawn_ = 1 + static_cast<int>(lines_.size());
    std::fflush(stdout);
  }

  bool tty_;
  double now_ = 0;
  std::map<int, line> lines_;
  int drawn_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

command_fn add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run",
      "Run a sequence on a bench and record every result in the database; prints a "
      "summary at the end");
  struct opts {
    std::string sequence, fixture, db, clock, operator_name;
    std::vector<std::string> sets;
    std::optional<std::uint64_t> seed;
    bool quiet = false;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("sequence", o->sequence, "Sequence file (YAML)")->required();
  cmd->add_option("--fixture,-f", o->fixture,
                  "Fixture file (default: the one the sequence names with 'fixture:', else "
                  "$HILT_FIXTURE, else the emulated bench in fixtures/)");
  cmd->add_option("--db", o->db, "Database file (default: $HILT_DB, else ./hilt.db)");
  cmd->add_option("--set", o->sets, "Override a sequence parameter, NAME=VALUE (repeatable)");
  cmd->add_option("--clock", o->clock, "Clock: real or virtual (default: the fixture's)")
      ->check(CLI::IsMember({"real", "virtual"}));
  cmd->add_option("--seed", o->seed, "Seed for the emulation (default: the fixture's)");
  cmd->add_option("--operator", o->operator_name, "Operator recorded with the run (default $USER)");
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines, only the summary");
  return [o](app_state& st) {
    st.load_drivers();
    for (const auto& p : st.plugin_problems) {
      error_line(fmt::format("plugin {} skipped: {}", p.file, p.message));
    }
    run_options ro;
    ro.sequence = o->sequence;
    ro.fixture = o->fixture;
    ro.db = resolve_db(o->db);
    ro.overrides = parse_sets(o->sets);
    if (!o->clock.empty()) ro.clock = parse_clock_mode(o->clock);
    ro.seed = o->seed;
    ro.operator_name = o->operator_name;
    auto display = std::make_shared<progress_display>(::isatty(STDOUT_FILENO) == 1);
    if (!o->quiet) ro.progress = [display](const progress_event& e) { display->on(e); };
    run_summary s;
    try {
      s = run_sequence(ro, st.registry);
    } catch (const db::db_error& e) {
      error_line(e.what());
      return exit_code::bad_input;
    }
    if (!o->quiet) display->close();
    fmt::print("\n");
    print_run_summary(ro.db.string(), s.run_id);
    fmt::print("run {} {} in {:.2f} s wall time (harness time {:.1f} s); database {}; log {}\n",
               s.run_id, s.status, s.wall_duration_s, s.duration_s, ro.db.string(),
               s.log_file.string());
    return s.exit_code;
  };
}

command_fn add_resume(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "resume",
      "Continue a run that never recorded its end (killed, crashed, power lost): re-runs it "
      "from its stored sequence, fixture, parameters and seed in virtual time and writes only "
      "the results the database does not hold yet");
  struct opts {
    std::int64_t run = 0;
    std::string db;
    bool quiet = false;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("run", o->run, "Run id (see `hilt runs`)")->required();
  cmd->add_option("--db", o->db, "Database file (default: $HILT_DB, else ./hilt.db)");
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines, only the summary");
  return [o](app_state& st) {
    st.load_drivers();
    for (const auto& p : st.plugin_problems) {
      error_line(fmt::format("plugin {} skipped: {}", p.file, p.message));
    }
    run_options ro;
    ro.db = resolve_db(o->db);
    if (!std::filesystem::exists(ro.db)) {
      error_line(fmt::format("{}: no such database", ro.db.string()));
      return exit_code::bad_input;
    }
    ro.resume = o->run;
    auto display = std::make_shared<progress_display>(::isatty(STDOUT_FILENO) == 1);
    if (!o->quiet) ro.progress = [display](const progress_event& e) { display->on(e); };
    run_summary s;
    try {
      s = run_sequence(ro, st.registry);
    } catch (const db::db_error& e) {
      error_line(e.what());
      return exit_code::bad_input;
    }
    if (!o->quiet) display->close();
    fmt::print("\n");
    print_run_summary(ro.db.string(), s.run_id);
    fmt::print(
        "run {} resumed: {} in {:.2f} s wall time (harness time {:.1f} s); {} rows were "
        "already stored and kept{}; database {}; log {}\n",
        s.run_id, s.status, s.wall_duration_s, s.duration_s, s.replayed_rows,
        s.replay_diverged ? " (the re-run DIVERGED from them: see the log)" : "", ro.db.string(),
        s.log_file.string());
    return s.exit_code;
  };
}

}  // namespace hilt::cli
