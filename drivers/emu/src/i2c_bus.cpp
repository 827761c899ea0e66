#include "hilt/emu/i2c_bus.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "hilt/emu/world.hpp"
#include "hilt/error.hpp"

namespace hilt::emu {

emu_i2c_bus::emu_i2c_bus(std::string name) : name_(std::move(name)) {}

void emu_i2c_bus::attach(std::uint8_t addr, std::shared_ptr<i2c_target_device> target,
                         target_faults faults) {
  if (addr < 0x03 || addr > 0x77) {
    throw std::invalid_argument(fmt::format("7-bit address 0x{:02x} outside 0x03..0x77", addr));
  }
  if (slots_[addr].target) {
    throw std::invalid_argument(
        fmt::format("address 0x{:02x} on {} is already taken", addr, describe()));
  }
  slots_[addr] = slot{std::move(target), faults.nack_rate, faults.seed};
}

void emu_i2c_bus::detach(std::uint8_t addr) noexcept {
  if (addr < slots_.size()) slots_[addr] = slot{};
}

bool emu_i2c_bus::has_target(std::uint8_t addr) const noexcept {
  return addr < slots_.size() && slots_[addr].target != nullptr;
}

void emu_i2c_bus::set_faults(std::uint8_t addr, target_faults faults) noexcept {
  if (addr >= slots_.size() || !slots_[addr].target) return;
  slots_[addr].nack_rate = faults.nack_rate;
  slots_[addr].rng = faults.seed;
}

std::error_code emu_i2c_bus::transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                                      std::span<std::uint8_t> read) {
  ++transfers_;
  if (write.size() > max_write_bytes || read.size() > max_read_bytes) {
    return make_error_code(errc::invalid_argument);
  }
  if (addr >= slots_.size()) return make_error_code(errc::nack);
  slot& s = slots_[addr];
  if (!s.target) return make_error_code(errc::nack);
  if (s.nack_rate > 0 && uniform01(s.rng) < s.nack_rate) {
    // The target does not acknowledge its address: nothing reaches it (no pointer change).
    ++injected_nacks_;
    return make_error_code(errc::nack);
  }
  return s.target->on_transfer(write, read);
}

}  // namespace hilt::emu
