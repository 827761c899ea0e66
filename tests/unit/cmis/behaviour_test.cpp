// The CMIS driver's behaviours against the emulated modules over the emulated bus, in virtual
// time: PRBS lock and counts, BER from the link model, VDM, data path activation with the
// advertised timings, latched flags, banks, SFF-8472, the ELSFP and the CPO engine it feeds, and
// every injected fault surfacing as its error code.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/emu/cmis_link.hpp"
#include "hilt/error.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using hilt::side;
using hilt::test::emu_bench;
using hilt::test::one_dr4;

void sleep(emu_bench& b, hilt::clock::duration d) {
  b.run([&]() -> boost::asio::awaitable<int> {
    co_await b.clk.async_sleep(d, boost::asio::use_awaitable);
    co_return 0;
  }());
}

// A profile in a temp directory: `base` from fixtures/profiles with `extra` YAML appended (e.g.
// a faults: section), returning the directory to use as fixture_dir.
std::string profile_dir(const std::string& name, const std::string& base,
                        const std::string& extra) {
  const fs::path dir = fs::path(testing::TempDir()) / ("hilt_cmis_" + name);
  fs::create_directories(dir / "profiles");
  std::ifstream in(hilt::test::repo_path("fixtures/profiles/" + base));
  std::ofstream out(dir / "profiles" / base);
  out << in.rdbuf() << "\n" << extra;
  return dir.string();
}

std::map<std::pair<std::string, int>, hilt::monitor_reading> by_name(
    const std::vector<hilt::monitor_reading>& v) {
  std::map<std::pair<std::string, int>, hilt::monitor_reading> m;
  for (const auto& r : v)
    m[{r.name, r.lane}] = r;
  return m;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ---- PRBS ---------------------------------------------------------------------------------------

TEST(CmisPrbs, MediaLoopbackLocksAndCountsErrorsFromTheLinkBer) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(
      b.run(dut->async_prbs_configure(side::media, 0xF, hilt::prbs_pattern::prbs31q, true, true)));
  sleep(b, 10s);
  auto r = b.run(dut->async_prbs_read(side::media));
  ASSERT_TRUE(r) << b.log();
  ASSERT_EQ(r.value().size(), 4u);
  for (const auto& l : r.value()) {
    SCOPED_TRACE(l.lane);
    EXPECT_EQ(l.side, side::media);
    EXPECT_TRUE(l.locked);
    EXPECT_FALSE(l.lost_lock);
    // 106.25 Gb/s for 10 s (the selector reads add 10 ms each).
    EXPECT_NEAR(static_cast<double>(l.bits), 106.25e9 * 10, 106.25e9 * 0.05);
    // Strong light: the noise is mostly the DSP's own (ber_floor 1e-8 at infinite power).
    const double ber = b.emulated().link_ber(l.lane, true);
    EXPECT_GT(ber, 1e-8);
    EXPECT_LT(ber, 1e-5);
    const double expect = ber * static_cast<double>(l.bits);
    EXPECT_NEAR(static_cast<double>(l.errors), expect, 5 * std::sqrt(expect));
    EXPECT_NEAR(l.ber, static_cast<double>(l.errors) / static_cast<double>(l.bits),
                l.ber * 0.01);  // F16 keeps 3 digits
  }
}

TEST(CmisPrbs, CountsAreReproducibleForASeedAndDifferAcrossSeeds) {
  auto errors = [](std::uint64_t seed) {
    emu_bench b(one_dr4, "", seed);
    auto dut = b.module();
    EXPECT_FALSE(b.run(
        dut->async_prbs_configure(side::media, 0x1, hilt::prbs_pattern::prbs13q, true, true)));
    sleep(b, 3600s);  // an hour of virtual time costs one evaluation
    return b.run(dut->async_prbs_read(side::media)).value().at(0).errors;
  };
  const auto a = errors(7), again = errors(7), other = errors(8);
  EXPECT_EQ(a, again);
  EXPECT_NE(a, other);
  EXPECT_GT(a, 3'000'000u) << "more than 1e-8 x 3.8e14 bits";
}

