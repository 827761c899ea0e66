#include "hilt/db/util.hpp"

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "hilt/db/error.hpp"
#include "hilt/db/types.hpp"

namespace hilt::db {
namespace {

TEST(UtcTimestamp, FormatsIso8601WithMilliseconds) {
  using namespace std::chrono;
  const system_clock::time_point when{seconds(1714566896) + milliseconds(789)};
  EXPECT_EQ(utc_timestamp(when), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(utc_timestamp(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(MakeUuid, IsVersion4AndUnique) {
  const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string uuid = make_uuid();
    EXPECT_TRUE(std::regex_match(uuid, shape)) << uuid;
    seen.insert(uuid);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Types, RoundTripEveryValue) {
  for (auto v : {run_status::running, run_status::passed, run_status::failed, run_status::error,
                 run_status::aborted, run_status::interrupted}) {
    EXPECT_EQ(parse_run_status(to_string(v)), v);
  }
  for (auto v : {dut_status::running, dut_status::ok, dut_status::failed, dut_status::error,
                 dut_status::skipped}) {
    EXPECT_EQ(parse_dut_status(to_string(v)), v);
  }
  for (auto v :
       {step_verdict::running, step_verdict::pass, step_verdict::marginal, step_verdict::fail,
        step_verdict::error, step_verdict::skipped, step_verdict::done}) {
    EXPECT_EQ(parse_step_verdict(to_string(v)), v);
  }
  for (auto v :
       {measurement_verdict::pass, measurement_verdict::marginal, measurement_verdict::fail,
        measurement_verdict::info, measurement_verdict::error}) {
    EXPECT_EQ(parse_measurement_verdict(to_string(v)), v);
  }
  for (auto v : {severity::debug, severity::info, severity::warning, severity::alarm,
                 severity::fault, severity::error}) {
    EXPECT_EQ(parse_severity(to_string(v)), v);
  }
  EXPECT_EQ(parse_lane_side("host"), lane_side::host);
  EXPECT_EQ(parse_lane_side("media"), lane_side::media);
  EXPECT_EQ(parse_run_status("PASSED"), std::nullopt);
  EXPECT_EQ(to_string(step_verdict::marginal), "marginal");
}

TEST(DbError, OneLinePrefixedWithPath) {
  const db_error e(db_errc::io, "x.db", "first line\nsecond line");
  EXPECT_STREQ(e.what(), "x.db: first line second line");
  EXPECT_EQ(e.code(), db_errc::io);
  EXPECT_EQ(e.path(), std::filesystem::path("x.db"));
  EXPECT_EQ(to_string(db_errc::newer_schema), "newer_schema");
}

}  // namespace
}  // namespace hilt::db
