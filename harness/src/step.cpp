#include "hilt/step.hpp"

#include <fmt/format.h>

#include <cmath>

namespace hilt {

std::string_view to_string(verdict v) noexcept {
  switch (v) {
    case verdict::pass:
      return "pass";
    case verdict::marginal:
      return "marginal";
    case verdict::fail:
      return "fail";
    case verdict::error:
      return "error";
    case verdict::skipped:
      return "skipped";
    case verdict::info:
      return "info";
  }
  return "?";
}

namespace {
int rank(verdict v) noexcept {
  switch (v) {
    case verdict::error:
      return 4;
    case verdict::fail:
      return 3;
    case verdict::marginal:
      return 2;
    case verdict::pass:
      return 1;
    case verdict::info:
    case verdict::skipped:
      return 0;
  }
  return 0;
}
}  // namespace

verdict worst(verdict a, verdict b) noexcept {
  return rank(b) > rank(a) ? b : a;
}

std::string_view to_string(limit::comparator c) noexcept {
  switch (c) {
    case limit::comparator::none:
      return "none";
    case limit::comparator::ge:
      return "ge";
    case limit::comparator::le:
      return "le";
    case limit::comparator::range:
      return "range";
    case limit::comparator::eq:
      return "eq";
    case limit::comparator::tol_abs:
      return "tol_abs";
    case limit::comparator::tol_pct:
      return "tol_pct";
  }
  return "?";
}

verdict judge(const limit& l, double value) noexcept {
  if (l.cmp == limit::comparator::none) return verdict::info;
  if (std::isnan(value)) return verdict::fail;
  if (l.cmp == limit::comparator::eq) {
    // Exact comparison is what "equal" means for codes and states; analog values use tolerance.
    return (l.nominal && value == *l.nominal) ? verdict::pass : verdict::fail;
  }
  // ge / le / range / tol_*: the bounds are resolved into low/high by the loader.
  if (l.low && value < *l.low) return verdict::fail;
  if (l.high && value > *l.high) return verdict::fail;
  if (l.marginal && *l.marginal > 0) {
    // Marginal band: inside the limit but within `marginal` of a bound (OpenHTF's marginal).
    if ((l.low && value < *l.low + *l.marginal) || (l.high && value > *l.high - *l.marginal)) {
      return verdict::marginal;
    }
  }
  return verdict::pass;
}

std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::debug:
      return "debug";
    case severity::info:
      return "info";
    case severity::warning:
      return "warning";
    case severity::alarm:
      return "alarm";
    case severity::fault:
      return "fault";
    case severity::error:
      return "error";
  }
  return "?";
}

task<std::shared_ptr<void>> step_context::async_lock(std::string_view) {
  co_return std::shared_ptr<void>();
}

void step_context::progress(clock::time_point, std::string_view) {}

std::string where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

std::string where(const std::string& file, const YAML::Node& node) {
  return where(file, node.Mark());
}

}  // namespace hilt
