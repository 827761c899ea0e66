// PMBus: LINEAR11 / LINEAR16 against published examples, and the pmbus driver against the
// emulated regulator on the emulated I2C bus — readings, identity, the rail load following a
// device's state, NACKs and status bits.
#include <gtest/gtest.h>

#include <cmath>

#include "hilt/cmis/driver.hpp"
#include "hilt/error.hpp"
#include "hilt/pmbus/driver.hpp"
#include "hilt/pmbus/linear.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::test::has_text;
using hilt::test::inst_bench;
namespace pm = hilt::pmbus;

// LINEAR11 (PMBus Part II §7): value = Y x 2^N, N = bits 15-11, Y = bits 10-0, both two's
// complement. Examples as published: 0xD280 = 640 x 2^-6 = 10 V (the READ_VIN example of the
// LTC2978 datasheet, citing Part II); 0xD240 = 576 x 2^-6 = 9 A (a TI UCD924x script writing
// IOUT_OC_FAULT_LIMIT "9.00 A" as bytes 40 D2); 0xEAC0 = 704 x 2^-3 = 88 C (a READ_TEMPERATURE_1
// example from an Artesyn iHP manual).
TEST(PmbusLinear, Linear11PublishedExamples) {
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0xD280), 10.0);
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0xD240), 9.0);
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0xEAC0), 88.0);
  EXPECT_EQ(pm::linear11_encode(10.0), 0xD280);
  EXPECT_EQ(pm::linear11_encode(9.0), 0xD240);
  EXPECT_EQ(pm::linear11_encode(88.0), 0xEAC0);
}

TEST(PmbusLinear, Linear11SignsAndLimits) {
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0x0000), 0.0);
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0x07FF), -1.0);              // N = 0, Y = -1
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0x0400), -1024.0);           // the most negative mantissa
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0x7BFF), 1023.0 * 32768.0);  // N = 15, Y = 1023
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0x8001), std::ldexp(1.0, -16));  // N = -16, Y = 1
  EXPECT_DOUBLE_EQ(pm::linear11_decode(0xF7FF), -std::ldexp(1.0, -2));  // N = -2, Y = -1
  // -0.25 with the most mantissa bits: -1024 x 2^-12 (0xA400), not -1 x 2^-2 (0xF7FF).
  EXPECT_EQ(pm::linear11_encode(-0.25), 0xA400);
  EXPECT_FALSE(pm::linear11_encode(1024.0 * 32768.0));
  EXPECT_FALSE(pm::linear11_encode(std::nan("")));
  EXPECT_EQ(pm::linear11_encode(0.0), 0x8000);  // smallest exponent, zero mantissa
  // Round trip keeps 10 bits of mantissa.
  for (double v : {0.001, 0.75, 3.3, 12.0, 47.5, -12.25, 999.0, 1.5e6}) {
    auto w = pm::linear11_encode(v);
    ASSERT_TRUE(w) << v;
    EXPECT_NEAR(pm::linear11_decode(*w), v, std::abs(v) / 1000.0 + 1e-5) << v;
  }
}

// LINEAR16 (Part II §8.3): VOUT_MODE bits 7-5 = 000 (linear), bits 4-0 = N. The LTC2978
// datasheet's example: N = -13, mantissa 0x9800 = 38912 -> 4.75 V.
TEST(PmbusLinear, Linear16AndVoutMode) {
  EXPECT_EQ(pm::vout_mode_exponent(0x13), -13);
  EXPECT_EQ(pm::vout_mode_exponent(0x17), -9);
  EXPECT_EQ(pm::vout_mode_exponent(0x14), -12);
  EXPECT_EQ(pm::vout_mode_exponent(0x0F), 15);
  EXPECT_DOUBLE_EQ(pm::linear16_decode(0x9800, -13), 4.75);
  EXPECT_EQ(pm::linear16_encode(4.75, -13), 0x9800);
  EXPECT_EQ(pm::linear16_encode(0.75, -12), 3072);
  EXPECT_FALSE(pm::linear16_encode(-0.1, -12));
  EXPECT_FALSE(pm::linear16_encode(16.0, -12));  // 65536 x 2^-12
  EXPECT_EQ(pm::linear_vout_mode(-12), 0x14);
  EXPECT_EQ(pm::vout_mode_kind_of(0x14), pm::vout_mode_kind::linear);
  EXPECT_EQ(pm::vout_mode_kind_of(0x20), pm::vout_mode_kind::vid);
  EXPECT_EQ(pm::vout_mode_kind_of(0x40), pm::vout_mode_kind::direct);
  EXPECT_EQ(pm::vout_mode_kind_of(0x60), pm::vout_mode_kind::ieee_half);
}

