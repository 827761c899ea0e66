#include "hilt/db/recorder.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hilt/db/sha256.hpp"
#include "sample_run.hpp"
#include "test_support.hpp"

namespace hilt::db {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::raw_connection;
using testing::temp_dir;

template <typename Call>
db_error call_error(Call call) {
  try {
    call();
  } catch (const db_error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a db_error";
  return db_error(db_errc::misuse, "", "no error");
}

TEST(Recorder, RoundTripsEveryKindOfRecord) {
  temp_dir dir;
  const auto path = dir / "run.db";
  testing::sample_run_ids ids;
  {
    recorder rec(path);
    ids = testing::write_sample_run(rec);
    rec.flush();
    const auto stats = rec.stats();
    EXPECT_EQ(stats.rows_refused, 0u);
    EXPECT_EQ(stats.samples_written, 3u * (8 * 2 + 3));
    EXPECT_GE(stats.batches, 1u);
  }
  EXPECT_EQ(ids.run, 1);
  EXPECT_EQ(ids.dut1, 1);
  EXPECT_EQ(ids.dut2, 2);
  EXPECT_EQ(ids.setup, 1);
  EXPECT_EQ(ids.ber1, 2);

  raw_connection raw(path, true);
  // runs
  EXPECT_EQ(raw.text("SELECT sequence_name FROM runs WHERE id = 1"), "smoke");
  EXPECT_EQ(raw.text("SELECT sequence_sha256 FROM runs"), sha256_hex(testing::k_sequence_text));
  EXPECT_EQ(raw.text("SELECT fixture_sha256 FROM runs"), sha256_hex(testing::k_fixture_text));
  EXPECT_EQ(raw.text("SELECT sequence_text FROM runs"), testing::k_sequence_text);
  EXPECT_EQ(raw.text("SELECT status FROM runs"), "failed");
  EXPECT_EQ(raw.scalar("SELECT closed_cleanly FROM runs"), 1);
  EXPECT_EQ(raw.scalar("SELECT exit_code FROM runs"), 1);
  EXPECT_EQ(raw.text("SELECT duration_s FROM runs"), "12.5");
  EXPECT_EQ(raw.scalar("SELECT seed FROM runs"), 42);
  EXPECT_EQ(raw.text("SELECT clock_mode FROM runs"), "virtual");
  EXPECT_EQ(raw.text("SELECT operator FROM runs"), "ada");
  EXPECT_EQ(raw.scalar("SELECT length(uuid) FROM runs"), 36);  // generated
  EXPECT_EQ(raw.scalar("SELECT started_at LIKE '____-__-__T__:__:__.___Z' FROM runs"), 1);
  EXPECT_EQ(raw.scalar("SELECT ended_at >= started_at FROM runs"), 1);
  // devices and DUTs
  EXPECT_EQ(raw.text("SELECT calibration_due FROM run_devices WHERE name = 'psu1'"), "2025-01-31");
  EXPECT_EQ(raw.text("SELECT serial FROM duts WHERE id = 1"), "SN0001");  // updated
  EXPECT_EQ(raw.text("SELECT serial FROM duts WHERE id = 2"), "<null>");  // '' stored as NULL
  EXPECT_EQ(raw.text("SELECT status FROM duts WHERE slot = 1"), "ok");
  EXPECT_EQ(raw.text("SELECT status FROM duts WHERE slot = 2"), "failed");
  // steps
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM steps"), 4);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM steps WHERE dut_id IS NULL"), 1);
  EXPECT_EQ(raw.text("SELECT verdict FROM steps WHERE id = " + std::to_string(ids.power2)), "fail");
  EXPECT_EQ(raw.scalar("SELECT error_code FROM steps WHERE id = " + std::to_string(ids.power2)),
            1201);
  EXPECT_EQ(raw.text("SELECT error_message FROM steps WHERE id = " + std::to_string(ids.power2)),
            "module power above limit");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM steps WHERE ended_at IS NULL OR ended_t IS NULL"), 0);
  EXPECT_EQ(raw.text("SELECT sweep_point_json FROM steps WHERE id = " + std::to_string(ids.ber1)),
            R"({"temperature_c": 25})");
  // measurements carry their limits and references
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM measurements"), 3);
  EXPECT_EQ(
      raw.text("SELECT limit_high FROM measurements WHERE id = " + std::to_string(ids.m_fail)),
      "16.0");
  EXPECT_EQ(raw.text("SELECT side FROM measurements WHERE id = " + std::to_string(ids.m_pass)),
            "media");
  EXPECT_EQ(raw.scalar("SELECT step_id FROM measurements WHERE id = " + std::to_string(ids.m_fail)),
            ids.power2);
  EXPECT_EQ(raw.text("SELECT lane FROM measurements WHERE id = " + std::to_string(ids.m_fail)),
            "<null>");
  // BER counts exactly as given
  EXPECT_EQ(raw.scalar("SELECT bits FROM ber_counts"), 1'062'500'000'000);
  EXPECT_EQ(raw.scalar("SELECT errors FROM ber_counts"), 3);
  EXPECT_EQ(raw.text("SELECT pattern FROM ber_counts"), "PRBS31Q");
  // metrics and samples
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM metrics"), 3);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM samples"), 57);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM samples WHERE dut_id = 0"), 3);
  EXPECT_EQ(raw.text("SELECT value FROM samples WHERE dut_id = 1 AND metric_id = " +
                     std::to_string(ids.temperature) + " AND lane = -1 AND t = 4.0"),
            "42.0");
  // events
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM events"), 2);
  EXPECT_EQ(raw.scalar("SELECT code FROM events WHERE id = " + std::to_string(ids.alarm)), 1201);
  EXPECT_EQ(raw.text("SELECT severity FROM events WHERE id = " + std::to_string(ids.alarm)),
            "alarm");
  // nothing dangling
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

