// Byte-level tests of the emulated CMIS module behind the emulated I2C bus: what a host sees on
// the wire (OIF-CMIS 5.x §5.2, §6.3.2, §8).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <numeric>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/error.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::emu::cmis_module;
using hilt::emu::emu_i2c_bus;
using hilt::emu::msm_state;
using hilt::emu::world;

const std::string profiles_dir = std::string(HILT_REPO_DIR) + "/fixtures/profiles/";

hilt::emu::module_profile dr4() {
  return hilt::emu::load_profile(profiles_dir + "qsfpdd-400g-dr4.yaml");
}

// A module on a bus, on manual world time (no clock): the test moves time itself.
struct rig {
  std::shared_ptr<world> w;
  std::shared_ptr<cmis_module> mod;
  emu_i2c_bus bus{"port1"};

  explicit rig(hilt::emu::cmis_module_options o = {}, hilt::emu::module_profile p = dr4(),
               double ambient = 25.0) {
    w = std::make_shared<world>(nullptr, 7, ambient);
    o.label = "port1@0x50";
    mod = std::make_shared<cmis_module>(w, std::move(p), o, 42);
    bus.attach(0x50, mod);
  }
  void at(hilt::clock::duration t) { w->set_manual_time(t); }
  std::error_code write(std::vector<std::uint8_t> bytes) { return bus.transfer(0x50, bytes, {}); }
  std::vector<std::uint8_t> read(std::uint8_t offset, std::size_t n,
                                 std::error_code* ec = nullptr) {
    std::vector<std::uint8_t> out(n);
    auto e = bus.transfer(0x50, std::span(&offset, 1), out);
    if (ec)
      *ec = e;
    else
      EXPECT_FALSE(e) << "read " << int(offset) << "+" << n << ": " << e.message();
    return out;
  }
  std::uint8_t byte(std::uint8_t offset) { return read(offset, 1)[0]; }
  std::vector<std::uint8_t> page(std::uint8_t page_no, std::uint8_t bank = 0) {
    EXPECT_FALSE(write({126, bank, page_no}));
    return read(128, 128);
  }
  int state_bits() { return (byte(3) >> 1) & 7; }
};

unsigned sum(const std::vector<std::uint8_t>& v, std::size_t from, std::size_t to_incl) {
  return std::accumulate(v.begin() + static_cast<long>(from),
                         v.begin() + static_cast<long>(to_incl) + 1, 0u);
}
std::string ascii(const std::vector<std::uint8_t>& upper, int offset, int n) {
  return std::string(upper.begin() + (offset - 128), upper.begin() + (offset - 128 + n));
}
unsigned u16(const std::vector<std::uint8_t>& v, std::size_t i) {
  return v[i] << 8 | v[i + 1];
}

TEST(EmuBus, EmptyAddressNacks) {
  emu_i2c_bus bus("x");
  std::uint8_t b = 0;
  EXPECT_EQ(bus.transfer(0x50, std::span(&b, 1), std::span(&b, 1)), hilt::errc::nack);
}

