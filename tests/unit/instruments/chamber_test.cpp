// The modbus-chamber driver against the emulated chamber over real Modbus TCP on 127.0.0.1
// (libmodbus on both sides), in virtual time: register maps as data, the air model, heat from the
// load and the modules' ambient, safe set point on stop, exception codes, injected faults, and
// interop with Debian's mbpoll.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/modbus_chamber/chamber.hpp"
#include "hilt/modbus_chamber/driver.hpp"
#include "hilt/modbus_chamber/register_map.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::test::has_text;
using hilt::test::inst_bench;
using chamber = hilt::modbus_chamber::modbus_chamber;
namespace mc = hilt::modbus_chamber;

const char* const one_chamber =
    "chambers:\n"
    "  - { name: chamber1, setpoint: 25 C, max_ramp: 5, time_constant: 120 s }\n";

struct chamber_fixture {
  explicit chamber_fixture(const std::string& yaml, const std::string& options = "",
                           const std::string& address = "modbus-chamber:emu-tcp:chamber1")
      : b(yaml), drv(mc::make_driver()) {
    ch = b.make_as<chamber>(*drv, "chamber1", address, options);
  }
  hilt::emu::chamber_model& emulated() { return *b.emu->chamber("chamber1")->chamber; }
  hilt::emu::modbus_chamber_server& server() { return *b.emu->chamber("chamber1")->server; }
  inst_bench b;
  std::shared_ptr<const hilt::driver> drv;
  std::shared_ptr<chamber> ch;
};

TEST(ChamberMap, WatlowMapLoadsAndScales) {
  auto m = mc::load_named_map("watlow-f4t");
  EXPECT_EQ(m.vendor, "Watlow");
  const auto* sp = m.find("setpoint");
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->address, 300);
  EXPECT_TRUE(sp->writable);
  EXPECT_EQ(mc::encode(*sp, 85.0, true), (std::vector<std::uint16_t>{850}));
  EXPECT_EQ(mc::encode(*sp, -40.04, true), (std::vector<std::uint16_t>{0xFE70}));  // -400
  EXPECT_EQ(mc::decode(*sp, std::vector<std::uint16_t>{0xFE70}, true), -40.0);
  EXPECT_FALSE(mc::encode(*sp, 4000.0, true));  // 40000 does not fit an int16
  const auto* serial = m.find("serial_number");
  EXPECT_EQ(mc::encode(*serial, 100001, true), (std::vector<std::uint16_t>{0x0001, 0x86A1}));
  EXPECT_EQ(mc::decode(*serial, std::vector<std::uint16_t>{0x0001, 0x86A1}, true), 100001);
  EXPECT_EQ(mc::decode(*serial, std::vector<std::uint16_t>{0x86A1, 0x0001}, false), 100001);
  EXPECT_EQ(mc::decode_string(mc::encode_string("F4T1L", 15)), "F4T1L");
  EXPECT_EQ(m.at_address(17), m.find("part_number"));
  EXPECT_EQ(m.at_address(101), nullptr);
}

