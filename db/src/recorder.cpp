#include "hilt/db/recorder.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "hilt/db/sha256.hpp"
#include "hilt/db/util.hpp"
#include "log.hpp"
#include "sqlite_errors.hpp"

namespace hilt::db {

namespace {

using steady = std::chrono::steady_clock;

// A queued sample. Kept small and trivially copyable: the queue of these is the hot path.
struct sample_row {
  std::int64_t run_id;
  std::int64_t dut_id;
  std::int64_t metric_id;
  std::int32_t lane;
  std::uint32_t refused;  // set by the writer when the database refused the row: not retried
  double t;
  double value;
};

bool sample_key_less(const sample_row& a, const sample_row& b) noexcept {
  return std::tie(a.run_id, a.dut_id, a.metric_id, a.lane, a.t) <
         std::tie(b.run_id, b.dut_id, b.metric_id, b.lane, b.t);
}

// Every other kind of row is queued as one of these.
struct op_begin_run {
  std::int64_t id;
  run_record run;
  std::string sequence_sha256;
  std::string fixture_sha256;
};
struct op_end_run {
  std::int64_t id;
  run_end end;
};
struct op_add_device {
  std::int64_t id;
  run_device_record device;
};
struct op_add_dut {
  std::int64_t id;
  dut_record dut;
};
struct op_update_dut {
  std::int64_t id;
  dut_record dut;
};
struct op_dut_status {
  std::int64_t id;
  dut_status status;
};
struct op_begin_step {
  std::int64_t id;
  step_record step;
};
struct op_end_step {
  std::int64_t id;
  step_verdict verdict;
  double ended_t;
  std::string ended_at;
  std::optional<std::int64_t> error_code;
  std::string error_message;
};
struct op_measurement {
  std::int64_t id;
  measurement_record m;
};
struct op_ber {
  ber_record b;
};
struct op_metric {
  std::int64_t id;
  std::string name;
  std::string unit;
};
struct op_event {
  std::int64_t id;
  event_record e;
};

// std::monostate marks a row the database refused: it stays in place (so indices do not move)
// and is skipped if its batch is retried.
using op = std::variant<std::monostate, op_begin_run, op_end_run, op_add_device, op_add_dut,
                        op_update_dut, op_dut_status, op_begin_step, op_end_step, op_measurement,
                        op_ber, op_metric, op_event>;

// Result code for an UPDATE that matched no row (not an SQLite code).
constexpr int k_no_such_row = -1;

std::string describe(const op& o) {
  struct visitor {
    std::string operator()(const std::monostate&) const { return "refused row"; }
    std::string operator()(const op_begin_run& x) const {
      return "run " + std::to_string(x.id) + " (" + x.run.uuid + ")";
    }
    std::string operator()(const op_end_run& x) const {
      return "the end of run " + std::to_string(x.id);
    }
    std::string operator()(const op_add_device& x) const {
      return "device " + std::to_string(x.id) + " '" + x.device.name + "' of run " +
             std::to_string(x.device.run_id);
    }
    std::string operator()(const op_add_dut& x) const {
      return "DUT " + std::to_string(x.id) + " (slot " + std::to_string(x.dut.slot) + ") of run " +
             std::to_string(x.dut.run_id);
    }
    std::string operator()(const op_update_dut& x) const {
      return "the update of DUT " + std::to_string(x.id);
    }
    std::string operator()(const op_dut_status& x) const {
      return "the status of DUT " + std::to_string(x.id);
    }
    std::string operator()(const op_begin_step& x) const {
      return "step " + std::to_string(x.id) + " '" + x.step.path + "' of run " +
             std::to_string(x.step.run_id);
    }
    std::string operator()(const op_end_step& x) const {
      return "the end of step " + std::to_string(x.id);
    }
    std::string operator()(const op_measurement& x) const {
      return "measurement " + std::to_string(x.id) + " '" + x.m.name + "' of run " +
             std::to_string(x.m.run_id);
    }
    std::string operator()(const op_ber& x) const {
      return "BER counts of run " + std::to_string(x.b.run_id) + " lane " +
             std::to_string(x.b.lane) + " at t=" + std::to_string(x.b.t);
    }
    std::string operator()(const op_metric& x) const {
      return "metric " + std::to_string(x.id) + " '" + x.name + "'";
    }
    std::string operator()(const op_event& x) const {
      return "event " + std::to_string(x.id) + " '" + x.e.kind + "' of run " +
             std::to_string(x.e.run_id);
    }
  };
  return std::visit(visitor{}, o);
}

std::string describe(const sample_row& s) {
  return "sample (run " + std::to_string(s.run_id) + ", DUT " + std::to_string(s.dut_id) +
         ", metric " + std::to_string(s.metric_id) + ", lane " + std::to_string(s.lane) +
         ", t=" + std::to_string(s.t) + ")";
}

// ---- binding helpers. SQLITE_STATIC: every bound string outlives the step that reads it.

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}
void bind_text_or_null(sqlite3_stmt* s, int i, std::string_view v) {
  if (v.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    bind_text(s, i, v);
  }
}
void bind_int(sqlite3_stmt* s, int i, std::int64_t v) {
  sqlite3_bind_int64(s, i, v);
}
void bind_real(sqlite3_stmt* s, int i, double v) {
  sqlite3_bind_double(s, i, v);
}  // NaN: NULL
template <typename T>
void bind_opt(sqlite3_stmt* s, int i, const std::optional<T>& v) {
  if (!v) {
    sqlite3_bind_null(s, i);
  } else if constexpr (std::is_floating_point_v<T>) {
    bind_real(s, i, *v);
  } else if constexpr (std::is_same_v<T, lane_side>) {
    bind_text(s, i, to_string(*v));
  } else {
    bind_int(s, i, static_cast<std::int64_t>(*v));
  }
}

void check_json(const std::filesystem::path& path, std::string_view field, std::string_view text) {
  if (!text.empty() && !nlohmann::json::accept(text)) {
    throw db_error(db_errc::misuse, path,
                   "recorder: " + std::string(field) +
                       " is not valid JSON: " + std::string(text.substr(0, 60)));
  }
}

std::string now_if_empty(std::string stamp) {
  return stamp.empty() ? utc_timestamp() : std::move(stamp);
}

// Heterogeneous lookup: metric(std::string_view) finds a cached name without allocating.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct metric_entry {
  std::int64_t id;
  std::string unit;
};

