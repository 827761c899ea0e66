// EEPROM images in the optoe layout: decoding real module dumps (../shared/reference/eeprom, read
// in place, never copied), bad files, synthetic SFF-8636 / SFF-8472 images, and the round trip
// emulated profile -> driver dump over the emulated bus -> decode == what the profile configured.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "hilt/cmis/codes.hpp"
#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/fields.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/cmis/sff8472.hpp"
#include "hilt/cmis/sff8636.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/error.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace hilt::cmis;

std::string eeprom_dir() {
  if (const char* e = std::getenv("HILT_EEPROM_DIR")) return e;
  return HILT_EEPROM_DIR;
}

std::vector<std::uint8_t> read_dump(const std::string& name) {
  std::ifstream in(eeprom_dir() + "/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

#define REQUIRE_DUMPS()                                                                   \
  if (!fs::is_directory(eeprom_dir()))                                                    \
  GTEST_SKIP() << "real EEPROM dumps not found at " << eeprom_dir()                       \
               << " (shared/reference/eeprom beside the repository; set HILT_EEPROM_DIR " \
                  "to point elsewhere)"

module_report decode_ok(const std::vector<std::uint8_t>& bytes) {
  auto d = decode_eeprom(bytes);
  EXPECT_TRUE(d.report.has_value()) << d.error;
  return d.report ? *d.report : module_report{};
}

std::vector<std::string> v(std::initializer_list<const char*> l) {
  return {l.begin(), l.end()};
}

bool has_flag(const module_report& r, const std::string& f) {
  return std::find(r.flags.begin(), r.flags.end(), f) != r.flags.end();
}

const report_value* find_value(const std::vector<report_value>& vs, const std::string& name,
                               int lane, hilt::side side = hilt::side::none) {
  for (const auto& x : vs) {
    if (x.name == name && x.lane == lane && (side == hilt::side::none || x.side == side)) return &x;
  }
  return nullptr;
}

// ---- real dumps: the values ethtool and SONiC print for the same bytes (cmis-notes §3, §4) ----

TEST(EepromRealDumps, InnolightQsfpDdDr4Cmis3Paged) {
  REQUIRE_DUMPS();
  const auto r = decode_ok(read_dump("bigcode_innolight_T-DP4CNH-N00_qsfpdd_400g_dr4_cmis3.bin"));
  EXPECT_EQ(r.spec, mgmt_spec::cmis);
  EXPECT_EQ(r.identifier, 0x18);
  EXPECT_EQ(r.identifier_name, "QSFP-DD");
  EXPECT_EQ(r.spec_revision, "3.0");  // ethtool: "Revision compliance : Rev. 3.0"
  EXPECT_EQ(r.memory_model, "paged");
  EXPECT_EQ(r.vendor, "INNOLIGHT");
  EXPECT_EQ(r.vendor_oui, "44-7c-7f");
  EXPECT_EQ(r.part_number, "T-DP4CNH-N00");
  EXPECT_EQ(r.serial, "INIBU8141290");
  EXPECT_EQ(r.revision, "1B");
  EXPECT_EQ(r.date_code_raw, "20190312");  // ethtool prints the raw 8 characters
  EXPECT_EQ(r.date_code, "20190312") << "YYYYMMDD is not YYMMDD: kept raw, never invented";
  EXPECT_EQ(r.power_class, 6);               // ethtool "Power class : 6"
  EXPECT_EQ(r.max_power_w, 12.0);            // ethtool "Max power : 12.0000W"
  EXPECT_EQ(r.module_state, "ModuleReady");  // ethtool "Module state : 0x03 (ModuleReady)"
  EXPECT_EQ(r.module_state_code, 3);
  EXPECT_EQ(r.detail("interrupt"), "asserted") << "byte 3 = 0x06: IntL asserted";
  EXPECT_EQ(r.media_type, "SMF");
  ASSERT_EQ(r.applications.size(), 1u);
  EXPECT_EQ(r.applications[0].host_name, "400GAUI-8 C2M");
  EXPECT_EQ(r.applications[0].media_name, "400GBASE-DR4");
  EXPECT_EQ(r.applications[0].host_lanes, 8);
  EXPECT_EQ(r.applications[0].media_lanes, 4);
  EXPECT_FALSE(r.applications[0].media_lane_options) << "page 01h is not in the file";
  EXPECT_EQ(r.pages_present, v({"00h"}));
  EXPECT_EQ(r.pages_missing, v({"01h", "02h", "10h", "11h"}));
  EXPECT_TRUE(r.lanes.empty());
  EXPECT_TRUE(r.thresholds.empty());
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  // Module monitors are in lower memory: 0x3bd7 / 256 = 59.84 C, 0x8070 x 100 uV = 3.288 V.
  ASSERT_NE(find_value(r.monitors, "temperature", -1), nullptr);
  EXPECT_NEAR(find_value(r.monitors, "temperature", -1)->value, 59.84, 0.01);
  EXPECT_NEAR(find_value(r.monitors, "vcc", -1)->value, 3.288, 1e-4);
}

TEST(EepromRealDumps, AmphenolQsfpDdCr8Cmis3Flat) {
  REQUIRE_DUMPS();
  const auto r =
      decode_ok(read_dump("bigcode_amphenol_NDYYYF-0001_qsfpdd_400g_cr8_cmis3_flat.bin"));
  EXPECT_EQ(r.spec, mgmt_spec::cmis);
  EXPECT_EQ(r.identifier, 0x18);
  EXPECT_EQ(r.memory_model, "flat");
  EXPECT_EQ(r.vendor, "Amphenol");
  EXPECT_EQ(r.part_number, "NDYYYF-0001");
  EXPECT_EQ(r.serial, "APF19170018HMH");
  EXPECT_EQ(r.revision, "D");
  EXPECT_EQ(r.date_code, "2019-04-26");
  EXPECT_EQ(r.power_class, 1);
  EXPECT_EQ(r.max_power_w, 0.25);  // byte 201 = 1
  // byte 3 = 0x01: ModuleState 000b, which ethtool prints as "reserved or unknown".
  EXPECT_EQ(r.module_state, "reserved or unknown");
  EXPECT_EQ(r.module_state_code, 0);
  EXPECT_EQ(r.media_type, "passive copper");
  EXPECT_EQ(r.connector, "No separable connector");
  EXPECT_EQ(r.applications.size(), 8u);
  EXPECT_EQ(r.applications[0].host_name, "400G CR8");
  EXPECT_EQ(r.pages_present, v({"00h"}));
  EXPECT_TRUE(r.pages_missing.empty()) << "flat memory has no other page";
  EXPECT_TRUE(r.monitors.empty()) << "blank monitors of a passive cable are not invented";
}

TEST(EepromRealDumps, FinisarQsfp28Sr4Sff8636) {
  REQUIRE_DUMPS();
  const auto r = decode_ok(read_dump("bigcode_finisar_FTLC9551REPM_qsfp28_100g_sr4_sff8636.bin"));
  EXPECT_EQ(r.spec, mgmt_spec::sff8636);
  EXPECT_EQ(r.identifier, 0x11);
  EXPECT_EQ(r.identifier_name, "QSFP28");
  EXPECT_EQ(r.spec_revision, "2.5-2.7");
  EXPECT_EQ(r.detail("revision_compliance"), "SFF-8636 Rev 2.5, 2.6 and 2.7");
  EXPECT_EQ(r.vendor, "FINISAR CORP");
  EXPECT_EQ(r.vendor_oui, "00-90-65");
  EXPECT_EQ(r.part_number, "FTLC9551REPM");
  EXPECT_EQ(r.serial, "XU90TRP");
  EXPECT_EQ(r.revision, "A0");
  EXPECT_EQ(r.date_code, "2015-10-06");
  EXPECT_EQ(r.power_class, 4);  // 00h:129 = 0xcc: bits 7-6 = 11b, class 4 (3.5 W)
  EXPECT_EQ(r.max_power_w, 3.5);
  EXPECT_EQ(r.module_state, "Ready") << "Data_Not_Ready (byte 2 bit 0) is clear";
  EXPECT_EQ(r.connector, "MPO 1x12");
  EXPECT_EQ(r.pages_missing, v({"01h", "02h", "03h"}));
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_NEAR(find_value(r.monitors, "temperature", -1)->value, 0x1a68 / 256.0, 0.001);
  EXPECT_NEAR(find_value(r.monitors, "vcc", -1)->value, 3.2578, 1e-4);
  EXPECT_NEAR(find_value(r.monitors, "tx_bias", 1)->value, 0x0dd3 * 2e-3, 1e-3);
  EXPECT_NE(find_value(r.monitors, "tx_power", 1), nullptr) << "00h:220 bit 2: Tx power measured";
}

TEST(EepromRealDumps, InnolightQsfp28Psm4Sff8636) {
  REQUIRE_DUMPS();
  const auto r =
      decode_ok(read_dump("bigcode_innolight_TR-VC13T-N00_qsfp28_100g_psm4_sff8636.bin"));
  EXPECT_EQ(r.spec, mgmt_spec::sff8636);
  EXPECT_EQ(r.vendor, "INNOLIGHT");
  EXPECT_EQ(r.part_number, "TR-VC13T-N00");
  EXPECT_EQ(r.serial, "INGAT6650079");
  EXPECT_EQ(r.revision, "01");
  EXPECT_EQ(r.date_code, "2016-05-12 lot 19");
  EXPECT_EQ(r.power_class, 4);
  EXPECT_EQ(r.max_power_w, 3.5);
  EXPECT_EQ(r.module_state, "Ready");
  EXPECT_EQ(r.pages_missing, v({"01h", "02h", "03h"}));
  // byte 3 = 0xff: every Tx and Rx LOS; byte 9 = 0x55: Rx 1/2 low alarm + low warning.
  EXPECT_TRUE(has_flag(r, "rx_los lane 1"));
  EXPECT_TRUE(has_flag(r, "tx_los lane 4"));
  EXPECT_TRUE(has_flag(r, "rx_power_low_alarm lane 1"));
  EXPECT_TRUE(has_flag(r, "rx_power_low_warn lane 2"));
  EXPECT_FALSE(has_flag(r, "rx_power_high_alarm lane 1"));
}

TEST(EepromRealDumps, LumentumQsfp28Cwdm4Sff8636) {
  REQUIRE_DUMPS();
  const auto r =
      decode_ok(read_dump("bigcode_lumentum_LQ210CR-CAA1_qsfp28_100g_cwdm4_sff8636.bin"));
  EXPECT_EQ(r.spec, mgmt_spec::sff8636);
  EXPECT_EQ(r.vendor, "LUMENTUM");
  EXPECT_EQ(r.part_number, "LQ210CR-CAA1");
  EXPECT_EQ(r.serial, "FF4250500019-Q");
  EXPECT_EQ(r.revision, "01");
  EXPECT_EQ(r.power_class, 4);
  EXPECT_EQ(r.max_power_w, 3.5);
  EXPECT_EQ(r.module_state, "Ready");
  EXPECT_EQ(r.detail("interrupt"), "not asserted") << "byte 2 = 0x02: IntL bit set";
  EXPECT_EQ(r.pages_missing, v({"01h", "02h", "03h"}));
}

TEST(EepromRealDumps, EveryPrefixAndCorruptionIsHandled) {
  REQUIRE_DUMPS();
  for (const auto& e : fs::directory_iterator(eeprom_dir())) {
    if (e.path().extension() != ".bin") continue;
    const auto bytes = read_dump(e.path().filename().string());
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
      auto d = decode_eeprom(std::span(bytes).first(n));
      EXPECT_EQ(d.report.has_value(), n == 256) << e.path() << " " << n;
      if (!d.report) {
        EXPECT_FALSE(d.error.empty());
      }
    }
    // Flip every byte in turn: decoding never crashes; identity changes are reported, not fatal.
    auto copy = bytes;
    for (std::size_t i = 0; i < copy.size(); ++i) {
      copy[i] ^= 0xA5;
      (void)decode_eeprom(copy);
      copy[i] ^= 0xA5;
    }
  }
}

// ---- bad files --------------------------------------------------------------------------------

TEST(EepromBadFiles, EmptyTruncatedAndNotAnEeprom) {
  EXPECT_EQ(decode_eeprom({}).error,
            "empty file: a module EEPROM dump holds at least lower memory and upper page 00h "
            "(256 bytes, optoe layout)");
  std::vector<std::uint8_t> short_file(100, 0x18);
  EXPECT_EQ(decode_eeprom(short_file).error,
            "truncated: 100 bytes; a module EEPROM dump holds at least lower memory and upper "
            "page 00h (256 bytes, optoe layout)");
  std::vector<std::uint8_t> ragged(300, 0);
  ragged[0] = ragged[128] = 0x18;
  EXPECT_EQ(decode_eeprom(ragged).error,
            "truncated: 300 bytes is not a whole number of 128-byte pages (the last page has 44 "
            "of 128 bytes)");
  std::vector<std::uint8_t> zeros(256, 0);
  EXPECT_EQ(decode_eeprom(zeros).error,
            "not a module EEPROM: byte 0 (SFF-8024 identifier) is 0x00, which names no module "
            "type");
  std::string text(512, 'x');
  text.replace(0, 20, "hello, not a module");
  std::vector<std::uint8_t> txt(text.begin(), text.end());
  EXPECT_EQ(decode_eeprom(txt).error,
            "not a module EEPROM: byte 0 (SFF-8024 identifier) is 0x68, which names no module "
            "type");
  std::vector<std::uint8_t> erased(256, 0xFF);
  EXPECT_NE(decode_eeprom(erased).error.find("is 0xff, which names no module type"),
            std::string::npos);
  std::vector<std::uint8_t> gbic(256, 0);
  gbic[0] = 0x01;
  EXPECT_EQ(decode_eeprom(gbic).error,
            "byte 0 (SFF-8024 identifier) is 0x01 (GBIC), a module type whose management "
            "interface this decoder does not read (CMIS, SFF-8636 and SFF-8472 only)");
  // A CMIS identifier whose upper page 00h contradicts it (no copy at 128, bad checksum).
  std::vector<std::uint8_t> fake(256, 0x41);
  fake[0] = 0x18;
  EXPECT_EQ(decode_eeprom(fake).error,
            "not a module EEPROM: byte 0 says identifier 0x18 (QSFP-DD), but upper page 00h byte "
            "128 is 0x41 and its checksum at byte 222 does not match");
}

TEST(EepromBadFiles, RandomBytesNeverCrash) {
  std::uint64_t s = 12345;
  for (int i = 0; i < 3000; ++i) {
    const std::size_t n = 128 * (hilt::emu::splitmix64(s) % 80);
    std::vector<std::uint8_t> b(n);
    for (auto& x : b)
      x = static_cast<std::uint8_t>(hilt::emu::splitmix64(s));
    if (n >= 256) {
      // Make a fair share look like modules so the page decoders run too.
      static constexpr std::uint8_t ids[] = {0x18, 0x19, 0x1E, 0x22, 0x11, 0x0D, 0x03};
      b[0] = ids[i % 7];
      b[128] = b[0];
    }
    auto d = decode_eeprom(b);
    if (!d.report) {
      EXPECT_FALSE(d.error.empty());
    }
  }
}

// ---- codes and F16 ------------------------------------------------------------------------------

TEST(EepromCodes, F16MatchesTheSpecExamples) {
  // CMIS 5.x §3.4 worked values (cmis-notes §1.9).
  EXPECT_EQ(encode_f16(2.4e-4), 0x90F0);
  EXPECT_EQ(encode_f16(1e-12), 0x4BE8);
  EXPECT_EQ(encode_f16(3.7e-6), 0x8172);
  EXPECT_EQ(encode_f16(0.5), 0xA9F4);
  EXPECT_NEAR(decode_f16(0x90, 0xF0), 2.4e-4, 1e-18);
  EXPECT_NEAR(decode_f16(0x4B, 0xE8), 1e-12, 1e-26);
  EXPECT_EQ(encode_f16(0.0), 0);
  EXPECT_EQ(encode_f16(-1.0), 0);
  EXPECT_EQ(encode_f16(std::nan("")), 0);
  EXPECT_EQ(encode_f16(1e30), 0xFFFF);
  EXPECT_DOUBLE_EQ(decode_f16(0xFF, 0xFF), 2047e7);
  EXPECT_DOUBLE_EQ(decode_f16(0, 0), 0.0);
}

TEST(EepromCodes, F16RoundTripKeepsThreeSignificantDigits) {
  // From 1e-21 up every value has a mantissa of at least 205 (s > 0): relative error <= 0.5/205.
  for (double x = 1.1e-21; x < 2e10; x *= 1.37) {
    const auto c = encode_f16(x);
    const double back = decode_f16(static_cast<std::uint8_t>(c >> 8), static_cast<std::uint8_t>(c));
    EXPECT_NEAR(back, x, x * 2.5e-3) << x;
    EXPECT_EQ(encode_f16(back), c) << "encoding a decoded value is stable";
  }
}

TEST(EepromCodes, NamesAreTotal) {
  for (int i = 0; i < 256; ++i) {
    const auto b = static_cast<std::uint8_t>(i);
    EXPECT_FALSE(host_interface_name(b).empty());
    for (std::uint8_t mt = 0; mt < 7; ++mt)
      EXPECT_FALSE(media_interface_name(mt, b).empty());
    EXPECT_FALSE(connector_name(b).empty());
    EXPECT_FALSE(media_technology_name(b).empty());
    EXPECT_FALSE(dp_state_name(b).empty());
    EXPECT_FALSE(module_fault_cause_name(b).empty());
    EXPECT_FALSE(prbs_pattern_name(b).empty());
  }
  EXPECT_EQ(host_interface_name(0x51), "800GAUI-8 S C2M");
  EXPECT_EQ(media_interface_name(0x02, 0x56), "800GBASE-DR8");
  EXPECT_EQ(media_interface_name(0x01, 0x09), "100GBASE-SR4");
  EXPECT_EQ(connector_name(0x0C), "MPO 1x12");
  EXPECT_EQ(prbs_pattern_id("prbs31q"), 0);
  EXPECT_EQ(prbs_pattern_id("PRBS-7"), 11);
  EXPECT_EQ(prbs_pattern_id("SSPRQ"), 12);
  EXPECT_EQ(prbs_pattern_id("PRBS-8"), -1);
}

// ---- synthetic SFF-8636 and SFF-8472 ---------------------------------------------------------

void put16(std::vector<std::uint8_t>& b, std::size_t at, unsigned v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put_ascii(std::vector<std::uint8_t>& b, std::size_t at, std::size_t n, const std::string& s) {
  for (std::size_t i = 0; i < n; ++i)
    b[at + i] = static_cast<std::uint8_t>(i < s.size() ? s[i] : ' ');
}
void fix_sum(std::vector<std::uint8_t>& b, std::size_t first, std::size_t last, std::size_t at) {
  b[at] = checksum(std::span(b).subspan(first, last - first + 1));
}

TEST(EepromSff8636, PagedWithThresholdsAndClass8) {
  std::vector<std::uint8_t> b(640, 0);  // lower, 00h, 01h, 02h, 03h
  b[0] = b[128] = 0x11;
  b[1] = 0x08;
  b[2] = 0x01;    // Data_Not_Ready
  b[93] = 0x03;   // Power_override + Power_set: low power by software
  b[107] = 45;    // class 8 max 4.5 W
  b[129] = 0x20;  // class 8
  b[195] = 0x00;  // pages 01h/02h not provided
  b[220] = 0x0C;
  put_ascii(b, 148, 16, "ACME");
  put_ascii(b, 168, 16, "Q28-TEST");
  put_ascii(b, 196, 16, "SN1");
  put_ascii(b, 212, 8, "240102");
  put16(b, 22, 30 * 256);  // 30 C
  put16(b, 26, 33000);     // 3.3 V
  put16(b, 50, 10000);     // lane 1 Tx 1 mW
  const std::size_t p3 = 3 * 128 + 128;
  put16(b, p3 + 0, 80 * 256);  // temperature high alarm 80 C
  put16(b, p3 + 2, static_cast<unsigned>(static_cast<std::uint16_t>(-5 * 256)));
  put16(b, p3 + 64, 31623);  // Tx power high alarm 5 dBm
  fix_sum(b, 128, 190, 191);
  fix_sum(b, 192, 222, 223);
  const auto r = decode_ok(b);
  EXPECT_EQ(r.spec_revision, "2.8-2.10");
  EXPECT_EQ(r.power_class, 8);
  EXPECT_NEAR(*r.max_power_w, 4.5, 1e-9);
  EXPECT_EQ(r.module_state, "DataNotReady");
  EXPECT_EQ(r.detail("low_power"), "requested by software (93.0 = 1, 93.1 = 1)");
  EXPECT_EQ(r.pages_present, v({"00h", "03h"}));
  EXPECT_TRUE(r.pages_missing.empty());
  ASSERT_EQ(r.thresholds.size(), 5u);
  EXPECT_EQ(r.thresholds[0].name, "temperature");
  EXPECT_DOUBLE_EQ(r.thresholds[0].high_alarm, 80.0);
  EXPECT_DOUBLE_EQ(r.thresholds[0].low_alarm, -5.0);
  EXPECT_EQ(r.thresholds[2].name, "tx_power");
  EXPECT_NEAR(r.thresholds[2].high_alarm, 5.0, 0.01);
  EXPECT_NEAR(find_value(r.monitors, "tx_power", 1)->value, 0.0, 1e-9);
  EXPECT_TRUE(r.warnings.empty());
  b[150] ^= 1;  // corrupt the vendor name: CC_BASE no longer matches
  const auto r2 = decode_ok(b);
  ASSERT_EQ(r2.warnings.size(), 1u);
  EXPECT_NE(r2.warnings[0].find("checksum mismatch at page 00h byte 191"), std::string::npos);
}

TEST(EepromSff8472, SfpWithDiagnostics) {
  std::vector<std::uint8_t> b(512, 0);
  b[0] = 0x03;
  b[1] = 0x04;
  b[2] = 0x07;  // LC
  put_ascii(b, 20, 16, "ACME OPTICS");
  put_ascii(b, 40, 16, "SFP-10G-LR");
  put_ascii(b, 56, 4, "A");
  put_ascii(b, 68, 16, "S1234");
  put_ascii(b, 84, 8, "23061500");
  put16(b, 60, 1310);
  b[64] = 0x02;  // power level 2
  b[92] = 0x68;  // DDM, internally calibrated, average Rx power
  b[93] = 0x80;  // alarm/warning flags implemented
  b[94] = 0x08;  // SFF-8472 12.3
  fix_sum(b, 0, 62, 63);
  fix_sum(b, 64, 94, 95);
  const std::size_t a2 = 256;
  put16(b, a2 + 0, 75 * 256);         // temperature high alarm
  put16(b, a2 + 96, 40 * 256 + 128);  // 40.5 C
  put16(b, a2 + 98, 33000);
  put16(b, a2 + 100, 15000);  // 30 mA
  put16(b, a2 + 102, 5000);   // 0.5 mW
  put16(b, a2 + 104, 1000);   // 0.1 mW = -10 dBm
  b[a2 + 110] = 0x02;         // Rx LOS
  b[a2 + 113] = 0x40;         // Rx power low alarm
  fix_sum(b, a2, a2 + 94, a2 + 95);
  const auto r = decode_ok(b);
  EXPECT_EQ(r.spec, mgmt_spec::sff8472);
  EXPECT_EQ(r.spec_revision, "12.3");
  EXPECT_EQ(r.vendor, "ACME OPTICS");
  EXPECT_EQ(r.part_number, "SFP-10G-LR");
  EXPECT_EQ(r.revision, "A");
  EXPECT_EQ(r.power_class, 2);
  EXPECT_EQ(r.module_state, "Ready");
  EXPECT_EQ(r.pages_present, v({"A2h"}));
  EXPECT_NEAR(find_value(r.monitors, "temperature", -1)->value, 40.5, 1e-9);
  EXPECT_NEAR(find_value(r.monitors, "tx_bias", 1)->value, 30.0, 1e-9);
  EXPECT_NEAR(find_value(r.monitors, "rx_power", 1)->value, -10.0, 1e-9);
  EXPECT_TRUE(has_flag(r, "rx_los"));
  EXPECT_TRUE(has_flag(r, "rx_power_low_alarm"));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  // Only A0h: A2h reported missing.
  const auto r2 = decode_ok(std::vector<std::uint8_t>(b.begin(), b.begin() + 256));
  EXPECT_EQ(r2.pages_missing, v({"A2h"}));
  EXPECT_EQ(r2.module_state, "unknown (A2h missing)");
}

TEST(EepromSff8472, ExternalCalibration) {
  std::vector<std::uint8_t> a2(256, 0);
  put16(a2, 96, 100);  // raw temperature
  put16(a2, 84, 512);  // T slope 2.0
  put16(a2, 86, 256);  // T offset +256 = +1 C
  // Rx_PWR(1) = 2.0 (0x40000000), others 0: Rx = 2 * ADC.
  a2[56 + 12] = 0x40;
  put16(a2, 104, 500);
  const auto d = sff8472::decode_diagnostics(a2, 0x50);
  EXPECT_NEAR(d.temperature_c, (2.0 * 100 + 256) / 256.0, 1e-9);
  EXPECT_NEAR(d.rx_power_mw, 1000 * 1e-4, 1e-9);
}

// ---- emulated profiles: dump over the bus, decode, compare with the profile ---------------------

std::vector<fs::path> profiles() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(hilt::test::repo_path("fixtures/profiles"))) {
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const report_thresholds* find_threshold(const module_report& r, const std::string& name) {
  for (const auto& t : r.thresholds) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void expect_thresholds(const module_report& r, const std::string& name,
                       const hilt::emu::threshold_set& want, double tol) {
  const auto* t = find_threshold(r, name);
  ASSERT_NE(t, nullptr) << name;
  EXPECT_NEAR(t->high_alarm, want.high_alarm, tol) << name;
  EXPECT_NEAR(t->low_alarm, want.low_alarm, tol) << name;
  EXPECT_NEAR(t->high_warn, want.high_warn, tol) << name;
  EXPECT_NEAR(t->low_warn, want.low_warn, tol) << name;
}

TEST(EepromRoundTrip, EveryProfileDecodesToWhatItConfigures) {
  const auto files = profiles();
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const auto p = hilt::emu::load_profile(path.string());
    hilt::test::emu_bench b("modules:\n  - { bus: port1, profile: " + path.string() + " }\n");
    auto dut = b.module();
    std::string where;
    auto dump = b.run(dut->async_dump_eeprom(&where));
    ASSERT_TRUE(dump) << dump.error().message() << " at " << where << "\n" << b.log();
    const auto r = decode_ok(dump.value().image);
    EXPECT_TRUE(r.pages_missing.empty());
    EXPECT_TRUE(r.warnings.empty()) << (r.warnings.empty() ? "" : r.warnings.front());

    EXPECT_EQ(r.identifier, p.identifier);
    EXPECT_EQ(r.spec, mgmt_spec::cmis);
    EXPECT_EQ(r.spec_revision,
              std::to_string(p.cmis_revision >> 4) + "." + std::to_string(p.cmis_revision & 15));
    EXPECT_EQ(r.memory_model, "paged");
    EXPECT_EQ(r.vendor, p.vendor_name);
    EXPECT_EQ(r.part_number, p.part_number);
    EXPECT_EQ(r.revision, p.revision);
    EXPECT_EQ(r.serial, p.serial);
    EXPECT_EQ(r.date_code_raw, p.date_code);
    EXPECT_EQ(r.clei, p.clei);
    EXPECT_EQ(r.vendor_oui, fmt::format("{:02x}-{:02x}-{:02x}", p.vendor_oui[0], p.vendor_oui[1],
                                        p.vendor_oui[2]));
    EXPECT_EQ(r.power_class, p.power_class);
    EXPECT_DOUBLE_EQ(*r.max_power_w, std::ceil(p.max_power_w / 0.25 - 1e-9) * 0.25);
    EXPECT_EQ(r.module_state, "ModuleReady");
    EXPECT_EQ(r.firmware, fmt::format("{}.{}", p.firmware_major, p.firmware_minor));
    EXPECT_EQ(r.detail("hardware"), fmt::format("{}.{}", p.hardware_major, p.hardware_minor));
    EXPECT_EQ(r.media_type_code, p.media_type);
    EXPECT_EQ(r.connector_code, p.connector);
    EXPECT_EQ(r.detail("media_technology"), media_technology_name(p.media_technology));
    if (p.media_technology < 0x0A) {
      EXPECT_EQ(r.detail("wavelength_nm"), fmt::format("{:.2f}", p.wavelength_nm));
      EXPECT_EQ(r.detail("wavelength_tolerance_nm"),
                fmt::format("{:.2f}", p.wavelength_tolerance_nm));
    }
    auto dur = [](std::uint8_t code) {
      return fmt::format("{} (code {})",
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             hilt::emu::duration_code_bound(code))
                             .count(),
                         code);
    };
    EXPECT_EQ(r.detail("max_module_pwr_up_ms"), dur(p.code_module_pwr_up));
    EXPECT_EQ(r.detail("max_module_pwr_dn_ms"), dur(p.code_module_pwr_dn));
    EXPECT_EQ(r.detail("max_dp_init_ms"), dur(p.code_dp_init));
    EXPECT_EQ(r.detail("max_dp_deinit_ms"), dur(p.code_dp_deinit));
    EXPECT_EQ(r.detail("max_tx_turn_on_ms"), dur(p.code_tx_turn_on));
    EXPECT_EQ(r.detail("max_tx_turn_off_ms"), dur(p.code_tx_turn_off));

    ASSERT_EQ(r.applications.size(), p.applications.size());
    for (std::size_t i = 0; i < p.applications.size(); ++i) {
      const auto& want = p.applications[i];
      const auto& got = r.applications[i];
      EXPECT_EQ(got.appsel, static_cast<int>(i + 1));
      EXPECT_EQ(got.host_id, want.host_interface);
      EXPECT_EQ(got.media_id, want.media_interface);
      EXPECT_EQ(got.host_lanes, want.host_lanes);
      EXPECT_EQ(got.media_lanes, want.media_lanes);
      EXPECT_EQ(got.host_lane_options, want.host_lane_options);
      EXPECT_EQ(got.media_lane_options, want.media_lane_options);
    }

    expect_thresholds(r, "temperature", p.temperature_thresholds, 1.0 / 256);
    expect_thresholds(r, "vcc", p.vcc_thresholds, 1e-4);
    expect_thresholds(r, "tx_power", p.tx_power_thresholds, 0.01);
    expect_thresholds(r, "tx_bias", p.tx_bias_thresholds, 0.002);
    expect_thresholds(r, "rx_power", p.rx_power_thresholds, 0.01);

    ASSERT_NE(find_value(r.monitors, "temperature", -1), nullptr);
    EXPECT_NEAR(find_value(r.monitors, "temperature", -1)->value, b.emulated().case_temperature_c(),
                1.0 / 256);
    EXPECT_EQ(r.detail("supported_pages").find("13h-14h") != std::string::npos, p.has_prbs());
    EXPECT_EQ(r.detail("supported_pages").find("VDM") != std::string::npos, p.vdm);
    if (p.elsfp.lanes > 0) {
      // An ELSFP: no data paths; laser lanes on pages 1Ah/1Bh.
      EXPECT_TRUE(r.lanes.empty());
      EXPECT_EQ(r.detail("module_function"), "resource module");
      EXPECT_EQ(r.detail("laser_lanes"), std::to_string(p.elsfp.lanes));
      const auto* pw = find_value(r.diagnostics, "laser_power", 1);
      ASSERT_NE(pw, nullptr);
      EXPECT_NEAR(pw->value, p.elsfp.power_dbm, 0.01);
      EXPECT_NEAR(find_value(r.diagnostics, "laser_bias", 1)->value, p.elsfp.bias_ma, 0.1);
      const auto* lt = find_threshold(r, "laser_power");
      ASSERT_NE(lt, nullptr);
      EXPECT_NEAR(lt->high_alarm, p.elsfp.power_thresholds.high_alarm, 0.01);
      continue;
    }
    // Every lane of the default configuration (application 1 on each data path it fits) is
    // active, in every bank.
    EXPECT_EQ(r.lanes.size(), static_cast<std::size_t>(p.host_lanes));
    for (const auto& l : r.lanes) {
      EXPECT_EQ(l.dp_state, "DPActivated") << "lane " << l.lane;
      EXPECT_EQ(l.active_appsel, 1) << "lane " << l.lane;
      EXPECT_EQ(l.config_status, "ConfigSuccess") << "lane " << l.lane;
    }
    EXPECT_NE(find_value(r.monitors, "tx_power", p.media_lanes), nullptr);
    EXPECT_EQ(find_value(r.monitors, "tx_power", p.media_lanes + 1), nullptr);
    if (p.vdm) {
      EXPECT_NE(find_value(r.diagnostics, "pre_fec_ber_current", 1, hilt::side::media), nullptr);
    }
  }
}

TEST(EepromDump, ReadsOnlyWhatIsAdvertisedInFullPages) {
  hilt::test::emu_bench b(hilt::test::one_dr4);
  auto dut = b.module();
  auto dump = b.run(dut->async_dump_eeprom());
  ASSERT_TRUE(dump);
  std::vector<std::string> pages;
  for (const auto& p : dump.value().pages)
    pages.push_back(page_label(p));
  EXPECT_EQ(pages, v({"00h", "01h", "02h", "10h", "11h", "13h", "14h", "20h", "24h", "28h", "2Ch",
                      "2Dh", "2Fh"}));
  EXPECT_EQ(dump.value().image.size(), (0x2Fu + 1) * 128 + 128);
  EXPECT_EQ(dump.value().spec, mgmt_spec::cmis);
}

TEST(EepromDump, ErrorsNameThePage) {
  hilt::test::emu_bench b(hilt::test::one_dr4);
  // Page 01h advertises network path pages 16h/17h (01h:142 bit 7) that this module lacks.
  const std::uint8_t sp[] = {0xE0};
  ASSERT_TRUE(b.emulated().poke(0, 0x01, 142, sp));
  auto dut = b.module();
  std::string where;
  auto dump = b.run(dut->async_dump_eeprom(&where));
  ASSERT_FALSE(dump);
  EXPECT_EQ(dump.error(), hilt::errc::nack);
  EXPECT_EQ(where, "page 16h bytes 128-255");
  EXPECT_NE(b.log().find("dut1 (cmis:emu-i2c:port1@0x50): eeprom dump: read of page 16h bank 0"),
            std::string::npos)
      << b.log();
}

TEST(EepromDump, FlatAndSff8636ImagesServedByTheEmulator) {
  REQUIRE_DUMPS();
  for (const char* name : {"bigcode_amphenol_NDYYYF-0001_qsfpdd_400g_cr8_cmis3_flat.bin",
                           "bigcode_finisar_FTLC9551REPM_qsfp28_100g_sr4_sff8636.bin"}) {
    SCOPED_TRACE(name);
    const auto bytes = read_dump(name);
    hilt::test::emu_bench b(hilt::test::one_dr4);
    b.emulated().load_image(bytes);
    auto dut = b.module();
    std::string where;
    auto dump = b.run(dut->async_dump_eeprom(&where));
    if (bytes[0] == 0x11) {
      // SFF-8636 paged: 00h:195 advertises page 01h (and 02h, 03h), and this image has none.
      ASSERT_FALSE(dump);
      EXPECT_EQ(where, "page 01h bytes 128-255");
      continue;
    }
    ASSERT_TRUE(dump) << where;
    // The flat image comes back byte for byte except the bytes the module computes live.
    ASSERT_EQ(dump.value().image.size(), 256u);
    EXPECT_TRUE(std::equal(bytes.begin() + 128, bytes.end(), dump.value().image.begin() + 128));
    EXPECT_EQ(decode_ok(dump.value().image).serial, "APF19170018HMH");
  }
}

}  // namespace