std::string map_error(const std::string& yaml) {
  try {
    mc::parse_map(YAML::Load(yaml), "map.yaml");
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ChamberMap, MistakesAreLocated) {
  const std::string base =
      "map: m\n"
      "registers:\n"
      "  process_value: {address: 100, type: int16, scale: 10}\n"
      "  setpoint: {address: 300, type: int16, scale: 10, access: read_write}\n"
      "  run_state: {address: 200, type: uint16, access: read_write}\n";
  EXPECT_EQ(map_error(base), "no error");
  EXPECT_EQ(map_error(base + "  extra: {address: 299, type: int32}\n"),
            "map.yaml:6:3: register 'extra' overlaps register 'setpoint'");
  EXPECT_EQ(map_error(base + "  extra: {address: 400, type: float}\n"),
            "map.yaml:6:31: 'type' expects int16, uint16, int32, uint32 or string, got 'float'");
  EXPECT_EQ(
      map_error(
          "map: m\nregisters:\n  setpoint: {address: 300, type: int16, access: read_write}\n"),
      "map.yaml:3:3: the map needs a register 'process_value'");
  EXPECT_EQ(map_error(base + "run_values: {stop: 1, run: 1}\n"),
            "map.yaml:6:13: 'run' and 'stop' must differ");
  EXPECT_EQ(map_error(base + "  extra: {address: 400, type: int16, count: 2}\n"),
            "map.yaml:6:45: 'count' is only for string registers");
}

// The air model on its own, in manual time: ramp-limited, then first order (closed form).
TEST(ChamberModel, RampLimitedFirstOrderApproach) {
  auto w = std::make_shared<hilt::emu::world>(nullptr, 1, 23.0);
  hilt::emu::chamber_params p;
  p.setpoint_c = 25;
  p.max_ramp_c_per_min = 5;  // 1/12 C/s
  p.time_constant_s = 120;   // the limit lets go 10 C before the set point
  hilt::emu::chamber_model m(w, p);
  EXPECT_DOUBLE_EQ(m.air_temperature_c(), 25.0);
  m.set_setpoint_c(85);
  w->set_manual_time(360s);
  EXPECT_NEAR(m.air_temperature_c(), 55.0, 1e-9);  // 6 min at 5 C/min
  w->set_manual_time(600s);
  EXPECT_NEAR(m.air_temperature_c(), 75.0, 1e-9);
  w->set_manual_time(720s);
  EXPECT_NEAR(m.air_temperature_c(), 85.0 - 10.0 * std::exp(-1.0), 1e-9);
  m.set_running(false);  // relaxes to the room with the off time constant, no ramp limit
  const double t0 = m.air_temperature_c();
  w->set_manual_time(720s + 900s);
  EXPECT_NEAR(m.air_temperature_c(), 23.0 + (t0 - 23.0) * std::exp(-1.0), 1e-9);
  // A programmed ramp slower than the machine's.
  m.set_running(true);
  m.set_ramp_c_per_min(1);
  const double t1 = m.air_temperature_c();
  w->set_manual_time(720s + 900s + 60s);
  EXPECT_NEAR(m.air_temperature_c(), t1 + 1.0, 1e-9);
}

TEST(ModbusChamber, IdentifyFromRegisters) {
  chamber_fixture f(one_chamber);
  auto id = f.b.run(f.ch->async_identify());
  ASSERT_TRUE(id) << f.b.log();
  EXPECT_EQ(id.value().vendor, "Watlow");
  EXPECT_EQ(id.value().part_number, "F4T1L1AA1C1AAAA");
  EXPECT_EQ(id.value().serial, "100001");
  EXPECT_EQ(id.value().firmware, "12");
  EXPECT_EQ(id.value().extra.at("hardware_id"), "124");
  EXPECT_EQ(id.value().extra.at("register_map"), "watlow-f4t");
}

TEST(ModbusChamber, SetPointReadBackAndRampInVirtualTime) {
  chamber_fixture f(one_chamber);
  auto sp = f.b.run(f.ch->async_set_setpoint(85.04));
  ASSERT_TRUE(sp) << f.b.log();
  EXPECT_DOUBLE_EQ(sp.value(), 85.0);  // tenths of a degree
  EXPECT_TRUE(has_text(f.b.log(), "set point: requested 85.04 C, controller reports 85 C"));
  f.b.sleep(6min);
  auto pv = f.b.run(f.ch->async_read_temperature());
  ASSERT_TRUE(pv) << f.b.log();
  EXPECT_NEAR(pv.value(), 55.0, 0.05);
  f.b.sleep(1h);
  EXPECT_NEAR(f.b.run(f.ch->async_read_temperature()).value(), 85.0, 0.05);
}

TEST(ModbusChamber, WaitSettledUsesTheDeadband) {
  chamber_fixture f(one_chamber, "{deadband: 0.5 C}");
  ASSERT_TRUE(f.b.run(f.ch->async_set_setpoint(40)));
  const auto start = f.b.clk.now();
  auto pv = f.b.run(f.ch->async_wait_settled(1min, 1h, 10s));
  ASSERT_TRUE(pv) << f.b.log();
  EXPECT_NEAR(pv.value(), 40.0, 0.5);
  // 15 C at 5 C/min, the last 10 C exponential: within 0.5 C after ~ 60 s + 120 s x ln(20) s,
  // then held for a minute.
  EXPECT_GT(f.b.clk.now() - start, 7min);
  EXPECT_LT(f.b.clk.now() - start, 10min);
  ASSERT_TRUE(f.b.run(f.ch->async_set_setpoint(120)));
  auto late = f.b.run(f.ch->async_wait_settled(1min, 5min, 10s));
  EXPECT_EQ(late.error(), errc::state_timeout);
  EXPECT_TRUE(has_text(f.b.log(), "wait_settled: process value")) << f.b.log();
}

TEST(ModbusChamber, ModulesInsideSeeTheChamberAirAndHeatIt) {
  // A small chamber: it can take 5 W out of the load, the DUT dissipates 9.2 W (ModuleReady).
  chamber_fixture f(
      "chambers:\n"
      "  - { name: chamber1, setpoint: 25 C, load_coupling: 0.5, capacity: 5 W,\n"
      "      time_constant: 60 s, off_time_constant: 600 s }\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, chamber: chamber1 }\n"
      "  - { bus: cage2, profile: profiles/qsfpdd-400g-dr4.yaml }\n");
  auto& inside = *f.b.emu->modules().at(0);
  auto& outside = *f.b.emu->modules().at(1);
  ASSERT_TRUE(f.b.run(f.ch->async_set_setpoint(85)));
  f.b.sleep(2h);
  // The Modbus read refreshed the load: the 4.2 W the controller cannot take out, x 0.5 C/W.
  auto pv = f.b.run(f.ch->async_read_temperature());
  ASSERT_TRUE(pv);
  EXPECT_NEAR(f.emulated().load_w(), 9.2, 1e-9);
  f.b.sleep(2h);
  pv = f.b.run(f.ch->async_read_temperature());
  EXPECT_NEAR(pv.value(), 85.0 + 2.1, 0.06);
  // Case temperature = ambient + 9.2 W x 2.5 C/W, settled: the ambient of the module inside is the
  // chamber air; the other one sits in the room.
  EXPECT_NEAR(inside.case_temperature_c(), 85.0 + 2.1 + 23.0, 0.1);
  EXPECT_NEAR(outside.case_temperature_c(), 25.0 + 23.0, 0.1);
  // Stopped, nothing takes the heat out: room + 9.2 W x 0.5 C/W.
  ASSERT_FALSE(f.b.run(f.ch->async_set_running(false)));
  f.b.sleep(24h);
  EXPECT_NEAR(f.b.run(f.ch->async_read_temperature()).value(), 25.0 + 4.6, 0.06);
}

TEST(ModbusChamber, ARunningChamberHoldsItsSetPointUnderANormalLoad) {
  chamber_fixture f(
      "chambers:\n"
      "  - { name: chamber1, setpoint: 25 C }\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, chamber: chamber1 }\n");
  ASSERT_TRUE(f.b.run(f.ch->async_set_setpoint(85)));
  f.b.sleep(4h);
  ASSERT_TRUE(f.b.run(f.ch->async_read_temperature()));
  f.b.sleep(1h);
  EXPECT_NEAR(f.b.run(f.ch->async_read_temperature()).value(), 85.0, 0.05);
}

TEST(ModbusChamber, StopGoesToTheSafeSetPointFirst) {
  chamber_fixture f(one_chamber, "{safe_setpoint: 30 C}");
  ASSERT_TRUE(f.b.run(f.ch->async_set_setpoint(85)));
  ASSERT_FALSE(f.b.run(f.ch->async_set_running(false))) << f.b.log();
  EXPECT_FALSE(f.emulated().running());
  EXPECT_DOUBLE_EQ(f.emulated().setpoint_c(), 30.0);
  ASSERT_FALSE(f.b.run(f.ch->async_set_running(true)));
  EXPECT_TRUE(f.emulated().running());
  ASSERT_TRUE(f.b.run(f.ch->async_set_setpoint(-20)));
  ASSERT_FALSE(f.b.run(f.ch->async_safe_state()));
  EXPECT_DOUBLE_EQ(f.emulated().setpoint_c(), 30.0);
  EXPECT_TRUE(f.emulated().running()) << "safe state keeps it running at the safe set point";
}

TEST(ModbusChamber, FixtureLimitsAreRefusedBeforeAnythingIsSent) {
  chamber_fixture f(one_chamber, "{min_setpoint: -40 C, max_setpoint: 125 C}");
  EXPECT_EQ(f.b.run(f.ch->async_set_setpoint(150)).error(), errc::limit_refused);
  EXPECT_EQ(f.b.run(f.ch->async_set_setpoint(-41)).error(), errc::limit_refused);
  EXPECT_EQ(f.b.run(f.ch->async_set_setpoint(std::nan(""))).error(), errc::invalid_argument);
  EXPECT_EQ(f.server().requests(), 0u);
  EXPECT_TRUE(has_text(f.b.log(),
                       "chamber1 (modbus-chamber:emu-tcp:chamber1): set_setpoint: "
                       "150 C refused: above the fixture limit max_setpoint = 125 C "
                       "(nothing was sent)"))
      << f.b.log();
}

TEST(ModbusChamber, ControllerRefusalIsAModbusException) {
  chamber_fixture f(one_chamber);
  auto r = f.b.run(f.ch->async_set_setpoint(250));  // the emulated chamber goes to 180 C
  EXPECT_EQ(r.error(), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(),
                       "set_setpoint: register setpoint (300) on "
                       "modbus-tcp:127.0.0.1:"))
      << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "exception 03 (illegal data value)")) << f.b.log();
  EXPECT_DOUBLE_EQ(f.emulated().setpoint_c(), 25.0);
}

