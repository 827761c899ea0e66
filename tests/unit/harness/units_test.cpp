#include "hilt/units.hpp"

#include <gtest/gtest.h>

#include <cmath>

using hilt::dimension;

TEST(Units, ParsesTheQuantitiesSequencesUse) {
  struct c {
    const char* text;
    double value;
    dimension dim;
  };
  const c cases[] = {
      {"5 min", 300, dimension::time},
      {"168 h", 604800, dimension::time},
      {"85 C", 85, dimension::temperature},
      {"3.3 V", 3.3, dimension::voltage},
      {"12 W", 12, dimension::power},
      {"-3.5 dBm", -3.5, dimension::power_dbm},
      {"2.4e-4", 2.4e-4, dimension::none},
      {"450 mA", 0.45, dimension::current},
      {"10 %", 10, dimension::percent},
      {"250 ms", 0.25, dimension::time},
      {"106.25 Gb/s", 106.25e9, dimension::bit_rate},
      {"+1.5 dB", 1.5, dimension::ratio_db},
      {"300 K", 26.85, dimension::temperature},
      {"1310 nm", 1310e-9, dimension::length},
      {"5s", 5, dimension::time},
  };
  for (const auto& k : cases) {
    std::string why;
    auto q = hilt::parse_quantity(k.text, &why);
    ASSERT_TRUE(q) << k.text << ": " << why;
    EXPECT_NEAR(q->value, k.value, std::abs(k.value) * 1e-12 + 1e-12) << k.text;
    EXPECT_EQ(q->dim, k.dim) << k.text;
  }
}

TEST(Units, RejectsWithAClearMessage) {
  std::string why;
  EXPECT_FALSE(hilt::parse_quantity("5 Vv", &why));
  EXPECT_EQ(why, "unknown unit 'Vv' in '5 Vv'");
  EXPECT_FALSE(hilt::parse_quantity("abc", &why));
  EXPECT_EQ(why, "expected a number, got 'abc'");
  EXPECT_FALSE(hilt::parse_quantity("", &why));
  EXPECT_EQ(why, "expected a number with a unit, got nothing");
  EXPECT_FALSE(hilt::parse_quantity("inf W", &why));
  EXPECT_FALSE(hilt::parse_quantity("1e999 W", &why));
}

TEST(Units, AcceptedUnitsListsADimension) {
  EXPECT_EQ(hilt::accepted_units(dimension::voltage), "V, mV, uV");
  EXPECT_EQ(hilt::base_unit(dimension::current), "A");
}

TEST(Units, DbmConversions) {
  EXPECT_NEAR(hilt::dbm_to_watts(0), 1e-3, 1e-15);
  EXPECT_NEAR(hilt::watts_to_dbm(2e-3), 3.0103, 1e-4);
  EXPECT_TRUE(std::isinf(hilt::watts_to_dbm(0)));
}
