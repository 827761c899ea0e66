// The "pmbus" driver registration (drivers/pmbus/README.md).
//
// Addresses:
//   pmbus:emu-i2c:pmbus0@0x40          the fixture's emulated regulator on emulated bus "pmbus0"
//   pmbus:i2c-dev:/dev/i2c-1@0x40      a regulator on a Linux I2C adapter
// Options (fixture `options:` of the device, all optional):
//   commands: [vin, vout, iout, pout, temperature, status]   what read_rail reads (default all)
//   page: 0                 PAGE written before each read (multi-rail regulators)
#pragma once

#include <memory>

#include "hilt/driver.hpp"

namespace hilt::pmbus {

std::shared_ptr<const hilt::driver> make_driver();

}  // namespace hilt::pmbus
