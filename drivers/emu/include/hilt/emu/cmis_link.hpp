// The link physics behind the emulated PRBS checkers and VDM BER: Q-factor <-> BER, seeded
// Poisson draws, and the CMIS F16 encoding (OIF-CMIS 5.x §3.4).
//
// Model (documented in drivers/emu/README.md): a thermal-noise-limited receiver, whose Q grows
// linearly with the received optical power — Q = Q(reference BER) x P_rx / P_sensitivity — and
// shrinks by a fraction per degree above the reference temperature; independent noise sources
// add as 1/Q^2 = 1/Q1^2 + 1/Q2^2 (an LPO's media path also carries the host SerDes noise);
// BER = erfc(Q / sqrt 2) / 2. Error counts over an interval are Poisson(bits x BER), drawn from a
// seeded generator so a run is reproducible for a seed.
#pragma once

#include <cstdint>

namespace hilt::emu {

// BER = erfc(Q / sqrt(2)) / 2.
double ber_from_q(double q) noexcept;
// The inverse for BER in (0, 0.5): Q such that ber_from_q(Q) == ber (0 for ber >= 0.5).
double q_from_ber(double ber) noexcept;
// Q of two independent noise contributions: 1/Q^2 = 1/q1^2 + 1/q2^2 (a non-positive q is absent).
double combine_q(double q1, double q2) noexcept;

// A Poisson(mean) draw from a splitmix64 state (exact inversion below mean 64, a rounded normal
// approximation above; mean <= 0 gives 0).
std::uint64_t poisson(double mean, std::uint64_t& rng) noexcept;

// CMIS F16 (§3.4): value = m * 10^(s - 24), bits 15-11 s, 10-0 m; the byte at the lower address
// is bits 15-8. The smallest exponent that fits the rounded mantissa (most precision).
std::uint16_t f16_encode(double value) noexcept;
double f16_decode(std::uint16_t code) noexcept;

}  // namespace hilt::emu