TEST(EmuBus, LengthLimits) {
  rig r;
  std::vector<std::uint8_t> big(129);
  std::uint8_t zero = 0;
  EXPECT_EQ(r.bus.transfer(0x50, std::span(&zero, 1), big), hilt::errc::invalid_argument);
  EXPECT_EQ(r.write({26, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
            hilt::errc::invalid_argument);  // 9 data bytes
  EXPECT_EQ(r.bus.max_read(), 128u);
  EXPECT_EQ(r.bus.max_write(), 9u);
  // The target itself refuses more than 8 data bytes too (CMIS §5.2.2.2).
  const std::uint8_t nine[] = {26, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(r.mod->on_write(nine), hilt::errc::nack);
}

TEST(EmuModule, LowerMemoryAndStateChangedFlagClearOnRead) {
  rig r;
  auto lower = r.read(0, 128);
  EXPECT_EQ(lower[0], 0x18);
  EXPECT_EQ(lower[1], 0x50);
  EXPECT_EQ(lower[2] & 0x80, 0);  // paged memory
  // ModuleReady, and IntL asserted because ModuleStateChangedFlag is latched (00h:3 = 0x06).
  EXPECT_EQ(lower[3], 0x06);
  EXPECT_EQ(lower[8] & 1, 1);  // latched by the power-on transitions
  EXPECT_EQ(r.byte(8) & 1, 0) << "the 128-byte read above cleared it (COR)";
  EXPECT_EQ(r.byte(3), 0x07);  // steady ModuleReady, no interrupt
  EXPECT_EQ(lower[26], 0x40);  // LowPwrAllowRequestHW default (Table 8-11)
  EXPECT_EQ(lower[39], 1);
  EXPECT_EQ(lower[40], 2);
  EXPECT_EQ(lower[85], 0x02);
  // Application 1: 400GAUI-8 C2M / 400GBASE-DR4, 8 host / 4 media lanes; app 2; then FFh.
  EXPECT_EQ(std::vector<std::uint8_t>(lower.begin() + 86, lower.begin() + 94),
            (std::vector<std::uint8_t>{0x11, 0x1C, 0x84, 0x01, 0x0D, 0x14, 0x21, 0x55}));
  EXPECT_EQ(lower[94], 0xFF);
}

TEST(EmuModule, FlagIsLatchedAcrossTransitionsAndMaskable) {
  rig r;
  EXPECT_EQ(r.byte(8) & 1, 1);
  EXPECT_EQ(r.byte(8) & 1, 0);        // cleared by the previous read
  ASSERT_FALSE(r.write({26, 0x50}));  // LowPwrRequestSW
  // The data paths go down first (DPTxTurnOff 5 ms + DPDeinit 2.5 ms), then ModulePwrDn.
  EXPECT_EQ(r.byte(3), 0x07);  // still ModuleReady, nothing latched yet
  r.at(7500us);
  EXPECT_EQ(r.byte(3), 0x08);         // ModulePwrDn (4 << 1), IntL asserted
  ASSERT_FALSE(r.write({31, 0x01}));  // mask ModuleStateChangedFlag
  EXPECT_EQ(r.byte(3), 0x08) << "DPStateChanged lane flags still assert IntL";
  (void)r.page(0x11);           // reading page 11h clears the lane flags
  EXPECT_EQ(r.byte(3), 0x09);   // masked: InterruptDeasserted
  EXPECT_EQ(r.byte(8) & 1, 1);  // still latched
}

TEST(EmuModule, PageSelectChecksumsAndIdentity) {
  rig r;
  auto p00 = r.page(0x00);
  EXPECT_EQ(p00[0], 0x18);
  EXPECT_EQ(ascii(p00, 129, 16), "HILT-EMU        ");
  EXPECT_EQ(ascii(p00, 148, 16), "EMU-DD-400G-DR4 ");
  EXPECT_EQ(ascii(p00, 164, 2), "01");
  EXPECT_EQ(ascii(p00, 166, 16), "EMU4D0000000    ");
  EXPECT_EQ(ascii(p00, 182, 8), "250115  ");
  EXPECT_EQ(p00[200 - 128] >> 5, 4);                         // class 5
  EXPECT_EQ(p00[201 - 128], 40);                             // 10 W / 0.25 W
  EXPECT_EQ(p00[222 - 128], sum(p00, 0, 221 - 128) & 0xFF);  // 00h:222 = sum(128..221)

  auto p01 = r.page(0x01);
  EXPECT_EQ(p01[255 - 128], sum(p01, 130 - 128, 254 - 128) & 0xFF);  // 01h:255 = sum(130..254)
  EXPECT_EQ(p01[159 - 128], 0x03);
  EXPECT_EQ(p01[160 - 128], 0x07);
  EXPECT_EQ(p01[167 - 128], 0x37);  // PwrDn < 50 ms (3), PwrUp < 5 s (7)
  EXPECT_EQ(p01[155 - 128] & 0x02, 0x02);
  EXPECT_EQ(u16(p01, 138 - 128), 26220u);  // 1311 nm / 0.05 nm
  EXPECT_EQ(p01[223 - 128], 0xFF);         // no applications 9-15

  auto p02 = r.page(0x02);
  EXPECT_EQ(p02[255 - 128], sum(p02, 0, 254 - 128) & 0xFF);     // 02h:255 = sum(128..254)
  EXPECT_EQ(static_cast<std::int16_t>(u16(p02, 0)), 80 * 256);  // temperature high alarm

  EXPECT_EQ(r.byte(126), 0);
  EXPECT_EQ(r.byte(127), 0x02);
}

TEST(EmuModule, ChecksumsFollowContentChanges) {
  rig r;
  const std::uint8_t sn[] = {'Z', 'Z'};
  ASSERT_TRUE(r.mod->poke(0, 0x00, 166, sn));
  auto p00 = r.page(0x00);
  EXPECT_EQ(p00[222 - 128], sum(p00, 0, 221 - 128) & 0xFF);
  const std::uint8_t other[] = {'Y'};
  ASSERT_TRUE(r.mod->poke(0, 0x00, 166, other, /*fix_checksums=*/false));
  p00 = r.page(0x00);
  EXPECT_NE(p00[222 - 128], sum(p00, 0, 221 - 128) & 0xFF);
}

TEST(EmuModule, AccessesMustStayWithinAHalf) {
  rig r;
  std::error_code ec;
  r.read(100, 64, &ec);
  EXPECT_EQ(ec, hilt::errc::nack) << "lower/upper crossing";
  r.read(200, 64, &ec);
  EXPECT_EQ(ec, hilt::errc::nack) << "past byte 255";
  r.read(0, 128, &ec);
  EXPECT_FALSE(ec);
  r.read(128, 128, &ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(r.write({124, 0, 0, 0, 0, 0}), hilt::errc::nack);  // 124..128 crosses
}

TEST(EmuModule, UnsupportedPageIsNackedButSelectReadsBack) {
  rig r;
  ASSERT_FALSE(r.write({127, 0x05}));
  std::error_code ec;
  r.read(128, 1, &ec);
  EXPECT_EQ(ec, hilt::errc::nack);
  EXPECT_EQ(r.byte(127), 0x05);
  ASSERT_FALSE(r.write({126, 1, 0x11}));  // bank 1 does not exist on this module
  r.read(128, 1, &ec);
  EXPECT_EQ(ec, hilt::errc::nack);
  ASSERT_FALSE(r.write({126, 1, 0x01}));  // pages below 10h ignore the bank
  r.read(128, 1, &ec);
  EXPECT_FALSE(ec);
}

TEST(EmuModule, ReadOnlyBytesIgnoreWrites) {
  rig r;
  ASSERT_FALSE(r.write({0, 0x99}));
  EXPECT_EQ(r.byte(0), 0x18);
  ASSERT_FALSE(r.write({127, 0x00}));
  ASSERT_FALSE(r.write({148, 'X'}));
  EXPECT_EQ(r.read(148, 1)[0], 'E');
}

TEST(EmuModule, StateMachineTimingsOnManualTime) {
  rig r;  // module_pwr_dn defaults to 50 ms / 2, module_pwr_up to 5 s / 2
  EXPECT_EQ(r.state_bits(), 3);
  r.at(1s);
  ASSERT_FALSE(r.write({26, 0x50}));  // LowPwrRequestSW
  // LowPwrExS needs every data path deactivated first: DPTxTurnOff (10 ms / 2) then DPDeinit
  // (5 ms / 2), then ModulePwrDn (25 ms).
  EXPECT_EQ(r.state_bits(), 3);
  EXPECT_EQ(r.mod->data_path_state(1), hilt::emu::dp_state::tx_turn_off);
  EXPECT_FALSE(r.mod->lasers_on()) << "DPTxTurnOff: the lasers are already dark";
  r.at(1s + 5ms);
  EXPECT_EQ(r.mod->data_path_state(1), hilt::emu::dp_state::deinit);
  r.at(1s + 7500us - 1ns);
  EXPECT_EQ(r.state_bits(), 3);
  r.at(1s + 7500us);
  EXPECT_EQ(r.mod->data_path_state(8), hilt::emu::dp_state::deactivated);
  EXPECT_EQ(r.state_bits(), 4);  // ModulePwrDn
  r.at(1s + 32500us - 1ns);
  EXPECT_EQ(r.state_bits(), 4);
  r.at(1s + 32500us);
  EXPECT_EQ(r.state_bits(), 1);  // ModuleLowPwr
  EXPECT_FALSE(r.mod->lasers_on());
  r.at(2s);
  ASSERT_FALSE(r.write({26, 0x00}));  // release (and ignore the pin)
  EXPECT_EQ(r.state_bits(), 2);       // ModulePwrUp
  r.at(2s + 2500ms - 1ns);
  EXPECT_EQ(r.state_bits(), 2);
  r.at(2s + 2500ms);
  EXPECT_EQ(r.state_bits(), 3);
  // Then DPInit (5 s / 2) and DPTxTurnOn (100 ms / 2) before the lasers light.
  EXPECT_EQ(r.mod->data_path_state(1), hilt::emu::dp_state::init);
  EXPECT_FALSE(r.mod->lasers_on());
  r.at(2s + 5000ms);
  EXPECT_EQ(r.mod->data_path_state(1), hilt::emu::dp_state::tx_turn_on);
  r.at(2s + 5050ms - 1ns);
  EXPECT_FALSE(r.mod->lasers_on());
  r.at(2s + 5050ms);
  EXPECT_EQ(r.mod->data_path_state(1), hilt::emu::dp_state::activated);
  EXPECT_TRUE(r.mod->lasers_on());
}

TEST(EmuModule, StateMachineInVirtualTimeWithHarnessClock) {
  boost::asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  auto w = std::make_shared<world>(&clk, 1, 25.0);
  auto mod = std::make_shared<cmis_module>(w, dr4(), hilt::emu::cmis_module_options{}, 3);
  emu_i2c_bus bus("port1");
  bus.attach(0x50, mod);
  std::vector<std::pair<int, hilt::clock::duration>> changes;  // (state, first seen)
  const auto wall = std::chrono::steady_clock::now();
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto state = [&] {
          std::uint8_t ptr = 3, b = 0;
          EXPECT_FALSE(bus.transfer(0x50, std::span(&ptr, 1), std::span(&b, 1)));
          return (b >> 1) & 7;
        };
        const std::uint8_t lp[] = {26, 0x10}, up[] = {26, 0x00};
        co_await clk.async_sleep(10s, boost::asio::use_awaitable);
        EXPECT_FALSE(bus.transfer(0x50, lp, {}));
        int last = -1;
        for (int i = 0; i < 20; ++i) {  // 20 x 5 ms
          if (int s = state(); s != last) changes.emplace_back(last = s, clk.now());
          co_await clk.async_sleep(5ms, boost::asio::use_awaitable);
        }
        EXPECT_FALSE(bus.transfer(0x50, up, {}));
        for (int i = 0; i < 400; ++i) {  // 400 x 10 ms
          if (int s = state(); s != last) changes.emplace_back(last = s, clk.now());
          co_await clk.async_sleep(10ms, boost::asio::use_awaitable);
        }
      },
      boost::asio::detached);
  clk.run();
  // Data paths down in 7.5 ms (seen at the 10 ms poll), ModulePwrDn 25 ms (LowPwr at 32.5 ms,
  // seen at 35 ms), then up again.
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes[0], std::make_pair(3, hilt::clock::duration(10s)));
  EXPECT_EQ(changes[1], std::make_pair(4, hilt::clock::duration(10s + 10ms)));
  EXPECT_EQ(changes[2], std::make_pair(1, hilt::clock::duration(10s + 35ms)));
  EXPECT_EQ(changes[3], std::make_pair(2, hilt::clock::duration(10s + 100ms)));
  EXPECT_EQ(changes[4], std::make_pair(3, hilt::clock::duration(10s + 100ms + 2500ms)));
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 2s) << "virtual time must not sleep";
}

