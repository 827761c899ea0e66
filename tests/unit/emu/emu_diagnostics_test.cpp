// Byte-level tests of the emulated module's diagnostics and the profile keys that configure them:
// PRBS pages 13h/14h (selectors, F16 BER, counters, gating, flags), VDM pages, banks, the ELSFP
// pages, the link model, and strict profile parsing of the new sections (OIF-CMIS 5.x §8.10-8.12,
// §8.21 ff.).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "hilt/emu/cmis_link.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/error.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::emu::cmis_module;
using hilt::emu::emu_i2c_bus;
using hilt::emu::world;

const std::string profiles_dir = std::string(HILT_REPO_DIR) + "/fixtures/profiles/";

hilt::emu::module_profile profile(const std::string& name) {
  return hilt::emu::load_profile(profiles_dir + name);
}

struct rig {
  std::shared_ptr<world> w = std::make_shared<world>(nullptr, 7, 25.0);
  std::shared_ptr<cmis_module> mod;
  emu_i2c_bus bus{"port1"};
  explicit rig(hilt::emu::module_profile p = profile("qsfpdd-400g-dr4.yaml"),
               hilt::emu::cmis_module_options o = {}) {
    o.label = "port1@0x50";
    mod = std::make_shared<cmis_module>(w, std::move(p), o, 42);
    bus.attach(0x50, mod);
  }
  void at(hilt::clock::duration t) { w->set_manual_time(t); }
  std::error_code write(std::vector<std::uint8_t> b) { return bus.transfer(0x50, b, {}); }
  std::vector<std::uint8_t> read(std::uint8_t off, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    EXPECT_FALSE(bus.transfer(0x50, std::span(&off, 1), out));
    return out;
  }
  std::vector<std::uint8_t> page(std::uint8_t page, std::uint8_t bank = 0) {
    EXPECT_FALSE(write({126, bank, page}));
    return read(128, 128);
  }
};

std::uint64_t le64(const std::vector<std::uint8_t>& p, int offset) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | p[static_cast<std::size_t>(offset - 128 + i)];
  return v;
}

TEST(EmuLink, QBerAndF16) {
  EXPECT_NEAR(hilt::emu::ber_from_q(hilt::emu::q_from_ber(2.4e-4)), 2.4e-4, 1e-9);
  EXPECT_NEAR(hilt::emu::q_from_ber(1e-12), 7.034, 0.001);
  EXPECT_NEAR(hilt::emu::combine_q(3, 4), 2.4, 1e-12);
  EXPECT_EQ(hilt::emu::f16_encode(2.4e-4), 0x90F0);
  EXPECT_EQ(hilt::emu::f16_encode(1e-12), 0x4BE8);
  EXPECT_NEAR(hilt::emu::f16_decode(0x90F0), 2.4e-4, 1e-18);
  std::uint64_t s = 1;
  double sum = 0;
  for (int i = 0; i < 10000; ++i)
    sum += static_cast<double>(hilt::emu::poisson(3.0, s));
  EXPECT_NEAR(sum / 10000, 3.0, 0.1);
  s = 1;
  EXPECT_NEAR(static_cast<double>(hilt::emu::poisson(1e12, s)), 1e12, 1e7);
  EXPECT_EQ(hilt::emu::poisson(0.0, s), 0u);
}

