// The step types' run() against a fake module and a fake step context, on the harness clock in
// virtual time.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "identify/identify.hpp"
#include "log/log.hpp"
#include "measure/measure.hpp"
#include "seq_test_util.hpp"
#include "wait/wait.hpp"

namespace hilt::seq::test {
namespace {

using namespace std::chrono_literals;

class StepRun : public ::testing::Test {
 protected:
  asio::io_context io;
  hilt::clock clk{io, clock_mode::virtual_time};
  fake_module dut{device_context{io.get_executor(), &clk, nullptr}};
  fake_context ctx{clk, &dut};

  step_outcome run(const step& s) { return run_step(s, ctx, clk); }

  // The measure step of a one-step sequence whose step is `yaml`.
  std::shared_ptr<const step> measure(const std::string& yaml) {
    auto seq = load_text("sequence: t\nmain:\n  - step: measure\n" + yaml);
    return seq.main.at(0).impl;
  }

  void add(std::string name, int lane, double value, std::string unit,
           hilt::side s = hilt::side::none) {
    dut.monitors.push_back({std::move(name), lane, s, value, std::move(unit)});
  }
};

TEST_F(StepRun, IdentifyReportsTheIdentity) {
  const auto out = run(identify_step{});
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_FALSE(out.error);
  ASSERT_TRUE(ctx.identity_);
  EXPECT_EQ(ctx.identity_->serial, "SN0001");
  EXPECT_EQ(ctx.identity_->part_number, "QDD-400G-DR4");
  EXPECT_TRUE(ctx.measurements.empty());
  EXPECT_NE(ctx.log_text.str().find("dut1 (fake:port1@0x50): ACME QDD-400G-DR4 serial SN0001"),
            std::string::npos);
}

TEST_F(StepRun, IdentifyDeviceErrorNamesDeviceAndOperation) {
  dut.identify_error = make_error_code(errc::nack);
  const auto out = run(identify_step{});
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::nack));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): identify failed: I2C target did not acknowledge (NACK) "
            "[nack, hilt 4]");
  EXPECT_FALSE(ctx.identity_);
}

TEST_F(StepRun, StepsNeedingADutErrorWithoutOne) {
  fake_context station{clk, nullptr};
  const auto out = run_step(identify_step{}, station, clk);
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::invalid_argument));
  EXPECT_EQ(out.message, "step 'identify' needs a DUT but ran without one (as a station step)");
}

TEST_F(StepRun, WaitOf24HoursIsInstantInVirtualTime) {
  const auto wall = std::chrono::steady_clock::now();
  const auto out = run(wait_step{24h});
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(clk.now(), clock::time_point(24h));
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 5s);
}

TEST_F(StepRun, WaitFromTheLoaderUsesTheParsedDuration) {
  auto seq = load_text("sequence: t\nmain:\n  - step: wait\n    duration: 1.5 h\n");
  run(*seq.main[0].impl);
  EXPECT_EQ(clk.now(), clock::time_point(90min));
  run(*seq.main[0].impl);  // time accumulates
  EXPECT_EQ(clk.now(), clock::time_point(3h));
}

TEST_F(StepRun, LogWritesAnEventAndALogLine) {
  const auto out = run(log_step{"chamber at {85} C", severity::warning});
  EXPECT_EQ(out.verdict, verdict::pass);
  ASSERT_EQ(ctx.events.size(), 1u);
  EXPECT_EQ(ctx.events[0].level, severity::warning);
  EXPECT_EQ(ctx.events[0].kind, "log");
  EXPECT_EQ(ctx.events[0].message, "chamber at {85} C");
  EXPECT_EQ(ctx.log_text.str(), "warning chamber at {85} C\n");
}

TEST_F(StepRun, MeasureModuleMonitorAgainstLimit) {
  add("temperature", -1, 42.5, "C");
  add("vcc", -1, 3.31, "V");
  auto s = measure("    monitor: temperature\n    limit: { max: 70 C, marginal: 5 C }\n");
  auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass);
  ASSERT_EQ(ctx.measurements.size(), 1u);
  const auto& m = ctx.measurements[0].m;
  EXPECT_EQ(m.name, "temperature");
  EXPECT_EQ(m.lane, -1);
  EXPECT_EQ(m.value, 42.5);
  EXPECT_EQ(m.unit, "C");
  ASSERT_TRUE(m.limit);
  EXPECT_EQ(m.limit->source, "t.yaml:5:12");

  dut.monitors[0].value = 67;
  EXPECT_EQ(run(*s).verdict, verdict::marginal);
  dut.monitors[0].value = 75;
  EXPECT_EQ(run(*s).verdict, verdict::fail);
}

