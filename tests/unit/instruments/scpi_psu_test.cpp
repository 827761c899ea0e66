// The scpi-psu driver against the emulated supply over real TCP on 127.0.0.1 (port 0), in
// virtual time: both dialects, requested vs actual, safety limits refused before a byte is sent,
// the SCPI error queue, over-current trips, reconnects and injected faults (DESIGN.md rule 1).
#include <gtest/gtest.h>

#include <cmath>

#include "hilt/cmis/driver.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/scpi_psu/driver.hpp"
#include "hilt/scpi_psu/supply.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::test::has_text;
using hilt::test::inst_bench;
using supply = hilt::scpi_psu::scpi_supply;

const char* const keysight_bench =
    "supplies:\n"
    "  - { name: psu1, model: keysight-e36xx }\n";

// One 400G module powered from output 1 of psu1 (3.3 V, on: powered long before the run).
const char* const powered_module =
    "supplies:\n"
    "  - name: psu1\n"
    "    model: keysight-e36xx\n"
    "    outputs: { 1: { voltage: 3.3 V, current: 5 A, on: true } }\n"
    "modules:\n"
    "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, serial: EMU4D0000001, rail: psu1/1 "
    "}\n";

struct psu_fixture {
  explicit psu_fixture(const char* yaml, const std::string& address = "scpi-psu:emu-tcp:psu1",
                       const std::string& options = "{model: keysight-e36xx}")
      : b(yaml), drv(hilt::scpi_psu::make_driver()) {
    psu = b.make_as<supply>(*drv, "psu1", address, options);
  }
  hilt::emu::scpi_psu_emulator& emulated() { return *b.emu->supply("psu1")->psu; }
  hilt::emu::line_server* server() { return b.emu->supply("psu1")->server.get(); }
  inst_bench b;
  std::shared_ptr<const hilt::driver> drv;
  std::shared_ptr<supply> psu;
};

TEST(ScpiPsu, IdentifyReportsIdnFields) {
  psu_fixture f(keysight_bench);
  auto id = f.b.run(f.psu->async_identify());
  ASSERT_TRUE(id) << id.error().message() << "\n" << f.b.log();
  EXPECT_EQ(id.value().vendor, "Keysight Technologies");
  EXPECT_EQ(id.value().part_number, "E36312A");
  EXPECT_EQ(id.value().serial, "MY60000001");
  EXPECT_EQ(id.value().firmware, "2.1.3-1.0.4-1.12");
  EXPECT_EQ(id.value().extra.at("model_table"), "keysight-e36xx");
  EXPECT_EQ(id.value().extra.at("channels"), "3");
  EXPECT_EQ(f.psu->channel_count(), 3);
}

TEST(ScpiPsu, SettersReturnWhatTheInstrumentReports) {
  psu_fixture f(keysight_bench);
  // 3.3004 V on a 1 mV instrument: it keeps 3.300 V, and says so.
  auto v = f.b.run(f.psu->async_set_voltage(1, 3.3004));
  ASSERT_TRUE(v) << f.b.log();
  EXPECT_NEAR(v.value(), 3.300, 1e-9);
  auto i = f.b.run(f.psu->async_set_current_limit(1, 1.2344));
  ASSERT_TRUE(i) << f.b.log();
  EXPECT_NEAR(i.value(), 1.234, 1e-9);  // rounded to 1 mA
  EXPECT_TRUE(
      has_text(f.b.log(), "set_voltage channel 1: requested 3.3004 V, instrument reports 3.3 V"))
      << f.b.log();
  EXPECT_NEAR(f.emulated().channel(1).voltage, 3.3, 1e-9);
  EXPECT_NEAR(f.emulated().channel(1).current_limit, 1.234, 1e-9);
}

TEST(ScpiPsu, OutputsAndMeasurementsPerChannel) {
  psu_fixture f(keysight_bench);
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(2, 12.0)));
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(2, true))) << f.b.log();
  EXPECT_TRUE(f.emulated().channel(2).output);
  EXPECT_FALSE(f.emulated().channel(1).output);
  auto v = f.b.run(f.psu->async_measure_voltage(2));
  ASSERT_TRUE(v) << f.b.log();
  EXPECT_NEAR(v.value(), 12.0, 1e-9);
  auto v1 = f.b.run(f.psu->async_measure_voltage(1));
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1.value(), 0.0);  // output 1 is off
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(2, false)));
  EXPECT_FALSE(f.emulated().channel(2).output);
}

