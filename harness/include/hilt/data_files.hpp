// Named data files a driver ships — supply models, chamber register maps, attenuator models:
// YAML files looked up by name, first in the source tree (a binary run from its build tree), then
// where they are installed. One lookup for every driver, so they all find, list and report their
// files the same way.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hilt {

// <source>/drivers/<folder>/<kind> when it exists, then <datadir>/hilt/<folder>/<kind>:
// data_file_dirs("scpi_psu", "models").
std::vector<std::filesystem::path> data_file_dirs(std::string_view folder, std::string_view kind);

// The names (stems of *.yaml) in `dirs`, sorted, each once.
std::vector<std::string> data_file_names(const std::vector<std::filesystem::path>& dirs);

// The first <dir>/<name>.yaml that exists; nullopt when there is none, or when `name` is not a
// plain name (empty, or with '/' or '..': a path is not a name).
std::optional<std::filesystem::path> find_data_file(const std::vector<std::filesystem::path>& dirs,
                                                    std::string_view name);

// Reads and parses a YAML file. Throws config_error "FILE: cannot read: <reason>" or
// "FILE:line:col: YAML syntax error: <what>".
YAML::Node load_yaml_file(const std::filesystem::path& file);

}  // namespace hilt
