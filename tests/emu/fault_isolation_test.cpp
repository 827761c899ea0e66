// Issue 6 acceptance: fault injection during a multi-DUT run through the real hilt binary. A
// module that stops answering, a supply that drops off the network, a chamber that answers with
// Modbus errors: the run goes on, only the DUTs that depend on the failed device are errored, the
// others complete, and everything stored before the fault is exactly what a run without the
// fault stores (virtual time, same seed).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "process.hpp"

using hilt::test::query_one;
using hilt::test::query_rows;
using hilt::test::read_file;
using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

// Two hours into the qualification sequence (it runs about 172 h of harness time).
constexpr double fault_t = 7200;

// The shipped emulated bench, with profiles resolved from the source tree and `edit` applied
// (text replacements: each `from` must occur).
std::string bench_with(const temp_dir& d, const std::string& name,
                       const std::vector<std::pair<std::string, std::string>>& edits) {
  std::string text = read_file(source_dir() / "fixtures/emulated-bench.yaml");
  const std::string profiles = (source_dir() / "fixtures/profiles/").string();
  for (std::size_t at = 0; (at = text.find("profile: profiles/", at)) != std::string::npos;) {
    text.replace(at, 18, "profile: " + profiles);
    at += 9 + profiles.size();
  }
  for (const auto& [from, to] : edits) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "fixture has no '" << from << "'";
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return d.write(name, text);
}

std::string qualification() {
  return (source_dir() / "sequences/library/qualification.yaml").string();
}

// Power draw per state (low power, high power, PRBS; 5 s each): every DUT reads its own supply
// output, so a supply that goes away touches only the DUTs it feeds.
std::string power_draw() {
  return (source_dir() / "sequences/library/power-draw.yaml").string();
}

// Per DUT slot: its status.
std::vector<std::string> statuses(const std::string& db) {
  return query_rows(db, "SELECT slot || ':' || status FROM duts ORDER BY slot");
}

// Every measurement of the given slots: slot, step path, name, lane, t, value, verdict.
std::vector<std::string> measurements(const std::string& db, const std::string& slots,
                                      double before_t = 1e30) {
  return query_rows(db,
                    "SELECT d.slot, s.path, m.name, m.lane, m.t, m.value, m.verdict "
                    "FROM measurements m JOIN duts d ON d.id = m.dut_id "
                    "JOIN steps s ON s.id = m.step_id WHERE d.slot IN (" +
                        slots + ") AND m.t < " + std::to_string(before_t) +
                        " ORDER BY d.slot, m.id");
}

struct fault_run {
  std::string db;
  int exit_code = -1;
  std::string out;
};

fault_run run_on(const temp_dir& d, const std::string& fixture, const std::string& name,
                 const std::string& sequence = qualification()) {
  fault_run r;
  r.db = (d / (name + ".db")).string();
  const auto p = run_hilt({"run", sequence, "--fixture", fixture, "--db", r.db, "-q"});
  r.exit_code = p.exit_code;
  r.out = p.out + p.err;
  return r;
}

class FaultIsolation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new temp_dir;
    const auto fx = bench_with(*dir_, "ref.yaml", {});
    reference_ = new fault_run(run_on(*dir_, fx, "ref"));
    power_reference_ = new fault_run(run_on(*dir_, fx, "ref-power", power_draw()));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete power_reference_;
    delete dir_;
  }
  static temp_dir* dir_;
  static fault_run* reference_;
  static fault_run* power_reference_;
};
temp_dir* FaultIsolation::dir_ = nullptr;
fault_run* FaultIsolation::reference_ = nullptr;
fault_run* FaultIsolation::power_reference_ = nullptr;

TEST_F(FaultIsolation, TheReferenceRunFailsOnlyTheMarginalModule) {
  ASSERT_EQ(reference_->exit_code, 1) << reference_->out;
  EXPECT_EQ(statuses(reference_->db),
            (std::vector<std::string>{"1:ok", "2:ok", "3:ok", "4:ok", "5:ok", "6:ok", "7:ok",
                                      "8:failed"}));
}

