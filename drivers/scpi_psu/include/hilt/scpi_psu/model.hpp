// Programmable-supply models as data (drivers/scpi_psu/models/*.yaml), libsigrok-style: each
// file names a model, the SCPI command templates its dialect uses, its output ratings and its
// stated resolution. The driver sends only what a model file says; adding a supply that speaks
// the same kind of SCPI is adding a file.
//
// Loading is strict: an unknown key, a missing required key or a bad value throws
// hilt::config_error naming "file:line:col" (DESIGN.md rule 6). drivers/scpi_psu/README.md
// documents every key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hilt::scpi_psu {

struct channel_rating {
  std::string name;        // "P6V", "OUT1"
  double max_voltage = 0;  // V
  double max_current = 0;  // A
};

// Command templates. "{channel}" is replaced by the 1-based channel number, "{value}" by the
// setting in NRf form (SCPI-99 Vol 1 §7.2). An empty select_channel means a single-output supply.
struct command_set {
  std::string identify = "*IDN?";
  std::string error_query = "SYST:ERR?";
  std::string select_channel;
  std::string set_voltage, query_voltage;
  std::string set_current, query_current;
  std::vector<std::string> output_on, output_off;
  std::string query_output;
  std::string measure_voltage, measure_current;
};

// What an emulator of this model answers to *IDN? (IEEE 488.2 §10.14).
struct model_identity {
  std::string manufacturer, model, serial, firmware;
};

struct psu_model {
  std::string name;  // "keysight-e36xx"
  std::string description;
  std::string source;   // file it was loaded from
  std::string dialect;  // the command set an emulator speaks: "keysight" | "rs-ngp"
  std::string match;    // ECMAScript regex on "manufacturer,model" of *IDN?
  model_identity identity;
  std::vector<channel_rating> channels;  // 1..
  double voltage_resolution = 0.001;     // V: settings and readback
  double current_resolution = 0.001;     // A
  command_set commands;

  int channel_count() const noexcept { return static_cast<int>(channels.size()); }
  // True when "manufacturer,model" of an *IDN? reply matches `match`.
  bool matches(std::string_view idn_manufacturer_model) const;
};

// Loads and checks a model file; throws config_error ("file:line:col: ...", or "file: cannot
// read: ...").
psu_model load_model(const std::filesystem::path& file);
psu_model parse_model(const YAML::Node& root, const std::string& source);

// Directories searched for "<name>.yaml": the source tree's drivers/scpi_psu/models when it
// exists (a build-tree binary), else the installed <datadir>/hilt/scpi_psu/models.
std::vector<std::filesystem::path> model_dirs();
// Every model name found in model_dirs(), sorted.
std::vector<std::string> known_models();
// Loads the model called `name`; throws config_error("", "unknown supply model 'x'; known: a, b")
// when there is no such file.
psu_model load_named_model(std::string_view name);

}  // namespace hilt::scpi_psu