TEST(EmuModule, SoftwareResetRunsMgmtInitAndRestoresDefaults) {
  rig r;
  ASSERT_FALSE(r.write({127, 0x10}));
  ASSERT_FALSE(r.write({130, 0x0F}));  // Tx disable all
  r.at(1s);
  ASSERT_FALSE(r.write({26, 0x08}));  // SoftwareReset
  std::error_code ec;
  r.read(0, 1, &ec);
  EXPECT_EQ(ec, hilt::errc::nack) << "MgmtInit: the interface is not up";
  r.at(1s + 200ms - 1ns);
  r.read(0, 1, &ec);
  EXPECT_EQ(ec, hilt::errc::nack);
  r.at(1s + 200ms);
  EXPECT_EQ(r.state_bits(), 2);  // LowPwr left at once for PwrUp: LPMode pin deasserted
  EXPECT_EQ(r.byte(26), 0x40);
  EXPECT_EQ(r.byte(127), 0x00);
  r.at(1s + 200ms + 2500ms);
  EXPECT_EQ(r.state_bits(), 3);
  EXPECT_EQ(r.page(0x10)[130 - 128], 0x00) << "lane controls back to defaults";
}

TEST(EmuModule, ColdBootAndLpModePin) {
  hilt::emu::cmis_module_options o;
  o.cold_boot = true;
  o.lpmode_pin = true;
  rig r(o);
  std::error_code ec;
  r.read(0, 1, &ec);
  EXPECT_EQ(ec, hilt::errc::nack);
  r.at(200ms);
  EXPECT_EQ(r.state_bits(), 1);  // pin asserted and allowed: stays in ModuleLowPwr
  r.at(10s);
  EXPECT_EQ(r.state_bits(), 1);
  r.mod->set_lpmode_pin(false);
  EXPECT_EQ(r.state_bits(), 2);
  r.at(10s + 2500ms);
  EXPECT_EQ(r.state_bits(), 3);
  EXPECT_EQ(r.mod->data_path_state(1), hilt::emu::dp_state::init) << "cold: data paths start now";
  r.mod->set_lpmode_pin(true);
  EXPECT_EQ(r.state_bits(), 3) << "DPInit -> DPDeinit (2.5 ms) first";
  r.at(10s + 2502500us);
  EXPECT_EQ(r.state_bits(), 4);
}