// What one attempt at writing a batch came to.
struct batch_result {
  bool committed = false;
  std::uint64_t rows = 0;         // rows written (when committed)
  std::uint64_t samples = 0;      // of which samples
  std::uint64_t refused = 0;      // rows refused in this attempt
  std::optional<db_error> error;  // first error of this attempt (refusal or failure)
};

}  // namespace

struct recorder::impl {
  impl(const std::filesystem::path& path, const recorder_options& opts);
  ~impl();

  // ---- producer side (lock held by the caller)
  void check_open() const {
    if (closed) throw db_error(db_errc::misuse, db.path(), "recorder: used after close()");
  }
  void wait_for_room(std::unique_lock<std::mutex>& lock);
  void note_queued() {
    ++queued;
    ++enqueued;
    if (queued > stats.max_queued_rows) stats.max_queued_rows = queued;
    // Wake the writer once per crossing, not on every row: a notify per sample would cost more
    // than the append.
    if (queued == options.batch_rows) writer_cv.notify_one();
  }
  template <typename Op>
  void push(std::unique_lock<std::mutex>& lock, Op&& o) {
    if (queued == 0) oldest_queued = steady::now();
    ops.emplace_back(std::forward<Op>(o));
    note_queued();
    (void)lock;
  }
  void throw_pending_error(std::unique_lock<std::mutex>& lock);

  // ---- writer side
  void writer_main();
  void take_queue();
  batch_result write_batch();
  int write(const op& o);
  void prepare_statements();
  void finalize_statements();

  recorder_options options;
  database db;  // the writer's connection (used by the constructor, then only by the writer)

  // ---- shared state, guarded by mutex
  mutable std::mutex mutex;
  std::condition_variable writer_cv;  // wakes the writer (flush, batch_rows reached, close)
  std::condition_variable done_cv;    // a batch settled or failed, or the writer finished
  std::condition_variable room_cv;    // the writer took the queue (back-pressure)
  std::vector<op> ops;
  std::vector<sample_row> samples;
  std::size_t queued = 0;            // ops.size() + samples.size()
  steady::time_point oldest_queued;  // when the oldest queued row was queued
  std::uint64_t enqueued = 0;        // rows ever queued
  std::uint64_t settled = 0;         // rows ever committed or refused: always a prefix
  std::uint64_t failures = 0;        // failed batch attempts so far
  std::uint64_t flush_requests = 0;
  bool stalled = false;   // the last attempt failed; its rows wait for a retry
  bool stopping = false;  // write everything, then exit
  bool closed = false;    // producer calls are refused
  bool writer_done = false;
  std::optional<db_error> error;  // first error not yet thrown by flush()/close()
  recorder_stats stats;
  std::int64_t next_run = 1, next_device = 1, next_dut = 1, next_step = 1, next_measurement = 1,
               next_event = 1, next_metric = 1;
  std::unordered_map<std::string, metric_entry, string_hash, std::equal_to<>> metrics;

  // Resuming by replay (begin_replay): the rows of the run the database already holds, in id
  // order, handed back instead of being queued again.
  struct replay_list {
    std::vector<std::int64_t> ids;
    std::size_t next = 0;
    // The committed id for the next replayed row, or nullopt once the committed rows are used up.
    std::optional<std::int64_t> take() {
      if (next >= ids.size()) return std::nullopt;
      return ids[next++];
    }
  };
  replay_list replay_devices, replay_duts, replay_steps, replay_measurements, replay_events;
  std::unordered_set<std::int64_t> replay_ended_steps;  // committed with their end
  std::uint64_t replay_ber = 0;      // committed ber_counts rows still to be matched
  std::uint64_t replay_samples = 0;  // committed samples still to be matched

  // ---- writer-only state
  std::vector<op> batch_ops;
  std::vector<sample_row> batch_samples;
  steady::time_point batch_oldest;
  std::uint64_t batch_last = 0;  // value of `enqueued` when the batch was last topped up
  sqlite3_stmt* st_begin = nullptr;
  sqlite3_stmt* st_commit = nullptr;
  sqlite3_stmt* st_rollback = nullptr;
  sqlite3_stmt* st_run = nullptr;
  sqlite3_stmt* st_run_end = nullptr;
  sqlite3_stmt* st_device = nullptr;
  sqlite3_stmt* st_dut = nullptr;
  sqlite3_stmt* st_dut_update = nullptr;
  sqlite3_stmt* st_dut_status = nullptr;
  sqlite3_stmt* st_step = nullptr;
  sqlite3_stmt* st_step_end = nullptr;
  sqlite3_stmt* st_measurement = nullptr;
  sqlite3_stmt* st_ber = nullptr;
  sqlite3_stmt* st_metric = nullptr;
  sqlite3_stmt* st_event = nullptr;
  sqlite3_stmt* st_sample = nullptr;