TEST(Recorder, NanIsStoredAsNull) {
  temp_dir dir;
  const auto path = dir / "nan.db";
  {
    recorder rec(path);
    const auto run = rec.begin_run({.sequence_name = "nan"});
    const auto m = rec.metric("v", "V");
    rec.add_sample(run, station_dut, m, module_lane, 1.0, std::nan(""));
    rec.add_sample(run, station_dut, m, module_lane, 2.0, std::numeric_limits<double>::infinity());
  }
  raw_connection raw(path, true);
  EXPECT_EQ(raw.text("SELECT value FROM samples WHERE t = 1.0"), "<null>");
  EXPECT_EQ(raw.text("SELECT value FROM samples WHERE t = 2.0"), "Inf");
}

TEST(Recorder, SampleIsDurableWithoutFlush) {
  temp_dir dir;
  const auto path = dir / "durable.db";
  recorder rec(path);  // default flush_interval (200 ms)
  const auto run = rec.begin_run({.sequence_name = "durable"});
  const auto m = rec.metric("temperature", "C");
  rec.add_sample(run, station_dut, m, module_lane, 0.5, 21.5);
  raw_connection other(path, true);
  // Contract: visible within 1 s; poll up to 1.5 s to stay robust on a loaded machine.
  EXPECT_TRUE(
      eventually([&] { return other.scalar("SELECT count(*) FROM samples") == 1; }, 1500ms));
  EXPECT_EQ(other.scalar("SELECT count(*) FROM runs"), 1);
}

TEST(Recorder, FlushMakesEverythingVisible) {
  temp_dir dir;
  const auto path = dir / "flush.db";
  // A long interval: only flush() can explain the rows being there.
  recorder rec(path, {.flush_interval = 60s});
  const auto run = rec.begin_run({.sequence_name = "flush"});
  const auto m = rec.metric("vcc", "V");
  for (int i = 0; i < 1000; ++i)
    rec.add_sample(run, station_dut, m, module_lane, i * 0.1, 3.3);
  const auto event = rec.add_event({.run_id = run, .t = 100.0, .kind = "note", .message = "x"});
  rec.flush();
  raw_connection other(path, true);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM samples"), 1000);
  EXPECT_EQ(other.scalar("SELECT id FROM events"), event);
  EXPECT_EQ(rec.stats().queued_rows, 0u);
  rec.flush();  // nothing queued: returns at once
}

TEST(Recorder, NothingQueuedIsLostOnDestruction) {
  temp_dir dir;
  const auto path = dir / "dtor.db";
  std::int64_t run = 0;
  {
    recorder rec(path, {.flush_interval = 60s});
    run = rec.begin_run({.sequence_name = "dtor"});
    const auto m = rec.metric("vcc", "V");
    for (int i = 0; i < 5000; ++i)
      rec.add_sample(run, station_dut, m, module_lane, i, 3.3);
    rec.end_run(run, {.status = run_status::passed});
  }
  raw_connection raw(path, true);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM samples"), 5000);
  EXPECT_EQ(raw.text("SELECT status FROM runs WHERE id = " + std::to_string(run)), "passed");
}

