#include "hilt/db/queries.hpp"

#include <string>

#include <gtest/gtest.h>

#include "hilt/db/recorder.hpp"
#include "sample_run.hpp"
#include "test_support.hpp"

namespace hilt::db {
namespace {

using testing::raw_connection;
using testing::temp_dir;

class RecordedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    recorder rec(path_);
    ids_ = testing::write_sample_run(rec);
    // A second run, killed while running: no end, one DUT still running.
    second_ = rec.begin_run({.sequence_name = "soak"});
    rec.add_dut({.run_id = second_, .slot = 1, .name = "dut1"});
    rec.close();
  }

  temp_dir dir_;
  std::filesystem::path path_ = dir_ / "hilt.db";
  testing::sample_run_ids ids_;
  std::int64_t second_ = 0;
};

// ---- views: each row checked against what the tables say

TEST_F(RecordedRun, StepVerdictsView) {
  raw_connection raw(path_, true);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM v_step_verdicts"),
            raw.scalar("SELECT count(*) FROM steps"));
  const std::string power = " FROM v_step_verdicts WHERE step_id = " + std::to_string(ids_.power2);
  EXPECT_EQ(raw.scalar("SELECT slot" + power), 2);
  EXPECT_EQ(raw.text("SELECT dut" + power), "dut2");
  EXPECT_EQ(raw.text("SELECT path" + power), "main/2/power");
  EXPECT_EQ(raw.text("SELECT verdict" + power), "fail");
  EXPECT_EQ(raw.text("SELECT duration_s" + power), "1.0");
  EXPECT_EQ(raw.text("SELECT error" + power), "module power above limit");
  EXPECT_EQ(raw.scalar("SELECT error_code" + power), 1201);
  // The station step has no slot.
  EXPECT_EQ(
      raw.text("SELECT slot FROM v_step_verdicts WHERE step_id = " + std::to_string(ids_.setup)),
      "<null>");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM v_step_verdicts WHERE run_id = " +
                       std::to_string(ids_.run) + " AND verdict NOT IN ('pass', 'done')"),
            2);
}

TEST_F(RecordedRun, LatestSamplesView) {
  raw_connection raw(path_, true);
  // One row per (run, dut, metric, lane) series: 2 DUTs x 8 lanes of rx_power, 2 module
  // temperatures, 1 chamber temperature.
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM v_latest_samples"), 19);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM v_latest_samples"),
            raw.scalar("SELECT count(*) FROM (SELECT DISTINCT run_id, dut_id, metric_id, lane "
                       "FROM samples)"));
  // The latest t is 4.0, and value is the value AT that t (i = 2).
  const std::string lane3 =
      " FROM v_latest_samples WHERE slot = 2 AND metric = 'rx_power' AND lane = 3";
  EXPECT_EQ(raw.text("SELECT t" + lane3), "4.0");
  EXPECT_EQ(raw.text("SELECT round(value, 6)" + lane3), "-3.32");
  EXPECT_EQ(raw.text("SELECT unit" + lane3), "dBm");
  EXPECT_EQ(raw.text("SELECT dut" + lane3), "dut2");
  // Station series: no slot.
  EXPECT_EQ(raw.text("SELECT round(value, 6) FROM v_latest_samples WHERE metric = "
                     "'chamber/temperature' AND slot IS NULL AND dut_id = 0 AND lane = -1"),
            "25.2");
  // Each row matches the table's own latest row.
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM v_latest_samples v JOIN metrics m ON m.name = "
                       "v.metric WHERE v.value IS NOT (SELECT s.value FROM samples s WHERE "
                       "s.run_id = v.run_id AND s.dut_id = v.dut_id AND s.metric_id = m.id AND "
                       "s.lane = v.lane ORDER BY s.t DESC LIMIT 1)"),
            0);
}

