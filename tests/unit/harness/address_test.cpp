#include "hilt/address.hpp"

#include <gtest/gtest.h>

#include "hilt/error.hpp"

TEST(Address, ParsesDriverTransportTargetAndOptions) {
  auto a = hilt::address::parse("scpi-psu:tcp:127.0.0.1:5025?model=e36xx&channels=3");
  EXPECT_EQ(a.driver, "scpi-psu");
  EXPECT_EQ(a.transport, "tcp");
  EXPECT_EQ(a.target, "127.0.0.1:5025");
  EXPECT_EQ(a.options.at("model"), "e36xx");
  EXPECT_EQ(a.options.at("channels"), "3");
  auto b = hilt::address::parse("cmis:emu-i2c:port1@0x50");
  EXPECT_EQ(b.driver, "cmis");
  EXPECT_EQ(b.transport, "emu-i2c");
  EXPECT_EQ(b.target, "port1@0x50");
}

void expect_message(const char* text, const char* message) {
  try {
    hilt::address::parse(text);
    FAIL() << "no error for " << text;
  } catch (const hilt::config_error& e) {
    EXPECT_STREQ(e.what(), message);
  }
}

TEST(Address, BadAddressesSayWhy) {
  expect_message("cmis",
                 "bad device address 'cmis': expected DRIVER:TRANSPORT:TARGET, e.g. "
                 "cmis:emu-i2c:port1@0x50");
  expect_message(":x:y", "bad device address ':x:y': the driver name before ':' is empty");
  expect_message("cmis:emu-i2c:",
                 "bad device address 'cmis:emu-i2c:': the target after the "
                 "driver/transport is empty");
  expect_message("a:b:c?flag", "bad device address 'a:b:c?flag': option 'flag' is not key=value");
}

TEST(I2cTarget, ParsesAndChecksTheAddressRange) {
  auto t = hilt::i2c_target::parse("port1@0x50");
  EXPECT_EQ(t.bus, "port1");
  EXPECT_EQ(t.addr, 0x50u);
  EXPECT_EQ(hilt::i2c_target::parse("/dev/i2c-3@80").addr, 80u);
  auto msg = [](const char* s) {
    try {
      hilt::i2c_target::parse(s);
    } catch (const hilt::config_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(msg("port1"), "bad I2C target 'port1': expected BUS@ADDRESS, e.g. port1@0x50");
  EXPECT_EQ(msg("port1@0x80"),
            "bad I2C target 'port1@0x80': 7-bit address must be within 0x03..0x77");
  EXPECT_EQ(msg("port1@zz"), "bad I2C target 'port1@zz': the address after '@' is not a number");
}