TEST(ModbusChamber, AMapTheControllerDoesNotServeIsIllegalDataAddress) {
  hilt::test::tmp_dir t;
  std::string map =
      hilt::read_text_file(hilt::test::repo_path("drivers/modbus_chamber/maps/watlow-f4t.yaml"));
  map.replace(map.find("{ address: 100,"), 15, "{ address: 150,");
  t.write("lab/other.yaml", map);
  inst_bench b(one_chamber, hilt::clock_mode::virtual_time, t.dir.string());
  auto drv = mc::make_driver();
  auto ch = b.make_as<chamber>(*drv, "chamber1", "modbus-chamber:emu-tcp:chamber1",
                               "{map_file: lab/other.yaml}");
  auto pv = b.run(ch->async_read_temperature());
  EXPECT_EQ(pv.error(), errc::instrument_error);
  EXPECT_TRUE(has_text(b.log(), "read_temperature: register process_value (150)")) << b.log();
  EXPECT_TRUE(has_text(b.log(), "exception 02 (illegal data address)")) << b.log();
}

TEST(ModbusChamber, InjectedFaults) {
  chamber_fixture f(one_chamber, "{timeout: 200 ms}");
  ASSERT_TRUE(f.b.run(f.ch->async_read_temperature()));
  f.server().inject(hilt::emu::modbus_fault::busy);
  EXPECT_EQ(f.b.run(f.ch->async_read_temperature()).error(), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(), "exception 06 (server device busy)")) << f.b.log();
  f.server().inject(hilt::emu::modbus_fault::failure);
  EXPECT_EQ(f.b.run(f.ch->async_read_temperature()).error(), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(), "exception 04 (server device failure)"));
  f.server().inject(hilt::emu::modbus_fault::stall);
  EXPECT_EQ(f.b.run(f.ch->async_read_temperature()).error(), errc::timeout);
  EXPECT_TRUE(has_text(f.b.log(), "no reply within 0.200s")) << f.b.log();
  // A connection dropped while idle is reopened and the request retried once.
  ASSERT_TRUE(f.b.run(f.ch->async_read_temperature()));
  const auto before = f.ch->transport().connects();
  f.server().inject(hilt::emu::modbus_fault::drop);
  ASSERT_TRUE(f.b.run(f.ch->async_read_temperature())) << f.b.log();
  EXPECT_EQ(f.ch->transport().connects(), before + 1);
  // Dropped on every attempt: disconnected.
  f.server().inject(hilt::emu::modbus_fault::drop, -1);
  EXPECT_EQ(f.b.run(f.ch->async_read_temperature()).error(), errc::disconnected);
  f.server().inject(hilt::emu::modbus_fault::none);
}