TEST(CmisPrbs, MismatchedPatternNeverLocks) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(
      b.run(dut->async_prbs_configure(side::media, 0x1, hilt::prbs_pattern::prbs31q, true, true)));
  // The checker of lane 1 expects PRBS-13Q (13h:172 bits 3-0 = 6) while the generator sends
  // PRBS-31Q.
  const std::uint8_t nibble[] = {0x06};
  ASSERT_FALSE(dut->map().write(0, 0x13, 172, nibble));
  sleep(b, 1s);
  auto r = b.run(dut->async_prbs_read(side::media)).value();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].locked);
  EXPECT_TRUE(r[0].lost_lock);
  // Disabling the checker alone leaves the generator running.
  ASSERT_FALSE(
      b.run(dut->async_prbs_configure(side::media, 0x1, hilt::prbs_pattern::prbs31q, true, false)));
  std::uint8_t en[2] = {};
  ASSERT_FALSE(dut->map().read(0, 0x13, 152, std::span(en, 1)));
  ASSERT_FALSE(dut->map().read(0, 0x13, 168, std::span(en + 1, 1)));
  EXPECT_EQ(en[0], 0x01);
  EXPECT_EQ(en[1], 0x00);
  EXPECT_TRUE(b.run(dut->async_prbs_read(side::media)).value().empty());
}

TEST(CmisPrbs, LossOfLockIsLatchedAndMarksTheBitCount) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(
      b.run(dut->async_prbs_configure(side::media, 0x3, hilt::prbs_pattern::ssprq, true, true)));
  sleep(b, 1s);
  EXPECT_TRUE(b.run(dut->async_prbs_read(side::media)).value().at(0).locked);
  // Lane 1 goes dark: its checker loses lock.
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0x1, true)));
  sleep(b, 1s);
  auto r = b.run(dut->async_prbs_read(side::media)).value();
  EXPECT_FALSE(r[0].locked);
  EXPECT_TRUE(r[0].lost_lock);
  EXPECT_TRUE(r[1].locked);
  EXPECT_FALSE(r[1].lost_lock);
  // Light back: lock again, but the pattern-sync-loss bit keeps saying lock was lost once.
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0x1, false)));
  sleep(b, 1s);
  r = b.run(dut->async_prbs_read(side::media)).value();
  EXPECT_TRUE(r[0].locked);
  EXPECT_TRUE(r[0].lost_lock) << "PSL (LSB of the bit count) since the counters started";
  EXPECT_EQ(r[0].bits % 2, 0u) << "the indicator is stripped from the count";
}

TEST(CmisPrbs, HostSideLocksOnTheEchoedGenerator) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(
      b.run(dut->async_prbs_configure(side::host, 0xFF, hilt::prbs_pattern::prbs31q, true, true)));
  sleep(b, 2s);
  auto r = b.run(dut->async_prbs_read(side::host)).value();
  ASSERT_EQ(r.size(), 8u);
  for (const auto& l : r) {
    EXPECT_TRUE(l.locked);
    EXPECT_NEAR(static_cast<double>(l.bits), 53.125e9 * 2, 53.125e9 * 0.1);
  }
}

TEST(CmisPrbs, UnadvertisedPatternsAndSidesAreNotSupported) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  EXPECT_EQ(
      b.run(dut->async_prbs_configure(side::media, 0x1, hilt::prbs_pattern::prbs7, true, true)),
      hilt::errc::not_supported);
  EXPECT_NE(b.log().find("prbs_configure: media generator pattern PRBS-7 not advertised (page "
                         "13h bytes 134-135: PRBS-31Q, PRBS-13Q, SSPRQ)"),
            std::string::npos)
      << b.log();
  EXPECT_EQ(
      b.run(dut->async_prbs_configure(side::media, 0x10, hilt::prbs_pattern::prbs31q, true, true)),
      hilt::errc::invalid_argument)
      << "media lane 5 of a DR4";

  // LPO: no DSP, so no host-side generator or checker.
  emu_bench lpo("modules:\n  - { bus: port1, profile: profiles/osfp-800g-lpo.yaml }\n");
  auto l = lpo.module();
  EXPECT_EQ(
      lpo.run(l->async_prbs_configure(side::host, 0x1, hilt::prbs_pattern::prbs31q, false, true)),
      hilt::errc::not_supported);
  EXPECT_NE(lpo.log().find("host checker pattern PRBS-31Q not advertised (page 13h bytes "
                           "136-137: none)"),
            std::string::npos)
      << lpo.log();
  EXPECT_FALSE(
      lpo.run(l->async_prbs_configure(side::media, 0xFF, hilt::prbs_pattern::prbs31q, true, true)));
}

