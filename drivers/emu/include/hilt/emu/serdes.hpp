// The electrical channel model of one SerDes lane (ASIC <-> module host side): channel loss at
// Nyquist and the transmitter's FIR taps -> residual ISI and eye -> SNR -> Q -> BER.
//
// Model (drivers/emu/README.md "SerDes model"). A PAM4 lane through a channel of loss L dB at
// Nyquist has the single-bit pulse response (cursors relative to the main one, x = L / 10 dB):
//
//   h(0)  = 10^(-0.3 L / 20)        main cursor: the low-frequency part of the loss
//   h(-1) = 0.08 x h(0)             precursor
//   h(+1) = 0.35 x h(0)             first postcursor
//   h(+2) = 0.10 x^2 h(0)           second postcursor (grows faster: the loss tail)
//
// The transmitter's 3-tap FIR (IEEE 802.3ck 120G.3.1 / 162.9.3: c(-1), c(0), c(1), normalised so
// |c(-1)| + c(0) + |c(1)| <= 1, applied in steps of 1/64) is convolved with it: e(k) =
// sum_j c(j) h(k - j). The receiver sees the worst-case PAM4 eye
//
//   eye = (e(0) - sum_{k != 0} |e(k)|) / 3        (three eyes share the swing)
//
// against noise sigma = sqrt(sigma_rx^2 + (0.02 e(0))^2) (sigma_rx = 0.007 of full swing: the
// receiver's thermal noise; 2 % of the signal: crosstalk, jitter and the Tx's own noise), and
// Q = eye / (2 sigma), BER = erfc(Q / sqrt 2) / 2 (cmis_link.hpp). Emphasis trades main cursor for
// less ISI, so there is an optimum: at 10 dB the default taps (-0.05, 0.80, -0.15) give a BER of
// about 5e-8, the best taps (about -4/64, 45/64, -15/64) about 4e-10, no emphasis (0, 1, 0) about
// 2e-4; at 25 dB no setting gets below 1e-1 (the lane does not lock). The constants are not a
// particular channel; they make tap tuning matter the way it does on a real 100G PAM4 lane.
#pragma once

#include "hilt/device.hpp"

namespace hilt::emu {

struct serdes_result {
  double eye = 0;    // worst-case PAM4 eye opening, fraction of full swing (0 when closed)
  double sigma = 0;  // noise, fraction of full swing
  double q = 0;      // eye / (2 sigma); 0 when the eye is closed
  double ber = 0.5;  // erfc(q / sqrt 2) / 2
};

// Taps as the SerDes applies them: each rounded to a multiple of 1/64, signs forced (pre1 <= 0,
// main > 0, post1 <= 0). Does not check the swing constraint (see fir_valid).
hilt::tx_fir quantise_fir(const hilt::tx_fir& taps) noexcept;
// The IEEE 802.3 constraint: pre1 <= 0, main > 0, post1 <= 0, |pre1| + main + |post1| <= 1 (with
// a tolerance of half a step); and every tap finite.
bool fir_valid(const hilt::tx_fir& taps) noexcept;
// The default taps of a SerDes and of a module's host output: (-0.05, 0.80, -0.15), quantised.
hilt::tx_fir default_fir() noexcept;

// The lane through a channel of `loss_db` at Nyquist, driven with `taps` (quantised first).
serdes_result serdes_channel(const hilt::tx_fir& taps, double loss_db) noexcept;

}  // namespace hilt::emu