TEST(EmuPrbs, CapabilitiesSelectorsCountersAndFlags) {
  rig r;
  auto p13 = r.page(0x13);
  // 13h:132-139 pattern masks, little endian (IDs 0-7 in the first byte).
  EXPECT_EQ(p13[134 - 128], 0x41);  // media generator: PRBS-31Q (0), PRBS-13Q (6)
  EXPECT_EQ(p13[135 - 128], 0x10);  // and SSPRQ (12)
  EXPECT_EQ(r.page(0x01)[142 - 128], 0x60) << "VDM and diagnostic pages, one bank";
  // Media generator + checker on lanes 1-2, PRBS-31Q (pattern nibbles 0).
  ASSERT_FALSE(r.write({127, 0x13}));
  ASSERT_FALSE(r.write({152, 0x03}));
  ASSERT_FALSE(r.write({168, 0x03}));
  EXPECT_EQ(r.read(152, 1)[0], 0x03);
  ASSERT_FALSE(r.write({168, 0xFF}));
  EXPECT_EQ(r.read(168, 1)[0], 0x0F) << "a DR4 has 4 media lanes";
  ASSERT_FALSE(r.write({168, 0x03}));
  r.at(2s);
  ASSERT_FALSE(r.write({127, 0x14}));
  ASSERT_FALSE(r.write({128, 0x04}));  // media lanes 1-4 counters
  auto d = r.page(0x14);
  const std::uint64_t bits = le64(d, 200);
  EXPECT_NEAR(static_cast<double>(bits), 106.25e9 * 2, 1e6);
  EXPECT_EQ(bits % 2, 0u) << "no sync loss";
  EXPECT_GT(le64(d, 192), 0u) << "some errors at this BER";
  EXPECT_NEAR(static_cast<double>(le64(d, 216)), static_cast<double>(bits), 1e6)
      << "lane 2 counts too";
  EXPECT_EQ(d[139 - 128], 0x00) << "media checkers in lock";
  // Selector 01h: BER in F16, media lanes at 208-223.
  ASSERT_FALSE(r.write({128, 0x01}));
  d = r.page(0x14);
  const double ber =
      hilt::emu::f16_decode(static_cast<std::uint16_t>(d[208 - 128] << 8 | d[209 - 128]));
  EXPECT_NEAR(ber, r.mod->link_ber(1, true), r.mod->link_ber(1, true) * 0.05);
  // Unsupported selector reads back 00h.
  ASSERT_FALSE(r.write({128, 0x07}));
  EXPECT_EQ(r.read(128, 1)[0], 0x00);
  // Pattern mismatch on lane 2 (checker PRBS-13Q): loss of lock latched, LSB of bits set.
  ASSERT_FALSE(r.write({127, 0x13}));
  ASSERT_FALSE(r.write({172, 0x60}));  // lane 2 nibble (bits 7-4) = 6 (PRBS-13Q)
  r.at(3s);
  ASSERT_FALSE(r.write({127, 0x14}));
  EXPECT_EQ(r.read(139, 1)[0], 0x02);
  ASSERT_FALSE(r.write({128, 0x04}));
  d = r.page(0x14);
  EXPECT_EQ(le64(d, 216) % 2, 1u) << "pattern sync loss on lane 2";
  EXPECT_EQ(le64(d, 200) % 2, 0u);
  // Fix the pattern: lock again, but the latched flag reads once more, then clears.
  ASSERT_FALSE(r.write({127, 0x13}));
  ASSERT_FALSE(r.write({172, 0x00}));
  r.at(4s);
  ASSERT_FALSE(r.write({127, 0x14}));
  EXPECT_EQ(r.read(139, 1)[0], 0x02) << "latched since the last read";
  EXPECT_EQ(r.read(139, 1)[0], 0x00) << "clear-on-read, lock regained";
}

