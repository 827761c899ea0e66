// Quantities with units, as written in sequences and fixtures: "5 min", "168 h", "85 C",
// "3.3 V", "12 W", "-3.5 dBm", "2.4e-4", "450 mA", "10 %".
//
// Values are normalised to one base unit per dimension: seconds, degrees Celsius, volts, amperes,
// watts, dBm (optical power levels), dB (ratios), hertz, bits per second, metres, and plain numbers
// (a percent is stored as the number written: "10 %" -> 10, dimension percent).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hilt {

enum class dimension {
  none,         // a plain number: "2.4e-4", "3"
  time,         // s
  temperature,  // C  (K and F are converted)
  voltage,      // V
  current,      // A
  power,        // W
  power_dbm,    // dBm (logarithmic, never converted to W silently)
  ratio_db,     // dB
  frequency,    // Hz
  bit_rate,     // b/s
  length,       // m
  percent,      // %
};
std::string_view to_string(dimension d) noexcept;
// The base unit a dimension is stored in ("s", "C", "V", ...; "" for none).
std::string_view base_unit(dimension d) noexcept;

struct quantity {
  double value = 0;  // in base_unit(dim)
  hilt::dimension dim = dimension::none;
};

// Parses "<number> [unit]". Returns std::nullopt and sets `why` on failure: "unknown unit 'Vv'",
// "expected a number, got 'abc'".
std::optional<quantity> parse_quantity(std::string_view text, std::string* why = nullptr);

// The unit symbols accepted for a dimension, for messages: "s, ms, us, ns, min, h, d".
std::string accepted_units(dimension d);

// Converts a dBm level to W and back.
double dbm_to_watts(double dbm) noexcept;
double watts_to_dbm(double watts) noexcept;

}  // namespace hilt
