#include "hilt/error.hpp"

#include <gtest/gtest.h>

// The numbers are stored in SQLite: they must never change. This test pins every one of them.
TEST(ErrorCodes, NumbersNeverChange) {
  using hilt::errc;
  const std::pair<errc, int> pinned[] = {
      {errc::not_supported, 1},
      {errc::timeout, 2},
      {errc::cancelled, 3},
      {errc::nack, 4},
      {errc::bus_timeout, 5},
      {errc::arbitration_lost, 6},
      {errc::io_error, 7},
      {errc::bad_reply, 8},
      {errc::checksum_mismatch, 9},
      {errc::unknown_identifier, 10},
      {errc::unsupported_revision, 11},
      {errc::page_not_supported, 12},
      {errc::invalid_argument, 13},
      {errc::device_fault, 14},
      {errc::not_ready, 15},
      {errc::device_not_found, 16},
      {errc::unreachable, 17},
      {errc::instrument_error, 18},
      {errc::limit_refused, 19},
      {errc::state_timeout, 20},
      {errc::lock_lost, 21},
      {errc::disconnected, 22},
  };
  for (auto [e, n] : pinned) {
    EXPECT_EQ(static_cast<int>(e), n);
    // Every code has a name and a message of its own.
    EXPECT_STRNE(hilt::errc_name(n), "unknown") << n;
    EXPECT_EQ(make_error_code(e).message().find("unknown hilt error"), std::string::npos) << n;
  }
}

TEST(ErrorCodes, CategoryAndNames) {
  const std::error_code ec = hilt::errc::nack;
  EXPECT_STREQ(ec.category().name(), "hilt");
  EXPECT_EQ(ec.message(), "I2C target did not acknowledge (NACK)");
  EXPECT_STREQ(hilt::errc_name(4), "nack");
  EXPECT_STREQ(hilt::errc_name(9999), "unknown");
  EXPECT_EQ(std::error_code(9999, hilt::hilt_category()).message(), "unknown hilt error 9999");
}

TEST(ConfigError, FormatsWhereAndMessage) {
  hilt::config_error e("seq.yaml:3:5", "unknown step 'foo'");
  EXPECT_STREQ(e.what(), "seq.yaml:3:5: unknown step 'foo'");
  EXPECT_EQ(e.where(), "seq.yaml:3:5");
  EXPECT_EQ(e.message(), "unknown step 'foo'");
  hilt::config_error bare({}, "no where");
  EXPECT_STREQ(bare.what(), "no where");
}
