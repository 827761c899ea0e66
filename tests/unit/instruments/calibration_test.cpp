// Calibration traceability: strict dates, the warn / refuse / ignore policy (fixture-wide and per
// device), and the messages a run and `hilt devices` show.
#include <gtest/gtest.h>

#include "hilt/calibration.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono;

constexpr year_month_day today{year(2026), month(3), day(15)};

hilt::fixture load(const hilt::test::tmp_dir& t, const std::string& body) {
  return hilt::load_fixture(t.write("f.yaml", "fixture: f\n" + body));
}

TEST(Calibration, Dates) {
  EXPECT_EQ(hilt::parse_iso_date("2024-02-29"), year_month_day(year(2024), month(2), day(29)));
  EXPECT_FALSE(hilt::parse_iso_date("2025-02-29"));
  EXPECT_FALSE(hilt::parse_iso_date("2025-13-01"));
  EXPECT_FALSE(hilt::parse_iso_date("2025-6-30"));
  EXPECT_FALSE(hilt::parse_iso_date("2025-06-30x"));
  EXPECT_FALSE(hilt::parse_iso_date("soon"));
  EXPECT_TRUE(hilt::today_utc().ok());
}

TEST(Calibration, OverdueDevicesWarnByDefault) {
  hilt::test::tmp_dir t;
  const auto f = load(
      t,
      "devices:\n"
      "  - { name: psu1, address: 'scpi-psu:tcp:10.0.0.7', calibration_due: 2026-03-14 }\n"
      "  - { name: psu2, address: 'scpi-psu:tcp:10.0.0.8', calibration_due: 2026-03-15 }\n"
      "  - { name: oven, address: 'modbus-chamber:tcp:10.0.0.9', calibration_due: 2025-03-15 }\n"
      "  - { name: m1, address: 'cmis:emu-i2c:cage1@0x50' }\n");
  const auto found = hilt::check_calibration(f, today);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].device, "psu1");
  EXPECT_EQ(found[0].days_overdue, 1);
  EXPECT_EQ(found[0].message, "device 'psu1': calibration was due 2026-03-14, 1 day ago");
  EXPECT_EQ(found[0].policy, hilt::calibration_policy::warn);
  EXPECT_EQ(found[0].where, t.dir.string() + "/f.yaml:3:5");
  EXPECT_EQ(found[1].message, "device 'oven': calibration was due 2025-03-15, 365 days ago");
}

TEST(Calibration, RefuseStopsAtTheFirstOverdueDevice) {
  hilt::test::tmp_dir t;
  const auto f =
      load(t,
           "calibration: refuse\n"
           "devices:\n"
           "  - { name: psu1, address: 'scpi-psu:tcp:10.0.0.7', calibration_due: 2027-01-01 }\n"
           "  - name: oven\n"
           "    address: modbus-chamber:tcp:10.0.0.9\n"
           "    calibration_due: 2026-01-01\n");
  try {
    hilt::check_calibration(f, today);
    ADD_FAILURE() << "expected a config_error";
  } catch (const hilt::config_error& e) {
    EXPECT_EQ(std::string(e.what()), t.dir.string() +
                                         "/f.yaml:5:5: device 'oven': calibration "
                                         "was due 2026-01-01, 73 days ago "
                                         "(calibration: refuse)");
  }
}

TEST(Calibration, PerDevicePolicyOverridesTheFixture) {
  hilt::test::tmp_dir t;
  const auto f = load(t,
                      "calibration: refuse\n"
                      "devices:\n"
                      "  - { name: psu1, address: 'scpi-psu:tcp:10.0.0.7', calibration_due: "
                      "2026-01-01, calibration: warn }\n"
                      "  - { name: dmm, address: 'scpi-psu:tcp:10.0.0.8', calibration_due: "
                      "2026-01-01, calibration: ignore }\n");
  const auto found = hilt::check_calibration(f, today);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].device, "psu1");
}

TEST(Calibration, BadPolicyIsAFixtureError) {
  hilt::test::tmp_dir t;
  try {
    load(t, "calibration: maybe\ndevices: []\n");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_EQ(std::string(e.what()), t.dir.string() +
                                         "/f.yaml:2:14: calibration must be warn, "
                                         "refuse or ignore, got 'maybe'");
  }
  try {
    load(t, "devices:\n  - { name: a, address: 'x:y:z', calibration_due: 2025-02-29 }\n");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_EQ(std::string(e.what()), t.dir.string() +
                                         "/f.yaml:3:51: calibration_due must be a "
                                         "date YYYY-MM-DD, got '2025-02-29'");
  }
}

TEST(Calibration, Describe) {
  EXPECT_EQ(hilt::describe_calibration("", today), "");
  EXPECT_EQ(hilt::describe_calibration("2027-06-30", today), "2027-06-30");
  EXPECT_EQ(hilt::describe_calibration("2026-03-15", today), "2026-03-15");
  EXPECT_EQ(hilt::describe_calibration("2026-03-01", today), "2026-03-01 (overdue by 14 d)");
}

}  // namespace