TEST_F(RecordedRun, MeasurementVerdictsView) {
  raw_connection raw(path_, true);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM v_measurement_verdicts"),
            raw.scalar("SELECT count(*) FROM measurements"));
  const std::string fail =
      " FROM v_measurement_verdicts WHERE measurement_id = " + std::to_string(ids_.m_fail);
  EXPECT_EQ(raw.scalar("SELECT slot" + fail), 2);
  EXPECT_EQ(raw.text("SELECT step_path" + fail), "main/2/power");
  EXPECT_EQ(raw.text("SELECT measurement" + fail), "module_power");
  EXPECT_EQ(raw.text("SELECT value" + fail), "18.2");
  EXPECT_EQ(raw.text("SELECT unit" + fail), "W");
  EXPECT_EQ(raw.text("SELECT comparator" + fail), "range");
  EXPECT_EQ(raw.text("SELECT limit_low" + fail), "0.0");
  EXPECT_EQ(raw.text("SELECT limit_high" + fail), "16.0");
  EXPECT_EQ(raw.text("SELECT limit_source" + fail), "CMIS");
  EXPECT_EQ(raw.text("SELECT verdict" + fail), "fail");
  const std::string marginal =
      " FROM v_measurement_verdicts WHERE measurement_id = " + std::to_string(ids_.m_marginal);
  EXPECT_EQ(raw.text("SELECT side" + marginal), "media");
  EXPECT_EQ(raw.scalar("SELECT lane" + marginal), 0);
  EXPECT_EQ(raw.text("SELECT marginal_high" + marginal), "0.0001");
}

TEST_F(RecordedRun, RunSummaryView) {
  raw_connection raw(path_, true);
  const std::string first = " FROM v_run_summary WHERE run_id = " + std::to_string(ids_.run);
  EXPECT_EQ(raw.text("SELECT status" + first), "failed");
  EXPECT_EQ(raw.scalar("SELECT duts" + first), 2);
  EXPECT_EQ(raw.scalar("SELECT duts_passed" + first), 1);
  EXPECT_EQ(raw.scalar("SELECT duts_failed" + first), 1);
  EXPECT_EQ(raw.scalar("SELECT duts_error" + first), 0);
  EXPECT_EQ(raw.scalar("SELECT steps" + first), 4);
  EXPECT_EQ(raw.scalar("SELECT measurements" + first), 3);
  EXPECT_EQ(raw.scalar("SELECT measurements_failed" + first), 1);
  EXPECT_EQ(raw.scalar("SELECT samples" + first), 57);
  EXPECT_EQ(raw.scalar("SELECT events" + first), 2);
  const std::string second = " FROM v_run_summary WHERE run_id = " + std::to_string(second_);
  EXPECT_EQ(raw.text("SELECT status" + second), "running");
  EXPECT_EQ(raw.scalar("SELECT closed_cleanly" + second), 0);
  EXPECT_EQ(raw.scalar("SELECT samples" + second), 0);
}

TEST_F(RecordedRun, LatestSamplesViewUsesTheKeyForOneRun) {
  // Filtering the view by run must not scan other runs' samples.
  raw_connection raw(path_, true);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw.handle(),
                               "EXPLAIN QUERY PLAN SELECT * FROM v_latest_samples WHERE run_id = 1",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  EXPECT_NE(plan.find("SEARCH samples USING PRIMARY KEY (run_id=?)"), std::string::npos) << plan;
}

// ---- queries

TEST_F(RecordedRun, ListRuns) {
  database db(path_, {.mode = open_mode::read_only});
  const auto runs = list_runs(db);
  ASSERT_EQ(runs.size(), 2u);
  const run_summary& r = runs[0];
  EXPECT_EQ(r.id, ids_.run);
  EXPECT_EQ(r.uuid.size(), 36u);
  EXPECT_EQ(r.sequence_name, "smoke");
  EXPECT_EQ(r.status, run_status::failed);
  EXPECT_TRUE(r.closed_cleanly);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.duration_s, 12.5);
  ASSERT_TRUE(r.ended_at.has_value());
  EXPECT_FALSE(r.started_at.empty());
  EXPECT_EQ(r.duts, 2);
  EXPECT_EQ(r.duts_passed, 1);
  EXPECT_EQ(r.duts_failed, 1);
  EXPECT_EQ(r.duts_error, 0);

  const run_summary& killed = runs[1];
  EXPECT_EQ(killed.id, second_);
  EXPECT_EQ(killed.status, run_status::running);
  EXPECT_FALSE(killed.closed_cleanly);
  EXPECT_FALSE(killed.ended_at.has_value());
  EXPECT_FALSE(killed.duration_s.has_value());
  EXPECT_EQ(killed.duts, 1);
  EXPECT_EQ(killed.duts_passed, 0);
}