// Acceptance: the power drawn by an emulated module through the emulated supply matches the
// module's modelled dissipation within the supply's stated resolution.
TEST(ScpiPsu, PowerDrawOfAModuleMatchesItsDissipation) {
  psu_fixture f(powered_module);
  auto v = f.b.run(f.psu->async_measure_voltage(1));
  auto i = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(v && i) << f.b.log();
  const auto& model = f.emulated().model();
  const double p = v.value() * i.value();
  const double modelled = f.b.emu->modules().at(0)->dissipation_w();
  EXPECT_NEAR(modelled, 9.2, 1e-9);  // ModuleReady, from the profile
  const double bound = v.value() * model.current_resolution + i.value() * model.voltage_resolution;
  EXPECT_NEAR(p, modelled, bound) << "V=" << v.value() << " I=" << i.value();
  EXPECT_NEAR(i.value(), 9.2 / 3.3, model.current_resolution);

  // The load follows the module's state: LowPwr through the CMIS driver, over its own wire.
  auto cmis = hilt::cmis::make_driver();
  auto m = f.b.make_as<hilt::managed_module>(*cmis, "m1", "cmis:emu-i2c:cage1@0x50");
  ASSERT_TRUE(f.b.run(m->async_set_low_power(true)));
  f.b.sleep(1s);  // past ModulePwrDn
  auto i_low = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(i_low);
  EXPECT_NEAR(v.value() * i_low.value(), 1.3,
              v.value() * model.current_resolution + i_low.value() * model.voltage_resolution);
}

TEST(ScpiPsu, SafetyLimitIsRefusedBeforeAnythingIsSent) {
  psu_fixture f(keysight_bench, "scpi-psu:emu-tcp:psu1",
                "{model: keysight-e36xx, channels: {1: {max_voltage: 3.6 V, max_current: 5 A}}}");
  auto r = f.b.run(f.psu->async_set_voltage(1, 5.0));
  EXPECT_EQ(r.error(), errc::limit_refused);
  auto c = f.b.run(f.psu->async_set_current_limit(1, 6.0));
  EXPECT_EQ(c.error(), errc::limit_refused);
  EXPECT_EQ(f.emulated().messages(), 0u);
  EXPECT_TRUE(f.server() == nullptr || f.server()->lines() == 0u);
  EXPECT_TRUE(has_text(f.b.log(),
                       "psu1 (scpi-psu:emu-tcp:psu1): set_voltage channel 1: 5 V "
                       "refused: above the fixture limit max_voltage = 3.6 V "
                       "(nothing was sent)"))
      << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(),
                       "set_current_limit channel 1: 6 A refused: above the fixture "
                       "limit max_current = 5 A"));
  // Within the limit it goes through; a channel without limits is limited by the instrument only.
  EXPECT_TRUE(f.b.run(f.psu->async_set_voltage(1, 3.6)));
  EXPECT_TRUE(f.b.run(f.psu->async_set_voltage(2, 20.0)));
}

TEST(ScpiPsu, BadRequestsAreRefusedWithTheirReason) {
  psu_fixture f(keysight_bench);
  EXPECT_EQ(f.b.run(f.psu->async_set_voltage(4, 1.0)).error(), errc::invalid_argument);
  EXPECT_TRUE(has_text(f.b.log(),
                       "set_voltage: channel 4 does not exist (this keysight-e36xx "
                       "has channels 1..3)"))
      << f.b.log();
  EXPECT_EQ(f.b.run(f.psu->async_set_voltage(1, -1.0)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.psu->async_set_voltage(1, std::nan(""))).error(), errc::invalid_argument);
  EXPECT_TRUE(has_text(f.b.log(), "-1 V is not a setting (expects a finite value >= 0)"));
  EXPECT_EQ(f.b.run(f.psu->async_measure_current(0)).error(), errc::invalid_argument);
}

