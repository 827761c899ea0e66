// The emulation's instrument section (supplies, chambers, regulators, and modules' chamber: and
// rail: keys): accepted syntax, located mistakes, describe(), and a whole bench opened through the
// driver registry with every instrument identified over its own wire and put in its safe state.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "hilt/bench.hpp"
#include "hilt/builtin_drivers.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::test::has_text;
using hilt::test::inst_bench;
namespace asio = boost::asio;

std::string emu_error(const std::string& yaml) {
  try {
    asio::io_context io;
    hilt::clock clk(io, hilt::clock_mode::virtual_time);
    hilt::emu::make_emulation(
        YAML::Load(yaml), hilt::emulation_env{&clk, 1, hilt::test::repo_path("fixtures/x.yaml")});
  } catch (const hilt::config_error& e) {
    const std::string w = e.what();
    const auto at = w.find("x.yaml:");
    return at == std::string::npos ? w : w.substr(at);
  }
  return "no error";
}

TEST(InstrumentEmulation, MistakesAreLocated) {
  EXPECT_EQ(emu_error("supplies:\n  - { name: psu1, model: keysight-e36xx, volts: 3 }\n"),
            "x.yaml:2:42: unknown key 'volts' in emulated supply; expected one of: name, model, "
            "model_file, serial, channels, outputs, faults");
  EXPECT_EQ(emu_error("supplies:\n  - { name: psu1 }\n"),
            "x.yaml:2:5: an emulated supply needs 'model' or 'model_file' (one of them)");
  EXPECT_EQ(emu_error("supplies:\n  - { name: psu1, model: e3631 }\n"),
            "x.yaml:2:26: unknown supply model 'e3631'; known: keysight-e36xx, rs-ngp");
  EXPECT_EQ(emu_error("supplies:\n  - { name: psu1, model: keysight-e36xx, outputs: { 1: { "
                      "voltage: 7 V } } }\n"),
            "x.yaml:2:67: 'voltage' must be within 0 V .. 6.18 V, got '7 V'");
  EXPECT_EQ(
      emu_error(
          "supplies:\n  - { name: psu1, model: keysight-e36xx, outputs: { 4: { on: true } } }\n"),
      "x.yaml:2:53: 'output' must be within 1..3, got 4");
  EXPECT_EQ(
      emu_error("supplies:\n  - { name: psu1, model: rs-ngp }\nchambers:\n  - { name: psu1 }\n"),
      "x.yaml:2:13: instrument name 'psu1' is already used at " +
          hilt::test::repo_path("fixtures/x.yaml") + ":4:13");
  EXPECT_EQ(
      emu_error("chambers:\n  - { name: 'a/b' }\n"),
      "x.yaml:2:13: chamber name 'a/b' must be non-empty without '/', ':', '?', '&' or blanks");
  EXPECT_EQ(emu_error("chambers:\n  - { name: c1, setpoint: 300 C }\n"),
            "x.yaml:2:27: 'setpoint' must be within -70 C .. 180 C, got '300 C'");
  EXPECT_EQ(emu_error("chambers:\n  - { name: c1, limits: { min: 50 C, max: 40 C } }\n"),
            "x.yaml:2:25: 'min' must be below 'max'");
  EXPECT_EQ(
      emu_error(
          "modules:\n  - { bus: c1, profile: profiles/qsfpdd-400g-dr4.yaml, chamber: oven }\n"),
      "x.yaml:2:65: no emulated chamber named 'oven' (declare it under 'chambers:')");
  EXPECT_EQ(emu_error("supplies:\n  - { name: psu1, model: keysight-e36xx }\nmodules:\n"
                      "  - { bus: c1, profile: profiles/qsfpdd-400g-dr4.yaml, rail: psu1/4 }\n"),
            "x.yaml:4:62: no power rail 'psu1/4': expected SUPPLY/OUTPUT (e.g. psu1/1), SUPPLY "
            "(output 1) or a regulator's name");
  EXPECT_EQ(emu_error("regulators:\n  - { name: vr0, bus: b0, address: 0x50 }\nmodules:\n"
                      "  - { bus: b0, profile: profiles/qsfpdd-400g-dr4.yaml }\n"),
            "x.yaml:4:5: bus 'b0' already has a module at 0x50");
  EXPECT_EQ(
      emu_error(
          "supplies:\n  - { name: vr0, model: rs-ngp }\nregulators:\n  - { name: vr0, bus: b0 }\n"),
      "x.yaml:4:13: rail name 'vr0' is already used at " +
          hilt::test::repo_path("fixtures/x.yaml") + ":2:13");
  EXPECT_EQ(emu_error("regulators:\n  - { name: vr0, bus: b0, efficiency: 1.5 }\n"),
            "x.yaml:2:39: 'efficiency' must be within 0.3..1, got 1.5");
  EXPECT_EQ(
      emu_error("regulators:\n  - { name: vr0, bus: b0, mfr: { vendor: x } }\n"),
      "x.yaml:2:34: unknown key 'vendor' in mfr; expected one of: id, model, revision, serial");
  EXPECT_EQ(emu_error("chambers: {}\n"), "x.yaml:1:11: 'chambers' expects a list");
}