TEST(CmisPrbs, BerFollowsReceivedPowerTemperatureAndTheHostSerdes) {
  auto ber_with = [](const std::string& yaml) {
    emu_bench b(yaml);
    return b.emulated().link_ber(1, true);
  };
  const double nominal = ber_with(one_dr4);
  const double lossy = ber_with(std::string(one_dr4) + "    rx_loss: 5 dB\n");
  const double hot = ber_with(
      "ambient: 55 C\nmodules:\n  - { bus: port1, profile: profiles/qsfpdd-400g-dr4.yaml, "
      "rx_loss: 5 dB }\n");
  EXPECT_LT(nominal, 1e-6);
  EXPECT_GT(lossy, 1e-6) << "weak light: Q falls with the received power";
  EXPECT_GT(hot, lossy) << "hot: Q falls with temperature";
  // LPO: the host SerDes noise travels the linear path.
  const double lpo =
      ber_with("modules:\n  - { bus: port1, profile: profiles/osfp-800g-lpo.yaml }\n");
  EXPECT_GT(lpo, 2e-6) << "worse than the host SerDes alone";
  EXPECT_LT(lpo, 1e-4);
}

// ---- VDM ----------------------------------------------------------------------------------------

TEST(CmisVdm, PreFecBerPerLane) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  sleep(b, 2s);
  auto v = b.run(dut->async_read_vdm());
  ASSERT_TRUE(v) << b.log();
  auto m = by_name(v.value());
  int media = 0, host = 0;
  for (const auto& r : v.value()) {
    EXPECT_EQ(r.name, "pre_fec_ber_current");
    (r.side == side::media ? media : host)++;
    if (r.side == side::media) {
      const double ber = b.emulated().link_ber(r.lane, true);
      EXPECT_NEAR(r.value, ber, ber * 0.05) << "a second's worth of errors";
    }
  }
  EXPECT_EQ(media, 4);
  EXPECT_EQ(host, 8);
  emu_bench lpo("modules:\n  - { bus: port1, profile: profiles/osfp-800g-lpo.yaml }\n");
  EXPECT_TRUE(lpo.run(lpo.module()->async_read_vdm()));
}

TEST(CmisVdm, NotAdvertisedIsNotSupported) {
  emu_bench b(one_dr4);
  const std::uint8_t sp[] = {0x20};  // 01h:142 without bit 6
  ASSERT_TRUE(b.emulated().poke(0, 0x01, 142, sp));
  EXPECT_EQ(b.run(b.module()->async_read_vdm()).error(), hilt::errc::not_supported);
  EXPECT_NE(b.log().find("read_vdm: the module advertises no VDM (page 01h byte 142 bit 6 clear)"),
            std::string::npos);
}

// ---- data paths -------------------------------------------------------------------------------

