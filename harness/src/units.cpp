#include "hilt/units.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace hilt {

namespace {

struct unit_def {
  std::string_view symbol;
  dimension dim;
  double scale;  // value_in_base = written * scale + offset
  double offset;
};

// Case matters: "mA" vs "MA" are different units; "C" is Celsius (coulomb never appears here).
constexpr auto units = std::to_array<unit_def>({
    {"s", dimension::time, 1, 0},
    {"ms", dimension::time, 1e-3, 0},
    {"us", dimension::time, 1e-6, 0},
    {"ns", dimension::time, 1e-9, 0},
    {"min", dimension::time, 60, 0},
    {"h", dimension::time, 3600, 0},
    {"d", dimension::time, 86400, 0},
    {"C", dimension::temperature, 1, 0},
    {"degC", dimension::temperature, 1, 0},
    {"K", dimension::temperature, 1, -273.15},
    {"F", dimension::temperature, 5.0 / 9.0, -32.0 * 5.0 / 9.0},
    {"V", dimension::voltage, 1, 0},
    {"mV", dimension::voltage, 1e-3, 0},
    {"uV", dimension::voltage, 1e-6, 0},
    {"A", dimension::current, 1, 0},
    {"mA", dimension::current, 1e-3, 0},
    {"uA", dimension::current, 1e-6, 0},
    {"W", dimension::power, 1, 0},
    {"mW", dimension::power, 1e-3, 0},
    {"uW", dimension::power, 1e-6, 0},
    {"kW", dimension::power, 1e3, 0},
    {"dBm", dimension::power_dbm, 1, 0},
    {"dB", dimension::ratio_db, 1, 0},
    {"Hz", dimension::frequency, 1, 0},
    {"kHz", dimension::frequency, 1e3, 0},
    {"MHz", dimension::frequency, 1e6, 0},
    {"GHz", dimension::frequency, 1e9, 0},
    {"THz", dimension::frequency, 1e12, 0},
    {"b/s", dimension::bit_rate, 1, 0},
    {"kb/s", dimension::bit_rate, 1e3, 0},
    {"Mb/s", dimension::bit_rate, 1e6, 0},
    {"Gb/s", dimension::bit_rate, 1e9, 0},
    {"Gbps", dimension::bit_rate, 1e9, 0},
    {"Tb/s", dimension::bit_rate, 1e12, 0},
    {"m", dimension::length, 1, 0},
    {"mm", dimension::length, 1e-3, 0},
    {"um", dimension::length, 1e-6, 0},
    {"nm", dimension::length, 1e-9, 0},
    {"km", dimension::length, 1e3, 0},
    {"%", dimension::percent, 1, 0},
    {"sec", dimension::time, 1, 0},
    {"hr", dimension::time, 3600, 0},
});

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(dimension d) noexcept {
  switch (d) {
    case dimension::none:
      return "number";
    case dimension::time:
      return "time";
    case dimension::temperature:
      return "temperature";
    case dimension::voltage:
      return "voltage";
    case dimension::current:
      return "current";
    case dimension::power:
      return "power";
    case dimension::power_dbm:
      return "optical power (dBm)";
    case dimension::ratio_db:
      return "ratio (dB)";
    case dimension::frequency:
      return "frequency";
    case dimension::bit_rate:
      return "bit rate";
    case dimension::length:
      return "length";
    case dimension::percent:
      return "percent";
  }
  return "?";
}

std::string_view base_unit(dimension d) noexcept {
  switch (d) {
    case dimension::none:
      return "";
    case dimension::time:
      return "s";
    case dimension::temperature:
      return "C";
    case dimension::voltage:
      return "V";
    case dimension::current:
      return "A";
    case dimension::power:
      return "W";
    case dimension::power_dbm:
      return "dBm";
    case dimension::ratio_db:
      return "dB";
    case dimension::frequency:
      return "Hz";
    case dimension::bit_rate:
      return "b/s";
    case dimension::length:
      return "m";
    case dimension::percent:
      return "%";
  }
  return "";
}

std::string accepted_units(dimension d) {
  std::string out;
  for (const auto& u : units) {
    if (u.dim != d) continue;
    if (!out.empty()) out += ", ";
    out += u.symbol;
  }
  return out;
}

std::optional<quantity> parse_quantity(std::string_view text, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<quantity> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  const std::string_view s = trim(text);
  if (s.empty()) return fail("expected a number with a unit, got nothing");
  double v = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (*begin == '+') ++begin;  // from_chars does not take a leading '+'
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc{} || p == begin) {
    return fail(fmt::format("expected a number, got '{}'", s));
  }
  if (!std::isfinite(v)) return fail(fmt::format("'{}' is not a finite number", s));
  const std::string_view unit = trim(std::string_view(p, static_cast<std::size_t>(end - p)));
  if (unit.empty()) return quantity{v, dimension::none};
  for (const auto& u : units) {
    if (u.symbol == unit) return quantity{v * u.scale + u.offset, u.dim};
  }
  return fail(fmt::format("unknown unit '{}' in '{}'", unit, s));
}

double dbm_to_watts(double dbm) noexcept {
  return 1e-3 * std::pow(10.0, dbm / 10.0);
}
double watts_to_dbm(double watts) noexcept {
  return watts > 0 ? 10.0 * std::log10(watts / 1e-3) : -std::numeric_limits<double>::infinity();
}

}  // namespace hilt
