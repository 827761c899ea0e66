// The world model's power coupling: a supply output (or a PMBus regulator) that stops delivering
// takes the power from the emulated modules on its rail, like pulling them from their cages — they
// stop answering (NACK), stop dissipating, lose every volatile setting — and one that delivers
// again gives them a power-on reset (CMIS 5.x §6.3.2: VccReset, MgmtInit, ModuleLowPwr, then on as
// LowPwrS says). Driven through the real scpi-psu and cmis drivers over their own wires, in
// virtual time.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "hilt/cmis/driver.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/error.hpp"
#include "hilt/scpi_psu/driver.hpp"
#include "hilt/scpi_psu/supply.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::emu::msm_state;
using hilt::test::has_text;
using hilt::test::inst_bench;
using supply = hilt::scpi_psu::scpi_supply;

// One 400G-DR4 module (9.2 W Ready, 1.3 W LowPwr; MgmtInit 200 ms, ModulePwrUp 2.5 s) on output 1
// of a Keysight supply that is on: powered long before the run.
std::string powered_bench(const std::string& module_extra = "",
                          const std::string& output = "on: true") {
  return "supplies:\n"
         "  - name: psu1\n"
         "    model: keysight-e36xx\n"
         "    outputs: { 1: { voltage: 3.3 V, current: 5 A, " +
         output +
         " } }\n"
         "modules:\n"
         "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, serial: EMU4D0000001, rail: "
         "psu1/1" +
         module_extra + " }\n";
}

struct powered_fixture {
  explicit powered_fixture(const std::string& yaml)
      : b(yaml), psu_drv(hilt::scpi_psu::make_driver()), cmis_drv(hilt::cmis::make_driver()) {
    psu = b.make_as<supply>(*psu_drv, "psu1", "scpi-psu:emu-tcp:psu1", "{model: keysight-e36xx}");
    module = b.make_as<hilt::managed_module>(*cmis_drv, "m1", "cmis:emu-i2c:cage1@0x50");
  }
  hilt::emu::scpi_psu_emulator& emulated_psu() { return *b.emu->supply("psu1")->psu; }
  hilt::emu::cmis_module& emulated_module() { return *b.emu->modules().at(0); }
  hilt::emu::power_rail& rail() { return *b.emu->rail("psu1/1"); }
  // One byte of the memory map as the module's own wire answers it (not the backdoor).
  std::error_code read_byte(std::uint8_t offset, std::uint8_t& out) {
    auto bus = b.emu->bus("cage1");
    const std::array<std::uint8_t, 1> ptr{offset};
    std::array<std::uint8_t, 1> data{};
    auto ec = bus->transfer(0x50, ptr, data);
    out = data[0];
    return ec;
  }
  std::uint8_t peek(std::uint8_t page, std::uint8_t offset) {
    std::array<std::uint8_t, 1> v{};
    EXPECT_TRUE(emulated_module().peek(0, page, offset, v));
    return v[0];
  }

  inst_bench b;
  std::shared_ptr<const hilt::driver> psu_drv, cmis_drv;
  std::shared_ptr<supply> psu;
  std::shared_ptr<hilt::managed_module> module;
};

