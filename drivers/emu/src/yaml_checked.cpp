#include "yaml_checked.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "hilt/error.hpp"
#include "hilt/step.hpp"

namespace hilt::emu::detail {

void fail_at(const std::string& source, const YAML::Node& node, const std::string& message) {
  throw hilt::config_error(hilt::where(source, node), message);
}

checked_map::checked_map(const YAML::Node& node, const std::string& source, std::string what,
                         std::initializer_list<const char*> allowed)
    : node_(node), source_(source), what_(std::move(what)), known_(allowed.begin(), allowed.end()) {
  if (!node_.IsMap()) fail_at(source_, node_, fmt::format("expected a mapping for {}", what_));
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    if (std::find(known_.begin(), known_.end(), k) == known_.end()) {
      fail_at(source_, it->first,
              fmt::format("unknown key '{}' in {}; expected one of: {}", k, what_,
                          fmt::join(known_, ", ")));
    }
  }
}

YAML::Node checked_map::get(const char* key) const {
  const YAML::Node& cn = node_;
  return cn[key];
}

YAML::Node checked_map::require(const char* key) const {
  YAML::Node n = get(key);
  if (!n.IsDefined() || n.IsNull()) {
    fail_at(source_, node_, fmt::format("missing required key '{}' in {}", key, what_));
  }
  return n;
}

namespace {
const std::string& scalar(const YAML::Node& n, const std::string& source, const char* key,
                          const char* expected) {
  if (!n.IsScalar()) fail_at(source, n, fmt::format("'{}' expects {}", key, expected));
  return n.Scalar();
}
}  // namespace

std::string as_string(const YAML::Node& n, const std::string& source, const char* key) {
  return scalar(n, source, key, "a string");
}

long long as_int(const YAML::Node& n, const std::string& source, const char* key, long long lo,
                 long long hi) {
  const std::string& s = scalar(n, source, key, "an integer");
  std::string_view v = s;
  bool neg = false;
  if (!v.empty() && (v.front() == '-' || v.front() == '+')) {
    neg = v.front() == '-';
    v.remove_prefix(1);
  }
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    base = 16;
    v.remove_prefix(2);
  }
  long long out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) {
    fail_at(source, n, fmt::format("'{}' expects an integer, got '{}'", key, s));
  }
  if (neg) out = -out;
  if (out < lo || out > hi) {
    fail_at(source, n, fmt::format("'{}' must be within {}..{}, got {}", key, lo, hi, s));
  }
  return out;
}

double as_number(const YAML::Node& n, const std::string& source, const char* key, double lo,
                 double hi) {
  const std::string& s = scalar(n, source, key, "a number");
  std::string why;
  auto q = hilt::parse_quantity(s, &why);
  if (!q || q->dim != hilt::dimension::none) {
    fail_at(source, n, fmt::format("'{}' expects a plain number, got '{}'", key, s));
  }
  if (!(q->value >= lo && q->value <= hi)) {
    fail_at(source, n, fmt::format("'{}' must be within {}..{}, got {}", key, lo, hi, s));
  }
  return q->value;
}

bool as_bool(const YAML::Node& n, const std::string& source, const char* key) {
  const std::string& s = scalar(n, source, key, "true or false");
  if (s == "true" || s == "True" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "False" || s == "no" || s == "off") return false;
  fail_at(source, n, fmt::format("'{}' expects true or false, got '{}'", key, s));
}

double as_quantity(const YAML::Node& n, const std::string& source, const char* key,
                   hilt::dimension dim, double lo, double hi) {
  const std::string& s = scalar(n, source, key, "a quantity with a unit");
  std::string why;
  auto q = hilt::parse_quantity(s, &why);
  if (!q) fail_at(source, n, fmt::format("'{}': {}", key, why));
  if (q->dim != dim) {
    fail_at(source, n,
            fmt::format("'{}' expects a {} ({}), got '{}'", key, hilt::to_string(dim),
                        hilt::accepted_units(dim), s));
  }
  if (!(q->value >= lo && q->value <= hi)) {
    const auto unit = hilt::base_unit(dim);
    fail_at(
        source, n,
        fmt::format("'{}' must be within {} {} .. {} {}, got '{}'", key, lo, unit, hi, unit, s));
  }
  return q->value;
}

}  // namespace hilt::emu::detail
