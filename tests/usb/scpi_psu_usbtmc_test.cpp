// The scpi-psu driver's test suite (tests/unit/instruments/scpi_psu_test.cpp) over USBTMC: the
// same driver, unchanged, with the address choosing the transport (scpi-psu:usbtmc:...), against
// the emulated supply behind the USBTMC device model and the real libusb. Every test of the TCP
// suite that is about the driver is here with the same assertions; the TCP-specific ones have
// their USB counterparts (a dropped connection = an unplug and re-plug, a stalled server = an
// instrument that never answers, garbage bytes = garbage in a DEV_DEP_MSG_IN, an unreachable host
// = an instrument that is not attached).
#include <gtest/gtest.h>

#include <cmath>

#include "hilt/cmis/driver.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"
#include "hilt/scpi_psu/driver.hpp"
#include "hilt/scpi_psu/supply.hpp"
#include "usb_support.hpp"
#include "usbtmc_model.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::usbtest::has_text;
using hilt::usbtest::usb_bench;
using hilt::usbtest::usbtmc_model;
using supply = hilt::scpi_psu::scpi_supply;

const char* const keysight_bench =
    "supplies:\n"
    "  - { name: psu1, model: keysight-e36xx }\n";

const char* const powered_module =
    "supplies:\n"
    "  - name: psu1\n"
    "    model: keysight-e36xx\n"
    "    outputs: { 1: { voltage: 3.3 V, current: 5 A, on: true } }\n"
    "modules:\n"
    "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, serial: EMU4D0000001, rail: psu1/1 "
    "}\n";

const char* const keysight_address = "scpi-psu:usbtmc:2a8d:1102:MY60000001";

class ScpiPsuUsbtmc : public hilt::usbtest::usb_test {
 protected:
  void make(const char* yaml, const std::string& address = keysight_address,
            const std::string& options = "{model: keysight-e36xx}", std::uint16_t vid = 0x2A8D,
            std::uint16_t pid = 0x1102, const std::string& serial = "MY60000001") {
    b = std::make_unique<usb_bench>(yaml);
    model = std::make_shared<usbtmc_model>(vid, pid, serial, b->emu->supply("psu1")->psu);
    bed->plug(model);
    drv = hilt::scpi_psu::make_driver();
    psu = b->make_as<supply>(*drv, "psu1", address, options);
    ASSERT_TRUE(psu);
  }
  void TearDown() override {
    psu.reset();
    b.reset();
    usb_test::TearDown();
  }
  hilt::emu::scpi_psu_emulator& emulated() { return *b->emu->supply("psu1")->psu; }

  std::unique_ptr<usb_bench> b;
  std::shared_ptr<usbtmc_model> model;
  std::shared_ptr<const hilt::driver> drv;
  std::shared_ptr<supply> psu;
};

TEST_F(ScpiPsuUsbtmc, IdentifyReportsIdnFields) {
  make(keysight_bench);
  auto id = b->run(psu->async_identify());
  ASSERT_TRUE(id) << id.error().message() << "\n" << b->log();
  EXPECT_EQ(id.value().vendor, "Keysight Technologies");
  EXPECT_EQ(id.value().part_number, "E36312A");
  EXPECT_EQ(id.value().serial, "MY60000001");
  EXPECT_EQ(id.value().firmware, "2.1.3-1.0.4-1.12");
  EXPECT_EQ(id.value().extra.at("model_table"), "keysight-e36xx");
  EXPECT_EQ(id.value().extra.at("channels"), "3");
  EXPECT_EQ(id.value().extra.at("endpoint"), "usbtmc:2a8d:1102:MY60000001");
  EXPECT_EQ(psu->channel_count(), 3);
}