TEST(CmisDataPath, ActivateAnotherApplicationHonouringTheTimings) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  const auto start = b.clk.now();
  // AppSel 2: 100GAUI-2 / 100GBASE-DR on host lanes 1-2, 3-4, 5-6, 7-8 (first lanes 0x55).
  auto ec = b.run(dut->async_activate_data_path(0x55, 2, 30s));
  ASSERT_FALSE(ec) << ec.message() << "\n" << b.log();
  const auto took = b.clk.now() - start;
  // Down (5 + 2.5 ms), ConfigStatus (1 ms), then DPInit 2.5 s + DPTxTurnOn 50 ms; polls of 20 ms.
  EXPECT_GE(took, 2550ms);
  EXPECT_LE(took, 2650ms);
  auto st = b.run(dut->async_data_path_states()).value();
  ASSERT_EQ(st.size(), 8u);
  for (auto s : st)
    EXPECT_EQ(s, 4) << "DPActivated";
  std::array<std::uint8_t, 8> active{};
  ASSERT_TRUE(b.emulated().peek(0, 0x11, 206, active));
  // AppSel 2 in bits 7-4, DPIDX (first lane of the data path, 0-based) in bits 3-1.
  EXPECT_EQ(active, (std::array<std::uint8_t, 8>{0x20, 0x20, 0x24, 0x24, 0x28, 0x28, 0x2C, 0x2C}));
  EXPECT_TRUE(b.emulated().lasers_on());
}

TEST(CmisDataPath, BadRequestsAreRefusedWithTheirReason) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  EXPECT_EQ(b.run(dut->async_activate_data_path(0x2, 2)), hilt::errc::invalid_argument);
  EXPECT_NE(b.log().find("host lane 2 cannot start a data path of AppSel 2 (2 lanes, first-lane "
                         "options 0x55)"),
            std::string::npos)
      << b.log();
  EXPECT_EQ(b.run(dut->async_activate_data_path(0x1, 3)), hilt::errc::invalid_argument);
  EXPECT_NE(b.log().find("AppSel 3 is not one of the module's 2 applications"), std::string::npos);
  ASSERT_TRUE(b.run(dut->async_set_low_power(true)));
  sleep(b, 100ms);
  EXPECT_EQ(b.run(dut->async_activate_data_path(0x1, 1)), hilt::errc::not_ready);
}

TEST(CmisDataPath, TheModuleRejectsAnInvalidStagedConfiguration) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(b.run(dut->async_deactivate_data_path(0xFF)));
  // Stage AppSel 2 on lane 1 only (its data path needs lanes 1-2), apply on lane 1.
  auto& map = dut->map();
  const std::uint8_t scs[] = {0x20};
  ASSERT_FALSE(map.write(0, 0x10, 145, scs));
  const std::uint8_t apply[] = {0x01};
  ASSERT_FALSE(map.write(0, 0x10, 143, apply));
  std::uint8_t cs = 0;
  ASSERT_FALSE(map.read(0, 0x11, 202, std::span(&cs, 1)));
  EXPECT_EQ(cs & 0x0F, 12) << "ConfigInProgress";
  sleep(b, 5ms);
  ASSERT_FALSE(map.read(0, 0x11, 202, std::span(&cs, 1)));
  EXPECT_EQ(cs & 0x0F, 7) << "ConfigRejectedPartialDataPath";
  const std::uint8_t bad[] = {0x30};  // AppSel 3 does not exist
  ASSERT_FALSE(map.write(0, 0x10, 145, bad));
  ASSERT_FALSE(map.write(0, 0x10, 143, apply));
  sleep(b, 5ms);
  ASSERT_FALSE(map.read(0, 0x11, 202, std::span(&cs, 1)));
  EXPECT_EQ(cs & 0x0F, 3) << "ConfigRejectedInvalidAppSel";
}

TEST(CmisDataPath, DeactivateDarkensTheLanes) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(b.run(dut->async_deactivate_data_path(0xFF)));
  EXPECT_FALSE(b.emulated().lasers_on());
  EXPECT_EQ(b.emulated().data_path_state(1), hilt::emu::dp_state::deactivated);
  ASSERT_FALSE(b.run(dut->async_activate_data_path(0x1, 1)));
  EXPECT_TRUE(b.emulated().lasers_on());
}

// ---- flags ------------------------------------------------------------------------------------

