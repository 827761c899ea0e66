// BER statistics for early stopping (cmis-notes §8.1): bit errors in N bits at a true BER p are
// Poisson with mean λ = N·p. After N bits with E errors,
//   "BER ≤ target at confidence CL" is shown when  1 − Σ_{k=0}^{E} λ_t^k e^{−λ_t} / k!  ≥ CL,
//   λ_t = N·target; equivalently N ≥ required_bits(target, CL, E). With no errors that is
//   −ln(1 − CL) / target: 2.996 / BER at 95 %, 4.605 / BER at 99 %; one error needs 4.744 / BER.
//   "BER > target at confidence CL" (the target is clearly violated) when the lower confidence
//   bound exceeds the target: P(X ≥ E; λ_t) ≤ 1 − CL.
// The Poisson CDF is the regularized upper incomplete gamma function, Σ_{k≤E} = Q(E + 1, λ), so the
// bounds are its inverses (the chi-square relation: upper = χ²_{CL}(2E + 2) / 2N).
#pragma once

#include <cstdint>

namespace hilt::seq::ber_stats {

// Regularized lower / upper incomplete gamma functions, a > 0, x >= 0 (P + Q = 1).
double gamma_p(double a, double x);
double gamma_q(double a, double x);

// P(X <= k) for X ~ Poisson(lambda).
double poisson_cdf(std::uint64_t k, double lambda);

// The confidence that the BER is at most `target` after `bits` bits with `errors` errors.
double confidence(double target, std::uint64_t bits, std::uint64_t errors);

// The mean λ with P(X <= errors; λ) = 1 − cl: the upper confidence bound on the expected error
// count (0 errors: −ln(1 − cl)).
double upper_lambda(std::uint64_t errors, double cl);
// The mean λ with P(X >= errors; λ) = 1 − cl: the lower bound (0 for 0 errors).
double lower_lambda(std::uint64_t errors, double cl);

// Bits needed to show BER <= target at confidence cl when `errors` errors are seen.
double required_bits(double target, double cl, std::uint64_t errors);

// BER bounds at confidence cl (bits > 0; with 0 bits: upper = 1, lower = 0).
double upper_bound(std::uint64_t bits, std::uint64_t errors, double cl);
double lower_bound(std::uint64_t bits, std::uint64_t errors, double cl);

enum class decision { undecided, proven, violated };
// proven: upper bound <= target; violated: lower bound > target.
decision decide(double target, double cl, std::uint64_t bits, std::uint64_t errors);

}  // namespace hilt::seq::ber_stats
