#include "hilt/modbus_chamber/register_map.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "hilt/data_files.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/step.hpp"
#include "hilt/version.hpp"

namespace hilt::modbus_chamber {

namespace {

[[noreturn]] void fail(const std::string& src, const YAML::Node& n, const std::string& msg) {
  throw config_error(where(src, n), msg);
}

void known_keys(const YAML::Node& map, const std::string& src, std::string_view what,
                std::initializer_list<std::string_view> keys) {
  if (!map.IsMap()) fail(src, map, fmt::format("expected a mapping for {}", what));
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string k = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      fail(src, it->first,
           fmt::format("unknown key '{}' in {}; expected one of: {}", k, what,
                       fmt::join(keys, ", ")));
    }
  }
}

std::string text(const YAML::Node& n, const std::string& src, const char* key) {
  if (!n.IsScalar()) fail(src, n, fmt::format("'{}' expects a string", key));
  return n.Scalar();
}

long long integer(const YAML::Node& n, const std::string& src, const char* key, long long lo,
                  long long hi) {
  long long v = 0;
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) {
    fail(src, n, fmt::format("'{}' expects an integer within {}..{}", key, lo, hi));
  }
  return v;
}

std::uint16_t width(reg_type t) {
  return t == reg_type::int32 || t == reg_type::uint32 ? 2 : 1;
}

}  // namespace

const register_def* register_map::find(std::string_view n) const noexcept {
  auto it = registers.find(n);
  return it == registers.end() ? nullptr : &it->second;
}

const register_def* register_map::at_address(std::uint16_t address) const noexcept {
  for (const auto& [name, r] : registers) {
    if (address >= r.address && address < r.address + r.count) return &r;
  }
  return nullptr;
}

std::optional<std::vector<std::uint16_t>> encode(const register_def& r, double value,
                                                 bool high_word_first) {
  if (!std::isfinite(value)) return std::nullopt;
  const double raw = std::round(value * r.scale);
  auto fits = [&](double lo, double hi) { return raw >= lo && raw <= hi; };
  switch (r.type) {
    case reg_type::int16:
      if (!fits(-32768, 32767)) return std::nullopt;
      return std::vector<std::uint16_t>{static_cast<std::uint16_t>(static_cast<std::int16_t>(raw))};
    case reg_type::uint16:
      if (!fits(0, 65535)) return std::nullopt;
      return std::vector<std::uint16_t>{static_cast<std::uint16_t>(raw)};
    case reg_type::int32:
    case reg_type::uint32: {
      std::uint32_t u = 0;
      if (r.type == reg_type::int32) {
        if (!fits(-2147483648.0, 2147483647.0)) return std::nullopt;
        u = static_cast<std::uint32_t>(static_cast<std::int32_t>(raw));
      } else {
        if (!fits(0, 4294967295.0)) return std::nullopt;
        u = static_cast<std::uint32_t>(raw);
      }
      const auto hi = static_cast<std::uint16_t>(u >> 16), lo = static_cast<std::uint16_t>(u);
      return high_word_first ? std::vector<std::uint16_t>{hi, lo}
                             : std::vector<std::uint16_t>{lo, hi};
    }
    case reg_type::string:
      break;
  }
  return std::nullopt;
}

std::optional<double> decode(const register_def& r, std::span<const std::uint16_t> raw,
                             bool high_word_first) {
  if (raw.size() < r.count || r.scale == 0) return std::nullopt;
  double v = 0;
  switch (r.type) {
    case reg_type::int16:
      v = static_cast<std::int16_t>(raw[0]);
      break;
    case reg_type::uint16:
      v = raw[0];
      break;
    case reg_type::int32:
    case reg_type::uint32: {
      const std::uint32_t hi = high_word_first ? raw[0] : raw[1];
      const std::uint32_t lo = high_word_first ? raw[1] : raw[0];
      const std::uint32_t u = (hi << 16) | lo;
      v = r.type == reg_type::int32 ? static_cast<double>(static_cast<std::int32_t>(u))
                                    : static_cast<double>(u);
      break;
    }
    case reg_type::string:
      return std::nullopt;
  }
  return v / r.scale;
}

std::string decode_string(std::span<const std::uint16_t> raw) {
  std::string out;
  for (auto w : raw) {
    for (int shift : {8, 0}) {
      const auto c = static_cast<unsigned char>((w >> shift) & 0xFF);
      if (c == 0) return out;
      out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    }
  }
  return out;
}

std::vector<std::uint16_t> encode_string(std::string_view text, std::uint16_t count) {
  std::vector<std::uint16_t> out(count, 0);
  for (std::size_t i = 0; i < text.size() && i < 2u * count; ++i) {
    const auto c = static_cast<std::uint16_t>(static_cast<unsigned char>(text[i]));
    out[i / 2] |= static_cast<std::uint16_t>(i % 2 == 0 ? c << 8 : c);
  }
  return out;
}