  std::mutex join_mutex;  // close() may be called from several threads; one of them joins
  std::thread writer;
};

recorder::impl::impl(const std::filesystem::path& path, const recorder_options& opts)
    : options(opts),
      db(path, open_options{.mode = open_mode::read_write,
                            .busy_timeout = opts.busy_timeout,
                            .cache_size_kib = opts.cache_size_kib}) {
  if (options.batch_rows == 0) options.batch_rows = 1;
  if (options.max_queued_rows < options.batch_rows) options.max_queued_rows = options.batch_rows;
  if (options.flush_interval <= std::chrono::milliseconds(0)) {
    options.flush_interval = std::chrono::milliseconds(1);
  }

  // Ids continue after whatever earlier runs left in the file.
  auto next_id = [this](const char* table) {
    statement q(db, std::string("SELECT COALESCE(MAX(id), 0) + 1 FROM ") + table);
    q.step();
    return q.column_int64(0);
  };
  next_run = next_id("runs");
  next_device = next_id("run_devices");
  next_dut = next_id("duts");
  next_step = next_id("steps");
  next_measurement = next_id("measurements");
  next_event = next_id("events");
  next_metric = next_id("metrics");
  {
    statement q(db, "SELECT id, name, unit FROM metrics");
    while (q.step())
      metrics.emplace(q.column_text(1), metric_entry{q.column_int64(0), q.column_text(2)});
  }

  // Checkpointing less often than SQLite's default (1000 pages) matters here: every batch
  // rewrites the right-edge leaf page of every series, and a checkpoint copies each page once
  // however many commits rewrote it (~15% more samples/s measured with 8192).
  if (options.wal_autocheckpoint_pages > 0) {
    db.exec("PRAGMA wal_autocheckpoint=" + std::to_string(options.wal_autocheckpoint_pages));
  }
  prepare_statements();
  // A batch's rows are queued while the previous batch is written: start with room for a
  // typical batch so steady state never reallocates.
  samples.reserve(std::min<std::size_t>(options.batch_rows, 65536));
  batch_samples.reserve(samples.capacity());
  writer = std::thread([this] { writer_main(); });
}

recorder::impl::~impl() {
  finalize_statements();
}