TEST(ScpiPsu, InstrumentErrorQueueIsCheckedAfterSettings) {
  psu_fixture f(keysight_bench);
  // 30 V on the 25 V output: the instrument refuses it with -222.
  auto r = f.b.run(f.psu->async_set_voltage(2, 30.0));
  EXPECT_EQ(r.error(), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(),
                       "set_voltage: INST:NSEL 2; VOLT 30: instrument error "
                       "-222,\"Data out of range;voltage 30 outside 0..25.75 on output 2\""))
      << f.b.log();
  EXPECT_TRUE(f.emulated().errors().empty()) << "the driver drained the queue";
  // The next setting is not blamed for the old error.
  EXPECT_TRUE(f.b.run(f.psu->async_set_voltage(2, 5.0)));
}

TEST(ScpiPsu, StaleErrorsAtConnectAreLoggedNotBlamed) {
  psu_fixture f(keysight_bench);
  f.emulated().handle("FOO:BAR");  // someone else's mistake before we connect: -113
  ASSERT_EQ(f.emulated().errors().size(), 1u);
  EXPECT_TRUE(f.b.run(f.psu->async_set_voltage(1, 1.0)));
  EXPECT_TRUE(has_text(f.b.log(),
                       "the error queue held entries from before this connection: "
                       "-113,\"Undefined header\""))
      << f.b.log();
}

TEST(ScpiPsu, OverCurrentTripsTheOutputAndIsReported) {
  psu_fixture f(powered_module);
  // The module draws 9.2 W / 3.3 V = 2.8 A in ModuleReady: a 1 A limit trips the output at once.
  // (Not by turning the output on under the limit: a module powers up in low power, 1.3 W —
  // supply_power_test.cpp.)
  auto r = f.b.run(f.psu->async_set_current_limit(1, 1.0));
  EXPECT_EQ(r.error(), errc::instrument_error) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "over-current protection tripped on output 1")) << f.b.log();
  EXPECT_FALSE(f.emulated().channel(1).output);
  EXPECT_TRUE(f.emulated().channel(1).tripped);
  // Turning it on again without clearing the protection: -221, still off.
  EXPECT_EQ(f.b.run(f.psu->async_set_output(1, true)), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(), "-221,\"Settings conflict;output 1 tripped on over-current"));
  auto i = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(i);
  EXPECT_EQ(i.value(), 0.0);
}

TEST(ScpiPsu, RohdeSchwarzDialect) {
  psu_fixture f(
      "supplies:\n"
      "  - name: psu1\n"
      "    model: rs-ngp\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, rail: psu1/3 }\n",
      "scpi-psu:emu-tcp:psu1?model=rs-ngp", "");
  auto id = f.b.run(f.psu->async_identify());
  ASSERT_TRUE(id) << f.b.log();
  EXPECT_EQ(id.value().vendor, "Rohde&Schwarz");
  EXPECT_EQ(id.value().part_number, "NGP804");
  EXPECT_EQ(f.psu->channel_count(), 4);
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(3, 3.3)));
  ASSERT_TRUE(f.b.run(f.psu->async_set_current_limit(3, 4.0)));
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(3, true))) << f.b.log();  // OUTP:SEL ON; OUTP:GEN ON
  // The output was off: the module on it boots cold, ModuleReady after MgmtInit and ModulePwrUp.
  f.b.sleep(3s);
  auto i = f.b.run(f.psu->async_measure_current(3));
  ASSERT_TRUE(i) << f.b.log();
  EXPECT_NEAR(3.3 * i.value(), 9.2, 3.3 * 0.0001 + 1e-9);  // 0.1 mA resolution, NR2 replies
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(3, false)));
  EXPECT_FALSE(f.emulated().channel(3).output);
}

TEST(ScpiPsu, ModelIsDetectedFromIdn) {
  psu_fixture f("supplies:\n  - { name: psu1, model: rs-ngp }\n", "scpi-psu:emu-tcp:psu1", "");
  EXPECT_EQ(f.psu->model(), nullptr);
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(2, 1.5))) << f.b.log();
  ASSERT_NE(f.psu->model(), nullptr);
  EXPECT_EQ(f.psu->model()->name, "rs-ngp");
  EXPECT_TRUE(has_text(f.b.log(), "-> model rs-ngp"));
}