TEST(CmisFlags, LatchedFlagsClearOnReadAndFollowThresholds) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  auto f = b.run(dut->async_read_flags()).value();
  EXPECT_TRUE(has(f, "module_state_changed")) << "latched since power-on";
  EXPECT_FALSE(has(b.run(dut->async_read_flags()).value(), "module_state_changed"))
      << "cleared by the read";
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0x2, true)));
  f = b.run(dut->async_read_flags()).value();
  EXPECT_TRUE(has(f, "rx_los lane 2"));
  EXPECT_TRUE(has(f, "rx_power_low_alarm lane 2"));
  EXPECT_TRUE(has(f, "rx_power_low_warn lane 2"));
  EXPECT_FALSE(has(f, "rx_los lane 1"));
  EXPECT_TRUE(has(b.run(dut->async_read_flags()).value(), "rx_los lane 2"))
      << "a condition that persists latches again";
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0x2, false)));
  (void)b.run(dut->async_read_flags());
  EXPECT_FALSE(has(b.run(dut->async_read_flags()).value(), "rx_los lane 2"));
}

TEST(CmisFlags, HotModuleRaisesTemperatureWarningAndAlarm) {
  emu_bench b("ambient: 60 C\n" +
              std::string(one_dr4).substr(std::string("ambient: 25 C\n").size()));
  auto dut = b.module();
  EXPECT_NEAR(b.emulated().case_temperature_c(), 83.0, 0.01);  // 60 C + 9.2 W x 2.5 C/W
  const auto f = b.run(dut->async_read_flags()).value();
  EXPECT_TRUE(has(f, "temperature_high_alarm"));  // > 80 C
  EXPECT_TRUE(has(f, "temperature_high_warn"));   // > 75 C
  EXPECT_FALSE(has(f, "temperature_low_alarm"));
}

// ---- banks ------------------------------------------------------------------------------------

const char* const cpo_bench =
    "modules:\n"
    "  - { bus: oe1, address: 0x51, profile: profiles/elsfp-8ch.yaml, serial: ELS0001 }\n"
    "  - { bus: oe1, address: 0x50, profile: profiles/cpo-engine-3.2t.yaml, serial: CPO0001 }\n";

TEST(CmisBanks, ThirtyTwoLanesInFourBanks) {
  emu_bench b(cpo_bench);
  auto dut = b.module("oe1", 0x50);
  auto id = b.run(dut->async_identify());
  ASSERT_TRUE(id) << b.log();
  EXPECT_EQ(dut->lane_count(), 32);
  auto m = b.run(dut->async_read_monitors());
  ASSERT_TRUE(m);
  EXPECT_EQ(m.value().size(), 2u + 3u * 32u);
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(hilt::lane_mask{1} << 19, true)));  // lane 20
  std::uint8_t v = 0;
  ASSERT_TRUE(b.emulated(1).peek(2, 0x10, 130, std::span(&v, 1)));
  EXPECT_EQ(v, 0x08) << "bank 2, bit 3";
  auto mm = by_name(b.run(dut->async_read_monitors()).value());
  EXPECT_DOUBLE_EQ(mm.at({"tx_power", 20}).value, -40.0);
  EXPECT_GT(mm.at({"tx_power", 21}).value, -3.0);
  EXPECT_EQ(b.run(dut->async_data_path_states()).value().size(), 32u);
  // A data path in bank 3.
  ASSERT_FALSE(b.run(dut->async_activate_data_path(hilt::lane_mask{1} << 28, 1)));
  EXPECT_EQ(b.emulated(1).data_path_state(32), hilt::emu::dp_state::activated);
}

// ---- ELSFP and CPO ----------------------------------------------------------------------------

