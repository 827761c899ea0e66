// hilt/db/recorder.hpp — the batched, thread-safe writer that records a run.
//
// Contract
// --------
// * The recorder opens its OWN read-write connection (creating and migrating the database as
//   hilt::db::database does) and runs one writer thread on it.
// * Producer calls (begin_run, add_*, end_*, metric, add_sample, ...) never wait for the disk:
//   they validate their arguments, assign ids and append to an in-memory queue. Any number of
//   producer threads may call them concurrently.
// * Ids of runs, devices, DUTs, steps, measurements, events and metrics are assigned in the
//   calling thread, under the queue lock, from counters initialised to MAX(id) + 1 when the
//   recorder opened. So an id is usable the moment it is returned (e.g. as a step's dut_id), and
//   since every row is queued before its id is handed out, a row is always written after the
//   rows it refers to. Consequence: only ONE recorder may write a given database file at a time
//   (two would hand out the same ids; the second's rows would be refused as constraint errors).
// * The writer drains the queue in batches, one transaction per batch, with prepared
//   statements. A batch is committed at least every `flush_interval` (default 200 ms) while
//   anything is queued, and sooner when `batch_rows` rows are waiting; so a recorded row is
//   durable (synchronous=FULL, WAL) within about flush_interval plus one commit — well under
//   1 s — without any flush() call, and other connections see it from then on.
// * Within a batch, rows other than samples are written in the order they were queued, then
//   the samples, sorted by their key (an index-friendly order; see the samples table).
// * Back-pressure: when `max_queued_rows` rows are waiting (a producer outrunning the disk,
//   e.g. a virtual-time soak) producer calls block until the writer has taken the queue. They
//   never block on a writer that is failing (see Errors), nor at real-time rates. The bound
//   also bounds durability latency under overload: at most about two queues' worth of writing
//   (measured on the reference machine with the default 2^17 rows: 0.35-0.5 s).
// * Nothing queued is lost on normal destruction: the destructor writes everything still
//   queued and joins the writer.
//
// Errors
// ------
// * Invalid arguments (malformed JSON, an unknown clock mode, a metric re-registered with a
//   different unit, a call after close()) throw db_error(misuse) from the producer call itself.
// * The writer never drops a failure silently. A row the database refuses (a foreign key to a
//   row that does not exist, a CHECK, a duplicate sample key) is skipped — the rest of its batch
//   is still committed — and logged. A batch that cannot be committed (disk full, I/O error,
//   write lock held elsewhere past the busy timeout) is rolled back, logged, and retried, with
//   back-off, ahead of newer rows: its rows stay in memory, nothing is dropped while the process
//   lives.
// * The first error not yet reported is kept, and thrown (as db_error) by the next flush() or
//   close(); throwing reports it, so a later flush() succeeds once the problem is gone.
// * The destructor never throws: it retries a failing batch a few times and then logs, at
//   error level, exactly how many rows are lost, along with any error never reported.
//
// Logging: spdlog logger "db" (see hilt/db/database.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "hilt/db/database.hpp"
#include "hilt/db/records.hpp"
#include "hilt/db/types.hpp"

namespace hilt::db {

struct recorder_options {
  // The writer commits whatever is queued at least this often (the durability latency).
  std::chrono::milliseconds flush_interval{200};
  // Busy timeout of the writer's connection (another writer holding the lock).
  std::chrono::milliseconds busy_timeout{2000};
  // Wake the writer early once this many rows are queued.
  std::size_t batch_rows = 65536;
  // Producers block while this many rows are queued (and the writer is healthy). Also the
  // largest batch: bigger batches write faster but a row waits longer for its commit.
  std::size_t max_queued_rows = std::size_t{1} << 17;
  // Page cache of the writer's connection. The samples key spreads each batch over one leaf
  // page per series, so a cache that holds them all keeps large soaks fast.
  int cache_size_kib = 32768;
  // WAL pages written before SQLite checkpoints automatically (SQLite's default is 1000); the
  // WAL file grows to about this many 4 KiB pages. 0 keeps SQLite's default.
  int wal_autocheckpoint_pages = 8192;
  // When shutting down with a batch that keeps failing: attempts before giving up on it.
  int shutdown_attempts = 3;
};

struct recorder_stats {
  std::uint64_t rows_written = 0;     // rows inserted or updated by committed batches
  std::uint64_t samples_written = 0;  // of which samples
  std::uint64_t rows_refused = 0;     // rows the database refused (each logged)
  std::uint64_t batches = 0;          // committed transactions
  std::uint64_t batch_failures = 0;   // transactions rolled back (their rows retried)
  // Longest time from a row being queued to its batch being committed: the durability latency.
  std::chrono::microseconds max_batch_latency{0};
  // Longest time the writer spent writing and committing one batch.
  std::chrono::microseconds max_commit_time{0};
  std::size_t queued_rows = 0;      // rows waiting now (queued, not yet taken by the writer)
  std::size_t max_queued_rows = 0;  // the most that were ever waiting
};

struct replay_summary {
  std::uint64_t rows = 0;     // committed rows of the run, samples included
  std::uint64_t samples = 0;  // of which samples
  double last_t = 0;          // the latest harness time committed (samples, steps, events)
};

class recorder {
 public:
  // Opens (creates, migrates) the database and starts the writer. Throws db_error as
  // hilt::db::database does.
  explicit recorder(const std::filesystem::path& path, const recorder_options& options = {});
  // Writes everything queued, stops the writer. Never throws (see Errors).
  ~recorder();
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;

