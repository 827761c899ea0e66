// `hilt run`, `hilt runs`, `hilt show` end to end on the emulated bench, and the database
// refusals (locked, corrupt, newer schema).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "process.hpp"

using hilt::test::first_line;
using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

std::string smoke() {
  return (source_dir() / "sequences/library/smoke.yaml").string();
}

// A one-value SQL query on a database file.
std::string query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
  std::string out;
  if (st && sqlite3_step(st) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(st, 0);
    out = t ? reinterpret_cast<const char*>(t) : "NULL";
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

void exec(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_close(h);
}

}  // namespace

TEST(Run, SmokeOnTheEmulatedBenchIsRecordedAndShown) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_hilt({"run", smoke(), "--db", db, "--set", "settle=2 h"});
  const auto wall = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Progress lines, then the summary.
  EXPECT_NE(r.out.find("slot 1: setup/1/identify (identify module) -> pass"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Run 1: smoke — passed (exit 0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("EMU8D0000004"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run 1 passed"), std::string::npos) << r.out;
  // Two hours of settling in virtual time took (much) less than a minute of wall time; the
  // harness clock recorded the full two hours.
  EXPECT_LT(wall, std::chrono::seconds(60));
  EXPECT_GE(std::stod(query(db, "SELECT duration_s FROM runs WHERE id = 1")), 7200.0);

  EXPECT_EQ(query(db,
                  "SELECT status || ',' || closed_cleanly || ',' || exit_code || ',' || "
                  "clock_mode || ',' || seed FROM runs"),
            "passed,1,0,virtual,1");
  EXPECT_EQ(query(db, "SELECT length(sequence_sha256) FROM runs"), "64");
  EXPECT_EQ(query(db, "SELECT count(*) FROM duts WHERE status = 'ok'"), "8");
  EXPECT_EQ(query(db, "SELECT serial FROM duts WHERE slot = 3"), "EMU8D0000003");
  // 8 modules, 2 supplies and a chamber.
  EXPECT_EQ(query(db, "SELECT count(*) FROM run_devices"), "11");
  EXPECT_EQ(query(db, "SELECT count(*) FROM steps WHERE verdict = 'running'"), "0");
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM v_measurement_verdicts WHERE measurement = "
                  "'temperature' AND verdict IN ('pass','marginal')"),
            "8");
  // Every verdict stores the limit it was judged against, and where the limit came from.
  EXPECT_EQ(query(db,
                  "SELECT comparator || ' ' || limit_high FROM measurements WHERE name = "
                  "'temperature' LIMIT 1"),
            "range 70.0");
  EXPECT_NE(query(db,
                  "SELECT limit_source FROM measurements WHERE name = 'temperature' "
                  "LIMIT 1")
                .find("smoke.yaml:"),
            std::string::npos);
  // The per-run log file.
  EXPECT_TRUE(std::filesystem::exists(d / "hilt-logs/run-1.log"));

  r = run_hilt({"runs", "--db", db});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("smoke"), std::string::npos);
  EXPECT_NE(r.out.find("passed"), std::string::npos);
  r = run_hilt({"runs", "--db", db, "--last"});
  EXPECT_EQ(r.out, "1\n");
  r = run_hilt({"show", "1", "--db", db});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(first_line(r.out), "Run 1: smoke — passed (exit 0)");
  EXPECT_NE(r.out.find("main/2/measure"), std::string::npos) << r.out;
  r = run_hilt({"show", "1", "--db", db, "--json"});
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["duts"].size(), 8u);
  EXPECT_EQ(j["run"]["status"], "passed");
  r = run_hilt({"show", "1", "--db", db, "--markdown"});
  EXPECT_EQ(first_line(r.out), "# hilt run 1: smoke — passed");

  // HILT_DB is the default database.
  r = run_hilt({"runs", "--last"}, {{"HILT_DB", db}});
  EXPECT_EQ(r.out, "1\n");
}

