// The CMIS driver against the emulated module, over the emulated bus, in virtual time: every
// operation crosses the wire byte for byte (DESIGN.md rule 1).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "hilt/cmis/driver.hpp"
#include "hilt/error.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::test::emu_bench;
using hilt::test::one_dr4;

std::map<std::pair<std::string, int>, hilt::monitor_reading> by_name(
    const std::vector<hilt::monitor_reading>& v) {
  std::map<std::pair<std::string, int>, hilt::monitor_reading> m;
  for (const auto& r : v)
    m[{r.name, r.lane}] = r;
  return m;
}

TEST(CmisDriver, IdentifyMatchesTheProfile) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  auto id = b.run(dut->async_identify());
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_EQ(id.value().vendor, "HILT-EMU");
  EXPECT_EQ(id.value().part_number, "EMU-DD-400G-DR4");
  EXPECT_EQ(id.value().serial, "EMU400G0001");
  EXPECT_EQ(id.value().revision, "01");
  EXPECT_EQ(id.value().firmware, "1.2");
  auto& x = id.value().extra;
  EXPECT_EQ(x["identifier"], "0x18 (QSFP-DD)");
  EXPECT_EQ(x["cmis_revision"], "5.0");
  EXPECT_EQ(x["power_class"], "5");
  EXPECT_EQ(x["max_power_w"], "10.00");
  EXPECT_EQ(x["date_code"], "2025-01-15");
  EXPECT_EQ(x["memory_model"], "paged");
  EXPECT_EQ(x["media_type"], "SMF");
  EXPECT_EQ(x["applications"], "11/1c 8x4, 0d/14 2x1");
  EXPECT_EQ(dut->lane_count(), 8);
}

TEST(CmisDriver, IdentifyOsfp) {
  emu_bench b(
      "modules:\n"
      "  - { bus: cage3, profile: profiles/osfp-800g-dr8.yaml, serial: EMU8D0000003 }\n");
  auto dut = b.module("cage3");
  auto id = b.run(dut->async_identify());
  ASSERT_TRUE(id);
  EXPECT_EQ(id.value().part_number, "EMU-OS-800G-DR8");
  EXPECT_EQ(id.value().extra.at("identifier"), "0x19 (OSFP)");
  EXPECT_EQ(id.value().extra.at("cmis_revision"), "5.2");
  EXPECT_EQ(id.value().extra.at("power_class"), "8");
  EXPECT_EQ(id.value().extra.at("max_power_w"), "16.00");
}

TEST(CmisDriver, ModuleStateAndLowPower) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  EXPECT_EQ(b.run(dut->async_module_state()).value(), hilt::module_state::ready);
  auto st = b.run(dut->async_set_low_power(true));
  // The module first takes its data paths down (LowPwrExS, CMIS 5.x §6.3.2), then ModulePwrDn.
  EXPECT_EQ(st.value(), hilt::module_state::ready);
  b.run([&]() -> boost::asio::awaitable<int> {
    co_await b.clk.async_sleep(8ms, boost::asio::use_awaitable);
    co_return 0;
  }());
  EXPECT_EQ(b.emulated().state(), hilt::emu::msm_state::pwr_dn);
  std::uint8_t c = 0;
  ASSERT_TRUE(b.emulated().peek(0, 0, 26, std::span(&c, 1)));
  EXPECT_EQ(c, 0x50);  // LowPwrRequestSW set, LowPwrAllowRequestHW kept
}

TEST(CmisDriver, PowerUpHonoursAdvertisedTiming) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_TRUE(b.run(dut->async_set_low_power(true)));
  // Let ModulePwrDn finish: 25 ms.
  b.run([&]() -> boost::asio::awaitable<int> {
    co_await b.clk.async_sleep(100ms, boost::asio::use_awaitable);
    co_return 0;
  }());
  EXPECT_EQ(b.emulated().state(), hilt::emu::msm_state::low_pwr);
  const auto start = b.clk.now();
  auto ec = b.run(dut->async_power_up(30s));
  EXPECT_FALSE(ec) << ec.message() << "\n" << b.log();
  const auto took = b.clk.now() - start;
  // The profile's module takes 2.5 s (half its advertised < 5 s); the driver polls every 20 ms.
  EXPECT_GE(took, 2500ms);
  EXPECT_LE(took, 2520ms);
  EXPECT_EQ(b.emulated().state(), hilt::emu::msm_state::ready);
  std::uint8_t c = 0xFF;
  ASSERT_TRUE(b.emulated().peek(0, 0, 26, std::span(&c, 1)));
  EXPECT_EQ(c, 0x00) << "bits 4 and 6 cleared, as SONiC does";
}

