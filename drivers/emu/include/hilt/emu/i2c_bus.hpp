// The emulated I2C bus: the wire emulated devices sit behind (DESIGN.md rule 1).
//
// Targets attach at 7-bit addresses. A transfer addressed to an empty address completes with
// errc::nack, exactly like a real bus with nothing plugged in. Lengths are bounded like a CMIS
// host's accesses (OIF-CMIS 5.x §5.2.2): a read carries at most 128 bytes, a write at most one
// register-pointer byte plus 8 data bytes.
//
// Fault injection: each attached target may be given a NACK rate; the decision for each transfer
// comes from a seeded generator, so a run is repeatable for a given seed (DESIGN.md rule 4).
//
// Threading: a bus is used from one thread at a time (the runner's io_context thread); targets
// that must also answer other threads (describe()) lock themselves.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "hilt/transport/i2c.hpp"

namespace hilt::emu {

// A device on an emulated I2C bus, with register-pointer semantics: the first byte of a write sets
// the device's register pointer and the following bytes are data written from there on; a read
// returns bytes from the current pointer on. Returning an error code (normally errc::nack) makes
// the whole transfer fail on the wire.
class i2c_target_device {
 public:
  virtual ~i2c_target_device() = default;

  // The write phase of a transfer (never empty when called).
  virtual std::error_code on_write(std::span<const std::uint8_t> bytes) = 0;
  // The read phase of a transfer, after a repeated start (never empty when called).
  virtual std::error_code on_read(std::span<std::uint8_t> out) = 0;
  // One whole transfer: `write` (may be empty) then `read` (may be empty). The default calls
  // on_write then on_read; a target may override it to handle both under one lock.
  virtual std::error_code on_transfer(std::span<const std::uint8_t> write,
                                      std::span<std::uint8_t> read) {
    if (!write.empty()) {
      if (auto ec = on_write(write)) return ec;
    }
    if (!read.empty()) return on_read(read);
    return {};
  }
};

// Faults injected on the wire in front of one target.
struct target_faults {
  double nack_rate = 0.0;  // probability in [0, 1] that a transfer is NACKed
  std::uint64_t seed = 1;  // seeds the per-target generator
};

class emu_i2c_bus final : public hilt::i2c_bus {
 public:
  static constexpr std::size_t max_read_bytes = 128;  // CMIS §5.2.2.1 Nmax with full-page read
  static constexpr std::size_t max_write_bytes = 9;   // CMIS §5.2.2.2: pointer + 8 data bytes

  explicit emu_i2c_bus(std::string name);

  const std::string& name() const noexcept { return name_; }

  // Attaches `target` at the 7-bit address `addr` (0x03..0x77). Throws std::invalid_argument when
  // the address is out of range or already taken.
  void attach(std::uint8_t addr, std::shared_ptr<i2c_target_device> target,
              target_faults faults = {});
  void detach(std::uint8_t addr) noexcept;
  bool has_target(std::uint8_t addr) const noexcept;
  // Changes the injected faults of an attached target (no effect on an empty address).
  void set_faults(std::uint8_t addr, target_faults faults) noexcept;

  // hilt::i2c_bus
  std::string describe() const override { return "emu-i2c:" + name_; }
  std::size_t max_read() const noexcept override { return max_read_bytes; }
  std::size_t max_write() const noexcept override { return max_write_bytes; }
  // errc::invalid_argument for a length above the limits (nothing reaches the target),
  // errc::nack for an empty address or an injected NACK, else what the target answers.
  std::error_code transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                           std::span<std::uint8_t> read) override;

  // Counters, for tests and benchmarks.
  std::uint64_t transfers() const noexcept { return transfers_; }
  std::uint64_t injected_nacks() const noexcept { return injected_nacks_; }

 private:
  struct slot {
    std::shared_ptr<i2c_target_device> target;
    double nack_rate = 0.0;
    std::uint64_t rng = 0;  // splitmix64 state
  };

  std::string name_;
  std::array<slot, 128> slots_{};
  std::uint64_t transfers_ = 0;
  std::uint64_t injected_nacks_ = 0;
};

}  // namespace hilt::emu