const char* const cpo_rail =
    "regulators:\n"
    "  - { name: vr0, bus: pmbus0, address: 0x40, vin: 12 V, vout: 0.75 V, efficiency: 0.9,\n"
    "      idle: 6 W, iout_limit: 60 A }\n"
    "modules:\n"
    "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, rail: vr0 }\n";

struct rail_fixture {
  explicit rail_fixture(const char* yaml, const std::string& address = "pmbus:emu-i2c:pmbus0@0x40",
                        const std::string& options = "")
      : b(yaml), drv(pm::make_driver()) {
    rail = b.make_as<hilt::power_monitor>(*drv, "vr0", address, options);
  }
  inst_bench b;
  std::shared_ptr<const hilt::driver> drv;
  std::shared_ptr<hilt::power_monitor> rail;
};

TEST(PmbusRail, ReadsTheRail) {
  rail_fixture f(cpo_rail);
  auto r = f.b.run(f.rail->async_read_rail());
  ASSERT_TRUE(r) << f.b.log();
  const double pout = 9.2 + 6.0;  // the module, ModuleReady, and the idle load
  EXPECT_DOUBLE_EQ(*r.value().vin, 12.0);
  EXPECT_DOUBLE_EQ(*r.value().vout, 0.75);  // 3072 x 2^-12, exact
  EXPECT_NEAR(*r.value().pout, pout, pout / 1000);
  EXPECT_NEAR(*r.value().iout, pout / 0.75, pout / 0.75 / 1000);
  const double loss = pout / 0.9 - pout;
  EXPECT_NEAR(*r.value().temperature, 25.0 + 2.0 * loss, 0.05);
  EXPECT_EQ(r.value().status_word, 0);
}

TEST(PmbusRail, LoadFollowsTheDeviceState) {
  rail_fixture f(cpo_rail);
  auto before = f.b.run(f.rail->async_read_rail());
  ASSERT_TRUE(before);
  // The CPO engine goes to LowPwr, through its own driver on its own bus.
  auto cmis = hilt::cmis::make_driver();
  auto m = f.b.make_as<hilt::managed_module>(*cmis, "engine", "cmis:emu-i2c:cage1@0x50");
  ASSERT_TRUE(f.b.run(m->async_set_low_power(true)));
  f.b.sleep(1s);
  auto after = f.b.run(f.rail->async_read_rail());
  ASSERT_TRUE(after);
  EXPECT_NEAR(*after.value().pout, 1.3 + 6.0, 0.01);
  EXPECT_LT(*after.value().iout, *before.value().iout);
}

TEST(PmbusRail, Identity) {
  rail_fixture f(
      "regulators:\n"
      "  - { name: vr0, bus: pmbus0, mfr: { id: ACME, model: PWR-75A, revision: B2, serial: "
      "SN12345 } }\n");
  auto id = f.b.run(f.rail->async_identify());
  ASSERT_TRUE(id) << f.b.log();
  EXPECT_EQ(id.value().vendor, "ACME");
  EXPECT_EQ(id.value().part_number, "PWR-75A");
  EXPECT_EQ(id.value().revision, "B2");
  EXPECT_EQ(id.value().serial, "SN12345");
  EXPECT_EQ(id.value().extra.at("pmbus_revision"), "Part I 1.3, Part II 1.3");
}

TEST(PmbusRail, OptionalIdentityFieldsMayBeMissing) {
  rail_fixture f("regulators:\n  - { name: vr0, bus: pmbus0, mfr: { serial: '' } }\n");
  auto id = f.b.run(f.rail->async_identify());
  ASSERT_TRUE(id) << f.b.log();
  EXPECT_EQ(id.value().serial, "");
  EXPECT_EQ(id.value().vendor, "HILT");
}

TEST(PmbusRail, NothingAtTheAddressIsANack) {
  rail_fixture f(cpo_rail, "pmbus:emu-i2c:pmbus0@0x41");
  auto r = f.b.run(f.rail->async_read_rail());
  EXPECT_EQ(r.error(), errc::nack);
  EXPECT_TRUE(has_text(f.b.log(),
                       "vr0 (pmbus:emu-i2c:pmbus0@0x41): read_rail: READ_VIN (0x88) at "
                       "0x41 on emu-i2c:pmbus0: "))
      << f.b.log();
}

