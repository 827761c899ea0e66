#include "hilt/emu/cmis_link.hpp"

#include <algorithm>
#include <cmath>

#include "hilt/emu/world.hpp"

namespace hilt::emu {

double ber_from_q(double q) noexcept {
  if (!(q > 0)) return 0.5;
  return 0.5 * std::erfc(q / std::sqrt(2.0));
}

double q_from_ber(double ber) noexcept {
  if (!(ber > 0)) return 40.0;  // beyond any representable BER
  if (ber >= 0.5) return 0.0;
  // ber_from_q is strictly decreasing: bisection on [0, 40] to 1e-12.
  double lo = 0, hi = 40;
  for (int i = 0; i < 80; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (ber_from_q(mid) > ber) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

double combine_q(double q1, double q2) noexcept {
  if (!(q1 > 0)) return q2 > 0 ? q2 : 0;
  if (!(q2 > 0)) return q1;
  return 1.0 / std::sqrt(1.0 / (q1 * q1) + 1.0 / (q2 * q2));
}

std::uint64_t poisson(double mean, std::uint64_t& rng) noexcept {
  if (!(mean > 0)) return 0;
  if (mean < 64) {
    // Inversion: walk the cumulative distribution until it passes a uniform draw.
    const double u = uniform01(rng);
    double p = std::exp(-mean);
    double cdf = p;
    std::uint64_t k = 0;
    while (u > cdf && k < 1000) {
      ++k;
      p *= mean / static_cast<double>(k);
      cdf += p;
    }
    return k;
  }
  // Normal approximation with a Box-Muller draw.
  const double u1 = std::max(uniform01(rng), 1e-300);
  const double u2 = uniform01(rng);
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  const double k = std::round(mean + std::sqrt(mean) * z);
  if (k <= 0) return 0;
  if (k >= 1.8e19) return static_cast<std::uint64_t>(1.8e19);
  return static_cast<std::uint64_t>(k);
}

std::uint16_t f16_encode(double value) noexcept {
  if (!(value >= 5e-25)) return 0;
  for (int s = 0; s < 32; ++s) {
    const double m = std::round(value / std::pow(10.0, s - 24));
    if (m <= 2047) return static_cast<std::uint16_t>(s << 11 | static_cast<int>(m));
  }
  return 0xFFFF;
}

double f16_decode(std::uint16_t code) noexcept {
  return (code & 0x07FF) * std::pow(10.0, (code >> 11) - 24);
}

}  // namespace hilt::emu
