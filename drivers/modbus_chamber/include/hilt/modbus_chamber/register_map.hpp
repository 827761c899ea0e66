// Chamber controller register maps as data (drivers/modbus_chamber/maps/*.yaml): which holding
// register holds the set point, the process value, the ramp rate, run/stop and the alarms, with
// each register's type and scaling. The driver and the emulated chamber both work from a map, so a
// controller with another layout is another file.
//
// Loading is strict: unknown keys, missing required registers, overlapping registers and bad
// values throw hilt::config_error with "file:line:col" (DESIGN.md rule 6).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hilt::modbus_chamber {

enum class reg_type { int16, uint16, int32, uint32, string };

struct register_def {
  std::string name;
  std::uint16_t address = 0;  // PDU address (0-based)
  reg_type type = reg_type::uint16;
  std::uint16_t count = 1;  // registers it spans (2 for 32-bit types, N for a string)
  double scale = 1;         // raw = value x scale (10: tenths)
  bool writable = false;
  std::string unit;
};

struct register_map {
  std::string name, description, source;
  std::string vendor, model;
  bool high_word_first = true;
  std::map<std::string, register_def, std::less<>> registers;
  std::uint16_t run_value = 1, stop_value = 0;
  std::map<int, std::string> alarm_bits;  // bit -> name

  const register_def* find(std::string_view name) const noexcept;
  // The register covering `address`, if any.
  const register_def* at_address(std::uint16_t address) const noexcept;
};

// Registers every map must have.
inline constexpr const char* required_registers[] = {"process_value", "setpoint", "run_state"};

// Engineering value -> raw registers; nullopt when the scaled value does not fit the type.
std::optional<std::vector<std::uint16_t>> encode(const register_def& r, double value,
                                                 bool high_word_first);
// Raw registers -> engineering value (numeric types; `raw` must hold r.count registers).
std::optional<double> decode(const register_def& r, std::span<const std::uint16_t> raw,
                             bool high_word_first);
// A string register block: two ASCII characters per register, high byte first; stops at the
// first NUL; non-printable bytes become '?'.
std::string decode_string(std::span<const std::uint16_t> raw);
std::vector<std::uint16_t> encode_string(std::string_view text, std::uint16_t count);

register_map load_map(const std::filesystem::path& file);
register_map parse_map(const YAML::Node& root, const std::string& source);
// drivers/modbus_chamber/maps in the source tree when it exists, else
// <datadir>/hilt/modbus_chamber/maps.
std::vector<std::filesystem::path> map_dirs();
std::vector<std::string> known_maps();
// Throws config_error("", "unknown register map 'x'; known: ...") when there is none.
register_map load_named_map(std::string_view name);

}  // namespace hilt::modbus_chamber