TEST_F(FaultIsolation, AModuleThatStopsAnsweringErrorsOnlyItsDut) {
  const auto fx = bench_with(
      *dir_, "silent.yaml",
      {{"serial: EMU8D0000003\n", "serial: EMU8D0000003\n      faults: { silent_at: 2 h }\n"}});
  const auto r = run_on(*dir_, fx, "silent");
  // A device error somewhere, and m3 could not be made safe: exit 3.
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(statuses(r.db), (std::vector<std::string>{"1:ok", "2:ok", "3:error", "4:ok", "5:ok",
                                                      "6:ok", "7:ok", "8:failed"}));
  // The other DUTs' results are what they are without the fault, value for value.
  EXPECT_EQ(measurements(r.db, "1,2,4,5,6,7,8"), measurements(reference_->db, "1,2,4,5,6,7,8"));
  // Slot 3's results up to the fault are intact too.
  EXPECT_EQ(measurements(r.db, "3", fault_t), measurements(reference_->db, "3", fault_t));
  EXPECT_NE(query_one(r.db,
                      "SELECT count(*) FROM events e JOIN duts d ON d.id = e.dut_id "
                      "WHERE d.slot = 3 AND e.kind = 'step_error'"),
            "0");
  EXPECT_EQ(query_one(r.db,
                      "SELECT count(*) FROM events WHERE kind = 'step_error' AND dut_id "
                      "IN (SELECT id FROM duts WHERE slot <> 3)"),
            "0");
  // Its safe state could not be confirmed, and says so; every other module's was.
  EXPECT_EQ(query_rows(r.db,
                       "SELECT DISTINCT device FROM events WHERE kind = 'safe_state' AND "
                       "severity = 'error' ORDER BY device"),
            (std::vector<std::string>{"m3"}));
}

TEST_F(FaultIsolation, ASupplyThatDropsOffTheNetworkErrorsOnlyTheDutsItFeeds) {
  ASSERT_EQ(power_reference_->exit_code, 0) << power_reference_->out;
  // 8 s in: after the low-power reading (5 s), before the high-power one (10 s).
  const auto fx =
      bench_with(*dir_, "offline.yaml",
                 {{"    - name: psu2\n      model: rs-ngp\n",
                   "    - name: psu2\n      model: rs-ngp\n      faults: { offline_at: 8 s }\n"}});
  const auto r = run_on(*dir_, fx, "offline", power_draw());
  EXPECT_EQ(r.exit_code, 3) << r.out;
  // psu2 feeds slots 5-8; slots 1-4 (psu1) are untouched, value for value.
  EXPECT_EQ(measurements(r.db, "1,2,3,4"), measurements(power_reference_->db, "1,2,3,4"));
  EXPECT_EQ(statuses(r.db), (std::vector<std::string>{"1:ok", "2:ok", "3:ok", "4:ok", "5:error",
                                                      "6:error", "7:error", "8:error"}));
  // What slots 5-8 measured before the supply went away is intact.
  EXPECT_EQ(measurements(r.db, "5,6,7,8", 8), measurements(power_reference_->db, "5,6,7,8", 8));
  EXPECT_NE(measurements(r.db, "5,6,7,8", 8), std::vector<std::string>{});
  // Their errors name the supply and the timeout.
  EXPECT_EQ(query_one(r.db,
                      "SELECT count(*) FROM events WHERE kind = 'step_error' AND message "
                      "LIKE '%psu2%timed out%'"),
            "4");
  // The supply could not be switched off at the end: recorded as such.
  EXPECT_EQ(query_rows(r.db,
                       "SELECT DISTINCT device FROM events WHERE kind = 'safe_state' AND "
                       "severity = 'error' ORDER BY device"),
            (std::vector<std::string>{"psu2"}));
}

TEST_F(FaultIsolation, AChamberAnsweringModbusErrorsStopsNoDutAndKeepsEarlierResults) {
  const auto fx = bench_with(*dir_, "chamber.yaml",
                             {{"{ name: chamber1, setpoint: 25 C }",
                               "{ name: chamber1, setpoint: 25 C, faults: { errors_at: 2 h } }"}});
  const auto r = run_on(*dir_, fx, "chamber");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  // Every DUT walked its whole sequence: each reached its cleanup section.
  EXPECT_EQ(query_one(r.db,
                      "SELECT count(DISTINCT dut_id) FROM steps WHERE path LIKE 'cleanup/%' "
                      "AND dut_id IS NOT NULL"),
            query_one(reference_->db,
                      "SELECT count(DISTINCT dut_id) FROM steps "
                      "WHERE path LIKE 'cleanup/%' AND dut_id IS NOT NULL"));
  EXPECT_EQ(query_one(r.db, "SELECT status || ',' || closed_cleanly FROM runs"), "error,1");
  // Everything measured before the fault is what the run without it measured.
  EXPECT_EQ(measurements(r.db, "1,2,3,4,5,6,7,8", fault_t),
            measurements(reference_->db, "1,2,3,4,5,6,7,8", fault_t));
  // The chamber's failures are events naming it.
  EXPECT_NE(query_one(r.db,
                      "SELECT count(*) FROM events WHERE kind = 'soak_abort' AND message "
                      "LIKE 'chamber1 %instrument reported an error%'"),
            "0");
  // Every module was still made safe.
  EXPECT_EQ(query_rows(r.db,
                       "SELECT DISTINCT device FROM events WHERE kind = 'safe_state' AND "
                       "severity = 'error' ORDER BY device"),
            (std::vector<std::string>{"chamber1"}));
}

}  // namespace
