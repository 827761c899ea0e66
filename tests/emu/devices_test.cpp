// `hilt devices` end to end on an instrument bench: every instrument's identity over its own wire
// (*IDN? for the supply, the register map for the chamber, CMIS for the module) and its calibration
// due date from the fixture with where it stands today — in the table (CAL DUE) and in --json
// (calibration_due, calibration_status, calibration_days_left, calibration_policy).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"

using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

// Today (UTC, as hilt reckons it) plus `days`, as YYYY-MM-DD.
std::string iso_date(int days) {
  const auto d = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) +
                 std::chrono::days(days);
  const std::chrono::year_month_day ymd(d);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

// A supply whose calibration ran out 3 days ago (policy refuse: a run would stop, a listing must
// not), a chamber due in 99 days, a second supply due today (still valid) and a module without a
// date.
std::string write_instrument_bench(const temp_dir& d) {
  std::string text = R"(fixture: instrument-bench
clock: virtual
emulation:
  ambient: 23 C
  chambers:
    - { name: chamber1, setpoint: 25 C, serial: 4711 }
  supplies:
    - name: psu1
      model: keysight-e36xx
      serial: MY61000042
      outputs: { 1: { voltage: 3.3 V, current: 5 A, on: true } }
    - { name: psu2, model: rs-ngp }
  modules:
    - { bus: cage1, profile: PROFILE, serial: EMU4D0000001, rail: psu1/1, chamber: chamber1 }
devices:
  - { name: m1, address: 'cmis:emu-i2c:cage1@0x50' }
  - name: psu1
    address: scpi-psu:emu-tcp:psu1?model=keysight-e36xx
    calibration_due: OVERDUE
    calibration: refuse
  - name: chamber1
    address: modbus-chamber:emu-tcp:chamber1
    calibration_due: FUTURE
  - name: psu2
    address: scpi-psu:emu-tcp:psu2?model=rs-ngp
    calibration_due: TODAY
duts:
  - { slot: 1, module: m1 }
)";
  replace_all(text, "PROFILE", (source_dir() / "fixtures/profiles/qsfpdd-400g-dr4.yaml").string());
  replace_all(text, "OVERDUE", iso_date(-3));
  replace_all(text, "FUTURE", iso_date(99));
  replace_all(text, "TODAY", iso_date(0));
  return d.write("instrument-bench.yaml", text);
}

// The table row of a device (the line that starts with its name), split at runs of blanks of two
// or more (cells may hold single blanks: "2026-03-01 (overdue by 3 d)").
std::vector<std::string> row_of(const std::string& table, const std::string& device) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(device + " ", 0) != 0) continue;
    std::vector<std::string> cells;
    std::string cell;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == ' ' && (i + 1 >= line.size() || line[i + 1] == ' ')) {
        if (!cell.empty()) cells.push_back(cell);
        cell.clear();
        while (i + 1 < line.size() && line[i + 1] == ' ')
          ++i;
        continue;
      }
      cell += line[i];
    }
    if (!cell.empty()) cells.push_back(cell);
    return cells;
  }
  return {};
}

}  // namespace

TEST(Devices, TableShowsIdentityAndCalibrationDue) {
  temp_dir d;
  const auto fixture = write_instrument_bench(d);
  const auto r = run_hilt({"devices", "--fixture", fixture});
  // An overdue instrument is listed, not refused (only a run applies `calibration: refuse`).
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto header = row_of(r.out, "DEVICE");
  EXPECT_EQ(header, (std::vector<std::string>{"DEVICE", "ADDRESS", "CLASS", "VENDOR", "PART NUMBER",
                                              "SERIAL", "FIRMWARE", "CAL DUE", "STATUS"}))
      << r.out;

  const auto psu1 = row_of(r.out, "psu1");
  ASSERT_EQ(psu1.size(), 9u) << r.out;
  EXPECT_EQ(psu1[2], "power_supply");
  EXPECT_EQ(psu1[3], "Keysight Technologies");  // *IDN? fields
  EXPECT_EQ(psu1[4], "E36312A");
  EXPECT_EQ(psu1[5], "MY61000042");
  EXPECT_EQ(psu1[7], iso_date(-3) + " (overdue by 3 d)");
  EXPECT_EQ(psu1[8], "ok");

  const auto chamber = row_of(r.out, "chamber1");
  ASSERT_EQ(chamber.size(), 9u) << r.out;
  EXPECT_EQ(chamber[2], "thermal_chamber");
  EXPECT_EQ(chamber[5], "4711");  // the chamber's serial number register
  EXPECT_EQ(chamber[7], iso_date(99));
  EXPECT_EQ(chamber[8], "ok");

  const auto psu2 = row_of(r.out, "psu2");
  ASSERT_EQ(psu2.size(), 9u) << r.out;
  EXPECT_EQ(psu2[3], "Rohde&Schwarz");
  EXPECT_EQ(psu2[7], iso_date(0)) << "valid through its due date";

  const auto m1 = row_of(r.out, "m1");
  ASSERT_EQ(m1.size(), 9u) << r.out;
  EXPECT_EQ(m1[5], "EMU4D0000001");
  EXPECT_EQ(m1[7], "-");  // no calibration date
}