void recorder::impl::prepare_statements() {
  auto prepare = [this](const char* sql) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(s);
      finalize_statements();
      db.raise(rc, "recorder: cannot prepare statement");
    }
    return s;
  };
  // IMMEDIATE: take the write lock at BEGIN, where the busy timeout applies, rather than at the
  // first insert, where WAL may report SQLITE_BUSY_SNAPSHOT without waiting.
  st_begin = prepare("BEGIN IMMEDIATE");
  st_commit = prepare("COMMIT");
  st_rollback = prepare("ROLLBACK");
  st_run = prepare(
      "INSERT INTO runs (id, uuid, sequence_name, sequence_path, sequence_text, sequence_sha256, "
      "fixture_path, fixture_text, fixture_sha256, parameters_json, hilt_version, seed, "
      "clock_mode, host, operator, started_at, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 'running')");
  st_run_end = prepare(
      "UPDATE runs SET status = ?2, closed_cleanly = ?3, exit_code = ?4, duration_s = ?5, "
      "ended_at = ?6 WHERE id = ?1");
  st_device = prepare(
      "INSERT INTO run_devices (id, run_id, name, address, driver, device_class, vendor, model, "
      "serial, firmware, calibration_due, identity_json) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  st_dut = prepare(
      "INSERT INTO duts (id, run_id, slot, name, device, vendor, part_number, serial, revision, "
      "firmware, identity_json, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  st_dut_update = prepare(
      "UPDATE duts SET name = ?2, device = ?3, vendor = ?4, part_number = ?5, serial = ?6, "
      "revision = ?7, firmware = ?8, identity_json = ?9, status = ?10 WHERE id = ?1");
  st_dut_status = prepare("UPDATE duts SET status = ?2 WHERE id = ?1");
  st_step = prepare(
      "INSERT INTO steps (id, run_id, dut_id, parent_id, ordinal, path, name, type, "
      "sweep_point_json, started_t, started_at, attempt, verdict) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'running')");
  st_step_end = prepare(
      "UPDATE steps SET verdict = ?2, ended_t = ?3, ended_at = ?4, error_code = ?5, "
      "error_message = ?6 WHERE id = ?1");
  st_measurement = prepare(
      "INSERT INTO measurements (id, run_id, step_id, dut_id, name, lane, side, t, value, unit, "
      "comparator, limit_low, limit_high, nominal, marginal_low, marginal_high, limit_source, "
      "verdict) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
  st_ber = prepare(
      "INSERT INTO ber_counts (run_id, step_id, dut_id, lane, side, t, gate_s, bits, errors, "
      "pattern, fec_histogram_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  st_metric = prepare("INSERT INTO metrics (id, name, unit) VALUES (?1, ?2, ?3)");
  st_event = prepare(
      "INSERT INTO events (id, run_id, dut_id, device, t, wall, severity, kind, code, message) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  st_sample = prepare(
      "INSERT INTO samples (run_id, dut_id, metric_id, lane, t, value) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
}

void recorder::impl::finalize_statements() {
  for (sqlite3_stmt** s : {&st_begin, &st_commit, &st_rollback, &st_run, &st_run_end, &st_device,
                           &st_dut, &st_dut_update, &st_dut_status, &st_step, &st_step_end,
                           &st_measurement, &st_ber, &st_metric, &st_event, &st_sample}) {
    sqlite3_finalize(*s);
    *s = nullptr;
  }
}

void recorder::impl::wait_for_room(std::unique_lock<std::mutex>& lock) {
  // Block only while the writer is making progress: a producer must never hang behind a
  // failing disk (the safe-state path may be the one recording).
  while (queued >= options.max_queued_rows && !stalled && !writer_done && !closed) {
    writer_cv.notify_one();
    room_cv.wait(lock);
  }
}

void recorder::impl::throw_pending_error(std::unique_lock<std::mutex>& lock) {
  if (!error) return;
  db_error e = std::move(*error);
  error.reset();
  lock.unlock();
  throw e;
}

// ---- writer

void recorder::impl::take_queue() {
  if (queued == 0) return;
  if (batch_ops.empty() && batch_samples.empty()) batch_oldest = oldest_queued;
  // Swap when the batch is empty (the normal case): the producers get the writer's last,
  // already-grown buffers back, so the queue stops allocating once it has reached its size.
  // After a failed attempt the batch is kept and the new rows go after it.
  if (batch_ops.empty()) {
    batch_ops.swap(ops);
  } else {
    std::move(ops.begin(), ops.end(), std::back_inserter(batch_ops));
    ops.clear();
  }
  if (batch_samples.empty()) {
    batch_samples.swap(samples);
  } else {
    batch_samples.insert(batch_samples.end(), samples.begin(), samples.end());
    samples.clear();
  }
  batch_last = enqueued;
  queued = 0;
  room_cv.notify_all();
}

void recorder::impl::writer_main() {
  std::unique_lock lock(mutex);
  std::uint64_t seen_flush_requests = 0;
  auto backoff = options.flush_interval;
  int shutdown_failures = 0;
  for (;;) {
    // While failing, wait `backoff` between attempts (unless a flush asks for one now); while
    // shutting down with a failing batch, retry at the normal interval so close() is bounded.
    const auto wait =
        !stalled ? options.flush_interval : (stopping ? options.flush_interval : backoff);
    writer_cv.wait_for(lock, wait, [&] {
      return (stopping && !stalled) || flush_requests != seen_flush_requests ||
             (!stalled && queued >= options.batch_rows);
    });
    seen_flush_requests = flush_requests;
    take_queue();
    if (batch_ops.empty() && batch_samples.empty()) {
      if (stopping) break;
      continue;
    }

    lock.unlock();
    const auto started = steady::now();
    batch_result result;
    try {
      result = write_batch();
    } catch (const std::exception& e) {  // bad_alloc and the like: treat as a failed attempt
      if (!sqlite3_get_autocommit(db.handle())) {
        sqlite3_step(st_rollback);
        sqlite3_reset(st_rollback);
      }
      result.error = db_error(db_errc::io, db.path(), std::string("recorder: ") + e.what());
    }
    const auto finished = steady::now();
    lock.lock();

    stats.rows_refused += result.refused;
    if (result.error && !error) error = result.error;
    if (result.committed) {
      if (stalled) {
        detail::logger()->info(
            "{}: recorder recovered: committed {} rows after {} failed attempt(s)",
            db.path().string(), result.rows, failures);
      }
      settled = batch_last;
      stalled = false;
      backoff = options.flush_interval;
      ++stats.batches;
      stats.rows_written += result.rows;
      stats.samples_written += result.samples;
      const auto latency =
          std::chrono::duration_cast<std::chrono::microseconds>(finished - batch_oldest);
      const auto commit = std::chrono::duration_cast<std::chrono::microseconds>(finished - started);
      stats.max_batch_latency = std::max(stats.max_batch_latency, latency);
      stats.max_commit_time = std::max(stats.max_commit_time, commit);
      batch_ops.clear();
      batch_samples.clear();
    } else {
      ++failures;
      ++stats.batch_failures;
      stalled = true;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
      room_cv.notify_all();  // blocked producers must not wait on a failing writer
      const std::size_t pending = batch_ops.size() + batch_samples.size();
      if (stopping && ++shutdown_failures >= options.shutdown_attempts) {
        detail::logger()->error(
            "{}: recorder giving up after {} attempts: {} rows NOT written ({})",
            db.path().string(), shutdown_failures, pending,
            result.error ? result.error->what() : "unknown error");
        settled = batch_last;
        batch_ops.clear();
        batch_samples.clear();
        done_cv.notify_all();
        break;
      }
      detail::logger()->error("{}: recorder could not commit {} rows, keeping them to retry: {}",
                              db.path().string(), pending,
                              result.error ? result.error->what() : "unknown error");
    }
    done_cv.notify_all();
  }
  writer_done = true;
  done_cv.notify_all();
  room_cv.notify_all();
}

batch_result recorder::impl::write_batch() {
  batch_result result;
  sqlite3* const handle = db.handle();
  constexpr int k_logged_refusals = 5;  // per batch; the rest are counted, not logged

  auto step_control = [](sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc;
  };
  auto fail = [&](int rc, const std::string& context) {
    result.error = db.error_for(rc, context);  // before ROLLBACK replaces the message
    if (!sqlite3_get_autocommit(handle)) step_control(st_rollback);
    result.committed = false;
    result.rows = result.samples = 0;
    return result;
  };
  auto refuse = [&](int rc, const std::string& what) {
    db_error e = rc == k_no_such_row
                     ? db_error(db_errc::misuse, db.path(),
                                "recorder could not write " + what + ": it does not exist")
                     : db.error_for(rc, "recorder could not write " + what);
    if (result.refused < k_logged_refusals) detail::logger()->error("{}", e.what());
    if (!result.error) result.error = std::move(e);
    ++result.refused;
  };
  // A row-level failure leaves the transaction open (SQLite rolled back that statement only);
  // anything else — or an automatic rollback — fails the whole attempt.
  auto row_level = [&](int rc) {
    return (rc == k_no_such_row || detail::is_row_error(rc)) && !sqlite3_get_autocommit(handle);
  };

  int rc = step_control(st_begin);
  if (rc != SQLITE_DONE) return fail(rc, "recorder could not start a transaction");

  for (op& o : batch_ops) {
    if (std::holds_alternative<std::monostate>(o)) continue;
    rc = write(o);
    if (rc == SQLITE_DONE) {
      ++result.rows;
    } else if (row_level(rc)) {
      refuse(rc, describe(o));
      o = std::monostate{};
    } else {
      return fail(rc, "recorder could not write " + describe(o));
    }
  }

  // Key order: consecutive inserts land on the same leaf page of the samples b-tree, one page
  // per series per batch, instead of hopping between series on every row.
  std::sort(batch_samples.begin(), batch_samples.end(), sample_key_less);
  for (sample_row& s : batch_samples) {
    if (s.refused) continue;
    sqlite3_bind_int64(st_sample, 1, s.run_id);
    sqlite3_bind_int64(st_sample, 2, s.dut_id);
    sqlite3_bind_int64(st_sample, 3, s.metric_id);
    sqlite3_bind_int(st_sample, 4, s.lane);
    sqlite3_bind_double(st_sample, 5, s.t);
    sqlite3_bind_double(st_sample, 6, s.value);
    rc = sqlite3_step(st_sample);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(st_sample);
      ++result.samples;
      continue;
    }
    if (row_level(rc)) {
      refuse(rc, describe(s));
      sqlite3_reset(st_sample);
      s.refused = 1;
    } else {
      auto failed = fail(rc, "recorder could not write " + describe(s));
      sqlite3_reset(st_sample);
      return failed;
    }
  }

  rc = step_control(st_commit);
  if (rc != SQLITE_DONE) {
    return fail(
        rc, "recorder could not commit " + std::to_string(result.rows + result.samples) + " rows");
  }
  if (result.refused > k_logged_refusals) {
    detail::logger()->error("{}: recorder: {} more rows refused in the same batch",
                            db.path().string(), result.refused - k_logged_refusals);
  }
  result.committed = true;
  result.rows += result.samples;
  return result;
}

int recorder::impl::write(const op& o) {
  sqlite3* const handle = db.handle();
  // Steps an INSERT; for an UPDATE also checks it found its row.
  auto run = [handle](sqlite3_stmt* s, bool update) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE && update && sqlite3_changes(handle) == 0) rc = k_no_such_row;
    // Resetting a failed statement keeps its error message on the connection, where the
    // caller reads it (db.error_for).
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
  };

  struct visitor {
    impl& self;
    decltype(run)& exec;
    int operator()(const std::monostate&) const { return SQLITE_DONE; }
    int operator()(const op_begin_run& x) const {
      sqlite3_stmt* s = self.st_run;
      const run_record& r = x.run;
      bind_int(s, 1, x.id);
      bind_text(s, 2, r.uuid);
      bind_text(s, 3, r.sequence_name);
      bind_text_or_null(s, 4, r.sequence_path);
      bind_text_or_null(s, 5, r.sequence_text);
      bind_text_or_null(s, 6, x.sequence_sha256);
      bind_text_or_null(s, 7, r.fixture_path);
      bind_text_or_null(s, 8, r.fixture_text);
      bind_text_or_null(s, 9, x.fixture_sha256);
      bind_text_or_null(s, 10, r.parameters_json);
      bind_text_or_null(s, 11, r.hilt_version);
      bind_opt(s, 12, r.seed);
      bind_text_or_null(s, 13, r.clock_mode);
      bind_text_or_null(s, 14, r.host);
      bind_text_or_null(s, 15, r.operator_name);
      bind_text(s, 16, r.started_at);
      return exec(s, false);
    }
    int operator()(const op_end_run& x) const {
      sqlite3_stmt* s = self.st_run_end;
      bind_int(s, 1, x.id);
      bind_text(s, 2, to_string(x.end.status));
      bind_int(s, 3, x.end.closed_cleanly ? 1 : 0);
      bind_opt(s, 4, x.end.exit_code);
      bind_opt(s, 5, x.end.duration_s);
      bind_text(s, 6, x.end.ended_at);
      return exec(s, true);
    }
    int operator()(const op_add_device& x) const {
      sqlite3_stmt* s = self.st_device;
      const run_device_record& d = x.device;
      bind_int(s, 1, x.id);
      bind_int(s, 2, d.run_id);
      bind_text(s, 3, d.name);
      bind_text_or_null(s, 4, d.address);
      bind_text_or_null(s, 5, d.driver);
      bind_text_or_null(s, 6, d.device_class);
      bind_text_or_null(s, 7, d.vendor);
      bind_text_or_null(s, 8, d.model);
      bind_text_or_null(s, 9, d.serial);
      bind_text_or_null(s, 10, d.firmware);
      bind_text_or_null(s, 11, d.calibration_due);
      bind_text_or_null(s, 12, d.identity_json);
      return exec(s, false);
    }
    int operator()(const op_add_dut& x) const {
      sqlite3_stmt* s = self.st_dut;
      const dut_record& d = x.dut;
      bind_int(s, 1, x.id);
      bind_int(s, 2, d.run_id);
      bind_int(s, 3, d.slot);
      bind_text(s, 4, d.name);
      bind_text_or_null(s, 5, d.device);
      bind_text_or_null(s, 6, d.vendor);
      bind_text_or_null(s, 7, d.part_number);
      bind_text_or_null(s, 8, d.serial);
      bind_text_or_null(s, 9, d.revision);
      bind_text_or_null(s, 10, d.firmware);
      bind_text_or_null(s, 11, d.identity_json);
      bind_text(s, 12, to_string(d.status));
      return exec(s, false);
    }
    int operator()(const op_update_dut& x) const {
      sqlite3_stmt* s = self.st_dut_update;
      const dut_record& d = x.dut;
      bind_int(s, 1, x.id);
      bind_text(s, 2, d.name);
      bind_text_or_null(s, 3, d.device);
      bind_text_or_null(s, 4, d.vendor);
      bind_text_or_null(s, 5, d.part_number);
      bind_text_or_null(s, 6, d.serial);
      bind_text_or_null(s, 7, d.revision);
      bind_text_or_null(s, 8, d.firmware);
      bind_text_or_null(s, 9, d.identity_json);
      bind_text(s, 10, to_string(d.status));
      return exec(s, true);
    }
    int operator()(const op_dut_status& x) const {
      sqlite3_stmt* s = self.st_dut_status;
      bind_int(s, 1, x.id);
      bind_text(s, 2, to_string(x.status));
      return exec(s, true);
    }
    int operator()(const op_begin_step& x) const {
      sqlite3_stmt* s = self.st_step;
      const step_record& st = x.step;
      bind_int(s, 1, x.id);
      bind_int(s, 2, st.run_id);
      bind_opt(s, 3, st.dut_id);
      bind_opt(s, 4, st.parent_id);
      bind_int(s, 5, st.ordinal);
      bind_text(s, 6, st.path);
      bind_text(s, 7, st.name);
      bind_text(s, 8, st.type);
      bind_text_or_null(s, 9, st.sweep_point_json);
      bind_real(s, 10, st.started_t);
      bind_text(s, 11, st.started_at);
      bind_int(s, 12, st.attempt);
      return exec(s, false);
    }
    int operator()(const op_end_step& x) const {
      sqlite3_stmt* s = self.st_step_end;
      bind_int(s, 1, x.id);
      bind_text(s, 2, to_string(x.verdict));
      bind_real(s, 3, x.ended_t);
      bind_text(s, 4, x.ended_at);
      bind_opt(s, 5, x.error_code);
      bind_text_or_null(s, 6, x.error_message);
      return exec(s, true);
    }
    int operator()(const op_measurement& x) const {
      sqlite3_stmt* s = self.st_measurement;
      const measurement_record& m = x.m;
      bind_int(s, 1, x.id);
      bind_int(s, 2, m.run_id);
      bind_opt(s, 3, m.step_id);
      bind_opt(s, 4, m.dut_id);
      bind_text(s, 5, m.name);
      bind_opt(s, 6, m.lane);
      bind_opt(s, 7, m.side);
      bind_real(s, 8, m.t);
      bind_real(s, 9, m.value);
      bind_text(s, 10, m.unit);
      bind_text_or_null(s, 11, m.comparator);
      bind_opt(s, 12, m.limit_low);
      bind_opt(s, 13, m.limit_high);
      bind_opt(s, 14, m.nominal);
      bind_opt(s, 15, m.marginal_low);
      bind_opt(s, 16, m.marginal_high);
      bind_text_or_null(s, 17, m.limit_source);
      bind_text(s, 18, to_string(m.verdict));
      return exec(s, false);
    }
    int operator()(const op_ber& x) const {
      sqlite3_stmt* s = self.st_ber;
      const ber_record& b = x.b;
      bind_int(s, 1, b.run_id);
      bind_opt(s, 2, b.step_id);
      bind_opt(s, 3, b.dut_id);
      bind_int(s, 4, b.lane);
      bind_opt(s, 5, b.side);
      bind_real(s, 6, b.t);
      bind_opt(s, 7, b.gate_s);
      bind_int(s, 8, b.bits);
      bind_int(s, 9, b.errors);
      bind_text_or_null(s, 10, b.pattern);
      bind_text_or_null(s, 11, b.fec_histogram_json);
      return exec(s, false);
    }
    int operator()(const op_metric& x) const {
      sqlite3_stmt* s = self.st_metric;
      bind_int(s, 1, x.id);
      bind_text(s, 2, x.name);
      bind_text(s, 3, x.unit);
      return exec(s, false);
    }
    int operator()(const op_event& x) const {
      sqlite3_stmt* s = self.st_event;
      const event_record& e = x.e;
      bind_int(s, 1, x.id);
      bind_int(s, 2, e.run_id);
      bind_opt(s, 3, e.dut_id);
      bind_text_or_null(s, 4, e.device);
      bind_real(s, 5, e.t);
      bind_text(s, 6, e.wall);
      bind_text(s, 7, to_string(e.severity));
      bind_text(s, 8, e.kind);
      bind_opt(s, 9, e.code);
      bind_text(s, 10, e.message);
      return exec(s, false);
    }
  };
  return std::visit(visitor{*this, run}, o);
}

