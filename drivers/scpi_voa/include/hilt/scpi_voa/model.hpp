// Variable-optical-attenuator models as data (drivers/scpi_voa/models/*.yaml), libsigrok-style:
// each file names a model, the SCPI command templates it speaks, and its ranges. The ranges are
// what the driver knows before it talks to the instrument (optical_attenuator::range(), checked
// by `hilt validate`); an emulator of the model answers *IDN? with its `identity`.
//
// Loading is strict: an unknown key, a missing required key or a bad value throws
// hilt::config_error naming "file:line:col" (DESIGN.md rule 6). drivers/scpi_voa/README.md
// documents every key.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hilt::scpi_voa {

// Command templates. "{channel}" is replaced by the 1-based channel (the instrument's INPut /
// OUTPut number), "{value}" by the setting in NRf form: attenuation in dB, wavelength in nm.
struct command_set {
  std::string identify = "*IDN?";
  std::string error_query = ":SYST:ERR?";
  std::string clear_status = "*CLS";  // sent on every new connection, after the queue is drained
  std::string wait = "*OPC?";         // after a setting: answers 1 once the attenuator settled
  std::string set_attenuation, query_attenuation;
  std::string query_attenuation_min, query_attenuation_max;
  std::string set_wavelength, query_wavelength;
  std::string output_on, output_off, query_output;
};

// What an emulator of this model answers to *IDN? (IEEE 488.2 §10.14).
struct model_identity {
  std::string manufacturer, model, serial, firmware;
};

struct voa_model {
  std::string name;  // "keysight-n7762a"
  std::string description;
  std::string source;  // file it was loaded from
  std::string match;   // ECMAScript regex on "manufacturer,model" of *IDN?
  model_identity identity;
  int channels = 1;
  double min_db = 0, max_db = 0;  // attenuation range, dB
  double resolution_db = 0.001;   // attenuation setting resolution, dB
  double min_nm = 0, max_nm = 0;  // wavelength range, nm
  double default_nm = 1310;       // wavelength after *RST
  // The unit the instrument answers query_wavelength in: metres (SCPI base unit) or nm.
  double wavelength_reply_scale = 1e9;  // reply x scale = nm
  command_set commands;

  // True when "manufacturer,model" of an *IDN? reply matches `match`.
  bool matches(std::string_view idn_manufacturer_model) const;
};

// Loads and checks a model file; throws config_error ("file:line:col: ...", or "file: cannot
// read: ...").
voa_model load_model(const std::filesystem::path& file);
voa_model parse_model(const YAML::Node& root, const std::string& source);

// Directories searched for "<name>.yaml": the source tree's drivers/scpi_voa/models when it
// exists (a build-tree binary), else the installed <datadir>/hilt/scpi_voa/models.
std::vector<std::filesystem::path> model_dirs();
// Every model name found in model_dirs(), sorted.
std::vector<std::string> known_models();
// Loads the model called `name`; throws config_error("", "unknown attenuator model 'x'; known:
// a, b") when there is no such file.
voa_model load_named_model(std::string_view name);

inline constexpr const char* default_model = "keysight-n7762a";

}  // namespace hilt::scpi_voa
