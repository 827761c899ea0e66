// The I2C transport layer: 7-bit-address transfers with bounded lengths.
//
// A transfer is an optional write followed, when `read` is not empty, by a repeated-start read
// (the register-pointer-then-read shape of every EEPROM / CMIS access). Failures are error codes:
// errc::nack (no acknowledge), errc::bus_timeout, errc::arbitration_lost, errc::io_error,
// errc::invalid_argument (a length above max_write()/max_read()), errc::disconnected.
//
// Implementations: the emulated bus (drivers/emu), Linux i2c-dev, the CP2112 USB bridge.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "hilt/device.hpp"

namespace hilt {

class i2c_bus {
 public:
  virtual ~i2c_bus() = default;

  // "emu-i2c:port1", "i2c-dev:/dev/i2c-3": for messages and events.
  virtual std::string describe() const = 0;
  // Largest read and write (in bytes, register pointer included) one transfer may carry.
  virtual std::size_t max_read() const noexcept = 0;
  virtual std::size_t max_write() const noexcept = 0;

  // Synchronous transfer. Buses whose transfers finish without waiting (the emulated bus, i2c-dev
  // ioctls, which the kernel completes in bounded time) implement this; it is the fast path the
  // drivers use for register access.
  virtual std::error_code transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                                   std::span<std::uint8_t> read) = 0;

  // Asynchronous transfer for buses that must wait on I/O (USB bridges). The default runs
  // transfer() inline.
  virtual task<std::error_code> async_transfer(std::uint8_t addr,
                                               std::span<const std::uint8_t> write,
                                               std::span<std::uint8_t> read) {
    co_return transfer(addr, write, read);
  }
};

}  // namespace hilt
