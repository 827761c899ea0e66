// Limits and monitor units.
//
// Units, in one place: every value a sequence compares is normalised to the base unit of its
// dimension (hilt/units.hpp: C, V, A, W, dBm, ...). A limit written as `{ max: 90 mA }` is stored
// as high = 0.09 with unit "A"; a module reporting tx_bias as 7.5 "mA" is recorded as 0.0075 "A";
// the comparison is therefore always base unit against base unit, whatever units the sequence and
// the driver chose. Optical power is the one place two dimensions meet: a reading in W/mW judged
// against a limit in dBm (or the reverse) is converted explicitly to the limit's dimension and
// recorded in it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hilt/seq/parse.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"

namespace hilt::seq {

// A monitor name the language knows, with the dimensions a limit on it may use.
struct monitor_info {
  std::string_view name;
  std::span<const dimension> dimensions;  // first = the natural one
  bool per_lane;                          // false: module-level (lane < 0 in readings)
  std::string_view description;
};
// The table of known monitors; adding a monitor a driver reports means adding a row here.
std::span<const monitor_info> known_monitors();
const monitor_info* find_monitor(std::string_view name);

// A monitor reading's value and unit in base units. Accepts every unit of hilt/units.hpp plus the
// spellings drivers use ("°C", "µA", "mW"). nullopt with `why` set for an unknown unit.
std::optional<quantity> reading_to_base(double value, std::string_view unit,
                                        std::string* why = nullptr);

// Converts a base-unit quantity to `target` when that is meaningful (same dimension, or W <-> dBm).
std::optional<double> convert(const quantity& q, dimension target);

// Parses a limit mapping:
//   { min: X }                  -> ge       { max: X }          -> le
//   { min: X, max: Y }          -> range    (X > Y is an error)
//   { equal: X }                -> eq
//   { nominal: X, tolerance: T } -> tol_abs (T in X's dimension) or tol_pct (T like "5 %")
//   optional marginal: M        (a difference in the limit's dimension; dB for a dBm limit)
// `expected` lists the dimensions the measured quantity may be given in (empty: any). Bounds are
// stored in base units, limit::unit is the base unit and limit::source is file:line:col of the
// limit. Returns nullopt after reporting errors through the context.
std::optional<limit> parse_limit(parse_context& ctx, const YAML::Node& node,
                                 std::span<const dimension> expected);

// The dimension a parsed limit is in (from its unit); dimension::none for a plain number.
dimension limit_dimension(const limit& l);

}  // namespace hilt::seq