TEST_F(RecordedRun, LoadRun) {
  database db(path_, {.mode = open_mode::read_only});
  const run_detail d = load_run(db, ids_.run);
  EXPECT_EQ(d.run.sequence_path, "sequences/library/smoke.yaml");
  EXPECT_EQ(d.run.sequence_sha256.size(), 64u);
  EXPECT_EQ(d.run.seed, 42);
  EXPECT_EQ(d.run.clock_mode, "virtual");
  EXPECT_EQ(d.run.host, "bench-7");
  EXPECT_EQ(d.run.operator_name, "ada");
  EXPECT_EQ(d.run.status, run_status::failed);

  ASSERT_EQ(d.devices.size(), 1u);
  EXPECT_EQ(d.devices[0].name, "psu1");
  EXPECT_EQ(d.devices[0].device_class, "power_supply");

  ASSERT_EQ(d.duts.size(), 2u);
  EXPECT_EQ(d.duts[0].slot, 1);
  EXPECT_EQ(d.duts[0].serial, "SN0001");
  EXPECT_EQ(d.duts[0].status, dut_status::ok);
  EXPECT_EQ(d.duts[0].measurements.pass, 1);
  EXPECT_EQ(d.duts[1].status, dut_status::failed);
  EXPECT_EQ(d.duts[1].measurements.fail, 1);
  EXPECT_EQ(d.duts[1].measurements.marginal, 1);

  ASSERT_EQ(d.steps.size(), 4u);
  EXPECT_EQ(d.steps[0].path, "main/0/setup");
  EXPECT_FALSE(d.steps[0].dut_id.has_value());
  EXPECT_FALSE(d.steps[0].slot.has_value());
  EXPECT_EQ(d.steps[0].verdict, step_verdict::done);
  EXPECT_EQ(d.steps[0].duration_s, 1.5);
  const step_info& power = d.steps[3];
  EXPECT_EQ(power.id, ids_.power2);
  EXPECT_EQ(power.slot, 2);
  EXPECT_EQ(power.verdict, step_verdict::fail);
  EXPECT_EQ(power.error_code, 1201);
  EXPECT_EQ(power.error_message, "module power above limit");
  EXPECT_EQ(power.duration_s, 1.0);
  EXPECT_EQ(power.measurements.fail, 1);
  EXPECT_EQ(power.measurements.total(), 1);
  EXPECT_EQ(d.steps[1].sweep_point_json, R"({"temperature_c": 25})");

  EXPECT_EQ(d.measurements.total(), 3);
  EXPECT_EQ(d.measurements.pass, 1);
  EXPECT_EQ(d.measurements.marginal, 1);
  EXPECT_EQ(d.measurements.fail, 1);
  EXPECT_EQ(d.ber_counts, 1);
  EXPECT_EQ(d.events.alarm, 1);
  EXPECT_EQ(d.events.info, 1);
  EXPECT_EQ(d.events.total(), 2);

  const run_detail killed = load_run(db, second_);
  EXPECT_EQ(killed.run.status, run_status::running);
  EXPECT_TRUE(killed.steps.empty());
  EXPECT_EQ(killed.duts.size(), 1u);
}

TEST_F(RecordedRun, LoadRunOfAMissingRun) {
  database db(path_, {.mode = open_mode::read_only});
  try {
    load_run(db, 42);
    FAIL() << "expected a db_error";
  } catch (const db_error& e) {
    EXPECT_EQ(e.code(), db_errc::not_found);
    EXPECT_EQ(std::string(e.what()), path_.string() + ": run 42 not found");
  }
}

TEST(Queries, EmptyDatabase) {
  temp_dir dir;
  database db(dir / "empty.db");
  EXPECT_TRUE(list_runs(db).empty());
}

}  // namespace
}  // namespace hilt::db
