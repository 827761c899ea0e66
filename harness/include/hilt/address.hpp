// Device address strings: one string names a device and the driver that talks to it.
//
//   DRIVER:TRANSPORT:TARGET[?key=value&key=value]
//
//   cmis:emu-i2c:port1@0x50         CMIS driver, emulated I2C bus "port1", target 0x50
//   cmis:i2c-dev:/dev/i2c-3@0x50    CMIS driver, Linux i2c-dev
//   sample:demo:1                   the sample plugin driver
//
// The part before the first ':' names the driver; what follows is the driver's to interpret, but
// in-tree drivers all use TRANSPORT:TARGET with optional ?options.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace hilt {

struct address {
  std::string text;       // the whole string as written
  std::string driver;     // "cmis"
  std::string transport;  // "emu-i2c" (empty if the address has only DRIVER:TARGET)
  std::string target;     // "port1@0x50"
  std::map<std::string, std::string> options;

  // Throws config_error ("bad device address '...': <why>") on an empty driver or target.
  static address parse(std::string_view text);
};

// Splits "bus@0x50" into the bus name and a 7-bit address; throws config_error when the address is
// missing, not a number, or outside 0x03..0x77.
struct i2c_target {
  std::string bus;
  unsigned addr = 0;
  static i2c_target parse(std::string_view target);
};

}  // namespace hilt
