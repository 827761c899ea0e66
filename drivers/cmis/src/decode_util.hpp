// Internal helpers shared by the EEPROM decoders (CMIS, SFF-8636, SFF-8472).
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/fields.hpp"

namespace hilt::cmis::detail {

// Byte `offset` of a 128-byte upper half (offset 128-255), 0 when out of range.
inline std::uint8_t up(std::span<const std::uint8_t> upper, int offset) noexcept {
  const int i = offset - 128;
  return i >= 0 && static_cast<std::size_t>(i) < upper.size() ? upper[static_cast<std::size_t>(i)]
                                                              : 0;
}
// `n` bytes of an upper half from `offset`; empty when the range leaves it.
inline std::span<const std::uint8_t> up_span(std::span<const std::uint8_t> upper, int offset,
                                             std::size_t n) noexcept {
  const int i = offset - 128;
  if (i < 0 || static_cast<std::size_t>(i) + n > upper.size()) return {};
  return upper.subspan(static_cast<std::size_t>(i), n);
}
// `n` bytes of a block from `offset` (lower memory, A0h, A2h); empty when the range leaves it.
inline std::span<const std::uint8_t> at_span(std::span<const std::uint8_t> block, int offset,
                                             std::size_t n) noexcept {
  if (offset < 0 || static_cast<std::size_t>(offset) + n > block.size()) return {};
  return block.subspan(static_cast<std::size_t>(offset), n);
}
inline std::uint8_t at(std::span<const std::uint8_t> block, int offset) noexcept {
  return offset >= 0 && static_cast<std::size_t>(offset) < block.size()
             ? block[static_cast<std::size_t>(offset)]
             : 0;
}
inline std::uint16_t u16(std::span<const std::uint8_t> s) noexcept {
  return s.size() >= 2 ? be_u16(s.data()) : 0;
}
inline std::int16_t s16(std::span<const std::uint8_t> s) noexcept {
  return s.size() >= 2 ? be_s16(s.data()) : 0;
}

inline void add_detail(module_report& r, std::string key, std::string value) {
  r.details.emplace_back(std::move(key), std::move(value));
}

inline double round_to(double v, double step) {
  return std::round(v / step) * step;
}

// mW -> dBm with a floor at -40 dBm (no light), rounded to 0.01 dB for stable output.
inline double dbm(double mw) {
  return round_to(mw_to_dbm_floor(mw), 0.01);
}

// A checksum check; a mismatch becomes a warning naming page and byte.
inline void check_sum(module_report& r, std::span<const std::uint8_t> covered, std::uint8_t stored,
                      const std::string& where, int first, int last) {
  if (covered.empty()) return;
  const auto sum = checksum(covered);
  if (sum != stored) {
    r.warnings.push_back(
        fmt::format("checksum mismatch at {}: stored 0x{:02x}, sum of bytes {}-{} is 0x{:02x}",
                    where, stored, first, last, sum));
  }
}

// Four big-endian threshold values (HA, LA, HW, LW) from `p` (8 bytes), decoded by `f`.
template <class F>
report_thresholds thresholds_from(std::span<const std::uint8_t> p, std::string name,
                                  std::string unit, F f) {
  report_thresholds t;
  t.name = std::move(name);
  t.unit = std::move(unit);
  if (p.size() < 8) return t;
  t.high_alarm = f(p.data());
  t.low_alarm = f(p.data() + 2);
  t.high_warn = f(p.data() + 4);
  t.low_warn = f(p.data() + 6);
  return t;
}

}  // namespace hilt::cmis::detail

namespace hilt::cmis::detail {
// The CMIS part of decode_eeprom (cmis_decode.cpp).
void decode_cmis(const eeprom_image& img, module_report& r);
// CMIS banks from 01h:142 bits 1-0 (Table 8-47): 1, 2, 4 (11b: 4, the most this decoder reads).
inline int cmis_banks(std::uint8_t supported_pages) noexcept {
  const int code = supported_pages & 0x03;
  return code == 0 ? 1 : code == 1 ? 2 : 4;
}
}  // namespace hilt::cmis::detail