TEST(Recorder, AKilledWriterLeavesAValidDatabase) {
  // Rule 3: a run killed at any instant leaves a valid database holding everything committed.
  temp_dir dir;
  const auto path = dir / "killed.db";
  { database create(path); }  // created before the fork: the child only records
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // The child records as fast as it can until it is killed; it never returns to gtest.
    recorder rec(path, {.flush_interval = 10ms});
    const auto run = rec.begin_run({.sequence_name = "killed"});
    const auto m = rec.metric("vcc", "V");
    for (std::int64_t i = 0;; ++i) {
      rec.add_sample(run, station_dut, m, static_cast<int>(i % 8), static_cast<double>(i / 8), 3.3);
      if (i % 1000 == 0) {
        rec.add_event(
            {.run_id = run, .t = static_cast<double>(i / 8), .kind = "tick", .message = "tick"});
      }
    }
  }
  raw_connection watcher(path, true);
  // Wait until the child has committed something, then kill it mid-stream.
  const bool wrote =
      eventually([&] { return watcher.scalar("SELECT count(*) FROM samples") > 1000; }, 5000ms);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(wrote);
  EXPECT_TRUE(WIFSIGNALED(status));

  database db(path);
  statement check(db, "PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.column_text(0), "ok");
  statement runs(db, "SELECT status, closed_cleanly FROM runs");
  ASSERT_TRUE(runs.step());
  EXPECT_EQ(runs.column_text(0), "running");  // a killed run says so
  EXPECT_EQ(runs.column_int64(1), 0);
  statement samples(db, "SELECT count(*) FROM samples");
  ASSERT_TRUE(samples.step());
  EXPECT_GT(samples.column_int64(0), 1000);
}

TEST(Recorder, ManyProducerThreadsLoseNothing) {
  temp_dir dir;
  const auto path = dir / "threads.db";
  constexpr int k_threads = 4;
  constexpr int k_samples = 25'000;
  constexpr int k_events = 200;
  {
    // Small batches and a small queue bound exercise the hand-over and back-pressure paths.
    recorder rec(path, {.flush_interval = 5ms, .batch_rows = 1000, .max_queued_rows = 4000});
    const auto run = rec.begin_run({.sequence_name = "threads"});
    std::vector<std::thread> producers;
    std::atomic<int> steps{0};
    for (int p = 0; p < k_threads; ++p) {
      producers.emplace_back([&, p] {
        const auto dut = rec.add_dut({.run_id = run, .slot = p, .name = "dut" + std::to_string(p)});
        const auto m = rec.metric("rx_power", "dBm");  // same id from every thread
        const auto step = rec.begin_step(
            {.run_id = run, .dut_id = dut, .path = "main/soak", .name = "soak", .type = "soak"});
        for (int i = 0; i < k_samples; ++i) {
          rec.add_sample(run, dut, m, i % 8, i / 8 * 1.0, -2.5);
          if (i % (k_samples / k_events) == 0) {
            rec.add_event({.run_id = run,
                           .dut_id = dut,
                           .t = i / 8 * 1.0,
                           .kind = "tick",
                           .message = "tick"});
          }
        }
        rec.end_step(step, step_verdict::pass, k_samples / 8.0);
        ++steps;
      });
    }
    for (auto& t : producers)
      t.join();
    rec.flush();
    const auto stats = rec.stats();
    EXPECT_EQ(stats.samples_written, std::uint64_t{k_threads} * k_samples);
    EXPECT_EQ(stats.rows_refused, 0u);
    EXPECT_LE(stats.max_queued_rows, 4000u + 1);
    EXPECT_EQ(steps.load(), k_threads);
  }
  raw_connection raw(path, true);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM samples"), k_threads * k_samples);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM events"), k_threads * k_events);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM duts"), k_threads);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM metrics"), 1);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM steps WHERE verdict = 'pass'"), k_threads);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

TEST(Recorder, IdsContinueAcrossRecorders) {
  temp_dir dir;
  const auto path = dir / "ids.db";
  std::int64_t metric_id = 0;
  {
    recorder rec(path);
    EXPECT_EQ(rec.begin_run({.sequence_name = "first"}), 1);
    metric_id = rec.metric("vcc", "V");
  }
  recorder rec(path);
  EXPECT_EQ(rec.begin_run({.sequence_name = "second"}), 2);
  EXPECT_EQ(rec.metric("vcc", "V"), metric_id);  // loaded from the file, not re-inserted
  EXPECT_EQ(rec.metric("icc", "A"), metric_id + 1);
  rec.flush();
}

TEST(Recorder, RefusesAMetricWithAnotherUnit) {
  temp_dir dir;
  recorder rec(dir / "unit.db");
  rec.metric("tx_power", "dBm");
  const db_error e = call_error([&] { rec.metric("tx_power", "mW"); });
  EXPECT_EQ(e.code(), db_errc::misuse);
  EXPECT_NE(std::string(e.what()).find("metric 'tx_power' is recorded in 'dBm', not 'mW'"),
            std::string::npos)
      << e.what();
}