TEST(CmisCpo, EngineLightComesFromTheLaserSource) {
  emu_bench b(cpo_bench);
  auto els = b.module("oe1", 0x51);
  auto oe = b.module("oe1", 0x50);
  auto id = b.run(els->async_identify());
  ASSERT_TRUE(id) << b.log();
  EXPECT_EQ(id.value().extra.at("identifier"), "0x22 (OIF-ELSFP with CMIS)");
  auto lm = by_name(b.run(els->async_read_monitors()).value());
  EXPECT_NEAR(lm.at({"laser_power", 1}).value, 17.0, 0.01);
  EXPECT_NEAR(lm.at({"laser_bias", 8}).value, 400.0, 0.1);
  auto om = by_name(b.run(oe->async_read_monitors()).value());
  // 17 dBm laser - 16 dB path, +- the lane spread and temperature slope.
  EXPECT_NEAR(om.at({"tx_power", 1}).value, 1.0, 0.6);

  ASSERT_FALSE(b.run(
      oe->async_prbs_configure(side::media, 0xFFFFFFFF, hilt::prbs_pattern::prbs31q, true, true)));
  sleep(b, 1s);
  auto r = b.run(oe->async_prbs_read(side::media)).value();
  ASSERT_EQ(r.size(), 32u);
  for (const auto& l : r)
    EXPECT_TRUE(l.locked) << l.lane;
  const double good = b.emulated(1).link_ber(1, true);

  // Dim laser lane 1 by 6 dB (its power set point, 1Bh:144): engine lanes 1-4 degrade.
  std::array<std::uint8_t, 2> sp{};
  ASSERT_FALSE(els->map().read(0, 0x1B, 144, sp));
  const unsigned code = (sp[0] << 8 | sp[1]) / 4;
  const std::uint8_t dim[] = {static_cast<std::uint8_t>(code >> 8),
                              static_cast<std::uint8_t>(code)};
  ASSERT_FALSE(els->map().write(0, 0x1B, 144, dim));
  const double dimmed = b.emulated(1).link_ber(1, true);
  EXPECT_GT(dimmed, good * 10);
  EXPECT_LT(b.emulated(1).link_ber(5, true), dimmed / 100) << "lane 5: laser 2";

  // Laser lane 2 dark (the ELSFP's "Tx disable" is its LaneEnable): lanes 5-8 lose lock.
  ASSERT_FALSE(b.run(els->async_set_tx_disable(0x2, true)));
  sleep(b, 1s);
  r = b.run(oe->async_prbs_read(side::media)).value();
  for (int i = 4; i < 8; ++i) {
    EXPECT_FALSE(r[static_cast<std::size_t>(i)].locked) << r[static_cast<std::size_t>(i)].lane;
  }
  EXPECT_TRUE(r[0].locked);
  EXPECT_TRUE(r[8].locked);
  om = by_name(b.run(oe->async_read_monitors()).value());
  EXPECT_DOUBLE_EQ(om.at({"tx_power", 5}).value, -40.0);
  // Back on: the lane ramps (200 ms) before it lights again.
  ASSERT_FALSE(b.run(els->async_set_tx_disable(0x2, false)));
  EXPECT_DOUBLE_EQ(by_name(b.run(oe->async_read_monitors()).value()).at({"tx_power", 5}).value,
                   -40.0);
  sleep(b, 250ms);
  EXPECT_GT(by_name(b.run(oe->async_read_monitors()).value()).at({"tx_power", 5}).value, -3.0);
  const auto lines = b.emulation->describe();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("laser_enable=0xff"), std::string::npos) << lines[0];
}

TEST(CmisCpo, LaserAgingDegradesTheEngineBer) {
  const auto dir =
      profile_dir("aging", "elsfp-8ch.yaml", "faults: { laser_aging_db_per_khour: 1.0 }\n");
  fs::copy_file(hilt::test::repo_path("fixtures/profiles/cpo-engine-3.2t.yaml"),
                fs::path(dir) / "profiles/cpo-engine-3.2t.yaml",
                fs::copy_options::overwrite_existing);
  emu_bench b(cpo_bench, dir);
  const double fresh = b.emulated(1).link_ber(1, true);
  sleep(b, 3000h);  // 3 dB of aging: thermal-noise Q halves
  const double aged = b.emulated(1).link_ber(1, true);
  EXPECT_GT(aged, fresh * 50);
  auto lm = by_name(b.run(b.module("oe1", 0x51)->async_read_monitors()).value());
  EXPECT_NEAR(lm.at({"laser_power", 1}).value, 14.0, 0.02);
}

// ---- injected faults --------------------------------------------------------------------------

TEST(CmisFaults, GarbagePageIsAChecksumError) {
  emu_bench b(one_dr4,
              profile_dir("garbage", "qsfpdd-400g-dr4.yaml", "faults: { garbage_page: 0x01 }\n"));
  auto id = b.run(b.module()->async_identify());
  EXPECT_EQ(id.error(), hilt::errc::checksum_mismatch);
  EXPECT_NE(b.log().find("checksum mismatch at page 01h byte 255"), std::string::npos) << b.log();
}

