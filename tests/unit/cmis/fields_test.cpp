// Field decoders and code tables, on synthetic bytes and on real module EEPROM dumps
// (../shared/reference/eeprom, optoe offsets 0-255; skipped when absent).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "hilt/cmis/fields.hpp"
#include "hilt/error.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace hilt::cmis;

TEST(CmisFields, CodeTables) {
  EXPECT_EQ(identifier_name(0x18), "QSFP-DD");
  EXPECT_EQ(identifier_name(0x19), "OSFP");
  EXPECT_EQ(identifier_name(0x7F), "unknown (0x7f)");
  EXPECT_TRUE(is_cmis_identifier(0x1E));
  EXPECT_FALSE(is_cmis_identifier(0x11));
  EXPECT_EQ(decode_module_state(0x07), hilt::module_state::ready);
  EXPECT_EQ(decode_module_state(0x02), hilt::module_state::low_power);
  EXPECT_EQ(decode_module_state(0x0B), hilt::module_state::fault);
  EXPECT_EQ(decode_module_state(0x01), hilt::module_state::unknown);  // 000b reserved
  EXPECT_EQ(decode_module_state(0x0E), hilt::module_state::unknown);  // 111b reserved
  EXPECT_EQ(decode_power_class(0xA0), 6);
  EXPECT_DOUBLE_EQ(decode_max_power_w(48), 12.0);
  EXPECT_EQ(decode_duration(0).count(), 1);
  EXPECT_EQ(decode_duration(7).count(), 5000);
  EXPECT_EQ(decode_duration(15).count(), 3000000);
  EXPECT_EQ(media_type_name(0x02), "SMF");
}

TEST(CmisFields, Encodings) {
  const std::uint8_t t[] = {0x30, 0x00};  // 48 C
  EXPECT_DOUBLE_EQ(decode_temperature_c(t), 48.0);
  const std::uint8_t neg[] = {0xFF, 0x00};  // -1 C
  EXPECT_DOUBLE_EQ(decode_temperature_c(neg), -1.0);
  const std::uint8_t v[] = {0x80, 0xE8};  // 33000 x 100 uV
  EXPECT_NEAR(decode_vcc_v(v), 3.3, 1e-12);
  const std::uint8_t p[] = {0x27, 0x10};  // 10000 x 0.1 uW = 1 mW
  EXPECT_DOUBLE_EQ(decode_power_mw(p), 1.0);
  EXPECT_DOUBLE_EQ(mw_to_dbm_floor(1.0), 0.0);
  EXPECT_DOUBLE_EQ(mw_to_dbm_floor(0.0), -40.0);
  const std::uint8_t bias[] = {0x7D, 0x00};  // 32000 x 2 uA = 64 mA
  EXPECT_DOUBLE_EQ(decode_bias_ma(bias, 0x07), 64.0);
  EXPECT_DOUBLE_EQ(decode_bias_ma(bias, 0x17), 256.0);  // multiplier 10b = x4
  const std::uint8_t apps[] = {0x11, 0x1C, 0x84, 0x01, 0xFF, 0, 0, 0};
  auto a = decode_applications(apps);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].host_lanes, 8);
  EXPECT_EQ(a[0].media_lanes, 4);
  const std::uint8_t ascii[] = {'A', 'B', 0x01, ' ', ' '};
  EXPECT_EQ(decode_ascii(ascii), "AB?");
  const std::uint8_t date[] = {'2', '5', '0', '1', '1', '5', 'A', '1'};
  EXPECT_EQ(decode_date_code(date), "2025-01-15 lot A1");
}

// ---- real dumps ---------------------------------------------------------------------------

std::string eeprom_dir() {
  if (const char* e = std::getenv("HILT_EEPROM_DIR")) return e;
  return HILT_EEPROM_DIR;
}

std::vector<std::uint8_t> dump(const std::string& name) {
  std::ifstream in(eeprom_dir() + "/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

#define REQUIRE_DUMPS()                                             \
  if (!fs::is_directory(eeprom_dir()))                              \
  GTEST_SKIP() << "real EEPROM dumps not found at " << eeprom_dir() \
               << " (shared/reference/eeprom beside the repository; or set HILT_EEPROM_DIR)"

std::span<const std::uint8_t> field(const std::vector<std::uint8_t>& d, int offset, int n) {
  return std::span<const std::uint8_t>(d).subspan(static_cast<std::size_t>(offset),
                                                  static_cast<std::size_t>(n));
}

TEST(CmisRealDumps, InnolightDr4Cmis3) {
  REQUIRE_DUMPS();
  auto d = dump("bigcode_innolight_T-DP4CNH-N00_qsfpdd_400g_dr4_cmis3.bin");
  ASSERT_EQ(d.size(), 256u);
  EXPECT_EQ(identifier_name(d[0]), "QSFP-DD");
  EXPECT_EQ(decode_revision(d[1]).major, 3);
  EXPECT_EQ(decode_ascii(field(d, reg::vendor_name, 16)), "INNOLIGHT");
  EXPECT_EQ(decode_ascii(field(d, reg::part_number, 16)), "T-DP4CNH-N00");
  EXPECT_EQ(decode_ascii(field(d, reg::serial, 16)), "INIBU8141290");
  EXPECT_EQ(decode_ascii(field(d, reg::vendor_rev, 2)), "1B");
  EXPECT_EQ(decode_oui(field(d, reg::vendor_oui, 3)), "44-7c-7f");
  EXPECT_EQ(decode_date_code(field(d, reg::date_code, 8)), "20190312") << "YYYYMMDD quirk kept raw";
  EXPECT_EQ(decode_power_class(d[reg::power_class]), 6);
  EXPECT_DOUBLE_EQ(decode_max_power_w(d[reg::max_power]), 12.0);
  EXPECT_EQ(checksum(field(d, 128, 94)), d[reg::page00_checksum]);
  EXPECT_EQ(decode_module_state(d[reg::module_state]), hilt::module_state::ready);
  auto apps = decode_applications(field(d, reg::apps, 32));
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].host_interface, 0x11);
  EXPECT_EQ(apps[0].media_interface, 0x1C);
}

