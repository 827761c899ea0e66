// The sequence runner: one coroutine per DUT on the harness clock, results through the recorder.
//
//  - Everything that can be checked is checked before any device is touched: the fixture, the
//    sequence with its --set overrides, the database. Those problems throw config_error /
//    hilt::db::db_error and the run is not started.
//  - Each DUT runs setup, then main, then cleanup. Cleanup always runs (also after a failure, an
//    error or an interrupt). A failed or errored DUT stops only its own main (stop_dut policy);
//    the others go on.
//  - Every step is recorded as it starts and ends (verdict, duration on the harness clock, error
//    code and message), every measurement with the limit it was judged against.
//  - At the end — normal, failure, error or interrupt — the bench is put in its safe state
//    (lasers dark, supplies off, chambers to their safe set point) before the run is closed.
//  - SIGINT / SIGTERM: the first cancels the running steps, runs cleanup and safe state, and ends
//    the run as 'interrupted' (exit 130). A second one stops waiting for cleanup: safe state is
//    applied at once and the process exits 130.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "hilt/clock.hpp"
#include "hilt/driver.hpp"

namespace hilt {

struct run_options {
  std::filesystem::path sequence;
  std::filesystem::path fixture;  // empty: default_fixture_path()
  std::filesystem::path db;
  std::map<std::string, std::string> overrides;  // --set NAME=VALUE
  std::optional<clock_mode> clock;               // default: the fixture's
  std::optional<std::uint64_t> seed;             // default: the fixture's
  std::string operator_name;                     // default: $USER
  bool handle_signals = true;                    // install SIGINT / SIGTERM handlers
  // Called for every finished step (plain progress lines); may be empty.
  std::function<void(const std::string& line)> progress;
};

struct run_summary {
  std::int64_t run_id = 0;
  int exit_code = 0;    // hilt::exit_code
  std::string status;   // passed, failed, error, interrupted
  std::filesystem::path log_file;
  double duration_s = 0;       // harness clock
  double wall_duration_s = 0;  // wall clock
};

// Runs a sequence on a bench. Throws config_error / db_error for bad input (nothing touched).
run_summary run_sequence(const run_options& opts, const driver_registry& registry);

}  // namespace hilt