TEST(EmuPrbs, GatingPublishesCompletedPeriods) {
  rig r;
  ASSERT_FALSE(r.write({127, 0x13}));
  ASSERT_FALSE(r.write({152, 0x01}));
  ASSERT_FALSE(r.write({168, 0x01}));
  ASSERT_FALSE(r.write({177, 0x12}));  // 5 s gates, auto restart
  r.at(12s);                           // two whole gates and 2 s of the third
  ASSERT_FALSE(r.write({127, 0x14}));
  EXPECT_EQ(r.read(135, 1)[0], 0x01) << "media gating complete, lane 1";
  EXPECT_EQ(r.read(135, 1)[0], 0x00);
  ASSERT_FALSE(r.write({128, 0x14}));  // gated counters, media lanes 1-4
  auto d = r.page(0x14);
  EXPECT_NEAR(static_cast<double>(le64(d, 200)), 106.25e9 * 5, 1e6) << "one whole gate";
  ASSERT_FALSE(r.write({128, 0x04}));  // running: the current gate
  d = r.page(0x14);
  EXPECT_NEAR(static_cast<double>(le64(d, 200)), 106.25e9 * 2, 1e6);
  // A 1000-hour soak with 5 s gates: still one evaluation, last gate published.
  r.at(3600s * 1000 + 1s);
  ASSERT_FALSE(r.write({128, 0x14}));
  d = r.page(0x14);
  EXPECT_NEAR(static_cast<double>(le64(d, 200)), 106.25e9 * 5, 1e6);
  // ResetErrorInformation 0 -> 1 freezes, 1 -> 0 resets.
  ASSERT_FALSE(r.write({127, 0x13}));
  ASSERT_FALSE(r.write({177, 0x00}));  // ungated
  ASSERT_FALSE(r.write({177, 0x20}));
  r.at(3600s * 1000 + 10s);
  ASSERT_FALSE(r.write({127, 0x14}));
  ASSERT_FALSE(r.write({128, 0x04}));
  const auto frozen = le64(r.page(0x14), 200);
  r.at(3600s * 1000 + 20s);
  EXPECT_EQ(le64(r.page(0x14), 200), frozen) << "frozen while 177.5 is set";
  ASSERT_FALSE(r.write({127, 0x13}));
  ASSERT_FALSE(r.write({177, 0x00}));
  ASSERT_FALSE(r.write({127, 0x14}));
  EXPECT_EQ(le64(r.page(0x14), 200), 0u) << "reset";
}

TEST(EmuVdm, DescriptorsValuesAndFreeze) {
  rig r;
  auto p20 = r.page(0x20);
  EXPECT_EQ(p20[0], 0x10);  // threshold set 1, lane 1
  EXPECT_EQ(p20[1], 15);    // pre-FEC BER current value, media
  EXPECT_EQ(p20[2 * 4 + 1], 16) << "after the 4 media lanes: host lanes";
  EXPECT_EQ(r.page(0x2F)[0], 0x00) << "one VDM group";
  r.at(3s);
  auto v = r.page(0x24);
  const double ber = hilt::emu::f16_decode(static_cast<std::uint16_t>(v[0] << 8 | v[1]));
  EXPECT_NEAR(ber, r.mod->link_ber(1, true), r.mod->link_ber(1, true) * 0.05);
  ASSERT_FALSE(r.write({127, 0x2F}));
  ASSERT_FALSE(r.write({144, 0x80}));  // FreezeRequest
  EXPECT_EQ(r.read(145, 1)[0], 0x80) << "FreezeDone";
  const auto frozen = r.page(0x24);
  r.at(10s);
  EXPECT_EQ(r.page(0x24), frozen);
  ASSERT_FALSE(r.write({127, 0x2F}));
  ASSERT_FALSE(r.write({144, 0x00}));
  EXPECT_EQ(r.read(145, 1)[0], 0x40) << "UnfreezeDone";
}

TEST(EmuBanks, LanePagesPerBank) {
  rig r(profile("cpo-engine-3.2t.yaml"));
  EXPECT_EQ(r.page(0x01)[142 - 128] & 0x03, 2) << "banks 0-3";
  for (std::uint8_t b = 0; b < 4; ++b) {
    auto p11 = r.page(0x11, b);
    EXPECT_EQ(p11[0], 0x44) << "bank " << int(b);
    EXPECT_EQ(r.page(0x10, b)[145 - 128], 0x10);
    EXPECT_EQ(r.page(0x10, b)[149 - 128], 0x18) << "second data path at lane 5 (DPIDX 4)";
  }
  std::error_code ec;
  ASSERT_FALSE(r.write({126, 4, 0x11}));
  std::uint8_t off = 128, b = 0;
  ec = r.bus.transfer(0x50, std::span(&off, 1), std::span(&b, 1));
  EXPECT_EQ(ec, hilt::errc::nack) << "no bank 4";
}

