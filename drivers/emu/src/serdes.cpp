#include "hilt/emu/serdes.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "hilt/emu/cmis_link.hpp"

namespace hilt::emu {

namespace {

// Pulse response constants (serdes.hpp). Tuned, not measured: see the header.
constexpr double main_attenuation = 0.3;  // h(0) = 10^(-0.3 L / 20)
constexpr double pre_per_10db = 0.08;
constexpr double post1_per_10db = 0.35;
constexpr double post2_per_10db2 = 0.10;
constexpr double sigma_rx = 0.007;     // receiver noise, fraction of full swing
constexpr double signal_noise = 0.02;  // noise proportional to the main cursor
constexpr double step = 1.0 / 64.0;    // Tx FIR resolution

double q64(double v) noexcept {
  return std::round(v / step) * step;
}

}  // namespace

hilt::tx_fir quantise_fir(const hilt::tx_fir& t) noexcept {
  hilt::tx_fir q;
  q.pre1 = std::min(0.0, q64(t.pre1));
  q.main = std::max(step, q64(t.main));
  q.post1 = std::min(0.0, q64(t.post1));
  // -0.0 reads back as 0.
  if (q.pre1 == 0) q.pre1 = 0;
  if (q.post1 == 0) q.post1 = 0;
  return q;
}

bool fir_valid(const hilt::tx_fir& t) noexcept {
  if (!std::isfinite(t.pre1) || !std::isfinite(t.main) || !std::isfinite(t.post1)) return false;
  if (t.pre1 > 0 || t.main <= 0 || t.post1 > 0) return false;
  return std::abs(t.pre1) + t.main + std::abs(t.post1) <= 1.0 + step / 2;
}

hilt::tx_fir default_fir() noexcept {
  return quantise_fir(hilt::tx_fir{-0.05, 0.80, -0.15});
}

serdes_result serdes_channel(const hilt::tx_fir& taps, double loss_db) noexcept {
  const hilt::tx_fir c = quantise_fir(taps);
  const double loss = std::max(0.0, loss_db);
  const double x = loss / 10.0;
  const double h0 = std::pow(10.0, -main_attenuation * loss / 20.0);
  // Pulse response h(k), k = -1..2 (index k + 1).
  const std::array<double, 4> h{pre_per_10db * x * h0, h0, post1_per_10db * x * h0,
                                post2_per_10db2 * x * x * h0};
  auto hk = [&](int k) { return k < -1 || k > 2 ? 0.0 : h[static_cast<std::size_t>(k + 1)]; };
  const std::array<double, 3> tap{c.pre1, c.main, c.post1};  // at -1, 0, +1
  double e0 = 0, isi = 0;
  for (int k = -2; k <= 3; ++k) {
    double e = 0;
    for (int j = -1; j <= 1; ++j)
      e += tap[static_cast<std::size_t>(j + 1)] * hk(k - j);
    if (k == 0) {
      e0 = e;
    } else {
      isi += std::abs(e);
    }
  }
  serdes_result r;
  r.sigma = std::sqrt(sigma_rx * sigma_rx + (signal_noise * e0) * (signal_noise * e0));
  r.eye = std::max(0.0, (e0 - isi) / 3.0);
  r.q = r.eye / (2.0 * r.sigma);
  r.ber = ber_from_q(r.q);
  return r;
}

}  // namespace hilt::emu
