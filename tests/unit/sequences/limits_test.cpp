// Limits: parsing into hilt::limit (comparator, bounds in base units, marginal, source) and the
// unit normalisation of monitor readings.
#include <gtest/gtest.h>

#include <cmath>

#include "hilt/seq/limits.hpp"
#include "hilt/seq/parse.hpp"

namespace hilt::seq {
namespace {

constexpr dimension temperature[] = {dimension::temperature};
constexpr dimension voltage[] = {dimension::voltage};
constexpr dimension current[] = {dimension::current};
constexpr dimension optical[] = {dimension::power_dbm, dimension::power};

struct parsed {
  std::optional<limit> lim;
  std::vector<std::string> errors;
};

// Parses "limit: <value>" written on line 1 of t.yaml.
parsed parse(const std::string& value, std::span<const dimension> dims) {
  const std::string text = protect_references("limit: " + value + "\n");
  parse_context ctx("t.yaml", text);
  const YAML::Node root = YAML::Load(text);
  parsed out;
  out.lim = parse_limit(ctx, root["limit"], dims);
  for (const auto& e : ctx.errors())
    out.errors.emplace_back(e.what());
  return out;
}

limit ok(const std::string& value, std::span<const dimension> dims) {
  auto p = parse(value, dims);
  for (const auto& e : p.errors)
    ADD_FAILURE() << e;
  if (!p.lim) throw std::runtime_error("no limit");
  return *p.lim;
}

TEST(LimitParsing, Min) {
  const limit l = ok("{ min: 3 V }", voltage);
  EXPECT_EQ(l.cmp, limit::comparator::ge);
  EXPECT_EQ(l.low, 3.0);
  EXPECT_FALSE(l.high);
  EXPECT_EQ(l.unit, "V");
  EXPECT_EQ(l.source, "t.yaml:1:8");
}

TEST(LimitParsing, Max) {
  const limit l = ok("{ max: 70 C, marginal: 5 C }", temperature);
  EXPECT_EQ(l.cmp, limit::comparator::le);
  EXPECT_FALSE(l.low);
  EXPECT_EQ(l.high, 70.0);
  EXPECT_EQ(l.marginal, 5.0);
  EXPECT_EQ(l.unit, "C");
  EXPECT_EQ(judge(l, 60), verdict::pass);
  EXPECT_EQ(judge(l, 66), verdict::marginal);
  EXPECT_EQ(judge(l, 71), verdict::fail);
}

TEST(LimitParsing, RangeInBaseUnits) {
  // Written in mA, stored in A: a reading in mA is converted the same way (reading_to_base).
  const limit l = ok("{ min: 20 mA, max: 90 mA, marginal: 5 mA }", current);
  EXPECT_EQ(l.cmp, limit::comparator::range);
  EXPECT_DOUBLE_EQ(*l.low, 0.020);
  EXPECT_DOUBLE_EQ(*l.high, 0.090);
  EXPECT_DOUBLE_EQ(*l.marginal, 0.005);
  EXPECT_EQ(l.unit, "A");
  EXPECT_EQ(judge(l, reading_to_base(50, "mA")->value), verdict::pass);
  EXPECT_EQ(judge(l, reading_to_base(22, "mA")->value), verdict::marginal);
  EXPECT_EQ(judge(l, reading_to_base(95, "mA")->value), verdict::fail);
}

TEST(LimitParsing, BlockMappingSourceIsItsFirstKey) {
  const std::string text = "limit:\n  min: 1 V\n  max: 2 V\n";
  parse_context ctx("t.yaml", text);
  auto l = parse_limit(ctx, YAML::Load(text)["limit"], voltage);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->source, "t.yaml:2:3");
}

TEST(LimitParsing, Equal) {
  const limit l = ok("{ equal: 3 }", {});
  EXPECT_EQ(l.cmp, limit::comparator::eq);
  EXPECT_EQ(l.nominal, 3.0);
  EXPECT_EQ(l.unit, "");
  EXPECT_EQ(judge(l, 3), verdict::pass);
  EXPECT_EQ(judge(l, 3.0001), verdict::fail);
}

TEST(LimitParsing, AbsoluteTolerance) {
  const limit l = ok("{ nominal: 3.3 V, tolerance: 100 mV, marginal: 20 mV }", voltage);
  EXPECT_EQ(l.cmp, limit::comparator::tol_abs);
  EXPECT_DOUBLE_EQ(*l.nominal, 3.3);
  EXPECT_DOUBLE_EQ(*l.tolerance, 0.1);
  EXPECT_DOUBLE_EQ(*l.low, 3.2);
  EXPECT_DOUBLE_EQ(*l.high, 3.4);
  EXPECT_DOUBLE_EQ(*l.marginal, 0.02);
}

TEST(LimitParsing, PercentTolerance) {
  const limit l = ok("{ nominal: 3.3 V, tolerance: 5 % }", voltage);
  EXPECT_EQ(l.cmp, limit::comparator::tol_pct);
  EXPECT_DOUBLE_EQ(*l.tolerance, 5.0);
  EXPECT_DOUBLE_EQ(*l.low, 3.135);
  EXPECT_DOUBLE_EQ(*l.high, 3.465);
}

TEST(LimitParsing, OpticalPowerInDbmWithDbBands) {
  const limit l = ok("{ nominal: -1 dBm, tolerance: 3 dB, marginal: 0.5 dB }", optical);
  EXPECT_EQ(l.cmp, limit::comparator::tol_abs);
  EXPECT_EQ(l.unit, "dBm");
  EXPECT_DOUBLE_EQ(*l.low, -4.0);
  EXPECT_DOUBLE_EQ(*l.high, 2.0);
  EXPECT_DOUBLE_EQ(*l.marginal, 0.5);
  const limit w = ok("{ min: 0.5 mW }", optical);
  EXPECT_EQ(w.unit, "W");
  EXPECT_DOUBLE_EQ(*w.low, 0.0005);
}

TEST(LimitParsing, TemperatureDifferencesIgnoreScaleOffsets) {
  // 9 F wide is 5 C wide; 176 F is 80 C.
  const limit l = ok("{ max: 176 F, marginal: 9 F }", temperature);
  EXPECT_NEAR(*l.high, 80.0, 1e-9);
  EXPECT_NEAR(*l.marginal, 5.0, 1e-9);
}

TEST(LimitParsing, ValuesMustShareADimension) {
  // With any dimension allowed, the first value sets it.
  auto p = parse("{ min: 1 V, max: 2 A }", {});
  EXPECT_FALSE(p.lim);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0], "t.yaml:1:25: max: expected a voltage (V, mV, uV), got current '2 A'");
}