// ---------------------------------------------------------------------------------------------
// recorder: the producer API

recorder::recorder(const std::filesystem::path& path, const recorder_options& options)
    : impl_(std::make_unique<impl>(path, options)) {}

recorder::~recorder() {
  try {
    std::lock_guard join(impl_->join_mutex);
    {
      std::lock_guard lock(impl_->mutex);
      impl_->closed = true;
      impl_->stopping = true;
    }
    impl_->writer_cv.notify_one();
    impl_->room_cv.notify_all();
    if (impl_->writer.joinable()) impl_->writer.join();
    std::lock_guard lock(impl_->mutex);
    if (impl_->error) {
      detail::logger()->error(
          "{}: recorder destroyed with an unreported error (first one shown; see above): {}",
          impl_->db.path().string(), impl_->error->what());
    }
  } catch (...) {
    // Destructors must not throw; joining or logging failing leaves nothing better to do.
  }
}

const std::filesystem::path& recorder::path() const noexcept {
  return impl_->db.path();
}

std::int64_t recorder::begin_run(run_record run) {
  const auto& p = impl_->db.path();
  if (!run.clock_mode.empty() && run.clock_mode != "real" && run.clock_mode != "virtual") {
    throw db_error(
        db_errc::misuse, p,
        "recorder: clock_mode must be 'real' or 'virtual', not '" + run.clock_mode + "'");
  }
  check_json(p, "parameters_json", run.parameters_json);
  if (run.uuid.empty()) run.uuid = make_uuid();
  run.started_at = now_if_empty(std::move(run.started_at));
  // Hashing is done here, in the producer thread, to keep the writer's batches short.
  std::string sequence_hash = run.sequence_text.empty() ? "" : sha256_hex(run.sequence_text);
  std::string fixture_hash = run.fixture_text.empty() ? "" : sha256_hex(run.fixture_text);

  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  const std::int64_t id = impl_->next_run++;
  impl_->push(lock,
              op_begin_run{id, std::move(run), std::move(sequence_hash), std::move(fixture_hash)});
  return id;
}

