// Linux i2c-dev I2C bus (/dev/i2c-N): one I2C_RDWR ioctl per transfer.
//
// A transfer is one combined message sequence: a write message (flags 0) carrying the register
// pointer and data, then, when there is something to read, a read message (I2C_M_RD) after a
// repeated start — the shape every CMIS / EEPROM access has. The ioctl completes in bounded time
// (the adapter's own timeout), so transfer() is synchronous and async_transfer() keeps the
// default (runs it inline).
//
// errno mapping (Documentation/i2c/fault-codes.rst): ENXIO / EREMOTEIO -> errc::nack,
// ETIMEDOUT -> errc::bus_timeout, EAGAIN -> errc::arbitration_lost, ENODEV -> errc::disconnected
// (adapter gone, e.g. a USB bridge unplugged), anything else -> errc::io_error.
//
// Adapters that only speak SMBus (no I2C_FUNC_I2C, e.g. the kernel CP2112 driver) cannot do
// I2C_RDWR: open() refuses them with a message saying so.
#pragma once

#include <linux/i2c.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "hilt/result.hpp"
#include "hilt/transport/i2c.hpp"

namespace hilt {

// Fills `msgs` for one transfer and returns how many are used (0 when both spans are empty, 1 for
// write-only or read-only, 2 for write then read). Pure: no system call, so unit tests check it.
std::size_t build_i2c_rdwr(std::uint8_t addr, std::span<const std::uint8_t> write,
                           std::span<std::uint8_t> read, std::array<i2c_msg, 2>& msgs) noexcept;

// errno of a failed I2C_RDWR -> hilt::errc (see above).
std::error_code map_i2c_errno(int err) noexcept;

// One-line explanation of why opening `path` failed with `err`, with the usual remedy:
// "cannot open /dev/i2c-3: Permission denied — add your user to group i2c".
std::string describe_open_error(const std::string& path, int err);

class i2c_dev_bus final : public i2c_bus {
 public:
  // Opens `path` (e.g. "/dev/i2c-3") and checks the adapter supports plain I2C transfers.
  // Failure: errc::device_not_found (no such file), errc::not_supported (SMBus-only adapter) or
  // errc::io_error (permissions, other); `why`, when given, receives the one-line explanation.
  static result<std::shared_ptr<i2c_dev_bus>> open(const std::string& path,
                                                   std::string* why = nullptr);
  ~i2c_dev_bus() override;
  i2c_dev_bus(const i2c_dev_bus&) = delete;
  i2c_dev_bus& operator=(const i2c_dev_bus&) = delete;

  std::string describe() const override { return "i2c-dev:" + path_; }
  // Bounded by what CMIS hosts send, well inside the kernel's 8192-byte message limit.
  std::size_t max_read() const noexcept override { return 256; }
  std::size_t max_write() const noexcept override { return 256; }
  std::error_code transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                           std::span<std::uint8_t> read) override;

 private:
  i2c_dev_bus(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace hilt
