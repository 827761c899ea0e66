#include "hilt/scpi_voa/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "hilt/data_files.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"
#include "hilt/version.hpp"

namespace hilt::scpi_voa {

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

YAML::Node require(const YAML::Node& map, const char* key, const std::string& src,
                   std::string_view what) {
  const YAML::Node& cm = map;
  YAML::Node n = cm[key];
  if (!n.IsDefined() || n.IsNull()) {
    fail(src, map, fmt::format("missing required key '{}' in {}", key, what));
  }
  return n;
}

std::string text(const YAML::Node& n, const std::string& src, const char* key) {
  if (!n.IsScalar()) fail(src, n, fmt::format("'{}' expects a string", key));
  return n.Scalar();
}

// A SCPI command template: printable ASCII, no line end (the transport adds it).
std::string command(const YAML::Node& n, const std::string& src, const char* key) {
  std::string s = text(n, src, key);
  if (s.empty()) fail(src, n, fmt::format("'{}' must not be empty", key));
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) fail(src, n, fmt::format("'{}' must be printable ASCII", key));
  }
  return s;
}

// A quantity of dimension `dim` within [lo, hi] (base units), e.g. "40 dB", "1310 nm".
double quantity(const YAML::Node& n, const std::string& src, const char* key, dimension dim,
                double lo, double hi, std::string_view shown_unit, double shown_scale) {
  std::string why;
  auto q = n.IsScalar() ? parse_quantity(n.Scalar(), &why) : std::nullopt;
  if (!q || q->dim != dim || !(q->value >= lo) || q->value > hi) {
    fail(src, n,
         fmt::format("'{}' expects a {} within {}..{} {} (units: {})", key, to_string(dim),
                     lo * shown_scale, hi * shown_scale, shown_unit, accepted_units(dim)));
  }
  return q->value;
}

double decibels(const YAML::Node& n, const std::string& src, const char* key, double lo,
                double hi) {
  return quantity(n, src, key, dimension::ratio_db, lo, hi, "dB", 1);
}

// Wavelengths are written with a unit ("1310 nm") and kept in nm, rounded to 1 fm so that the
// unit conversion's last-bit noise (1640.0000000000002) stays out of ranges and messages.
double nanometres(const YAML::Node& n, const std::string& src, const char* key) {
  const double m = quantity(n, src, key, dimension::length, 200e-9, 2000e-9, "nm", 1e9);
  return std::round(m * 1e9 * 1e6) / 1e6;
}

}  // namespace

bool voa_model::matches(std::string_view idn) const {
  if (match.empty()) return false;
  return std::regex_search(std::string(idn), std::regex(match, std::regex::ECMAScript));
}