TEST(CmisDriver, PowerUpTimesOutWhenTheModuleIsLate) {
  // A module that takes 7 s while advertising < 5 s (01h:167 bits 3-0 = 7).
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(testing::TempDir()) / "hilt_cmis_late";
  fs::create_directories(dir / "profiles");
  {
    std::ifstream in(hilt::test::repo_path("fixtures/profiles/qsfpdd-400g-dr4.yaml"));
    std::ofstream out(dir / "profiles/late.yaml");
    std::string line;
    while (std::getline(in, line)) {
      out << line << "\n";
      if (line.rfind("  max_module_pwr_up:", 0) == 0) out << "  module_pwr_up: 7 s\n";
    }
  }
  emu_bench b(
      "modules:\n"
      "  - { bus: port1, profile: profiles/late.yaml, lpmode_pin: true }\n",
      dir.string());
  auto dut = b.module();
  EXPECT_EQ(b.run(dut->async_module_state()).value(), hilt::module_state::low_power);
  const auto start = b.clk.now();
  auto ec = b.run(dut->async_power_up(60s));
  EXPECT_EQ(ec, hilt::errc::state_timeout);
  const auto took = b.clk.now() - start;
  EXPECT_GE(took, 5200ms);  // < 5 s advertised + 200 ms margin
  EXPECT_LT(took, 5300ms);
  EXPECT_NE(b.log().find("page 01h byte 167"), std::string::npos) << b.log();
  EXPECT_NE(b.log().find("dut1"), std::string::npos);
  fs::remove_all(dir);
}

TEST(CmisDriver, MonitorsHaveUnitsAndMatchTheModel) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  auto r = b.run(dut->async_read_monitors());
  ASSERT_TRUE(r) << r.error().message();
  auto m = by_name(r.value());
  ASSERT_EQ(r.value().size(), 2u + 3u * 4u) << "temp, vcc, and bias/tx/rx for 4 media lanes";
  const double case_c = b.emulated().case_temperature_c();
  EXPECT_NEAR(m.at({"temperature", -1}).value, case_c, 1.0 / 256);
  EXPECT_NEAR(case_c, 48.0, 0.01);  // 25 C + 9.2 W x 2.5 C/W, settled
  EXPECT_EQ(m.at({"temperature", -1}).unit, "C");
  EXPECT_NEAR(m.at({"vcc", -1}).value, 3.3, 0.0041);
  EXPECT_EQ(m.at({"vcc", -1}).unit, "V");
  for (int lane = 1; lane <= 4; ++lane) {
    const auto& bias = m.at({"tx_bias", lane});
    const auto& tx = m.at({"tx_power", lane});
    const auto& rx = m.at({"rx_power", lane});
    EXPECT_EQ(bias.unit, "mA");
    EXPECT_EQ(tx.unit, "dBm");
    EXPECT_EQ(tx.side, hilt::side::media);
    EXPECT_NEAR(bias.value, 65.0 + 0.25 * (48.0 - 45.0), 0.01);
    // 1.5 dBm nominal, -0.02 dB/C x 3 C, per-lane spread within +-0.3 dB.
    EXPECT_NEAR(tx.value, 1.5 - 0.06, 0.31);
    EXPECT_NEAR(rx.value, tx.value - 2.0, 0.01) << "loopback with the default 2 dB loss";
  }
  EXPECT_EQ(m.count({"tx_power", 5}), 0u);
}