TEST_F(ScpiPsuUsbtmc, SettersReturnWhatTheInstrumentReports) {
  make(keysight_bench);
  auto v = b->run(psu->async_set_voltage(1, 3.3004));
  ASSERT_TRUE(v) << b->log();
  EXPECT_NEAR(v.value(), 3.300, 1e-9);
  auto i = b->run(psu->async_set_current_limit(1, 1.2344));
  ASSERT_TRUE(i) << b->log();
  EXPECT_NEAR(i.value(), 1.234, 1e-9);
  EXPECT_TRUE(
      has_text(b->log(), "set_voltage channel 1: requested 3.3004 V, instrument reports 3.3 V"))
      << b->log();
  EXPECT_NEAR(emulated().channel(1).voltage, 3.3, 1e-9);
  EXPECT_NEAR(emulated().channel(1).current_limit, 1.234, 1e-9);
}

TEST_F(ScpiPsuUsbtmc, OutputsAndMeasurementsPerChannel) {
  make(keysight_bench);
  ASSERT_TRUE(b->run(psu->async_set_voltage(2, 12.0)));
  ASSERT_FALSE(b->run(psu->async_set_output(2, true))) << b->log();
  EXPECT_TRUE(emulated().channel(2).output);
  EXPECT_FALSE(emulated().channel(1).output);
  auto v = b->run(psu->async_measure_voltage(2));
  ASSERT_TRUE(v) << b->log();
  EXPECT_NEAR(v.value(), 12.0, 1e-9);
  auto v1 = b->run(psu->async_measure_voltage(1));
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1.value(), 0.0);
  ASSERT_FALSE(b->run(psu->async_set_output(2, false)));
  EXPECT_FALSE(emulated().channel(2).output);
}

TEST_F(ScpiPsuUsbtmc, PowerDrawOfAModuleMatchesItsDissipation) {
  make(powered_module);
  auto v = b->run(psu->async_measure_voltage(1));
  auto i = b->run(psu->async_measure_current(1));
  ASSERT_TRUE(v && i) << b->log();
  const auto& m = emulated().model();
  const double p = v.value() * i.value();
  const double modelled = b->emu->modules().at(0)->dissipation_w();
  EXPECT_NEAR(modelled, 9.2, 1e-9);
  const double bound = v.value() * m.current_resolution + i.value() * m.voltage_resolution;
  EXPECT_NEAR(p, modelled, bound) << "V=" << v.value() << " I=" << i.value();
  EXPECT_NEAR(i.value(), 9.2 / 3.3, m.current_resolution);

  auto cmis = hilt::cmis::make_driver();
  auto mod = b->make_as<hilt::managed_module>(*cmis, "m1", "cmis:emu-i2c:cage1@0x50");
  ASSERT_TRUE(b->run(mod->async_set_low_power(true)));
  b->sleep(1s);
  auto i_low = b->run(psu->async_measure_current(1));
  ASSERT_TRUE(i_low);
  EXPECT_NEAR(v.value() * i_low.value(), 1.3,
              v.value() * m.current_resolution + i_low.value() * m.voltage_resolution);
}

TEST_F(ScpiPsuUsbtmc, SafetyLimitIsRefusedBeforeAnythingIsSent) {
  make(keysight_bench, keysight_address,
       "{model: keysight-e36xx, channels: {1: {max_voltage: 3.6 V, max_current: 5 A}}}");
  auto r = b->run(psu->async_set_voltage(1, 5.0));
  EXPECT_EQ(r.error(), errc::limit_refused);
  auto c = b->run(psu->async_set_current_limit(1, 6.0));
  EXPECT_EQ(c.error(), errc::limit_refused);
  EXPECT_EQ(emulated().messages(), 0u);
  EXPECT_EQ(model->urbs(), 0u) << "not a single USB transfer";
  EXPECT_TRUE(has_text(b->log(),
                       "psu1 (scpi-psu:usbtmc:2a8d:1102:MY60000001): set_voltage channel 1: 5 V "
                       "refused: above the fixture limit max_voltage = 3.6 V (nothing was sent)"))
      << b->log();
  EXPECT_TRUE(b->run(psu->async_set_voltage(1, 3.6)));
  EXPECT_TRUE(b->run(psu->async_set_voltage(2, 20.0)));
}