register_map parse_map(const YAML::Node& root, const std::string& src) {
  known_keys(root, src, "a register map",
             {"map", "description", "vendor", "model", "word_order", "registers", "run_values",
              "alarm_bits"});
  register_map m;
  m.source = src;
  auto req = [&](const YAML::Node& map, const char* key, std::string_view what) {
    const YAML::Node& cm = map;
    YAML::Node n = cm[key];
    if (!n.IsDefined() || n.IsNull()) {
      fail(src, map, fmt::format("missing required key '{}' in {}", key, what));
    }
    return n;
  };
  m.name = text(req(root, "map", "a register map"), src, "map");
  if (const YAML::Node n = root["description"]) m.description = text(n, src, "description");
  if (const YAML::Node n = root["vendor"]) m.vendor = text(n, src, "vendor");
  if (const YAML::Node n = root["model"]) m.model = text(n, src, "model");
  if (const YAML::Node n = root["word_order"]) {
    const std::string w = text(n, src, "word_order");
    if (w != "high_first" && w != "low_first") {
      fail(src, n, fmt::format("'word_order' expects high_first or low_first, got '{}'", w));
    }
    m.high_word_first = w == "high_first";
  }
  const YAML::Node regs = req(root, "registers", "a register map");
  if (!regs.IsMap()) fail(src, regs, "'registers' expects a mapping of name to register");
  for (auto it = regs.begin(); it != regs.end(); ++it) {
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    register_def r;
    r.name = text(k, src, "register name");
    known_keys(v, src, fmt::format("register '{}'", r.name),
               {"address", "type", "count", "scale", "unit", "access"});
    r.address = static_cast<std::uint16_t>(
        integer(req(v, "address", "a register"), src, "address", 0, 65535));
    const std::string type = text(req(v, "type", "a register"), src, "type");
    if (type == "int16")
      r.type = reg_type::int16;
    else if (type == "uint16")
      r.type = reg_type::uint16;
    else if (type == "int32")
      r.type = reg_type::int32;
    else if (type == "uint32")
      r.type = reg_type::uint32;
    else if (type == "string")
      r.type = reg_type::string;
    else
      fail(src, v["type"],
           fmt::format("'type' expects int16, uint16, int32, uint32 or string, got '{}'", type));
    r.count = width(r.type);
    if (const YAML::Node n = v["count"]) {
      if (r.type != reg_type::string) fail(src, n, "'count' is only for string registers");
      r.count = static_cast<std::uint16_t>(integer(n, src, "count", 1, 64));
    }
    if (const YAML::Node n = v["scale"]) {
      const long long s = integer(n, src, "scale", 1, 1000000);
      r.scale = static_cast<double>(s);
    }
    if (const YAML::Node n = v["unit"]) r.unit = text(n, src, "unit");
    if (const YAML::Node n = v["access"]) {
      const std::string a = text(n, src, "access");
      if (a != "read" && a != "read_write") {
        fail(src, n, fmt::format("'access' expects read or read_write, got '{}'", a));
      }
      r.writable = a == "read_write";
    }
    if (static_cast<unsigned>(r.address) + r.count > 65536u) {
      fail(src, v, fmt::format("register '{}' runs past address 65535", r.name));
    }
    for (const auto& [other_name, o] : m.registers) {
      if (r.address < o.address + o.count && o.address < r.address + r.count) {
        fail(src, k, fmt::format("register '{}' overlaps register '{}'", r.name, other_name));
      }
    }
    m.registers.emplace(r.name, r);
  }
  for (const char* name : required_registers) {
    if (!m.find(name)) fail(src, regs, fmt::format("the map needs a register '{}'", name));
  }
  for (const char* name : {"setpoint", "run_state"}) {
    if (!m.find(name)->writable)
      fail(src, regs, fmt::format("register '{}' must be read_write", name));
  }
  if (const YAML::Node n = root["run_values"]) {
    known_keys(n, src, "run_values", {"stop", "run"});
    m.stop_value =
        static_cast<std::uint16_t>(integer(req(n, "stop", "run_values"), src, "stop", 0, 65535));
    m.run_value =
        static_cast<std::uint16_t>(integer(req(n, "run", "run_values"), src, "run", 0, 65535));
    if (m.stop_value == m.run_value) fail(src, n, "'run' and 'stop' must differ");
  }
  if (const YAML::Node n = root["alarm_bits"]) {
    if (!n.IsMap()) fail(src, n, "'alarm_bits' expects a mapping of bit number to name");
    for (auto it = n.begin(); it != n.end(); ++it) {
      const int bit = static_cast<int>(integer(it->first, src, "alarm bit", 0, 15));
      m.alarm_bits[bit] = text(it->second, src, "alarm name");
    }
  }
  return m;
}

register_map load_map(const std::filesystem::path& file) {
  return parse_map(load_yaml_file(file), file.string());
}

std::vector<std::filesystem::path> map_dirs() {
  return data_file_dirs("modbus_chamber", "maps");
}

std::vector<std::string> known_maps() {
  return data_file_names(map_dirs());
}

register_map load_named_map(std::string_view name) {
  if (auto p = find_data_file(map_dirs(), name)) return load_map(*p);
  throw config_error(
      {}, fmt::format("unknown register map '{}'; known: {}", name, fmt::join(known_maps(), ", ")));
}

}  // namespace hilt::modbus_chamber