TEST(CmisRealDumps, AmphenolCr8FlatCmis3) {
  REQUIRE_DUMPS();
  auto d = dump("bigcode_amphenol_NDYYYF-0001_qsfpdd_400g_cr8_cmis3_flat.bin");
  ASSERT_EQ(d.size(), 256u);
  EXPECT_EQ(d[reg::characteristics] & 0x80, 0x80);
  EXPECT_EQ(decode_ascii(field(d, reg::vendor_name, 16)), "Amphenol");
  EXPECT_EQ(decode_ascii(field(d, reg::part_number, 16)), "NDYYYF-0001");
  EXPECT_EQ(decode_ascii(field(d, reg::serial, 16)), "APF19170018HMH");
  EXPECT_EQ(decode_date_code(field(d, reg::date_code, 8)), "2019-04-26");
  EXPECT_EQ(checksum(field(d, 128, 94)), d[reg::page00_checksum]);
  EXPECT_EQ(decode_module_state(d[reg::module_state]), hilt::module_state::unknown);
  EXPECT_DOUBLE_EQ(decode_max_power_w(d[reg::max_power]), 0.25);
  EXPECT_EQ(decode_applications(field(d, reg::apps, 32)).size(), 8u);
}

TEST(CmisRealDumps, DriverIdentifiesDumpsServedByTheEmulator) {
  REQUIRE_DUMPS();
  {
    // Flat memory: lower + page 00h is the whole module.
    hilt::test::emu_bench b(hilt::test::one_dr4);
    b.emulated().load_image(dump("bigcode_amphenol_NDYYYF-0001_qsfpdd_400g_cr8_cmis3_flat.bin"));
    auto id = b.run(b.module()->async_identify());
    ASSERT_TRUE(id) << b.log();
    EXPECT_EQ(id.value().vendor, "Amphenol");
    EXPECT_EQ(id.value().serial, "APF19170018HMH");
    EXPECT_EQ(id.value().extra.at("memory_model"), "flat");
    EXPECT_EQ(id.value().extra.at("cmis_revision"), "3.0");
  }
  {
    // Paged memory, but the dump has no page 01h: the driver reports it missing, never invents it.
    hilt::test::emu_bench b(hilt::test::one_dr4);
    b.emulated().load_image(dump("bigcode_innolight_T-DP4CNH-N00_qsfpdd_400g_dr4_cmis3.bin"));
    auto id = b.run(b.module()->async_identify());
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), hilt::errc::nack);
    EXPECT_NE(b.log().find("page 01h"), std::string::npos) << b.log();
  }
}

TEST(CmisRealDumps, Sff8636DumpIsIdentifiedAsSff8636) {
  REQUIRE_DUMPS();
  hilt::test::emu_bench b(hilt::test::one_dr4);
  b.emulated().load_image(dump("bigcode_finisar_FTLC9551REPM_qsfp28_100g_sr4_sff8636.bin"));
  auto dut = b.module();
  auto id = b.run(dut->async_identify());
  ASSERT_TRUE(id) << b.log();
  EXPECT_EQ(id.value().vendor, "FINISAR CORP");
  EXPECT_EQ(id.value().part_number, "FTLC9551REPM");
  EXPECT_EQ(id.value().serial, "XU90TRP");
  EXPECT_EQ(id.value().revision, "A0");
  EXPECT_EQ(id.value().extra.at("spec"), "SFF-8636");
  EXPECT_EQ(id.value().extra.at("power_class"), "4");
  EXPECT_EQ(id.value().extra.at("max_power_w"), "3.50");
  EXPECT_EQ(b.run(dut->async_module_state()).value(), hilt::module_state::ready);
  auto m = b.run(dut->async_read_monitors());
  ASSERT_TRUE(m);
  ASSERT_EQ(m.value().size(), 2u + 3u * 4u);
  EXPECT_NEAR(m.value()[0].value, 0x1a68 / 256.0, 1e-9);
  EXPECT_EQ(m.value()[0].name, "temperature");
  // Low power through Power_override + Power_set (00h:93), Tx disable through 00h:86.
  EXPECT_EQ(b.run(dut->async_set_low_power(true)).value(), hilt::module_state::low_power);
  std::uint8_t v = 0;
  ASSERT_TRUE(b.emulated().peek(0, 0, 93, std::span(&v, 1)));
  EXPECT_EQ(v, 0x03);
  EXPECT_FALSE(b.run(dut->async_power_up()));
  ASSERT_TRUE(b.emulated().peek(0, 0, 93, std::span(&v, 1)));
  EXPECT_EQ(v, 0x01);
  EXPECT_FALSE(b.run(dut->async_set_tx_disable(0x5, true)));
  ASSERT_TRUE(b.emulated().peek(0, 0, 86, std::span(&v, 1)));
  EXPECT_EQ(v, 0x05);
}

}  // namespace