TEST_F(ScpiPsuUsbtmc, BadRequestsAreRefusedWithTheirReason) {
  make(keysight_bench);
  EXPECT_EQ(b->run(psu->async_set_voltage(4, 1.0)).error(), errc::invalid_argument);
  EXPECT_TRUE(has_text(b->log(),
                       "set_voltage: channel 4 does not exist (this keysight-e36xx "
                       "has channels 1..3)"))
      << b->log();
  EXPECT_EQ(b->run(psu->async_set_voltage(1, -1.0)).error(), errc::invalid_argument);
  EXPECT_EQ(b->run(psu->async_set_voltage(1, std::nan(""))).error(), errc::invalid_argument);
  EXPECT_EQ(b->run(psu->async_measure_current(0)).error(), errc::invalid_argument);
}

TEST_F(ScpiPsuUsbtmc, InstrumentErrorQueueIsCheckedAfterSettings) {
  make(keysight_bench);
  auto r = b->run(psu->async_set_voltage(2, 30.0));
  EXPECT_EQ(r.error(), errc::instrument_error);
  EXPECT_TRUE(has_text(b->log(),
                       "set_voltage: INST:NSEL 2; VOLT 30: instrument error "
                       "-222,\"Data out of range;voltage 30 outside 0..25.75 on output 2\""))
      << b->log();
  EXPECT_TRUE(emulated().errors().empty());
  EXPECT_TRUE(b->run(psu->async_set_voltage(2, 5.0)));
}

TEST_F(ScpiPsuUsbtmc, StaleErrorsAtConnectAreLoggedNotBlamed) {
  make(keysight_bench);
  emulated().handle("FOO:BAR");
  ASSERT_EQ(emulated().errors().size(), 1u);
  EXPECT_TRUE(b->run(psu->async_set_voltage(1, 1.0)));
  EXPECT_TRUE(has_text(b->log(),
                       "the error queue held entries from before this connection: "
                       "-113,\"Undefined header\""))
      << b->log();
}

// The module draws 9.2 W / 3.3 V = 2.8 A in ModuleReady: a 1 A limit trips the output at once.
TEST_F(ScpiPsuUsbtmc, OverCurrentTripsTheOutputAndIsReported) {
  make(powered_module);
  auto ec = b->run(psu->async_set_current_limit(1, 1.0)).error();  // 9.2 W / 3.3 V = 2.8 A
  EXPECT_EQ(ec, errc::instrument_error) << b->log();
  EXPECT_TRUE(has_text(b->log(), "over-current protection tripped on output 1")) << b->log();
  EXPECT_FALSE(emulated().channel(1).output);
  EXPECT_TRUE(emulated().channel(1).tripped);
  EXPECT_EQ(b->run(psu->async_set_output(1, true)), errc::instrument_error);
  EXPECT_TRUE(has_text(b->log(), "-221,\"Settings conflict;output 1 tripped on over-current"));
  auto i = b->run(psu->async_measure_current(1));
  ASSERT_TRUE(i);
  EXPECT_EQ(i.value(), 0.0);
}

TEST_F(ScpiPsuUsbtmc, RohdeSchwarzDialect) {
  make(
      "supplies:\n"
      "  - name: psu1\n"
      "    model: rs-ngp\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, rail: psu1/3 }\n",
      "scpi-psu:usbtmc:0aad:0197:NGP0001?model=rs-ngp", "", 0x0AAD, 0x0197, "NGP0001");
  auto id = b->run(psu->async_identify());
  ASSERT_TRUE(id) << b->log();
  EXPECT_EQ(id.value().vendor, "Rohde&Schwarz");
  EXPECT_EQ(id.value().part_number, "NGP804");
  EXPECT_EQ(psu->channel_count(), 4);
  ASSERT_TRUE(b->run(psu->async_set_voltage(3, 3.3)));
  ASSERT_TRUE(b->run(psu->async_set_current_limit(3, 4.0)));
  ASSERT_FALSE(b->run(psu->async_set_output(3, true))) << b->log();
  // The output was off: the module on it boots cold, ModuleReady after MgmtInit and ModulePwrUp.
  b->sleep(3s);
  auto i = b->run(psu->async_measure_current(3));
  ASSERT_TRUE(i) << b->log();
  EXPECT_NEAR(3.3 * i.value(), 9.2, 3.3 * 0.0001 + 1e-9);
  ASSERT_FALSE(b->run(psu->async_set_output(3, false)));
  EXPECT_FALSE(emulated().channel(3).output);
}