TEST(EmuModule, TxDisableDpStateAndLaneMonitors) {
  rig r;
  auto p11 = r.page(0x11);
  // DPActivated on host lanes 1-8 (nibbles of 128-131).
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(p11[i], 0x44);
  for (int m = 0; m < 4; ++m) {
    EXPECT_GT(u16(p11, 154 - 128 + 2 * m), 10000u) << "Tx power lane " << m + 1 << " above 1 mW";
    EXPECT_GT(u16(p11, 170 - 128 + 2 * m), 30000u) << "bias lane " << m + 1 << " above 60 mA";
    EXPECT_GT(u16(p11, 186 - 128 + 2 * m), 5000u);
  }
  for (int m = 4; m < 8; ++m)
    EXPECT_EQ(u16(p11, 154 - 128 + 2 * m), 0u) << "no media lane " << m + 1;
  EXPECT_EQ(p11[133 - 128], 0x0F);  // OutputStatusTx

  ASSERT_FALSE(r.write({127, 0x10}));
  ASSERT_FALSE(r.write({130, 0x01}));  // OutputDisableTx lane 1
  EXPECT_EQ(r.read(130, 1)[0], 0x01);
  p11 = r.page(0x11);
  EXPECT_EQ(u16(p11, 154 - 128), 0u);
  EXPECT_EQ(u16(p11, 170 - 128), 0u);
  EXPECT_EQ(u16(p11, 186 - 128), 0u);
  EXPECT_GT(u16(p11, 156 - 128), 10000u);
  EXPECT_EQ(p11[0], 0x44) << "Tx disable does not change the data path state";
  EXPECT_EQ(p11[133 - 128], 0x0E);
  EXPECT_TRUE(r.mod->lasers_on());
  ASSERT_FALSE(r.write({127, 0x10}));
  ASSERT_FALSE(r.write({130, 0x0F}));
  EXPECT_FALSE(r.mod->lasers_on());
  EXPECT_NE(r.mod->describe().find("lasers=off"), std::string::npos) << r.mod->describe();

  ASSERT_FALSE(r.write({130, 0x00}));
  ASSERT_FALSE(r.write({26, 0x10}));  // LowPwr: data paths go down, no light
  p11 = r.page(0x11);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(p11[i], 0x66) << "DPTxTurnOff";
  EXPECT_EQ(u16(p11, 154 - 128), 0u);
  EXPECT_FALSE(r.mod->lasers_on());
  r.at(10ms);
  p11 = r.page(0x11);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(p11[i], 0x11) << "DPDeactivated";
  EXPECT_EQ(p11[134 - 128], 0xFF) << "DPStateChanged latched on all 8 lanes";
  EXPECT_EQ(r.page(0x11)[134 - 128], 0x00) << "and cleared by the read";
}