TEST(InstrumentEmulation, DescribeListsEveryInstrument) {
  inst_bench b(
      "supplies:\n"
      "  - { name: psu1, model: keysight-e36xx, outputs: { 1: { voltage: 3.3 V, current: 5 A, on: "
      "true } } }\n"
      "chambers:\n"
      "  - { name: chamber1, setpoint: 40 C, running: false }\n"
      "regulators:\n"
      "  - { name: vr0, bus: pmbus0, idle: 7.5 W }\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, serial: EMU1, rail: psu1 }\n");
  const auto lines = b.emulation->describe();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_TRUE(has_text(lines[0], "cage1@0x50 state=ModuleReady")) << lines[0];
  EXPECT_EQ(lines[1], "psu1 keysight-e36xx ch1=3.300V/5.000A on 2.788A ch2=off ch3=off");
  EXPECT_EQ(lines[2], "chamber1 stopped sp=40.0C air=25.0C ramp=0.0C/min load=0.0W");
  EXPECT_EQ(lines[3], "vr0 pmbus0@0x40 on vout=0.750V iout=10.00A pout=7.50W status=0x0000");
  EXPECT_EQ(b.emulation->tcp("nothing").error(), hilt::errc::device_not_found);
}

// A whole bench from a fixture file, opened through the registry: every instrument answers
// `identify` over its own wire, and safe state turns supplies off and sends the chamber to its
// safe set point.
TEST(InstrumentBench, EveryInstrumentIdentifiesAndGoesSafe) {
  hilt::test::tmp_dir t;
  const std::string fixture =
      t.write("bench.yaml",
              "fixture: instrument-bench\n"
              "clock: virtual\n"
              "calibration: warn\n"
              "emulation:\n"
              "  ambient: 23 C\n"
              "  supplies:\n"
              "    - { name: psu1, model: keysight-e36xx, outputs: { 1: { voltage: 3.3 V, current: "
              "5 A, on: true } } }\n"
              "  chambers:\n"
              "    - { name: chamber1, setpoint: 70 C }\n"
              "  regulators:\n"
              "    - { name: vr0, bus: pmbus0, address: 0x40 }\n"
              "  modules:\n"
              "    - { bus: cage1, profile: " +
                  hilt::test::repo_path("fixtures/profiles/qsfpdd-400g-dr4.yaml") +
                  ", rail: psu1/1, chamber: chamber1 }\n"
                  "devices:\n"
                  "  - { name: m1, address: 'cmis:emu-i2c:cage1@0x50' }\n"
                  "  - name: psu1\n"
                  "    address: scpi-psu:emu-tcp:psu1?model=keysight-e36xx\n"
                  "    calibration_due: 2030-01-31\n"
                  "  - name: chamber1\n"
                  "    address: modbus-chamber:emu-tcp:chamber1\n"
                  "    options: { safe_setpoint: 23 C }\n"
                  "    calibration_due: 2030-01-31\n"
                  "  - { name: vr0, address: 'pmbus:emu-i2c:pmbus0@0x40' }\n"
                  "  - { name: psu2, address: 'scpi-psu:emu-tcp:psu2?model=rs-ngp' }\n"
                  "duts:\n"
                  "  - { slot: 1, module: m1 }\n");
  hilt::driver_registry reg;
  hilt::register_builtin_drivers(reg);
  const auto f = hilt::load_fixture(fixture, &reg);
  asio::io_context io;
  hilt::clock clk(io, f.clock);
  hilt::bench b(f, reg, clk, f.seed);
  ASSERT_EQ(b.devices().size(), 5u);
  EXPECT_EQ(b.find_slot("psu2")->open_error, hilt::errc::device_not_found);
  std::map<std::string, hilt::identity> ids;
  std::map<std::string, std::error_code> errors;
  int unsafe = -1;
  asio::co_spawn(
      io,
      [&]() -> hilt::task<void> {
        for (auto& s : b.devices()) {
          if (!s.device) continue;
          auto id = co_await s.device->async_identify();
          if (id)
            ids[s.name] = id.value();
          else
            errors[s.name] = id.error();
        }
        unsafe = co_await b.async_safe_state();
      },
      asio::detached);
  clk.run();  // returns: the emulated instruments' sockets live on the emulation's own thread
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(ids["m1"].part_number, "EMU-DD-400G-DR4");
  EXPECT_EQ(ids["psu1"].part_number, "E36312A");
  EXPECT_EQ(ids["chamber1"].vendor, "Watlow");
  EXPECT_EQ(ids["vr0"].part_number, "EMU-VR-100A");
  EXPECT_EQ(unsafe, 0);
  auto* emu = dynamic_cast<hilt::emu::bench_emulation*>(b.emulation());
  ASSERT_NE(emu, nullptr);
  EXPECT_FALSE(emu->supply("psu1")->psu->channel(1).output);
  EXPECT_DOUBLE_EQ(emu->chamber("chamber1")->chamber->setpoint_c(), 23.0);
  EXPECT_EQ(b.find_slot("psu1")->calibration_due, "2030-01-31");
}

}  // namespace