TEST_F(ScpiPsuUsbtmc, ModelIsDetectedFromIdn) {
  make("supplies:\n  - { name: psu1, model: rs-ngp }\n", "scpi-psu:usbtmc:NGP0002", "", 0x0AAD,
       0x0197, "NGP0002");
  EXPECT_EQ(psu->model(), nullptr);
  ASSERT_TRUE(b->run(psu->async_set_voltage(2, 1.5))) << b->log();
  ASSERT_NE(psu->model(), nullptr);
  EXPECT_EQ(psu->model()->name, "rs-ngp");
  EXPECT_TRUE(has_text(b->log(), "-> model rs-ngp"));
}

TEST_F(ScpiPsuUsbtmc, SafeStateTurnsEveryOutputOff) {
  make(keysight_bench);
  for (int ch = 1; ch <= 3; ++ch)
    emulated().set_output(ch, 1.0, 1.0, true);
  EXPECT_FALSE(b->run(psu->async_safe_state()));
  for (int ch = 1; ch <= 3; ++ch)
    EXPECT_FALSE(emulated().channel(ch).output) << ch;
}

// TCP: ReconnectsAfterADroppedConnection. USB: unplugged and plugged back between two operations.
TEST_F(ScpiPsuUsbtmc, ReconnectsAfterAnUnplugAndRePlug) {
  make(keysight_bench);
  ASSERT_TRUE(b->run(psu->async_set_voltage(1, 1.0)));
  EXPECT_EQ(psu->transport().connects(), 1u);
  bed->unplug(*model);
  bed->plug(model);
  auto v = b->run(psu->async_measure_voltage(1));
  ASSERT_TRUE(v) << b->log();
  EXPECT_NEAR(v.value(), 0.0, 1e-9);
  EXPECT_EQ(psu->transport().connects(), 2u);
  EXPECT_TRUE(has_text(b->log(), "connection lost; reconnecting and trying once more")) << b->log();
}

// An unplug that stays: the supply's operations are errors (unreachable once it is known to be
// gone), never a crash; back, it works again.
TEST_F(ScpiPsuUsbtmc, UnpluggedSupplyErrorsUntilItIsBack) {
  make(keysight_bench);
  ASSERT_TRUE(b->run(psu->async_set_voltage(1, 1.0)));
  bed->unplug(*model);
  const auto r = b->run(psu->async_measure_voltage(1));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error() == errc::unreachable || r.error() == errc::disconnected)
      << r.error().message();
  EXPECT_EQ(b->run(psu->async_set_output(1, true)), errc::unreachable);
  EXPECT_TRUE(has_text(b->log(), "no USBTMC instrument 2a8d:1102 with serial 'MY60000001' found"))
      << b->log();
  bed->plug(model);
  EXPECT_TRUE(b->run(psu->async_measure_voltage(1))) << b->log();
}

TEST_F(ScpiPsuUsbtmc, AnInstrumentThatStopsAnsweringTimesOut) {
  make(keysight_bench, keysight_address, "{model: keysight-e36xx, timeout: 200 ms}");
  ASSERT_TRUE(b->run(psu->async_set_voltage(1, 1.0)));
  model->hang(true);
  auto v = b->run(psu->async_measure_voltage(1));
  EXPECT_EQ(v.error(), errc::timeout);
  EXPECT_TRUE(has_text(b->log(), "measure_voltage: 'MEAS:VOLT?' on usbtmc:2a8d:1102:MY60000001"))
      << b->log();
  EXPECT_TRUE(has_text(b->log(), "no reply within 0.200s")) << b->log();
  model->hang(false);
  EXPECT_TRUE(b->run(psu->async_measure_voltage(1))) << "a new connection after the timeout";
}