void recorder::end_run(std::int64_t run_id, run_end end) {
  end.ended_at = now_if_empty(std::move(end.ended_at));
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  impl_->push(lock, op_end_run{run_id, std::move(end)});
}

std::int64_t recorder::add_run_device(run_device_record device) {
  check_json(impl_->db.path(), "identity_json", device.identity_json);
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  if (auto id = impl_->replay_devices.take()) return *id;
  const std::int64_t id = impl_->next_device++;
  impl_->push(lock, op_add_device{id, std::move(device)});
  return id;
}

std::int64_t recorder::add_dut(dut_record dut) {
  check_json(impl_->db.path(), "identity_json", dut.identity_json);
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  if (auto id = impl_->replay_duts.take()) return *id;
  const std::int64_t id = impl_->next_dut++;
  impl_->push(lock, op_add_dut{id, std::move(dut)});
  return id;
}

void recorder::update_dut(std::int64_t dut_id, dut_record dut) {
  check_json(impl_->db.path(), "identity_json", dut.identity_json);
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  impl_->push(lock, op_update_dut{dut_id, std::move(dut)});
}

void recorder::set_dut_status(std::int64_t dut_id, dut_status status) {
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  impl_->push(lock, op_dut_status{dut_id, status});
}

std::int64_t recorder::begin_step(step_record step) {
  check_json(impl_->db.path(), "sweep_point_json", step.sweep_point_json);
  step.started_at = now_if_empty(std::move(step.started_at));
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  if (auto id = impl_->replay_steps.take()) return *id;
  const std::int64_t id = impl_->next_step++;
  impl_->push(lock, op_begin_step{id, std::move(step)});
  return id;
}