TEST(CmisDriver, TxDisableIsReflectedInMonitorsAndLasers) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0x1, true)));
  auto m = by_name(b.run(dut->async_read_monitors()).value());
  EXPECT_DOUBLE_EQ(m.at({"tx_power", 1}).value, -40.0) << "no light reads as the -40 dBm floor";
  EXPECT_DOUBLE_EQ(m.at({"tx_bias", 1}).value, 0.0);
  EXPECT_DOUBLE_EQ(m.at({"rx_power", 1}).value, -40.0);
  EXPECT_GT(m.at({"tx_power", 2}).value, 0.0);
  EXPECT_TRUE(b.emulated().lasers_on());
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0xE, true)));
  EXPECT_FALSE(b.emulated().lasers_on());
  ASSERT_FALSE(b.run(dut->async_set_tx_disable(0x4, false)));
  m = by_name(b.run(dut->async_read_monitors()).value());
  EXPECT_GT(m.at({"tx_power", 3}).value, 0.0);
  EXPECT_DOUBLE_EQ(m.at({"tx_power", 2}).value, -40.0);
}

TEST(CmisDriver, SafeStateTurnsEveryLaserOff) {
  emu_bench b(one_dr4);
  auto dut = b.module();
  ASSERT_TRUE(b.emulated().lasers_on());
  EXPECT_FALSE(b.run(dut->async_safe_state()));
  EXPECT_FALSE(b.emulated().lasers_on());
  const auto lines = b.emulation->describe();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("lasers=off"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("tx_disable=0xff"), std::string::npos) << lines[0];
}