TEST(Run, AFailedLimitExits1AndTheFailureIsShown) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  const auto r = run_hilt({"run", smoke(), "--db", db, "--set", "t_max=20 C", "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(query(db, "SELECT status FROM runs"), "failed");
  EXPECT_EQ(query(db, "SELECT count(*) FROM duts WHERE status = 'failed'"), "8");
  EXPECT_NE(r.out.find("Measurements not passing"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("main/2/measure  temperature"), std::string::npos) << r.out;
  // stop_dut: the steps after the failure were skipped, cleanup still ran.
  EXPECT_EQ(query(db, "SELECT verdict FROM steps WHERE path = 'main/3/measure' AND dut_id = 1"),
            "skipped");
  EXPECT_EQ(query(db, "SELECT verdict FROM steps WHERE path = 'cleanup/1/log' AND dut_id = 1"),
            "pass");
}

TEST(Run, AModuleThatCannotBeOpenedErrorsOnlyItsDut) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  const auto f = hilt::test::write_one_empty_cage_fixture(d, "cmis:emu-i2c:cage2@0x50", true);
  const auto r = run_hilt({"run", smoke(), "--db", db, "--fixture", f, "-q"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(query(db, "SELECT status FROM runs"), "error");
  EXPECT_EQ(query(db, "SELECT status FROM duts WHERE slot = 1"), "ok");
  EXPECT_EQ(query(db, "SELECT status FROM duts WHERE slot = 2"), "error");
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE kind = 'device_open_failed'"), "1");
}

TEST(Run, BadInputIsRefusedBeforeAnythingRuns) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  auto r = run_hilt({"run", (d / "absent.yaml").string(), "--db", db});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "hilt: " + (d / "absent.yaml").string() + ": cannot read: No such file or directory\n");
  r = run_hilt({"run", smoke(), "--db", db, "--set", "nope=1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  EXPECT_EQ(first_line(r.err), r.err.substr(0, r.err.size() - 1)) << "one line: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(db)) << "nothing may be recorded for bad input";
}

TEST(Database, CorruptNewerAndLockedDatabasesAreRefused) {
  temp_dir d;
  const auto garbage = d.write("garbage.db", std::string(4096, 'x'));
  auto r = run_hilt({"runs", "--db", garbage});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("hilt: " + garbage + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("not a hilt database or corrupt"), std::string::npos) << r.err;
  r = run_hilt({"run", smoke(), "--db", garbage, "-q"});
  EXPECT_EQ(r.exit_code, 2);

  const auto db = (d / "runs.db").string();
  ASSERT_EQ(run_hilt({"run", smoke(), "--db", db, "-q"}).exit_code, 0);
  const auto newer = (d / "newer.db").string();
  std::filesystem::copy_file(db, newer);
  exec(newer, "PRAGMA user_version = 99");
  r = run_hilt({"runs", "--db", newer});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("schema version 99 is newer than this hilt supports"), std::string::npos)
      << r.err;
  r = run_hilt({"run", smoke(), "--db", newer, "-q"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("schema version 99"), std::string::npos) << r.err;

  r = run_hilt({"runs", "--db", (d / "none.db").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such database"), std::string::npos) << r.err;
  r = run_hilt({"show", "42", "--db", db});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "hilt: " + db + ": run 42 not found\n");

  // Another process holds the write lock for longer than the busy timeout.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  r = run_hilt({"run", smoke(), "--db", db, "-q"});
  sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
}

TEST(Run, SigintEndsTheRunAsInterruptedAfterSafeState) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  // Real time, a long settle: the run is certainly waiting when the signal arrives.
  const int pid = hilt::test::spawn_hilt(
      {"run", smoke(), "--db", db, "--clock", "real", "--set", "settle=1 h"}, d / "out", d / "err");
  // Wait until the run is recorded and its DUTs are settling.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::filesystem::exists(d / "out") &&
        hilt::test::read_file(d / "out").find("setup/1/identify (identify module) -> pass") !=
            std::string::npos) {
      break;
    }
  }
  ::kill(pid, SIGINT);
  const int code = hilt::test::wait_hilt(pid);
  EXPECT_EQ(code, 130) << hilt::test::read_file(d / "err");
  EXPECT_EQ(query(db, "SELECT status || ',' || closed_cleanly FROM runs"), "interrupted,1");
  EXPECT_EQ(query(db, "SELECT verdict FROM steps WHERE path = 'cleanup/1/log' AND dut_id = 1"),
            "pass");
  EXPECT_EQ(query(db, "SELECT error_code FROM steps WHERE path = 'main/1/wait' AND dut_id = 1"),
            "3");  // errc::cancelled
  const auto log = hilt::test::read_file(d / "hilt-logs/run-1.log");
  EXPECT_NE(log.find("safe state: m1 (cmis:emu-i2c:cage1@0x50) safe"), std::string::npos) << log;
}

TEST(Run, StationStepsRunOnceWhileEveryDutWaits) {
  temp_dir d;
  const auto db = (d / "runs.db").string();
  const auto seq = d.write("station.yaml", R"(sequence: station-demo
main:
  - step: wait
    name: stagger
    duration: 10 s
  - step: group
    name: chamber to 85 C
    station: true
    steps:
      - step: wait
        name: ramp
        duration: 30 min
      - step: log
        message: at temperature
  - step: measure
    monitor: temperature
)");
  const auto r = run_hilt({"run", seq, "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The station group and its children were recorded once, without a DUT.
  EXPECT_EQ(query(db, "SELECT count(*) FROM steps WHERE dut_id IS NULL"), "3");
  EXPECT_EQ(query(db, "SELECT count(*) FROM steps WHERE path = 'main/2/group'"), "1");
  // Every DUT measured after the station step ended: 10 s + 30 min on the harness clock.
  EXPECT_EQ(query(db, "SELECT min(started_t) FROM steps WHERE path = 'main/3/measure'"), "1810.0");
  EXPECT_EQ(query(db, "SELECT count(*) FROM steps WHERE path = 'main/3/measure'"), "8");
  EXPECT_NE(r.out.find("station: main/2/group/1/wait (ramp) -> pass (1800.000 s)"),
            std::string::npos)
      << r.out;
}
