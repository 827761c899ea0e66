// The sequence runner: one coroutine per DUT on the harness clock, results through the recorder.
//
//  - Everything that can be checked is checked before any device is touched: the fixture, the
//    sequence with its --set overrides, the database. Those problems throw config_error /
//    hilt::db::db_error and the run is not started.
//  - Each DUT runs setup, then main, then cleanup. Cleanup always runs (also after a failure, an
//    error or an interrupt). A failed or errored DUT stops only its own main (stop_dut policy);
//    the others go on.
//  - Station steps (`station: true`: a chamber set point, a shared supply) run once for the bench:
//    every DUT waits at the step until all DUTs still walking the sequence have arrived, the
//    last to arrive runs it, and its verdict counts for each of them.
//  - Shared instruments are locked (step_context::async_lock) so that two DUTs never drive one
//    instrument at the same time.
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
#include "hilt/step.hpp"

namespace hilt {

// What the runner reports while it runs, for live progress (harness/cli renders it).
struct progress_event {
  enum class kind {
    step_started,   // a DUT (or the station, slot 0) started a step
    step_finished,  // ... and finished it: verdict, message, duration
    step_waiting,   // a running step said how long it will take (until)
    dut_finished,   // a DUT finished all its sections: verdict is its overall verdict
    message,        // a line for the operator (interrupts, station waits)
    tick,           // nothing happened, but time passed (real time: once a second)
  };
  kind what = kind::message;
  int slot = 0;      // 0: the station
  std::string dut;   // DUT name
  std::string path;  // step path "main/2/measure"
  std::string step;  // step display name
  hilt::verdict verdict = verdict::info;
  std::string message;
  double t = 0;                 // harness time now, seconds since the run started
  std::optional<double> until;  // step_waiting: expected end, harness seconds
  double duration = 0;          // step_finished: harness seconds the step took
};

struct run_options {
  std::filesystem::path sequence;
  std::filesystem::path fixture;  // empty: default_fixture_path()
  std::filesystem::path db;
  std::map<std::string, std::string> overrides;  // --set NAME=VALUE
  std::optional<clock_mode> clock;               // default: the fixture's
  std::optional<std::uint64_t> seed;             // default: the fixture's
  std::string operator_name;                     // default: $USER
  bool handle_signals = true;                    // install SIGINT / SIGTERM handlers
  // Called on the runner's thread for every progress event; may be empty.
  std::function<void(const progress_event&)> progress;
};

struct run_summary {
  std::int64_t run_id = 0;
  int exit_code = 0;   // hilt::exit_code
  std::string status;  // passed, failed, error, interrupted
  std::filesystem::path log_file;
  double duration_s = 0;       // harness clock
  double wall_duration_s = 0;  // wall clock
};

// Runs a sequence on a bench. Throws config_error / db_error for bad input (nothing touched).
run_summary run_sequence(const run_options& opts, const driver_registry& registry);

}  // namespace hilt
