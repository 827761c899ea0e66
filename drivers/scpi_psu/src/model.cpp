#include "hilt/scpi_psu/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "hilt/data_files.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"
#include "hilt/version.hpp"

namespace hilt::scpi_psu {

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

double quantity(const YAML::Node& n, const std::string& src, const char* key, dimension dim,
                double lo, double hi) {
  std::string why;
  auto q = n.IsScalar() ? parse_quantity(n.Scalar(), &why) : std::nullopt;
  if (!q || q->dim != dim || !(q->value > lo) || q->value > hi) {
    fail(src, n,
         fmt::format("'{}' expects a {} above {} and at most {} {} (units: {})", key,
                     to_string(dim), lo, hi, base_unit(dim), accepted_units(dim)));
  }
  return q->value;
}

}  // namespace

bool psu_model::matches(std::string_view idn) const {
  if (match.empty()) return false;
  return std::regex_search(std::string(idn), std::regex(match, std::regex::ECMAScript));
}

psu_model parse_model(const YAML::Node& root, const std::string& src) {
  known_keys(root, src, "a supply model",
             {"model", "description", "dialect", "match", "identity", "channels", "resolution",
              "commands"});
  psu_model m;
  m.source = src;
  m.name = text(require(root, "model", src, "a supply model"), src, "model");
  if (const YAML::Node n = root["description"]) m.description = text(n, src, "description");
  m.dialect = text(require(root, "dialect", src, "a supply model"), src, "dialect");
  if (m.dialect != "keysight" && m.dialect != "rs-ngp") {
    fail(src, root["dialect"],
         fmt::format("'dialect' expects keysight or rs-ngp, got '{}'", m.dialect));
  }
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
  const YAML::Node chans = require(root, "channels", src, "a supply model");
  if (!chans.IsSequence() || chans.size() < 1 || chans.size() > 16) {
    fail(src, chans, "'channels' expects a list of 1 to 16 outputs");
  }
  for (const auto& c : chans) {
    known_keys(c, src, "a channel", {"name", "max_voltage", "max_current"});
    channel_rating r;
    r.name = c["name"] ? text(c["name"], src, "name") : fmt::format("CH{}", m.channels.size() + 1);
    r.max_voltage = quantity(require(c, "max_voltage", src, "a channel"), src, "max_voltage",
                             dimension::voltage, 0, 10000);
    r.max_current = quantity(require(c, "max_current", src, "a channel"), src, "max_current",
                             dimension::current, 0, 1000);
    m.channels.push_back(std::move(r));
  }
  const YAML::Node res = require(root, "resolution", src, "a supply model");
  known_keys(res, src, "resolution", {"voltage", "current"});
  m.voltage_resolution = quantity(require(res, "voltage", src, "resolution"), src, "voltage",
                                  dimension::voltage, 0, 1);
  m.current_resolution = quantity(require(res, "current", src, "resolution"), src, "current",
                                  dimension::current, 0, 1);

  const YAML::Node cmds = require(root, "commands", src, "a supply model");
  known_keys(cmds, src, "commands",
             {"identify", "error_query", "select_channel", "set_voltage", "query_voltage",
              "set_current", "query_current", "output_on", "output_off", "query_output",
              "measure_voltage", "measure_current"});
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
  auto get_list = [&](const char* key, std::vector<std::string>& out) {
    const YAML::Node n = require(cmds, key, src, "commands");
    if (n.IsScalar()) {
      out = {command(n, src, key)};
      return;
    }
    if (!n.IsSequence() || n.size() == 0)
      fail(src, n, fmt::format("'{}' expects a command or a list of commands", key));
    out.clear();
    for (const auto& c : n)
      out.push_back(command(c, src, key));
  };
  get("identify", k.identify, false);
  get("error_query", k.error_query, false);
  get("select_channel", k.select_channel, false);
  get("set_voltage", k.set_voltage, true);
  get("query_voltage", k.query_voltage, true);
  get("set_current", k.set_current, true);
  get("query_current", k.query_current, true);
  get_list("output_on", k.output_on);
  get_list("output_off", k.output_off);
  get("query_output", k.query_output, true);
  get("measure_voltage", k.measure_voltage, true);
  get("measure_current", k.measure_current, true);
  if (k.select_channel.empty() && m.channels.size() > 1) {
    fail(src, cmds, "a model with more than one channel needs 'select_channel'");
  }
  for (const auto* t : {&k.set_voltage, &k.set_current}) {
    if (t->find("{value}") == std::string::npos) {
      fail(src, cmds, fmt::format("'{}' has no {{value}} placeholder", *t));
    }
  }
  return m;
}

psu_model load_model(const std::filesystem::path& file) {
  return parse_model(load_yaml_file(file), file.string());
}

std::vector<std::filesystem::path> model_dirs() {
  return data_file_dirs("scpi_psu", "models");
}

std::vector<std::string> known_models() {
  return data_file_names(model_dirs());
}

psu_model load_named_model(std::string_view name) {
  if (auto p = find_data_file(model_dirs(), name)) return load_model(*p);
  throw config_error({}, fmt::format("unknown supply model '{}'; known: {}", name,
                                     fmt::join(known_models(), ", ")));
}

}  // namespace hilt::scpi_psu