TEST(CmisDriver, InjectedNacksAreErrorsNotCrashes) {
  emu_bench b(
      "modules:\n"
      "  - bus: port1\n"
      "    profile: profiles/qsfpdd-400g-dr4.yaml\n"
      "    faults: { nack_rate: 0.2 }\n");
  auto dut = b.module();
  int ok = 0, nack = 0;
  for (int i = 0; i < 60; ++i) {
    auto id = b.run(dut->async_identify());
    if (id) {
      ++ok;
      EXPECT_EQ(id.value().part_number, "EMU-DD-400G-DR4");
    } else {
      EXPECT_EQ(id.error(), hilt::errc::nack);
      ++nack;
    }
    auto m = b.run(dut->async_read_monitors());
    if (!m) {
      EXPECT_EQ(m.error(), hilt::errc::nack);
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(nack, 0);
  EXPECT_NE(b.log().find("(NACK)"), std::string::npos) << b.log().substr(0, 500);
  EXPECT_NE(b.log().find("dut1 (cmis:emu-i2c:port1@0x50): identify:"), std::string::npos);
}

TEST(CmisDriver, CorruptChecksumIsReported) {
  emu_bench b(one_dr4);
  const std::uint8_t junk[] = {'X'};
  ASSERT_TRUE(b.emulated().poke(0, 0x00, 150, junk, /*fix_checksums=*/false));
  auto dut = b.module();
  auto id = b.run(dut->async_identify());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error(), hilt::errc::checksum_mismatch);
  EXPECT_NE(b.log().find("dut1 (cmis:emu-i2c:port1@0x50): identify: checksum mismatch at page "
                         "00h byte 222"),
            std::string::npos)
      << b.log();
}

TEST(CmisDriver, CorruptPage01ChecksumIsReported) {
  emu_bench b(one_dr4);
  const std::uint8_t junk[] = {0x5A};
  ASSERT_TRUE(b.emulated().poke(0, 0x01, 200, junk, /*fix_checksums=*/false));
  auto id = b.run(b.module()->async_identify());
  EXPECT_EQ(id.error(), hilt::errc::checksum_mismatch);
  EXPECT_NE(b.log().find("page 01h byte 255"), std::string::npos) << b.log();
}

TEST(CmisDriver, UnknownIdentifierAndRevision) {
  {
    emu_bench b(one_dr4);
    const std::uint8_t gbic[] = {0x01};
    ASSERT_TRUE(b.emulated().poke(0, 0, 0, gbic));
    auto id = b.run(b.module()->async_identify());
    EXPECT_EQ(id.error(), hilt::errc::unknown_identifier);
    EXPECT_NE(b.log().find("page 00h byte 0 identifier 0x01 (GBIC) is not a CMIS, SFF-8636 or "
                           "SFF-8472 module"),
              std::string::npos)
        << b.log();
  }
  {
    emu_bench b(one_dr4);
    const std::uint8_t rev[] = {0x60};
    ASSERT_TRUE(b.emulated().poke(0, 0, 1, rev));
    auto id = b.run(b.module()->async_identify());
    EXPECT_EQ(id.error(), hilt::errc::unsupported_revision);
    EXPECT_NE(b.log().find("page 00h byte 1 CMIS revision 6.0"), std::string::npos) << b.log();
  }
}

TEST(CmisDriver, ModuleInMgmtInitNacksThenComesUp) {
  emu_bench b(
      "modules:\n"
      "  - { bus: port1, profile: profiles/qsfpdd-400g-dr4.yaml, boot: cold }\n");
  auto dut = b.module();
  EXPECT_EQ(b.run(dut->async_identify()).error(), hilt::errc::nack);
  // power_up tolerates NACKs while the module is in MgmtInit (200 ms), then waits for Ready.
  auto ec = b.run(dut->async_power_up(30s));
  EXPECT_EQ(ec, hilt::errc::nack) << "identity (page 01h timing) cannot be read during MgmtInit";
  b.run([&]() -> boost::asio::awaitable<int> {
    co_await b.clk.async_sleep(300ms, boost::asio::use_awaitable);
    co_return 0;
  }());
  EXPECT_FALSE(b.run(dut->async_power_up(30s)));
  EXPECT_EQ(b.emulated().state(), hilt::emu::msm_state::ready);
}

// --- registration ------------------------------------------------------------------------------

struct services : hilt::bench_services {
  hilt::emulation* emu = nullptr;
  hilt::result<std::shared_ptr<hilt::i2c_bus>> i2c(std::string_view transport,
                                                   std::string_view name) override {
    if (transport != "emu-i2c") return hilt::failure(make_error_code(hilt::errc::device_not_found));
    return emu->i2c(name);
  }
};

TEST(CmisRegistration, MakesAModuleFromAnAddress) {
  emu_bench b(one_dr4);
  auto drv = hilt::cmis::make_driver();
  EXPECT_EQ(drv->info().name, "cmis");
  EXPECT_EQ(drv->info().transports, (std::vector<std::string>{"emu-i2c", "i2c-dev", "cp2112"}));
  services svc;
  svc.emu = b.emulation.get();
  hilt::make_args a;
  a.name = "m1";
  a.address = hilt::address::parse("cmis:emu-i2c:port1@0x50");
  a.options = YAML::Load("{lanes: 4, poll_interval: 10 ms}");
  a.source = "bench.yaml";
  a.context = hilt::device_context{b.io.get_executor(), &b.clk, b.logger};
  a.services = &svc;
  auto dev = drv->make(a);
  ASSERT_TRUE(dev);
  auto* mod = dynamic_cast<hilt::managed_module*>(dev.value().get());
  ASSERT_NE(mod, nullptr);
  EXPECT_EQ(mod->lane_count(), 4);
  EXPECT_EQ(b.run(mod->async_identify()).value().serial, "EMU400G0001");

  a.address = hilt::address::parse("cmis:emu-i2c:nobus@0x50");
  EXPECT_EQ(drv->make(a).error(), hilt::errc::device_not_found);

  a.options = YAML::Load("{lanes: 4,\n  polling: 1 s}");
  try {
    (void)drv->make(a);
    FAIL() << "expected config_error";
  } catch (const hilt::config_error& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind("bench.yaml:2:3: device 'm1': unknown option 'polling'", 0), 0u)
        << e.what();
  }
  a.options = YAML::Node();
  a.address = hilt::address::parse("cmis:tcp:port1@0x50");
  EXPECT_THROW((void)drv->make(a), hilt::config_error);
}

}  // namespace