TEST(ScpiPsu, SafeStateTurnsEveryOutputOff) {
  psu_fixture f(keysight_bench);
  for (int ch = 1; ch <= 3; ++ch)
    f.emulated().set_output(ch, 1.0, 1.0, true);
  EXPECT_FALSE(f.b.run(f.psu->async_safe_state()));
  for (int ch = 1; ch <= 3; ++ch)
    EXPECT_FALSE(f.emulated().channel(ch).output) << ch;
}

TEST(ScpiPsu, ReconnectsAfterADroppedConnection) {
  psu_fixture f(keysight_bench);
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(1, 1.0)));
  EXPECT_EQ(f.psu->transport().connects(), 1u);
  f.server()->inject(hilt::emu::line_fault::drop);
  auto v = f.b.run(f.psu->async_measure_voltage(1));
  ASSERT_TRUE(v) << f.b.log();
  EXPECT_EQ(f.psu->transport().connects(), 2u);
  EXPECT_TRUE(has_text(f.b.log(), "connection lost; reconnecting and trying once more"))
      << f.b.log();
}

TEST(ScpiPsu, AnInstrumentThatStopsAnsweringTimesOut) {
  psu_fixture f(keysight_bench, "scpi-psu:emu-tcp:psu1",
                "{model: keysight-e36xx, timeout: 200 ms}");
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(1, 1.0)));
  f.server()->inject(hilt::emu::line_fault::stall, -1);
  auto v = f.b.run(f.psu->async_measure_voltage(1));
  EXPECT_EQ(v.error(), errc::timeout);
  EXPECT_TRUE(has_text(f.b.log(), "measure_voltage: 'MEAS:VOLT?' on tcp:127.0.0.1:")) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "no reply within 0.200s")) << f.b.log();
  f.server()->inject(hilt::emu::line_fault::none);
  EXPECT_TRUE(f.b.run(f.psu->async_measure_voltage(1))) << "a new connection after the timeout";
}

TEST(ScpiPsu, GarbageRepliesAreBadReplies) {
  psu_fixture f(keysight_bench);
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(1, 1.0)));
  f.server()->inject(hilt::emu::line_fault::garbage);
  auto v = f.b.run(f.psu->async_measure_voltage(1));
  EXPECT_EQ(v.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(f.b.log(),
                       "reply '\\x01\\xfe#9garbage\\x7f\\xff' to 'MEAS:VOLT?' is not a "
                       "number"))
      << f.b.log();
  EXPECT_TRUE(f.b.run(f.psu->async_measure_voltage(1)));
}

TEST(ScpiPsu, UnreachableInstrument) {
  inst_bench b(keysight_bench);
  auto drv = hilt::scpi_psu::make_driver();
  const auto port = hilt::test::closed_port();
  auto psu = b.make_as<supply>(*drv, "psu9", fmt::format("scpi-psu:tcp:127.0.0.1:{}", port),
                               "{model: keysight-e36xx}");
  auto id = b.run(psu->async_identify());
  EXPECT_EQ(id.error(), errc::unreachable);
  EXPECT_TRUE(has_text(b.log(), fmt::format("psu9 (scpi-psu:tcp:127.0.0.1:{}): identify: cannot "
                                            "connect to 127.0.0.1:{}: Connection refused",
                                            port, port)))
      << b.log();
}

TEST(ScpiPsu, EmulatedSupplyThatDoesNotExist) {
  inst_bench b(keysight_bench);
  auto drv = hilt::scpi_psu::make_driver();
  auto d = b.make(*drv, "psu2", "scpi-psu:emu-tcp:psu2", "{model: keysight-e36xx}");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), errc::device_not_found);
}

