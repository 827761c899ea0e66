#include "hilt/data_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/step.hpp"
#include "hilt/version.hpp"

namespace hilt {

std::vector<std::filesystem::path> data_file_dirs(std::string_view folder, std::string_view kind) {
  std::vector<std::filesystem::path> dirs;
  const auto src = std::filesystem::path(source_dir) / "drivers" / folder / kind;
  std::error_code ec;
  if (std::filesystem::is_directory(src, ec)) dirs.push_back(src);
  dirs.push_back(std::filesystem::path(data_install_dir) / folder / kind);
  return dirs;
}

std::vector<std::string> data_file_names(const std::vector<std::filesystem::path>& dirs) {
  std::vector<std::string> names;
  for (const auto& d : dirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(d, ec)) {
      if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::optional<std::filesystem::path> find_data_file(const std::vector<std::filesystem::path>& dirs,
                                                    std::string_view name) {
  const bool plain = !name.empty() && name.find('/') == std::string_view::npos &&
                     name.find("..") == std::string_view::npos;
  if (!plain) return std::nullopt;
  for (const auto& d : dirs) {
    const auto p = d / (std::string(name) + ".yaml");
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

YAML::Node load_yaml_file(const std::filesystem::path& file) {
  const std::string src = file.string();
  const std::string bytes = read_text_file(file);
  try {
    return YAML::Load(bytes);
  } catch (const YAML::Exception& e) {
    throw config_error(where(src, e.mark), fmt::format("YAML syntax error: {}", e.msg));
  }
}

}  // namespace hilt