TEST(CmisFaults, StuckStateIsAStateTimeout) {
  emu_bench b(one_dr4, profile_dir("stuck", "qsfpdd-400g-dr4.yaml",
                                   "faults: { stuck_state: ModulePwrUp }\n"));
  auto dut = b.module();
  ASSERT_TRUE(b.run(dut->async_set_low_power(true)));
  sleep(b, 100ms);
  EXPECT_EQ(b.run(dut->async_power_up(60s)), hilt::errc::state_timeout);
  EXPECT_EQ(b.emulated().state(), hilt::emu::msm_state::pwr_up);

  emu_bench d(one_dr4,
              profile_dir("stuck_dp", "qsfpdd-400g-dr4.yaml", "faults: { stuck_state: DPInit }\n"));
  auto dd = d.module();
  EXPECT_EQ(d.run(dd->async_activate_data_path(0x1, 1, 60s)), hilt::errc::state_timeout);
  EXPECT_NE(d.log().find("activate_data_path: lane 1 not DPActivated after"), std::string::npos)
      << d.log();
  EXPECT_NE(d.log().find("state DPInit"), std::string::npos) << d.log();
}

TEST(CmisFaults, ModuleFaultAtASetTime) {
  emu_bench b(one_dr4, profile_dir("fault", "qsfpdd-400g-dr4.yaml",
                                   "faults: { module_fault: { at: 2 h, cause: 1 } }\n"));
  auto dut = b.module();
  EXPECT_EQ(b.run(dut->async_module_state()).value(), hilt::module_state::ready);
  sleep(b, 2h);
  EXPECT_EQ(b.run(dut->async_module_state()).value(), hilt::module_state::fault);
  EXPECT_FALSE(b.emulated().lasers_on());
  EXPECT_EQ(b.run(dut->async_power_up()), hilt::errc::device_fault);
  std::uint8_t cause = 0;
  ASSERT_TRUE(b.emulated().peek(0, 0, 41, std::span(&cause, 1)));
  EXPECT_EQ(cause, 1);
}

TEST(CmisFaults, LaneGoesDarkAtASetTime) {
  emu_bench b(one_dr4, profile_dir("dark", "qsfpdd-400g-dr4.yaml",
                                   "faults: { lane_dark: { lane: 3, at: 30 min } }\n"));
  auto dut = b.module();
  ASSERT_FALSE(
      b.run(dut->async_prbs_configure(side::media, 0xF, hilt::prbs_pattern::prbs31q, true, true)));
  sleep(b, 1h);
  auto r = b.run(dut->async_prbs_read(side::media)).value();
  EXPECT_FALSE(r[2].locked);
  EXPECT_TRUE(r[2].lost_lock);
  // Counted only while it had light: half the hour.
  EXPECT_NEAR(static_cast<double>(r[2].bits), 106.25e9 * 1800, 106.25e9 * 1);
  EXPECT_TRUE(r[1].locked);
  auto m = by_name(b.run(dut->async_read_monitors()).value());
  EXPECT_DOUBLE_EQ(m.at({"tx_power", 3}).value, -40.0);
  EXPECT_TRUE(has(b.run(dut->async_read_flags()).value(), "tx_fault lane 3"));
}

TEST(CmisFaults, NackRateSurfacesAsNack) {
  emu_bench b(
      "modules:\n"
      "  - { bus: port1, profile: profiles/qsfpdd-400g-dr4.yaml, faults: { nack_rate: 0.5 } }\n");
  auto dut = b.module();
  int nacks = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = b.run(dut->async_prbs_read(side::media));
    if (!r) {
      EXPECT_EQ(r.error(), hilt::errc::nack);
      ++nacks;
    }
  }
  EXPECT_GT(nacks, 0);
}

// ---- SFF-8472 ---------------------------------------------------------------------------------