void recorder::end_step(std::int64_t step_id, step_verdict verdict, double ended_t,
                        std::optional<std::int64_t> error_code, std::string_view error_message) {
  op_end_step end{step_id,         verdict,    ended_t,
                  utc_timestamp(), error_code, std::string(error_message)};
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  // Replayed, and its end already committed: keep the original end (its wall-clock stamp).
  if (impl_->replay_ended_steps.erase(step_id) > 0) return;
  impl_->wait_for_room(lock);
  impl_->push(lock, std::move(end));
}

std::int64_t recorder::add_measurement(measurement_record measurement) {
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  if (auto id = impl_->replay_measurements.take()) return *id;
  const std::int64_t id = impl_->next_measurement++;
  impl_->push(lock, op_measurement{id, std::move(measurement)});
  return id;
}

void recorder::add_ber_counts(ber_record counts) {
  if (counts.bits < 0 || counts.errors < 0) {
    throw db_error(db_errc::misuse, impl_->db.path(),
                   "recorder: BER counts cannot be negative (bits " + std::to_string(counts.bits) +
                       ", errors " + std::to_string(counts.errors) + ")");
  }
  check_json(impl_->db.path(), "fec_histogram_json", counts.fec_histogram_json);
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  if (impl_->replay_ber > 0) {
    --impl_->replay_ber;
    return;
  }
  impl_->wait_for_room(lock);
  impl_->push(lock, op_ber{std::move(counts)});
}

std::int64_t recorder::add_event(event_record event) {
  event.wall = now_if_empty(std::move(event.wall));
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  impl_->wait_for_room(lock);
  if (auto id = impl_->replay_events.take()) return *id;
  const std::int64_t id = impl_->next_event++;
  impl_->push(lock, op_event{id, std::move(event)});
  return id;
}