TEST(SupplyPower, OutputOffPowersTheModuleDown) {
  powered_fixture f(powered_bench());
  ASSERT_TRUE(f.psu && f.module);
  EXPECT_TRUE(f.emulated_module().powered());
  EXPECT_EQ(f.emulated_module().state(), msm_state::ready);
  EXPECT_NEAR(f.rail().power_at(3.3), 9.2, 1e-9);
  ASSERT_TRUE(f.b.run(f.module->async_identify())) << f.b.log();
  // A volatile setting the host made: lane 1 Tx disabled (10h:130).
  ASSERT_FALSE(f.b.run(f.module->async_set_tx_disable(0x1, true))) << f.b.log();
  EXPECT_EQ(f.peek(0x10, 130), 0x01);
  f.b.sleep(10min);  // the case settles warm: 25 C + 9.2 W x 2.5 C/W
  EXPECT_NEAR(f.emulated_module().case_temperature_c(), 48.0, 0.1);

  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, false))) << f.b.log();
  auto& m = f.emulated_module();
  EXPECT_FALSE(m.powered());
  EXPECT_FALSE(m.lasers_on());
  EXPECT_EQ(m.dissipation_w(), 0.0);
  EXPECT_EQ(f.rail().source_volts().value_or(-1), 0.0);
  EXPECT_EQ(f.rail().power_at(3.3), 0.0) << "nothing on the rail draws power";
  auto i = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(i) << f.b.log();
  EXPECT_EQ(i.value(), 0.0);
  EXPECT_TRUE(has_text(m.describe(), "cage1@0x50 state=Unpowered lasers=off")) << m.describe();
  EXPECT_TRUE(has_text(f.b.emulation->describe().at(1), "ch1=off")) << f.b.emulation->describe()[1];

  // Its memory map does not answer: every transfer is NACKed, on the raw bus and in the driver.
  std::uint8_t byte = 0;
  EXPECT_EQ(f.read_byte(0, byte), errc::nack);
  EXPECT_EQ(f.read_byte(3, byte), errc::nack);
  f.b.clear_log();
  auto st = f.b.run(f.module->async_module_state());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), errc::nack) << f.b.log();
  EXPECT_FALSE(f.b.run(f.module->async_identify()));
  EXPECT_FALSE(f.b.run(f.module->async_read_monitors()));

  // It stays dead and cools toward the ambient: no monitor, no state machine runs.
  f.b.sleep(1h);
  EXPECT_FALSE(m.powered());
  EXPECT_EQ(m.dissipation_w(), 0.0);
  EXPECT_NEAR(m.case_temperature_c(), 25.0, 0.1);
  EXPECT_EQ(f.read_byte(0, byte), errc::nack);
}

TEST(SupplyPower, OutputOnIsAPowerOnReset) {
  powered_fixture f(powered_bench());
  ASSERT_FALSE(f.b.run(f.module->async_set_tx_disable(0x1, true))) << f.b.log();
  ASSERT_TRUE(f.b.run(f.module->async_set_low_power(true))) << f.b.log();
  f.b.sleep(1s);
  ASSERT_EQ(f.emulated_module().state(), msm_state::low_pwr);
  EXPECT_EQ(f.peek(0x00, 26) & 0x10, 0x10);  // LowPwrRequestSW, as the host left it

  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, false))) << f.b.log();
  f.b.sleep(30s);
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, true))) << f.b.log();
  auto& m = f.emulated_module();
  EXPECT_TRUE(m.powered());
  EXPECT_NEAR(f.rail().source_volts().value_or(-1), 3.3, 1e-9);
  // MgmtInit (200 ms): the management interface is not up yet.
  EXPECT_EQ(m.state(), msm_state::mgmt_init);
  std::uint8_t byte = 0;
  EXPECT_EQ(f.read_byte(0, byte), errc::nack);
  EXPECT_NEAR(m.dissipation_w(), 1.3, 1e-9);  // a module powers up in low power (<= 1.5 W)

  // A module powered on at this very instant (boot: cold), on a bench of its own, for comparison.
  inst_bench fresh(powered_bench(", boot: cold"));
  auto& cold = *fresh.emu->modules().at(0);

  // Past MgmtInit every control is at its power-on default: LowPwrRequestSW and the Tx disable
  // are gone, so (LPMode pin deasserted) the module goes on through ModulePwrUp.
  f.b.sleep(300ms);
  fresh.sleep(300ms);
  EXPECT_EQ(cold.state(), msm_state::pwr_up);
  EXPECT_EQ(m.state(), msm_state::pwr_up);
  ASSERT_FALSE(f.read_byte(26, byte));
  EXPECT_EQ(byte, 0x40);  // Table 8-11 default: LowPwrAllowRequestHW only
  EXPECT_EQ(f.peek(0x10, 130), 0x00);
  ASSERT_FALSE(f.read_byte(8, byte));
  EXPECT_EQ(byte & 0x01, 0x01);  // ModuleStateChangedFlag latched by the power-on transitions

  // And it comes up exactly as the freshly powered one does.
  f.b.sleep(3s);
  fresh.sleep(3s);
  EXPECT_EQ(m.state(), msm_state::ready);
  EXPECT_EQ(cold.state(), msm_state::ready);
  for (std::uint8_t page : {0x00, 0x01, 0x02, 0x10}) {
    std::array<std::uint8_t, 128> a{}, c{};
    ASSERT_TRUE(m.peek(0, page, 128, a));
    ASSERT_TRUE(cold.peek(0, page, 128, c));
    EXPECT_EQ(a, c) << "page " << int(page);
  }
  for (int h = 1; h <= 8; ++h)
    EXPECT_EQ(m.data_path_state(h), cold.data_path_state(h)) << h;
  EXPECT_NEAR(m.dissipation_w(), 9.2, 1e-9);
  auto i = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(i);
  EXPECT_NEAR(i.value(), 9.2 / 3.3, f.emulated_psu().model().current_resolution);
  ASSERT_TRUE(f.b.run(f.module->async_identify())) << f.b.log();
}

