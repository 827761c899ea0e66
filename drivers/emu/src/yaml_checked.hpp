// Strict YAML reading for profiles and the emulation section: every key is known, every value is
// checked, every mistake names file:line:col (DESIGN.md rule 6).
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "hilt/units.hpp"

namespace hilt::emu::detail {

// A mapping with a fixed set of allowed keys. The constructor rejects a node that is not a
// mapping and, before anything else, the first key that is not allowed (a typo is reported as
// such, not as the required key it was meant to be).
class checked_map {
 public:
  // Throws config_error: "expected a mapping for <what>", or
  // "unknown key '<k>' in <what>; expected one of: a, b, c" at the key.
  checked_map(const YAML::Node& node, const std::string& source, std::string what,
              std::initializer_list<const char*> allowed);

  // The value of `key` (an undefined node when absent). `key` must be one of the allowed keys.
  YAML::Node get(const char* key) const;
  // Same, but throws "missing required key '<key>' in <what>" at the mapping when absent.
  YAML::Node require(const char* key) const;

  const std::string& source() const noexcept { return source_; }
  const YAML::Node& node() const noexcept { return node_; }

 private:
  YAML::Node node_;
  std::string source_;
  std::string what_;
  std::vector<std::string> known_;
};

[[noreturn]] void fail_at(const std::string& source, const YAML::Node& node,
                          const std::string& message);

std::string as_string(const YAML::Node& n, const std::string& source, const char* key);
long long as_int(const YAML::Node& n, const std::string& source, const char* key, long long lo,
                 long long hi);
double as_number(const YAML::Node& n, const std::string& source, const char* key, double lo,
                 double hi);
bool as_bool(const YAML::Node& n, const std::string& source, const char* key);
// A quantity with a unit of dimension `dim`, in its base unit (s, C, W, V, A, dBm, dB, m),
// within [lo, hi] (base units).
double as_quantity(const YAML::Node& n, const std::string& source, const char* key,
                   hilt::dimension dim, double lo, double hi);

}  // namespace hilt::emu::detail