TEST(EmuElsfp, LaserPages) {
  rig r(profile("elsfp-8ch.yaml"));
  auto lower = r.read(0, 128);
  EXPECT_EQ(lower[0], 0x22);
  EXPECT_EQ(lower[57], 1) << "resource module";
  auto a = r.page(0x1A);
  EXPECT_EQ(a[140 - 128], 8 << 1 | 1) << "8 lanes, APC";
  EXPECT_EQ(a[220 - 128], 0xFF);
  EXPECT_EQ(a[221 - 128], 0xAA) << "lanes 1-4 on (2 bits each)";
  auto m = r.page(0x1B);
  const long p = m[200 - 128] << 8 | m[201 - 128];
  EXPECT_NEAR(p * 0.01, 50.1, 0.1) << "17 dBm in 10 uW units";
  ASSERT_FALSE(r.write({127, 0x1A}));
  ASSERT_FALSE(r.write({220, 0xFE}));  // lane 1 off
  ASSERT_FALSE(r.write({220, 0xFF}));  // and on again: ramping
  EXPECT_EQ(r.read(221, 1)[0] & 0x03, 1);
  r.at(200ms);
  EXPECT_EQ(r.read(221, 1)[0] & 0x03, 2);
  std::uint8_t off = 128, b = 0;
  ASSERT_FALSE(r.write({127, 0x10}));
  EXPECT_EQ(r.bus.transfer(0x50, std::span(&off, 1), std::span(&b, 1)), hilt::errc::nack)
      << "no lane pages";
}

TEST(EmuFaults, GarbageAndDarkLane) {
  auto p = profile("qsfpdd-400g-dr4.yaml");
  p.faults.garbage_page = 0x02;
  p.faults.dark_lanes.push_back({2, 10s});
  rig r(p);
  EXPECT_NE(r.page(0x02), r.page(0x02)) << "garbage changes from read to read";
  auto p11 = r.page(0x11);
  EXPECT_GT(p11[156 - 128] << 8 | p11[157 - 128], 10000);
  r.at(10s);
  p11 = r.page(0x11);
  EXPECT_EQ(p11[156 - 128] << 8 | p11[157 - 128], 0) << "lane 2 dark";
  EXPECT_EQ(p11[135 - 128] & 0x02, 0x02) << "TxFault lane 2";
}

// ---- profile keys -----------------------------------------------------------------------------

std::string write_profile(const std::string& name, const std::string& extra) {
  namespace fs = std::filesystem;
  const fs::path p = fs::path(testing::TempDir()) / name;
  std::ifstream in(profiles_dir + "qsfpdd-400g-dr4.yaml");
  std::ofstream out(p);
  out << in.rdbuf() << extra;
  return p.string();
}

// 1-based line of the first occurrence of `needle` in the file.
int line_of(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find(needle);
  return at == std::string::npos ? -1
                                 : static_cast<int>(std::count(
                                       text.begin(), text.begin() + static_cast<long>(at), '\n')) +
                                       1;
}