TEST(PmbusRail, UnsupportedCommandIsNackedAndCanBeLeftOut) {
  const char* yaml =
      "regulators:\n"
      "  - { name: vr0, bus: pmbus0, unsupported: [0x88] }\n";
  rail_fixture f(yaml);
  EXPECT_EQ(f.b.run(f.rail->async_read_rail()).error(), errc::nack);
  EXPECT_TRUE(has_text(f.b.log(), "READ_VIN (0x88)")) << f.b.log();
  // STATUS_CML bit 7 remembers the unsupported command: CML shows in STATUS_WORD.
  rail_fixture g(yaml, "pmbus:emu-i2c:pmbus0@0x40", "{commands: [vout, iout, status]}");
  auto r = g.b.run(g.rail->async_read_rail());
  ASSERT_TRUE(r) << g.b.log();
  EXPECT_FALSE(r.value().vin.has_value());
  EXPECT_TRUE(r.value().vout.has_value());
  EXPECT_FALSE(r.value().pout.has_value());
  EXPECT_EQ(r.value().status_word, 0);  // this regulator never saw READ_VIN
}

TEST(PmbusRail, InjectedNacks) {
  rail_fixture f(
      "regulators:\n"
      "  - { name: vr0, bus: pmbus0, faults: { nack_rate: 1.0 } }\n");
  EXPECT_EQ(f.b.run(f.rail->async_read_rail()).error(), errc::nack);
  EXPECT_EQ(f.b.run(f.rail->async_identify()).error(), errc::nack);
  EXPECT_TRUE(has_text(f.b.log(), "identify: PMBUS_REVISION (0x98)")) << f.b.log();
}

TEST(PmbusRail, OverCurrentLatchesOffAndShowsInStatus) {
  rail_fixture f(
      "regulators:\n"
      "  - { name: vr0, bus: pmbus0, vout: 0.75 V, idle: 30 W, iout_limit: 20 A }\n");
  auto r = f.b.run(f.rail->async_read_rail());
  ASSERT_TRUE(r);
  const auto w = r.value().status_word;
  EXPECT_TRUE(w & pm::status::iout_oc_fault);
  EXPECT_TRUE(w & pm::status::iout_pout);
  EXPECT_TRUE(w & pm::status::off);
  EXPECT_TRUE(w & pm::status::power_good_n);
  EXPECT_DOUBLE_EQ(*r.value().vout, 0.0);
  EXPECT_TRUE(has_text(f.b.log(), "STATUS_WORD 0x")) << f.b.log();
}

TEST(PmbusRail, VoutModeOtherThanLinearIsNotSupported) {
  // An exponent is a linear mode; a VID-mode device is faked by a bus target answering 0x22.
  struct vid_device final : hilt::emu::i2c_target_device {
    std::uint8_t cmd = 0;
    std::error_code on_write(std::span<const std::uint8_t> b) override {
      cmd = b[0];
      return {};
    }
    std::error_code on_read(std::span<std::uint8_t> out) override {
      for (auto& x : out)
        x = cmd == pm::cmd::vout_mode ? 0x22 : 0x00;
      return {};
    }
  };
  inst_bench b("regulators: []\n");
  b.emu->bus("vid0")->attach(0x40, std::make_shared<vid_device>());
  auto drv = pm::make_driver();
  auto rail = b.make_as<hilt::power_monitor>(*drv, "vr1", "pmbus:emu-i2c:vid0@0x40");
  ASSERT_TRUE(rail);
  EXPECT_EQ(b.run(rail->async_read_rail()).error(), errc::not_supported);
  EXPECT_TRUE(has_text(b.log(), "VOUT_MODE (0x20) = 0x22: mode 1 is not supported")) << b.log();
}

TEST(PmbusConfig, MistakesAreLocated) {
  inst_bench b(cpo_rail);
  auto drv = pm::make_driver();
  const std::string src = hilt::test::repo_path("fixtures/test-fixture.yaml");
  auto err = [&](const std::string& address, const std::string& options) -> std::string {
    try {
      (void)b.make(*drv, "vr0", address, options);
    } catch (const hilt::config_error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(err("pmbus:emu-i2c:pmbus0@0x40", "{commands: [vin, watts]}"),
            src +
                ":1:18: device 'vr0': unknown PMBus reading 'watts'; expected one of: vin, "
                "vout, iout, pout, temperature, status");
  EXPECT_EQ(err("pmbus:emu-i2c:pmbus0@0x40", "{page: 300}"),
            src + ":1:8: device 'vr0': option 'page' expects an integer within 0..255");
  EXPECT_EQ(err("pmbus:emu-i2c:pmbus0", ""),
            src +
                ": device 'vr0': bad I2C target 'pmbus0': expected BUS@ADDRESS, e.g. "
                "port1@0x50");
  EXPECT_EQ(err("pmbus:tcp:pmbus0@0x40", ""),
            src +
                ": device 'vr0': address 'pmbus:tcp:pmbus0@0x40': driver pmbus speaks "
                "transports emu-i2c and i2c-dev, not 'tcp'");
}

}  // namespace