replay_summary recorder::begin_replay(std::int64_t run_id, event_record resumed,
                                      std::vector<event_record> preamble) {
  impl& s = *impl_;
  replay_summary out;
  // Read through a connection of our own: the writer's belongs to the writer thread.
  database rd(s.db.path(), open_options{.mode = open_mode::read_only});
  auto ids = [&](const std::string& sql) {
    std::vector<std::int64_t> v;
    statement q(rd, sql);
    q.bind(1, run_id);
    while (q.step())
      v.push_back(q.column_int64(0));
    out.rows += v.size();
    return v;
  };
  auto count = [&](const std::string& sql) {
    statement q(rd, sql);
    q.bind(1, run_id);
    q.step();
    const auto n = static_cast<std::uint64_t>(q.column_int64(0));
    out.rows += n;
    return n;
  };
  auto devices = ids("SELECT id FROM run_devices WHERE run_id = ?1 ORDER BY id");
  auto duts = ids("SELECT id FROM duts WHERE run_id = ?1 ORDER BY id");
  auto steps = ids("SELECT id FROM steps WHERE run_id = ?1 ORDER BY id");
  auto ended = ids("SELECT id FROM steps WHERE run_id = ?1 AND ended_t IS NOT NULL");
  out.rows -= ended.size();
  auto measurements = ids("SELECT id FROM measurements WHERE run_id = ?1 ORDER BY id");
  // Earlier resumptions' own events are not part of the replayed stream.
  auto events =
      ids("SELECT id FROM events WHERE run_id = ?1 AND kind NOT IN ('run_resumed', "
          "'calibration_overdue') ORDER BY id");
  const auto ber = count("SELECT COUNT(*) FROM ber_counts WHERE run_id = ?1");
  out.samples = count("SELECT COUNT(*) FROM samples WHERE run_id = ?1");
  {
    statement q(rd,
                "SELECT MAX(t) FROM (SELECT MAX(t) AS t FROM samples WHERE run_id = ?1 "
                "UNION ALL SELECT MAX(COALESCE(ended_t, started_t)) FROM steps WHERE run_id = ?1 "
                "UNION ALL SELECT MAX(t) FROM events WHERE run_id = ?1)");
    q.bind(1, run_id);
    if (q.step() && !q.is_null(0)) out.last_t = q.column_double(0);
  }

  std::unique_lock lock(s.mutex);
  s.check_open();
  s.replay_devices = {std::move(devices), 0};
  s.replay_duts = {std::move(duts), 0};
  s.replay_steps = {std::move(steps), 0};
  s.replay_measurements = {std::move(measurements), 0};
  s.replay_events = {std::move(events), 0};
  s.replay_ended_steps = {ended.begin(), ended.end()};
  s.replay_ber = ber;
  s.replay_samples = out.samples;
  resumed.run_id = run_id;
  resumed.kind = "run_resumed";
  resumed.wall = now_if_empty(std::move(resumed.wall));
  if (resumed.t < out.last_t) resumed.t = out.last_t;
  s.wait_for_room(lock);
  const double t = resumed.t;
  s.push(lock, op_event{s.next_event++, std::move(resumed)});
  for (auto& e : preamble) {
    e.run_id = run_id;
    e.t = t;
    e.wall = now_if_empty(std::move(e.wall));
    s.wait_for_room(lock);
    s.push(lock, op_event{s.next_event++, std::move(e)});
  }
  return out;
}

bool recorder::replaying() const {
  std::lock_guard lock(impl_->mutex);
  const impl& s = *impl_;
  return s.replay_devices.next < s.replay_devices.ids.size() ||
         s.replay_duts.next < s.replay_duts.ids.size() ||
         s.replay_steps.next < s.replay_steps.ids.size() ||
         s.replay_measurements.next < s.replay_measurements.ids.size() ||
         s.replay_events.next < s.replay_events.ids.size() || s.replay_ber > 0 ||
         s.replay_samples > 0;
}

std::int64_t recorder::metric(std::string_view name, std::string_view unit) {
  std::unique_lock lock(impl_->mutex);
  impl_->check_open();
  if (const auto found = impl_->metrics.find(name); found != impl_->metrics.end()) {
    if (found->second.unit != unit) {
      throw db_error(db_errc::misuse, impl_->db.path(),
                     "recorder: metric '" + std::string(name) + "' is recorded in '" +
                         found->second.unit + "', not '" + std::string(unit) + "'");
    }
    return found->second.id;
  }
  if (name.empty())
    throw db_error(db_errc::misuse, impl_->db.path(), "recorder: empty metric name");
  impl_->wait_for_room(lock);
  impl_->check_open();
  const std::int64_t id = impl_->next_metric++;
  impl_->metrics.emplace(std::string(name), metric_entry{id, std::string(unit)});
  impl_->push(lock, op_metric{id, std::string(name), std::string(unit)});
  return id;
}

void recorder::add_sample(std::int64_t run_id, std::int64_t dut_id, std::int64_t metric_id,
                          int lane, double t, double value) {
  impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  if (s.closed) s.check_open();
  if (s.queued >= s.options.max_queued_rows) {
    s.wait_for_room(lock);
    s.check_open();
  }
  if (s.replay_samples > 0) {  // resuming: this one is already in the database
    --s.replay_samples;
    return;
  }
  if (s.queued == 0) s.oldest_queued = steady::now();
  s.samples.push_back(sample_row{run_id, dut_id, metric_id, lane, 0, t, value});
  s.note_queued();
}

void recorder::flush() {
  impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  const std::uint64_t target = s.enqueued;
  const std::uint64_t failures_before = s.failures;
  if (s.settled < target && !s.writer_done) {
    ++s.flush_requests;
    s.writer_cv.notify_one();
    s.done_cv.wait(lock, [&] {
      return s.settled >= target || s.failures != failures_before || s.writer_done;
    });
  }
  s.throw_pending_error(lock);
}

void recorder::close() {
  impl& s = *impl_;
  {
    std::lock_guard join(s.join_mutex);
    {
      std::lock_guard lock(s.mutex);
      s.closed = true;
      s.stopping = true;
    }
    s.writer_cv.notify_one();
    s.room_cv.notify_all();
    if (s.writer.joinable()) s.writer.join();
  }
  std::unique_lock lock(s.mutex);
  s.throw_pending_error(lock);
}

recorder_stats recorder::stats() const {
  std::lock_guard lock(impl_->mutex);
  recorder_stats out = impl_->stats;
  out.queued_rows = impl_->queued;
  return out;
}

}  // namespace hilt::db
