#include "hilt/pmbus/linear.hpp"

#include <cmath>

namespace hilt::pmbus {

namespace {
// Sign-extends the low `bits` bits of v.
int sign_extend(unsigned v, int bits) noexcept {
  const unsigned m = 1u << (bits - 1);
  v &= (1u << bits) - 1;
  return static_cast<int>(v ^ m) - static_cast<int>(m);
}
}  // namespace

double linear11_decode(std::uint16_t word) noexcept {
  const int n = sign_extend(word >> 11, 5);
  const int y = sign_extend(word & 0x7FFu, 11);
  return std::ldexp(static_cast<double>(y), n);
}

std::optional<std::uint16_t> linear11_encode(double value) noexcept {
  if (!std::isfinite(value)) return std::nullopt;
  // The smallest exponent whose mantissa range (-1024..1023) holds the value keeps the most
  // precision.
  for (int n = -16; n <= 15; ++n) {
    const double y = std::round(std::ldexp(value, -n));
    if (y >= -1024 && y <= 1023) {
      const auto yy = static_cast<unsigned>(static_cast<int>(y)) & 0x7FFu;
      const auto nn = static_cast<unsigned>(n) & 0x1Fu;
      return static_cast<std::uint16_t>((nn << 11) | yy);
    }
  }
  return std::nullopt;
}

vout_mode_kind vout_mode_kind_of(std::uint8_t m) noexcept {
  switch (m >> 5) {
    case 0:
      return vout_mode_kind::linear;
    case 1:
      return vout_mode_kind::vid;
    case 2:
      return vout_mode_kind::direct;
    case 3:
      return vout_mode_kind::ieee_half;  // added in Part II rev 1.3
    default:
      return vout_mode_kind::reserved;
  }
}

int vout_mode_exponent(std::uint8_t m) noexcept {
  return sign_extend(m & 0x1Fu, 5);
}

std::uint8_t linear_vout_mode(int exponent) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(exponent) & 0x1Fu);
}

double linear16_decode(std::uint16_t mantissa, int exponent) noexcept {
  return std::ldexp(static_cast<double>(mantissa), exponent);
}

std::optional<std::uint16_t> linear16_encode(double value, int exponent) noexcept {
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  const double v = std::round(std::ldexp(value, -exponent));
  if (v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

}  // namespace hilt::pmbus
