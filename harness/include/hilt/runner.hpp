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
//  - A DUT that has finished its sections (passed, failed or errored) has its module put in its
//    safe state at once, not when the last DUT finishes.
//  - Every safe-state action is recorded as an event (kind safe_state) with its outcome and how
//    long it took; so is an interrupt (kind interrupted) and every overdue calibration (kind
//    calibration_overdue; a fixture policy of `refuse` stops the run before anything is touched).
//  - Every instrument (not the DUT modules: the identify step reads those) is asked for its
//    identity at the start; what it reports is recorded with the run's devices.
//  - SIGINT / SIGTERM: the first cancels the running steps, runs cleanup and safe state, and ends
//    the run as 'interrupted' (exit 130). A second one stops waiting for cleanup: safe state is
//    applied at once and the process exits 130. Both signals are blocked from the start of
//    run_sequence until the handlers are in place, so an early Ctrl-C is not lost either.
//  - While a run is open, `hilt-logs/run-N.lock` next to the database is locked (flock), so that
//    a resume can tell a live run from a dead one; the kernel drops the lock if the process dies.
//
// Resume (run_options::resume): continues a run that never recorded its end (the process was
// killed, crashed or lost power). The run is started again from the sequence and fixture text
// stored with it, with its parameters and seed, in virtual time: an emulated bench in virtual time
// is deterministic, so running it again re-creates every result in the same order, and also
// restores every emulated device's state exactly. The recorder matches the re-created rows to
// the ones the database already holds (see hilt::db::recorder::begin_replay) and writes only what
// is missing, so the finished run holds exactly what an uninterrupted run would have stored.
// Refused, with a message that says why: a run that closed (passed, failed, error, or interrupted
// and cleaned up), a run still held by a live process, and real-time runs (their devices' state
// cannot be re-created by replay; see docs/cli.md).
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
  // Resume this run of `db` instead of starting one (sequence, fixture, overrides, clock and seed
  // are then taken from the stored run and must be left empty).
  std::optional<std::int64_t> resume;
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
  // Resume: rows the database already held and that were matched instead of written again.
  std::uint64_t replayed_rows = 0;
  bool replay_diverged = false;  // the re-run did not re-create what was stored (see the log)
};

// Runs a sequence on a bench. Throws config_error / db_error for bad input (nothing touched).
run_summary run_sequence(const run_options& opts, const driver_registry& registry);

}  // namespace hilt