// A minimal SFP: A0h at 0x50 and A2h at 0x51, register-pointer targets on the emulated bus.
struct sfp_half final : hilt::emu::i2c_target_device {
  std::array<std::uint8_t, 256> mem{};
  std::uint8_t ptr = 0;
  std::error_code on_write(std::span<const std::uint8_t> b) override {
    ptr = b[0];
    for (std::size_t i = 1; i < b.size(); ++i)
      mem[static_cast<std::uint8_t>(ptr + i - 1)] = b[i];
    return {};
  }
  std::error_code on_read(std::span<std::uint8_t> out) override {
    for (auto& o : out)
      o = mem[ptr++];
    return {};
  }
};

TEST(CmisSff8472, IdentityMonitorsAndSoftTxDisable) {
  emu_bench b("modules: []\n");
  auto bus = b.emu->bus("sfp1");
  auto a0 = std::make_shared<sfp_half>(), a2 = std::make_shared<sfp_half>();
  auto& m = a0->mem;
  m[0] = 0x03;
  const std::string vendor = "ACME OPTICS     ", pn = "SFP-10G-LR      ", sn = "S1234           ";
  std::copy(vendor.begin(), vendor.end(), m.begin() + 20);
  std::copy(pn.begin(), pn.end(), m.begin() + 40);
  std::copy(sn.begin(), sn.end(), m.begin() + 68);
  m[92] = 0x68;  // DDM, internally calibrated
  m[93] = 0xC0;  // flags and soft Tx disable implemented
  m[94] = 0x08;
  m[63] = hilt::cmis::checksum(std::span(m).subspan(0, 63));
  m[95] = hilt::cmis::checksum(std::span(m).subspan(64, 31));
  a2->mem[96] = 35;  // 35 C
  a2->mem[98] = 0x80;
  a2->mem[99] = 0xE8;  // 3.3 V
  a2->mem[104] = 0x03;
  a2->mem[105] = 0xE8;  // 0.1 mW
  bus->attach(0x50, a0);
  bus->attach(0x51, a2);
  auto dut = b.module("sfp1");
  auto id = b.run(dut->async_identify());
  ASSERT_TRUE(id) << b.log();
  EXPECT_EQ(id.value().vendor, "ACME OPTICS");
  EXPECT_EQ(id.value().part_number, "SFP-10G-LR");
  EXPECT_EQ(id.value().extra.at("spec"), "SFF-8472");
  EXPECT_EQ(id.value().extra.at("spec_revision"), "12.3");
  auto mon = by_name(b.run(dut->async_read_monitors()).value());
  EXPECT_DOUBLE_EQ(mon.at({"temperature", -1}).value, 35.0);
  EXPECT_NEAR(mon.at({"vcc", -1}).value, 3.3, 1e-9);
  EXPECT_NEAR(mon.at({"rx_power", 1}).value, -10.0, 1e-9);
  EXPECT_FALSE(b.run(dut->async_safe_state())) << "an SFP has no low power: Tx disable only";
  EXPECT_EQ(a2->mem[110] & 0x40, 0x40);
  EXPECT_EQ(b.run(dut->async_set_low_power(true)).error(), hilt::errc::not_supported);
  // The dump: A0h and A2h, 512 bytes, decodes back.
  auto dump = b.run(dut->async_dump_eeprom());
  ASSERT_TRUE(dump);
  EXPECT_EQ(dump.value().image.size(), 512u);
  EXPECT_EQ(dump.value().spec, hilt::cmis::mgmt_spec::sff8472);
  auto dec = hilt::cmis::decode_eeprom(dump.value().image);
  ASSERT_TRUE(dec.report) << dec.error;
  EXPECT_EQ(dec.report->part_number, "SFP-10G-LR");
  EXPECT_TRUE(dec.report->pages_missing.empty());
  // Corrupt CC_BASE: checksum error naming A0h byte 63.
  m[63] ^= 0xFF;
  EXPECT_EQ(b.run(b.module("sfp1")->async_identify()).error(), hilt::errc::checksum_mismatch);
  EXPECT_NE(b.log().find("checksum mismatch at A0h byte 63"), std::string::npos);
}

}  // namespace