TEST(LimitParsing, ErrorsAreLocated) {
  auto p = parse("{ min: 5 %, max: -1 dBm }", optical);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0],
            "t.yaml:1:15: min: expected an optical power level (dBm) or a power (W, mW, uW, kW), "
            "got percent '5 %'");
  p = parse("{ nominal: 0 V, tolerance: 5 % }", voltage);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0],
            "t.yaml:1:35: tolerance: a percentage of a nominal of 0 is an empty band; give it in "
            "V, got '5 %'");
  p = parse("{ nominal: 3 V, tolerance: -1 V }", voltage);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0],
            "t.yaml:1:35: tolerance: expected a tolerance that is not negative, got '-1 V'");
}

TEST(MonitorUnits, ReadingsNormaliseToBaseUnits) {
  EXPECT_DOUBLE_EQ(reading_to_base(7.5, "mA")->value, 0.0075);
  EXPECT_EQ(reading_to_base(7.5, "mA")->dim, dimension::current);
  EXPECT_DOUBLE_EQ(reading_to_base(7.5, "µA")->value, 7.5e-6);
  EXPECT_DOUBLE_EQ(reading_to_base(42, "°C")->value, 42);
  EXPECT_DOUBLE_EQ(reading_to_base(300, "K")->value, 300 - 273.15);
  EXPECT_DOUBLE_EQ(reading_to_base(1.25, "mW")->value, 0.00125);
  EXPECT_EQ(reading_to_base(-2, "dBm")->dim, dimension::power_dbm);
  EXPECT_EQ(reading_to_base(1e-5, "")->dim, dimension::none);
  std::string why;
  EXPECT_FALSE(reading_to_base(1, "furlong", &why));
  EXPECT_EQ(why, "unknown unit 'furlong' in '1 furlong'");
}

TEST(MonitorUnits, OpticalPowerConvertsBetweenWattsAndDbm) {
  EXPECT_NEAR(*convert({0.001, dimension::power}, dimension::power_dbm), 0.0, 1e-12);
  EXPECT_NEAR(*convert({3.0, dimension::power_dbm}, dimension::power), 0.001995, 1e-6);
  EXPECT_FALSE(convert({1.0, dimension::voltage}, dimension::current));
  EXPECT_EQ(*convert({1.0, dimension::voltage}, dimension::voltage), 1.0);
}

TEST(Monitors, TableIsConsistent) {
  for (const auto& m : known_monitors()) {
    EXPECT_FALSE(m.dimensions.empty()) << m.name;
    EXPECT_EQ(find_monitor(m.name), &m);
  }
  EXPECT_EQ(find_monitor("nope"), nullptr);
  EXPECT_FALSE(find_monitor("temperature")->per_lane);
  EXPECT_TRUE(find_monitor("tx_power")->per_lane);
}

}  // namespace
}  // namespace hilt::seq