TEST(EmuModule, CaseTemperatureFollowsDissipationWithFirstOrderLag) {
  rig r;  // 25 C ambient, 9.2 W x 2.5 C/W in ModuleReady -> 48 C settled
  auto temp = [&] {
    auto b = r.read(14, 2);
    return static_cast<std::int16_t>(b[0] << 8 | b[1]) / 256.0;
  };
  EXPECT_NEAR(temp(), 48.0, 1.0 / 256);
  ASSERT_FALSE(r.write({26, 0x10}));  // PwrDn (25 ms) then LowPwr at 1.3 W -> 28.25 C
  r.at(25ms + 90s);                   // one time constant after entering ModuleLowPwr (approx.)
  const double expect = 28.25 + (48.0 - 28.25) * std::exp(-1.0);
  EXPECT_NEAR(temp(), expect, 0.1);
  r.at(3600s);
  EXPECT_NEAR(temp(), 28.25, 0.01);
}

TEST(EmuModule, TxPowerFallsWithTemperature) {
  auto lane1_mw = [](double ambient) {
    rig r({}, dr4(), ambient);
    auto p11 = r.page(0x11);
    return u16(p11, 154 - 128) * 1e-4;
  };
  const double cold = lane1_mw(25.0), hot = lane1_mw(45.0);  // 20 C apart, same seed
  EXPECT_NEAR(10 * std::log10(hot / cold), -0.02 * 20, 0.01);
}