TEST(SupplyPower, LpModePinHoldsTheModuleInLowPwrAfterPowerOn) {
  powered_fixture f(powered_bench(", lpmode_pin: true"));
  auto& m = f.emulated_module();
  EXPECT_EQ(m.state(), msm_state::low_pwr);
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, false))) << f.b.log();
  EXPECT_FALSE(m.powered());
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, true))) << f.b.log();
  f.b.sleep(10s);
  EXPECT_EQ(m.state(), msm_state::low_pwr);
  EXPECT_NEAR(m.dissipation_w(), 1.3, 1e-9);
  auto st = f.b.run(f.module->async_module_state());
  ASSERT_TRUE(st) << f.b.log();
  EXPECT_EQ(st.value(), hilt::module_state::low_power);
}

TEST(SupplyPower, AnOutputOffFromTheStartLeavesTheModuleUnpowered) {
  powered_fixture f(powered_bench("", "on: false"));
  auto& m = f.emulated_module();
  EXPECT_FALSE(m.powered());
  std::uint8_t byte = 0;
  EXPECT_EQ(f.read_byte(0, byte), errc::nack);
  EXPECT_EQ(m.dissipation_w(), 0.0);
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, true))) << f.b.log();
  // A cold boot: ModuleReady after MgmtInit and ModulePwrUp (0.2 s + 2.5 s).
  EXPECT_EQ(m.state(), msm_state::mgmt_init);
  f.b.sleep(3s);
  EXPECT_EQ(m.state(), msm_state::ready);
  auto i = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(i) << f.b.log();
  EXPECT_NEAR(3.3 * i.value(), 9.2, 3.3 * f.emulated_psu().model().current_resolution + 1e-9);
}

TEST(SupplyPower, VoltageBelowTheLockoutPowersTheModuleDown) {
  powered_fixture f(powered_bench());
  auto& m = f.emulated_module();
  // 80 % of the module's 3.3 V Vcc is 2.64 V.
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(1, 2.7))) << f.b.log();
  EXPECT_TRUE(m.powered());
  EXPECT_EQ(m.state(), msm_state::ready);
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(1, 2.5))) << f.b.log();
  EXPECT_FALSE(m.powered());
  ASSERT_TRUE(f.b.run(f.psu->async_set_voltage(1, 3.3))) << f.b.log();
  EXPECT_TRUE(m.powered());
  EXPECT_EQ(m.state(), msm_state::mgmt_init);
}