TEST(Recorder, ValidatesArgumentsInTheCallingThread) {
  temp_dir dir;
  recorder rec(dir / "args.db");
  EXPECT_EQ(
      call_error([&] { rec.begin_run({.sequence_name = "x", .clock_mode = "sideways"}); }).code(),
      db_errc::misuse);
  EXPECT_EQ(
      call_error([&] { rec.begin_run({.sequence_name = "x", .parameters_json = "{oops"}); }).code(),
      db_errc::misuse);
  const auto run = rec.begin_run({.sequence_name = "x"});
  EXPECT_EQ(call_error([&] { rec.add_ber_counts({.run_id = run, .bits = -1}); }).code(),
            db_errc::misuse);
  rec.flush();  // nothing invalid reached the writer
}

TEST(Recorder, ARefusedRowIsReportedAndTheRestIsCommitted) {
  temp_dir dir;
  const auto path = dir / "refused.db";
  recorder rec(path, {.flush_interval = 60s});
  const auto run = rec.begin_run({.sequence_name = "refused"});
  const auto m = rec.metric("vcc", "V");
  rec.add_sample(run, station_dut, m, module_lane, 1.0, 3.3);
  const auto bad = rec.begin_step(
      {.run_id = run, .dut_id = 999, .path = "main/x", .name = "x", .type = "x"});  // no DUT 999
  rec.add_sample(run, station_dut, m, module_lane, 2.0, 3.3);
  rec.add_sample(run, station_dut, m, module_lane, 2.0, 3.4);  // duplicate sample key
  rec.end_step(12345, step_verdict::pass, 1.0);                // no such step

  const db_error e = call_error([&] { rec.flush(); });
  EXPECT_EQ(e.code(), db_errc::constraint);
  EXPECT_EQ(std::string(e.what()), path.string() + ": recorder could not write step " +
                                       std::to_string(bad) + " 'main/x' of run " +
                                       std::to_string(run) + ": FOREIGN KEY constraint failed");
  EXPECT_EQ(rec.stats().rows_refused, 3u);
  rec.flush();  // reported once

  raw_connection raw(path, true);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM samples"), 2);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM steps"), 0);
}

TEST(Recorder, ReportsAWriteLockHeldElsewhereAndRetries) {
  temp_dir dir;
  const auto path = dir / "locked.db";
  recorder rec(path, {.flush_interval = 20ms, .busy_timeout = 50ms});
  const auto run = rec.begin_run({.sequence_name = "locked"});
  const auto m = rec.metric("vcc", "V");
  rec.flush();

  raw_connection other(path);
  other.exec("BEGIN IMMEDIATE");
  rec.add_sample(run, station_dut, m, module_lane, 1.0, 3.3);
  const db_error e = call_error([&] { rec.flush(); });
  EXPECT_EQ(e.code(), db_errc::locked);
  EXPECT_EQ(std::string(e.what()),
            path.string() +
                ": recorder could not start a transaction: database is locked by another "
                "process (busy after 50 ms)");
  other.exec("ROLLBACK");

  // The rows were kept; once the lock is gone they are written.
  rec.flush();
  raw_connection reader(path, true);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM samples"), 1);
  EXPECT_GE(rec.stats().batch_failures, 1u);
}

TEST(Recorder, CloseReportsAndRefusesLaterCalls) {
  temp_dir dir;
  recorder rec(dir / "close.db");
  const auto run = rec.begin_run({.sequence_name = "close"});
  rec.close();
  rec.close();  // idempotent
  EXPECT_EQ(call_error([&] { rec.add_sample(run, station_dut, 1, module_lane, 1.0, 1.0); }).code(),
            db_errc::misuse);
  EXPECT_EQ(call_error([&] { rec.add_event({.run_id = run}); }).code(), db_errc::misuse);
}

TEST(Recorder, CloseThrowsAnUnreportedError) {
  temp_dir dir;
  recorder rec(dir / "close-error.db");
  rec.begin_step({.run_id = 77, .path = "p", .name = "n", .type = "t"});  // no run 77
  EXPECT_EQ(call_error([&] { rec.close(); }).code(), db_errc::constraint);
}

TEST(Recorder, RefusesANewerDatabase) {
  temp_dir dir;
  const auto path = dir / "newer.db";
  { recorder rec(path); }
  {
    raw_connection raw(path);
    raw.exec("PRAGMA user_version = 99");
  }
  const db_error e = call_error([&] { recorder rec(path); });
  EXPECT_EQ(e.code(), db_errc::newer_schema);
}

}  // namespace
}  // namespace hilt::db