voa_model parse_model(const YAML::Node& root, const std::string& src) {
  known_keys(root, src, "an attenuator model",
             {"model", "description", "match", "identity", "channels", "attenuation", "wavelength",
              "commands"});
  voa_model m;
  m.source = src;
  m.name = text(require(root, "model", src, "an attenuator model"), src, "model");
  if (const YAML::Node n = root["description"]) m.description = text(n, src, "description");
  if (const YAML::Node n = root["match"]) {
    m.match = text(n, src, "match");
    try {
      std::regex(m.match, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail(src, n, fmt::format("'match' is not a regular expression: {}", e.what()));
    }
  }
  if (const YAML::Node n = root["identity"]) {
    known_keys(n, src, "identity", {"manufacturer", "model", "serial", "firmware"});
    m.identity.manufacturer =
        text(require(n, "manufacturer", src, "identity"), src, "manufacturer");
    m.identity.model = text(require(n, "model", src, "identity"), src, "model");
    if (const YAML::Node s = n["serial"]) m.identity.serial = text(s, src, "serial");
    if (const YAML::Node s = n["firmware"]) m.identity.firmware = text(s, src, "firmware");
  }
  {
    const YAML::Node n = require(root, "channels", src, "an attenuator model");
    int ch = 0;
    if (!n.IsScalar() || !YAML::convert<int>::decode(n, ch) || ch < 1 || ch > 16) {
      fail(src, n, "'channels' expects a number of channels within 1..16");
    }
    m.channels = ch;
  }
  {
    const YAML::Node a = require(root, "attenuation", src, "an attenuator model");
    known_keys(a, src, "attenuation", {"min", "max", "resolution"});
    m.min_db = decibels(require(a, "min", src, "attenuation"), src, "min", 0, 200);
    m.max_db = decibels(require(a, "max", src, "attenuation"), src, "max", 0, 200);
    if (!(m.max_db > m.min_db)) fail(src, a, "attenuation 'max' must be above 'min'");
    if (const YAML::Node r = a["resolution"]) {
      m.resolution_db = decibels(r, src, "resolution", 1e-6, 1);
      if (!(m.resolution_db > 0)) fail(src, r, "'resolution' must be above 0 dB");
    }
  }
  {
    const YAML::Node w = require(root, "wavelength", src, "an attenuator model");
    known_keys(w, src, "wavelength", {"min", "max", "default", "reply_unit"});
    m.min_nm = nanometres(require(w, "min", src, "wavelength"), src, "min");
    m.max_nm = nanometres(require(w, "max", src, "wavelength"), src, "max");
    if (!(m.max_nm > m.min_nm)) fail(src, w, "wavelength 'max' must be above 'min'");
    m.default_nm = m.min_nm;
    if (const YAML::Node d = w["default"]) {
      m.default_nm = nanometres(d, src, "default");
      if (m.default_nm < m.min_nm || m.default_nm > m.max_nm)
        fail(src, d, "wavelength 'default' must be within min..max");
    }
    if (const YAML::Node u = w["reply_unit"]) {
      const std::string unit = text(u, src, "reply_unit");
      if (unit == "m") {
        m.wavelength_reply_scale = 1e9;
      } else if (unit == "nm") {
        m.wavelength_reply_scale = 1;
      } else {
        fail(src, u, fmt::format("'reply_unit' expects m or nm, got '{}'", unit));
      }
    }
  }

  const YAML::Node cmds = require(root, "commands", src, "an attenuator model");
  known_keys(cmds, src, "commands",
             {"identify", "error_query", "clear_status", "wait", "set_attenuation",
              "query_attenuation", "query_attenuation_min", "query_attenuation_max",
              "set_wavelength", "query_wavelength", "output_on", "output_off", "query_output"});
  auto& k = m.commands;
  auto get = [&](const char* key, std::string& out, bool required) {
    const YAML::Node& ccmds = cmds;
    const YAML::Node n = ccmds[key];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) fail(src, cmds, fmt::format("missing required key '{}' in commands", key));
      return;
    }
    out = command(n, src, key);
  };
  get("identify", k.identify, false);
  get("error_query", k.error_query, false);
  get("clear_status", k.clear_status, false);
  get("wait", k.wait, false);
  get("set_attenuation", k.set_attenuation, true);
  get("query_attenuation", k.query_attenuation, true);
  get("query_attenuation_min", k.query_attenuation_min, false);
  get("query_attenuation_max", k.query_attenuation_max, false);
  get("set_wavelength", k.set_wavelength, true);
  get("query_wavelength", k.query_wavelength, true);
  get("output_on", k.output_on, true);
  get("output_off", k.output_off, true);
  get("query_output", k.query_output, true);
  for (const auto* t : {&k.set_attenuation, &k.set_wavelength}) {
    if (t->find("{value}") == std::string::npos) {
      fail(src, cmds, fmt::format("'{}' has no {{value}} placeholder", *t));
    }
  }
  return m;
}

voa_model load_model(const std::filesystem::path& file) {
  return parse_model(load_yaml_file(file), file.string());
}

std::vector<std::filesystem::path> model_dirs() {
  return data_file_dirs("scpi_voa", "models");
}

std::vector<std::string> known_models() {
  return data_file_names(model_dirs());
}

voa_model load_named_model(std::string_view name) {
  if (auto p = find_data_file(model_dirs(), name)) return load_model(*p);
  throw config_error({}, fmt::format("unknown attenuator model '{}'; known: {}", name,
                                     fmt::join(known_models(), ", ")));
}

}  // namespace hilt::scpi_voa
