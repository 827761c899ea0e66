#include "ber/ber_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hilt::seq::ber_stats {

namespace {

constexpr int max_iterations = 1'000'000;
constexpr double eps = 1e-15;

// Series for P(a, x), converges for x < a + 1 (Numerical Recipes §6.2).
double p_series(double a, double x) {
  double ap = a, sum = 1.0 / a, del = sum;
  for (int n = 0; n < max_iterations; ++n) {
    ap += 1;
    del *= x / ap;
    sum += del;
    if (std::fabs(del) < std::fabs(sum) * eps) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Continued fraction for Q(a, x), converges for x >= a + 1 (modified Lentz).
double q_fraction(double a, double x) {
  constexpr double tiny = std::numeric_limits<double>::min() / eps;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < max_iterations; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

// Solves f(λ) = goal for a function decreasing in λ, by bisection on [0, hi].
template <class F>
double solve_decreasing(F f, double goal, double hi) {
  double lo = 0;
  while (f(hi) > goal)
    hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (f(mid) > goal)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

double gamma_p(double a, double x) {
  if (x <= 0) return 0;
  if (x < a + 1) return p_series(a, x);
  return 1 - q_fraction(a, x);
}

double gamma_q(double a, double x) {
  if (x <= 0) return 1;
  if (x < a + 1) return 1 - p_series(a, x);
  return q_fraction(a, x);
}

double poisson_cdf(std::uint64_t k, double lambda) {
  return gamma_q(static_cast<double>(k) + 1, lambda);
}

double confidence(double target, std::uint64_t bits, std::uint64_t errors) {
  return 1 - poisson_cdf(errors, static_cast<double>(bits) * target);
}

double upper_lambda(std::uint64_t errors, double cl) {
  const double e = static_cast<double>(errors);
  if (errors == 0) return -std::log1p(-cl);
  return solve_decreasing([e](double l) { return gamma_q(e + 1, l); }, 1 - cl,
                          e + 10 * std::sqrt(e + 1) + 10);
}

double lower_lambda(std::uint64_t errors, double cl) {
  if (errors == 0) return 0;
  const double e = static_cast<double>(errors);
  // P(X >= E; λ) = P(E, λ) increases with λ: solve Q(E, λ) = cl (decreasing).
  return solve_decreasing([e](double l) { return gamma_q(e, l); }, cl, e + 10 * std::sqrt(e) + 10);
}

double required_bits(double target, double cl, std::uint64_t errors) {
  return upper_lambda(errors, cl) / target;
}

double upper_bound(std::uint64_t bits, std::uint64_t errors, double cl) {
  if (bits == 0) return 1;
  return std::min(1.0, upper_lambda(errors, cl) / static_cast<double>(bits));
}

double lower_bound(std::uint64_t bits, std::uint64_t errors, double cl) {
  if (bits == 0) return 0;
  return std::min(1.0, lower_lambda(errors, cl) / static_cast<double>(bits));
}

decision decide(double target, double cl, std::uint64_t bits, std::uint64_t errors) {
  if (bits == 0) return decision::undecided;
  const double lambda_t = static_cast<double>(bits) * target;
  // Cheap exact tests, no inverse needed.
  if (1 - poisson_cdf(errors, lambda_t) >= cl) return decision::proven;
  if (errors > 0 && gamma_p(static_cast<double>(errors), lambda_t) <= 1 - cl) {
    return decision::violated;
  }
  return decision::undecided;
}

}  // namespace hilt::seq::ber_stats