TEST(EmuModule, VccNoiseIsSmallAndSeeded) {
  rig a, b;
  for (int i = 0; i < 20; ++i) {
    a.at(i * 137ms);
    b.at(i * 137ms);
    auto va = a.read(16, 2), vb = b.read(16, 2);
    const double v = (va[0] << 8 | va[1]) * 100e-6;
    EXPECT_NEAR(v, 3.3, 0.0041);
    EXPECT_EQ(va, vb) << "same seed, same time, same reading";
  }
}

TEST(EmuModule, InjectedNacksAreSeededAndHarmless) {
  auto count = [](std::uint64_t seed) {
    rig r;
    r.bus.set_faults(0x50, {0.25, seed});
    std::vector<bool> pattern;
    for (int i = 0; i < 2000; ++i) {
      std::error_code ec;
      r.read(0, 1, &ec);
      pattern.push_back(static_cast<bool>(ec));
    }
    return pattern;
  };
  auto p1 = count(9), p2 = count(9), p3 = count(10);
  EXPECT_EQ(p1, p2);
  EXPECT_NE(p1, p3);
  const auto n = std::count(p1.begin(), p1.end(), true);
  EXPECT_NEAR(static_cast<double>(n), 500.0, 80.0);
}

TEST(EmuModule, LoadsARealImage) {
  std::vector<std::uint8_t> img(256, 0);
  img[0] = 0x18;
  img[1] = 0x30;
  img[2] = 0x80;  // flat memory
  img[128] = 0x18;
  img[129] = 'A';
  rig r;
  r.mod->load_image(img);
  EXPECT_EQ(r.read(129, 1)[0], 'A');
  std::error_code ec;
  ASSERT_FALSE(r.write({127, 0x01}));
  r.read(128, 1, &ec);
  EXPECT_EQ(ec, hilt::errc::nack) << "flat memory: only page 00h";
}

TEST(EmuProfile, DurationCodes) {
  using hilt::emu::duration_code;
  EXPECT_EQ(duration_code(0ms), 0);
  EXPECT_EQ(duration_code(1ms), 0);
  EXPECT_EQ(duration_code(2ms), 1);
  EXPECT_EQ(duration_code(50ms), 3);
  EXPECT_EQ(duration_code(5s), 7);
  EXPECT_EQ(duration_code(6s), 8);
  EXPECT_EQ(duration_code(3600s), 13);
}

}  // namespace