// Over-current protection is one more way for an output to stop delivering. A module powers up in
// low power, so the output comes back under a limit its ModuleReady draw exceeds — until the
// module gets there.
TEST(SupplyPower, AnOverCurrentTripPowersTheModuleDown) {
  powered_fixture f(powered_bench());
  auto& m = f.emulated_module();
  // 9.2 W / 3.3 V = 2.8 A: a 1 A limit trips the output at once.
  auto r = f.b.run(f.psu->async_set_current_limit(1, 1.0));
  EXPECT_EQ(r.error(), errc::instrument_error) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "over-current protection tripped on output 1")) << f.b.log();
  EXPECT_TRUE(f.emulated_psu().channel(1).tripped);
  EXPECT_FALSE(m.powered());
  EXPECT_EQ(m.dissipation_w(), 0.0);

  f.emulated_psu().handle("OUTP:PROT:CLE");
  ASSERT_FALSE(f.b.run(f.psu->async_set_output(1, true))) << f.b.log();
  EXPECT_TRUE(m.powered());
  auto i = f.b.run(f.psu->async_measure_current(1));
  ASSERT_TRUE(i) << f.b.log();
  EXPECT_NEAR(i.value(), 1.3 / 3.3, 0.001);        // MgmtInit / LowPwr: under the limit
  f.b.sleep(3s);                                   // ModuleReady: 2.8 A
  (void)f.b.run(f.psu->async_measure_current(1));  // the supply evaluates its load on a message
  EXPECT_TRUE(f.emulated_psu().channel(1).tripped);
  EXPECT_FALSE(m.powered());
}

// The R&S master switch (OUTPut:GENeral) powers every module on the supply down and up.
TEST(SupplyPower, MasterSwitchPowersEveryOutputsModules) {
  inst_bench b(
      "supplies:\n"
      "  - name: psu1\n"
      "    model: rs-ngp\n"
      "    outputs:\n"
      "      1: { voltage: 3.3 V, current: 5 A, on: true }\n"
      "      2: { voltage: 3.3 V, current: 5 A, on: true }\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, rail: psu1/1 }\n"
      "  - { bus: cage2, profile: profiles/osfp-800g-dr8.yaml, rail: psu1/2 }\n");
  auto& psu = *b.emu->supply("psu1")->psu;
  const auto& mods = b.emu->modules();
  ASSERT_EQ(mods.size(), 2u);
  EXPECT_TRUE(mods[0]->powered() && mods[1]->powered());
  EXPECT_FALSE(psu.handle("OUTP:GEN OFF"));
  EXPECT_FALSE(mods[0]->powered());
  EXPECT_FALSE(mods[1]->powered());
  EXPECT_EQ(psu.handle("OUTP:GEN?"), "0");
  EXPECT_FALSE(psu.handle("OUTP:GEN ON"));
  EXPECT_TRUE(mods[0]->powered() && mods[1]->powered());
  EXPECT_EQ(mods[0]->state(), msm_state::mgmt_init);
  EXPECT_EQ(mods[1]->state(), msm_state::mgmt_init);
  // One output alone: the other module keeps running.
  b.sleep(10s);
  EXPECT_FALSE(psu.handle("INST:NSEL 2;OUTP:SEL OFF"));
  EXPECT_TRUE(mods[0]->powered());
  EXPECT_FALSE(mods[1]->powered());
  EXPECT_EQ(mods[0]->state(), msm_state::ready);
}

// A PMBus regulator's rail couples the same way: OPERATION off, or an over-current latch.
TEST(RegulatorPower, OperationOffPowersTheEngineDown) {
  inst_bench b(
      "regulators:\n"
      "  - { name: vr0, bus: pmbus0, address: 0x40, vout: 3.3 V, idle: 6 W }\n"
      "modules:\n"
      "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, rail: vr0 }\n");
  auto& m = *b.emu->modules().at(0);
  auto& vr = *b.emu->regulator("vr0")->regulator;
  auto bus = b.emu->bus("pmbus0");
  EXPECT_TRUE(m.powered());
  EXPECT_NEAR(vr.read().pout, 9.2 + 6.0, 1e-9);
  const std::array<std::uint8_t, 2> off{0x01, 0x00}, on{0x01, 0x80};
  ASSERT_FALSE(bus->transfer(0x40, off, {}));
  EXPECT_FALSE(m.powered());
  EXPECT_EQ(m.dissipation_w(), 0.0);
  EXPECT_FALSE(vr.read().on);
  ASSERT_FALSE(bus->transfer(0x40, on, {}));
  EXPECT_TRUE(m.powered());
  EXPECT_EQ(m.state(), msm_state::mgmt_init);
  EXPECT_NEAR(vr.read().pout, 1.3 + 6.0, 1e-9);
}

}  // namespace