std::string load_error(const std::string& path) {
  try {
    (void)hilt::emu::load_profile(path);
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(EmuProfileKeys, ShippedProfilesLoad) {
  for (const char* f : {"qsfpdd-400g-dr4.yaml", "osfp-800g-dr8.yaml", "osfp-800g-lpo.yaml",
                        "elsfp-8ch.yaml", "cpo-engine-3.2t.yaml"}) {
    EXPECT_NO_THROW((void)profile(f)) << f;
  }
  const auto lpo = profile("osfp-800g-lpo.yaml");
  EXPECT_TRUE(lpo.linear);
  EXPECT_EQ(lpo.host_checker_patterns, 0);
  EXPECT_EQ(lpo.host_generator_patterns, 0);
  const auto cpo = profile("cpo-engine-3.2t.yaml");
  EXPECT_EQ(cpo.banks(), 4);
  EXPECT_EQ(cpo.laser_source.address, 0x51);
  EXPECT_EQ(profile("elsfp-8ch.yaml").elsfp.lanes, 8);
}

TEST(EmuProfileKeys, ErrorsNameFileLineColumn) {
  const auto a = write_profile("bad_fault_key.yaml", "faults: { stuck: ModulePwrUp }\n");
  const int la = line_of(a, "faults: {");
  EXPECT_EQ(load_error(a), a + ":" + std::to_string(la) +
                               ":11: unknown key 'stuck' in faults; expected one of: "
                               "stuck_state, garbage_page, laser_aging_db_per_khour, lane_dark, "
                               "module_fault, silent_at");
  const auto b = write_profile("bad_state.yaml", "faults: { stuck_state: Sleeping }\n");
  EXPECT_EQ(load_error(b), b + ":" + std::to_string(line_of(b, "faults: {")) +
                               ":24: 'stuck_state' expects ModulePwrUp, ModulePwrDn, DPInit, "
                               "DPDeinit or DPTxTurnOn, got 'Sleeping'");
  const auto c = write_profile("bad_pattern.yaml", "");
  {
    // Replace a pattern in the prbs section: an unknown name.
    std::ifstream in(c);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("media_checker: [PRBS-31Q"), 24, "media_checker: [PRBS-8Q ");
    std::ofstream(c) << text;
  }
  EXPECT_EQ(load_error(c).rfind(c + ":" + std::to_string(line_of(c, "PRBS-8Q")) +
                                    ":19: unknown PRBS pattern 'PRBS-8Q' in 'media_checker'",
                                0),
            0u)
      << load_error(c);
  const auto d = write_profile("bad_ber.yaml", "");
  {
    std::ifstream in(d);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("reference_ber: 2.4e-4"), 21, "reference_ber: 2     ");
    std::ofstream(d) << text;
  }
  EXPECT_EQ(load_error(d), d + ":" + std::to_string(line_of(d, "reference_ber: 2 ")) +
                               ":18: 'reference_ber' must be within 1e-15..0.1, got 2");
  const auto e = write_profile("bad_lanes.yaml", "");
  {
    std::ifstream in(e);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("lanes: { host: 8"), 16, "lanes: { host: 40");
    std::ofstream(e) << text;
  }
  EXPECT_NE(load_error(e).find("'host'"), std::string::npos) << load_error(e);
}

TEST(EmuProfileKeys, FixtureFaultsAddToTheProfile) {
  const auto node = YAML::Load(
      "{ nack_rate: 0.1, lane_dark: [{ lane: 1, at: 1 h }, { lane: 2, at: 2 h }],\n"
      "  module_fault: { at: 3 h }, laser_aging_db_per_khour: 0.5 }");
  hilt::emu::module_faults base;
  base.garbage_page = 3;
  const auto f = hilt::emu::parse_module_faults(node, "bench.yaml", base, {"nack_rate"});
  EXPECT_EQ(f.garbage_page, 3);
  ASSERT_EQ(f.dark_lanes.size(), 2u);
  EXPECT_EQ(f.dark_lanes[1].at, std::chrono::hours(2));
  EXPECT_EQ(f.module_fault_at, std::chrono::hours(3));
  EXPECT_DOUBLE_EQ(f.laser_aging_db_per_khour, 0.5);
  try {
    (void)hilt::emu::parse_module_faults(YAML::Load("{ lane_dark: { lane: 40, at: 1 h } }"),
                                         "bench.yaml");
    FAIL();
  } catch (const hilt::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("bench.yaml:1:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'lane'"), std::string::npos) << e.what();
  }
}

}  // namespace