TEST(ModbusChamber, SensorFaultAlarmIsADeviceFault) {
  chamber_fixture f(one_chamber);
  f.emulated().set_sensor_fault(true);
  EXPECT_EQ(f.b.run(f.ch->async_read_temperature()).error(), errc::device_fault);
  EXPECT_TRUE(has_text(f.b.log(), "register alarms (102) = 0x0008: alarm sensor_fault"))
      << f.b.log();
}

TEST(ModbusChamber, UnreachableController) {
  inst_bench b(one_chamber);
  auto drv = mc::make_driver();
  const auto port = hilt::test::closed_port();
  auto ch = b.make_as<chamber>(*drv, "chamber9",
                               fmt::format("modbus-chamber:tcp:127.0.0.1:{}?unit=3", port));
  EXPECT_EQ(b.run(ch->async_read_temperature()).error(), errc::unreachable);
  EXPECT_TRUE(
      has_text(b.log(), fmt::format("cannot connect to 127.0.0.1:{}: Connection refused", port)))
      << b.log();
  EXPECT_EQ(ch->transport().describe(), fmt::format("modbus-tcp:127.0.0.1:{}/3", port));
}

std::string make_error(const std::string& options,
                       const std::string& address = "modbus-chamber:emu-tcp:chamber1") {
  inst_bench b(one_chamber);
  auto drv = mc::make_driver();
  try {
    (void)b.make(*drv, "chamber1", address, options);
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ModbusChamberConfig, MistakesAreLocated) {
  const std::string src = hilt::test::repo_path("fixtures/test-fixture.yaml");
  EXPECT_EQ(make_error("{map: vötsch}"),
            src + ":1:7: device 'chamber1': unknown register map 'vötsch'; known: watlow-f4t");
  EXPECT_EQ(make_error("{safe_setpoint: 25}"),
            src +
                ":1:17: device 'chamber1': option 'safe_setpoint' expects a temperature within "
                "-100..300 C, e.g. '25 C'");
  EXPECT_EQ(make_error("{min_setpoint: 50 C, max_setpoint: 40 C}"),
            src + ": device 'chamber1': min_setpoint 50 C is not below max_setpoint 40 C");
  EXPECT_EQ(make_error("{min_setpoint: 30 C}"),
            src + ": device 'chamber1': safe_setpoint 25 C is outside min_setpoint..max_setpoint");
  EXPECT_EQ(make_error("{colour: red}"),
            src +
                ":1:2: device 'chamber1': unknown option 'colour' for driver modbus-chamber; "
                "expected one of: map, map_file, unit, timeout, safe_setpoint, deadband, "
                "min_setpoint, max_setpoint, ramp_rate, identity");
  EXPECT_EQ(make_error("", "modbus-chamber:tcp:10.0.0.1?unit=300"),
            src +
                ": device 'chamber1': address 'modbus-chamber:tcp:10.0.0.1?unit=300': unit '300' "
                "is not within 0..255");
}

// Interop: a real third-party Modbus client reads and writes the emulated chamber.
TEST(ModbusChamberInterop, MbpollReadsAndWrites) {
  if (hilt::test::run_command("command -v mbpoll").first != 0) {
    GTEST_SKIP() << "mbpoll is not installed (scripts/setup.sh installs it): interop not checked";
  }
  inst_bench b(one_chamber);
  auto ep = b.emulation->tcp("chamber1");
  ASSERT_TRUE(ep);
  const std::string base =
      fmt::format("mbpoll -m tcp -a 1 -t 4 -1 -0 -p {} 127.0.0.1", ep.value().port);
  // -0: PDU addresses (0-based), as in the map. The process value, tenths of a degree.
  auto [rc, out] = hilt::test::run_command(base + " -r 100");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\[100\]:\s+250\b)"))) << out;
  // Write the set point (40.0 C) and read it back through the model.
  std::tie(rc, out) = hilt::test::run_command(base + " -r 300 -- 400");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(has_text(out, "Written 1 references")) << out;
  EXPECT_DOUBLE_EQ(b.emu->chamber("chamber1")->chamber->setpoint_c(), 40.0);
  // The serial number as a 32-bit big-endian integer.
  std::tie(rc, out) = hilt::test::run_command(base + " -r 12 -t 4:int -B");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\[12\]:\s+100001\b)"))) << out;
  // Refusals come back as Modbus exceptions that mbpoll names.
  std::tie(rc, out) = hilt::test::run_command(base + " -r 300 -- 9999");
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(has_text(out, "Illegal data value")) << out;
  std::tie(rc, out) = hilt::test::run_command(base + " -r 101");
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(has_text(out, "Illegal data address")) << out;
}

}  // namespace