  const std::filesystem::path& path() const noexcept;

  // ---- runs
  // Records a run as 'running'. Computes sequence_sha256 / fixture_sha256; generates the uuid
  // and started_at when empty. Returns the run id.
  std::int64_t begin_run(run_record run);
  // Records how the run ended (status, closed_cleanly, exit code, durations, ended_at).
  void end_run(std::int64_t run_id, run_end end);

  // ---- devices and DUTs
  std::int64_t add_run_device(run_device_record device);
  std::int64_t add_dut(dut_record dut);
  // Rewrites a DUT's descriptive columns and status (e.g. once its identity has been read).
  // dut.run_id and dut.slot are ignored: a DUT does not move.
  void update_dut(std::int64_t dut_id, dut_record dut);
  void set_dut_status(std::int64_t dut_id, dut_status status);

  // ---- steps
  // Records a step as 'running'. Returns the step id.
  std::int64_t begin_step(step_record step);
  // ended_at is stamped now.
  void end_step(std::int64_t step_id, step_verdict verdict, double ended_t,
                std::optional<std::int64_t> error_code = std::nullopt,
                std::string_view error_message = {});

  // ---- results
  std::int64_t add_measurement(measurement_record measurement);
  void add_ber_counts(ber_record counts);
  std::int64_t add_event(event_record event);

  // ---- time series
  // The id of metric `name`, registering it (name, unit) the first time. Cached: cheap to call
  // repeatedly, though callers on hot paths should keep the id. Throws db_error(misuse) when
  // the name is already recorded with a different unit.
  std::int64_t metric(std::string_view name, std::string_view unit);
  // The hot path: one lock, one append to a reused vector, no allocation in steady state.
  // dut_id = station_dut for station-level samples, lane = module_lane for module-level ones.
  void add_sample(std::int64_t run_id, std::int64_t dut_id, std::int64_t metric_id, int lane,
                  double t, double value);

  // ---- resuming an interrupted run by replay
  // The runner resumes a run that did not close cleanly by running it again from the start with
  // the same seed in virtual time, which re-creates, in the same order, every producer call the
  // killed process made. The writer commits whole batches in queue order, so what the database
  // holds of the run is exactly a prefix of that stream, per table. begin_replay(run) loads that
  // prefix: from then on the first N calls of each kind for the run return the committed row's
  // id and queue nothing (begin_step, add_measurement, add_event, add_run_device, add_dut,
  // add_ber_counts, add_sample; end_step of a step whose end is committed), and later calls are
  // written as usual. Updates (update_dut, set_dut_status, end_run) are idempotent and always
  // written. Queues the event `resumed` (kind forced to 'run_resumed', t at least the last
  // committed harness time) and then `preamble`: events about the resumption itself, which are
  // not replayed. Events of kinds 'run_resumed' and 'calibration_overdue' (today's date decides
  // those, not the replay) are left out of the prefix, so a run can be resumed many times.
  // Requires: no other producer calls for other runs meanwhile; the database not written by
  // anyone else (see the id contract above).
  replay_summary begin_replay(std::int64_t run_id, event_record resumed,
                              std::vector<event_record> preamble = {});
  // True while committed rows are still waiting to be matched.
  bool replaying() const;

  // ---- control
  // Blocks until everything queued before the call is committed. Throws the first unreported
  // writer error (and then returns early: a failing batch may still be waiting for a retry).
  void flush();
  // flush(), then stops the writer. Throws the first unreported writer error. Producer calls
  // after close() throw db_error(misuse). The destructor calls close() without throwing.
  void close();

  recorder_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hilt::db