TEST_F(StepRun, MeasureNormalisesMilliampsOnBothSides) {
  for (int lane = 1; lane <= 4; ++lane)
    add("tx_bias", lane, 40.0 + lane * 10, "mA");
  auto s = measure("    monitor: tx_bias\n    limit: { min: 20 mA, max: 75 mA }\n");
  const auto out = run(*s);
  ASSERT_EQ(ctx.measurements.size(), 4u);
  EXPECT_EQ(ctx.measurements[0].m.lane, 1);
  EXPECT_DOUBLE_EQ(ctx.measurements[0].m.value, 0.050);
  EXPECT_EQ(ctx.measurements[0].m.unit, "A");
  EXPECT_EQ(ctx.measurements[0].v, verdict::pass);
  EXPECT_EQ(ctx.measurements[3].v, verdict::fail);  // 80 mA > 75 mA
  EXPECT_EQ(out.verdict, verdict::fail);
}

TEST_F(StepRun, MeasureSelectsLanesAndSide) {
  for (int lane = 1; lane <= 8; ++lane) {
    add("snr", lane, 20, "dB", side::host);
    add("snr", lane, 18, "dB", side::media);
  }
  auto s = measure("    monitor: snr\n    lanes: [2, 5-6]\n    side: media\n");
  const auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass);
  ASSERT_EQ(ctx.measurements.size(), 3u);
  EXPECT_EQ(ctx.measurements[0].m.lane, 2);
  EXPECT_EQ(ctx.measurements[1].m.lane, 5);
  EXPECT_EQ(ctx.measurements[2].m.lane, 6);
  for (const auto& r : ctx.measurements) {
    EXPECT_EQ(r.m.side, side::media);
    EXPECT_EQ(r.v, verdict::info);  // no limit: recorded, not judged
  }
}

TEST_F(StepRun, MeasureConvertsMilliwattsToADbmLimit) {
  add("tx_power", 1, 1.0, "mW");  // 0 dBm
  add("tx_power", 2, 0.1, "mW");  // -10 dBm
  add("tx_power", 3, 0.0, "mW");  // dark: -inf dBm
  auto s = measure("    monitor: tx_power\n    limit: { min: -6 dBm, max: 4 dBm }\n");
  const auto out = run(*s);
  ASSERT_EQ(ctx.measurements.size(), 3u);
  EXPECT_NEAR(ctx.measurements[0].m.value, 0.0, 1e-9);
  EXPECT_EQ(ctx.measurements[0].m.unit, "dBm");
  EXPECT_EQ(ctx.measurements[0].v, verdict::pass);
  EXPECT_NEAR(ctx.measurements[1].m.value, -10.0, 1e-9);
  EXPECT_EQ(ctx.measurements[1].v, verdict::fail);
  EXPECT_TRUE(std::isinf(ctx.measurements[2].m.value));
  EXPECT_EQ(ctx.measurements[2].v, verdict::fail);
  EXPECT_EQ(out.verdict, verdict::fail);
}

TEST_F(StepRun, MeasureWithoutLimitRecordsInBaseUnits) {
  add("tx_power", 1, 1.25, "mW");
  const auto out = run(*measure("    monitor: tx_power\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  ASSERT_EQ(ctx.measurements.size(), 1u);
  EXPECT_DOUBLE_EQ(ctx.measurements[0].m.value, 0.00125);
  EXPECT_EQ(ctx.measurements[0].m.unit, "W");
  EXPECT_FALSE(ctx.measurements[0].m.limit);
}

TEST_F(StepRun, MeasureMonitorNotReported) {
  add("temperature", -1, 40, "C");
  add("vcc", -1, 3.3, "V");
  const auto out = run(*measure("    monitor: rx_power\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::not_supported));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): read monitors: the module does not report monitor "
            "'rx_power'; it reports: temperature, vcc");
  EXPECT_TRUE(ctx.measurements.empty());
}

TEST_F(StepRun, MeasureLaneNotReported) {
  for (int lane = 1; lane <= 4; ++lane)
    add("tx_bias", lane, 50, "mA");
  const auto out = run(*measure("    monitor: tx_bias\n    lanes: [4, 5, 8]\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::invalid_argument));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): read monitors: the module reports 'tx_bias' for lane(s) 1, "
            "2, 3, 4, not for lane(s) 5, 8");
  ASSERT_EQ(ctx.measurements.size(), 1u);  // lane 4 was read and is kept
}

TEST_F(StepRun, MeasureUnknownReadingUnit) {
  add("tx_bias", 1, 50, "furlong");
  const auto out = run(*measure("    monitor: tx_bias\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::bad_reply));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): read monitors: monitor 'tx_bias' lane 1 has a unit hilt does "
            "not know: unknown unit 'furlong' in '1 furlong'");
}

TEST_F(StepRun, MeasureReadingInAnIncompatibleUnit) {
  add("tx_bias", 1, 50, "mV");
  const auto out = run(*measure("    monitor: tx_bias\n    limit: { max: 90 mA }\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): monitor 'tx_bias' is reported in 'mV' (voltage), which "
            "cannot be compared with the limit at t.yaml:5:12 (current)");
  EXPECT_TRUE(ctx.measurements.empty());
}

TEST_F(StepRun, MeasureDeviceError) {
  dut.monitors_error = make_error_code(errc::bus_timeout);
  const auto out = run(*measure("    monitor: vcc\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::bus_timeout));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): read monitors failed: I2C bus timeout [bus_timeout, hilt 5]");
}

}  // namespace
}  // namespace hilt::seq::test