TEST(Devices, JsonCarriesCalibrationDueAndStatus) {
  temp_dir d;
  const auto fixture = write_instrument_bench(d);
  const auto r = run_hilt({"devices", "--json", "--fixture", fixture});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u) << r.out;
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& e : j)
    by_name[e["name"].get<std::string>()] = e;

  const auto& psu1 = by_name.at("psu1");
  EXPECT_EQ(psu1["identity"]["vendor"], "Keysight Technologies");
  EXPECT_EQ(psu1["identity"]["serial"], "MY61000042");
  EXPECT_EQ(psu1["calibration_due"], iso_date(-3));
  EXPECT_EQ(psu1["calibration_status"], "overdue");
  EXPECT_EQ(psu1["calibration_days_left"], -3);
  EXPECT_EQ(psu1["calibration_policy"], "refuse");

  const auto& chamber = by_name.at("chamber1");
  EXPECT_EQ(chamber["class"], "thermal_chamber");
  EXPECT_EQ(chamber["identity"]["serial"], "4711");
  EXPECT_EQ(chamber["calibration_due"], iso_date(99));
  EXPECT_EQ(chamber["calibration_status"], "ok");
  EXPECT_EQ(chamber["calibration_days_left"], 99);
  EXPECT_EQ(chamber["calibration_policy"], "warn");  // the fixture-wide default

  const auto& psu2 = by_name.at("psu2");
  EXPECT_EQ(psu2["calibration_status"], "ok");
  EXPECT_EQ(psu2["calibration_days_left"], 0);

  const auto& m1 = by_name.at("m1");
  EXPECT_EQ(m1["identity"]["serial"], "EMU4D0000001");
  EXPECT_TRUE(m1["calibration_due"].is_null()) << m1.dump();
  EXPECT_EQ(m1["calibration_status"], "none");
  EXPECT_FALSE(m1.contains("calibration_days_left")) << m1.dump();
}

// The run itself still applies the policy: the same bench refuses to run with psu1 overdue.
TEST(Devices, TheRunRefusesWhatTheListingOnlyShows) {
  temp_dir d;
  const auto fixture = write_instrument_bench(d);
  const auto seq = (source_dir() / "sequences/library/smoke.yaml").string();
  const auto r = run_hilt({"run", seq, "--fixture", fixture, "--db", (d / "h.db").string(), "-q"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("device 'psu1': calibration was due " + iso_date(-3) +
                       ", 3 days ago (calibration: refuse)"),
            std::string::npos)
      << r.err;
}

// With the default policy (warn) the run goes on, says so on stderr and records the overdue
// instrument as an event; every instrument's identity is recorded with the run's devices.
TEST(Devices, TheRunWarnsOfAnOverdueCalibrationAndRecordsInstrumentIdentities) {
  temp_dir d;
  std::string text = hilt::test::read_file(write_instrument_bench(d));
  replace_all(text, "    calibration: refuse\n", "");
  const auto fixture = d.write("warn-bench.yaml", text);
  const auto db = (d / "h.db").string();
  const auto seq = (source_dir() / "sequences/library/smoke.yaml").string();
  const auto r = run_hilt({"run", seq, "--fixture", fixture, "--db", db, "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("device 'psu1': calibration was due " + iso_date(-3) + ", 3 days ago"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(hilt::test::query_rows(db,
                                   "SELECT device || '|' || severity || '|' || message FROM "
                                   "events WHERE kind = 'calibration_overdue'"),
            (std::vector<std::string>{"psu1|warning|device 'psu1': calibration was due " +
                                      iso_date(-3) + ", 3 days ago"}));
  const auto psu1 = hilt::test::query_one(
      db,
      "SELECT vendor || '|' || model || '|' || serial || '|' || calibration_due FROM "
      "run_devices WHERE name = 'psu1'");
  EXPECT_NE(psu1.find("|MY61000042|" + iso_date(-3)), std::string::npos) << psu1;
  EXPECT_NE(hilt::test::query_one(db, "SELECT vendor FROM run_devices WHERE name = 'chamber1'"),
            "");
}