TEST_F(ScpiPsuUsbtmc, GarbageRepliesAreBadReplies) {
  make(keysight_bench);
  ASSERT_TRUE(b->run(psu->async_set_voltage(1, 1.0)));
  model->garbage_next();
  auto v = b->run(psu->async_measure_voltage(1));
  EXPECT_EQ(v.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(b->log(),
                       "reply '\\x01\\xfe#9garbage\\x7f\\xff' to 'MEAS:VOLT?' is not a "
                       "number"))
      << b->log();
  EXPECT_TRUE(b->run(psu->async_measure_voltage(1)));
}

// TCP: UnreachableInstrument / EmulatedSupplyThatDoesNotExist. USB: nothing with that serial.
TEST_F(ScpiPsuUsbtmc, AnInstrumentThatIsNotAttachedIsUnreachable) {
  make(keysight_bench, "scpi-psu:usbtmc:2a8d:1102:MY99999999");
  auto id = b->run(psu->async_identify());
  EXPECT_EQ(id.error(), errc::unreachable);
  EXPECT_TRUE(has_text(b->log(),
                       "psu1 (scpi-psu:usbtmc:2a8d:1102:MY99999999): identify: no USBTMC "
                       "instrument 2a8d:1102 with serial 'MY99999999' found (attached: "
                       "'MY60000001')"))
      << b->log();
}

TEST_F(ScpiPsuUsbtmc, ModelFileRelativeToTheFixture) {
  hilt::usbtest::tmp_dir t;
  std::string mine = hilt::usbtest::read_file(
      hilt::usbtest::repo_path("drivers/scpi_psu/models/keysight-e36xx.yaml"));
  mine.replace(mine.find("model: keysight-e36xx"), 21, "model: lab-psu");
  t.write("lab/lab-psu.yaml", mine);
  b = std::make_unique<usb_bench>(keysight_bench, hilt::clock_mode::virtual_time, t.dir.string());
  model = std::make_shared<usbtmc_model>(0x2A8D, 0x1102, "MY60000001", b->emu->supply("psu1")->psu);
  bed->plug(model);
  drv = hilt::scpi_psu::make_driver();
  psu = b->make_as<supply>(*drv, "psu1", keysight_address, "{model_file: lab/lab-psu.yaml}");
  ASSERT_TRUE(psu);
  EXPECT_EQ(psu->model()->name, "lab-psu");
  EXPECT_TRUE(b->run(psu->async_set_voltage(1, 2.5))) << b->log();
  try {
    (void)b->make(*drv, "psu1", keysight_address, "{model_file: lab/none.yaml}");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_TRUE(has_text(e.what(), "device 'psu1': model file 'lab/none.yaml' not found"))
        << e.what();
  }
}

TEST_F(ScpiPsuUsbtmc, AddressMistakesAreLocated) {
  b = std::make_unique<usb_bench>(keysight_bench);
  drv = hilt::scpi_psu::make_driver();
  auto error_of = [&](const std::string& address) {
    try {
      (void)b->make(*drv, "psu1", address, "{model: keysight-e36xx}");
    } catch (const hilt::config_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string src = b->source;
  EXPECT_EQ(error_of("scpi-psu:usbtmc:zz:1:X"),
            src +
                ": device 'psu1': bad USBTMC instrument selector 'zz:1:X': VID and PID are 1-4 hex "
                "digits, e.g. 10c4:ea90 (or give only the serial number)");
  EXPECT_EQ(error_of("scpi-psu:usbtmc:a:b:c:d"),
            src +
                ": device 'psu1': bad USBTMC instrument selector 'a:b:c:d': too many ':'; expected "
                "VID:PID[:SERIAL]");
  EXPECT_EQ(drv->info().transports, (std::vector<std::string>{"tcp", "emu-tcp", "usbtmc"}));
}

}  // namespace