// Options and addresses: every mistake is a config_error naming the place and what was expected.
std::string make_error(const std::string& address, const std::string& options) {
  inst_bench b(keysight_bench);
  auto drv = hilt::scpi_psu::make_driver();
  try {
    (void)b.make(*drv, "psu1", address, options);
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ScpiPsuConfig, MistakesAreLocated) {
  const std::string src = hilt::test::repo_path("fixtures/test-fixture.yaml");
  EXPECT_EQ(make_error("scpi-psu:emu-tcp:psu1", "{model: keysight-e99}"),
            src +
                ":1:9: device 'psu1': unknown supply model 'keysight-e99'; known: "
                "keysight-e36xx, rs-ngp");
  EXPECT_EQ(make_error("scpi-psu:emu-tcp:psu1?model=rs-ngp", "{model: keysight-e36xx}"),
            src +
                ":1:9: device 'psu1': option 'model' says 'keysight-e36xx' but the address "
                "says 'rs-ngp'");
  EXPECT_EQ(make_error("scpi-psu:emu-tcp:psu1", "{model: keysight-e36xx, volts: 3}"),
            src +
                ":1:25: device 'psu1': unknown option 'volts' for driver scpi-psu; expected one "
                "of: model, model_file, timeout, channels");
  EXPECT_EQ(make_error("scpi-psu:emu-tcp:psu1",
                       "{model: keysight-e36xx, channels: {4: {max_voltage: 1 V}}}"),
            src +
                ":1:36: device 'psu1': channel '4' is not a channel number within 1..3 (model "
                "keysight-e36xx)");
  EXPECT_EQ(make_error("scpi-psu:emu-tcp:psu1",
                       "{model: keysight-e36xx, channels: {1: {max_voltage: 3 A}}}"),
            src +
                ":1:53: device 'psu1': option 'max_voltage' expects a voltage above 0 and at "
                "most 10000 V, e.g. '3.6 V'");
  EXPECT_EQ(make_error("scpi-psu:emu-tcp:psu1",
                       "{model: keysight-e36xx, channels: {1: {max_volt: 3 V}}}"),
            src +
                ":1:40: device 'psu1': unknown limit 'max_volt' for channel 1; expected one of: "
                "max_voltage, max_current");
  EXPECT_EQ(make_error("scpi-psu:tcp:10.0.0.1:99999", "{model: keysight-e36xx}"),
            src +
                ": device 'psu1': bad TCP target '10.0.0.1:99999': port '99999' is not a number "
                "within 1..65535");
  EXPECT_EQ(make_error("scpi-psu:usb:x", ""),
            src +
                ": device 'psu1': address 'scpi-psu:usb:x': driver scpi-psu speaks transports "
                "tcp, emu-tcp and usbtmc, not 'usb'");
  EXPECT_EQ(make_error("scpi-psu:tcp:10.0.0.1?mode=x", ""),
            src +
                ": device 'psu1': address 'scpi-psu:tcp:10.0.0.1?mode=x': unknown option "
                "'mode'; expected: model");
}

TEST(ScpiPsuConfig, ModelFileRelativeToTheFixture) {
  hilt::test::tmp_dir t;
  const std::string model =
      hilt::read_text_file(hilt::test::repo_path("drivers/scpi_psu/models/keysight-e36xx.yaml"));
  std::string mine = model;
  mine.replace(mine.find("model: keysight-e36xx"), 21, "model: lab-psu");
  t.write("lab/lab-psu.yaml", mine);
  inst_bench b(keysight_bench, hilt::clock_mode::virtual_time, t.dir.string());
  auto drv = hilt::scpi_psu::make_driver();
  auto psu =
      b.make_as<supply>(*drv, "psu1", "scpi-psu:emu-tcp:psu1", "{model_file: lab/lab-psu.yaml}");
  ASSERT_TRUE(psu);
  EXPECT_EQ(psu->model()->name, "lab-psu");
  EXPECT_TRUE(b.run(psu->async_set_voltage(1, 2.5)));
  try {
    (void)b.make(*drv, "psu1", "scpi-psu:emu-tcp:psu1", "{model_file: lab/none.yaml}");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_TRUE(has_text(e.what(), "device 'psu1': model file 'lab/none.yaml' not found"))
        << e.what();
  }
}

}  // namespace
