// hilt run SEQUENCE [--fixture F] [--db PATH] [--set NAME=VALUE]... [--clock real|virtual] [--seed N]
#include <fmt/format.h>
#include <unistd.h>

#include "cli.hpp"
#include "hilt/db/error.hpp"
#include "hilt/error.hpp"
#include "hilt/runner.hpp"

namespace hilt::cli {

std::map<std::string, std::string> parse_sets(const std::vector<std::string>& sets);
int print_run_summary(const std::string& db_path, std::int64_t run_id);

command_fn add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run", "Run a sequence on a bench and record every result in the database; prints a "
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
                  "Fixture file (default: $HILT_FIXTURE, else the emulated bench in fixtures/)");
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
    if (!o->quiet) {
      ro.progress = [](const std::string& line) {
        fmt::print("{}\n", line);
        std::fflush(stdout);
      };
    }
    run_summary s;
    try {
      s = run_sequence(ro, st.registry);
    } catch (const db::db_error& e) {
      error_line(e.what());
      return exit_code::bad_input;
    }
    fmt::print("\n");
    print_run_summary(ro.db.string(), s.run_id);
    fmt::print("run {} {} in {:.2f} s wall time (harness time {:.1f} s); database {}; log {}\n",
               s.run_id, s.status, s.wall_duration_s, s.duration_s, ro.db.string(),
               s.log_file.string());
    return s.exit_code;
  };
}

}  // namespace hilt::cli
