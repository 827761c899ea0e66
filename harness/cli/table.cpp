#include <algorithm>
#include <cstdlib>

#include "cli.hpp"
#include "hilt/builtin_drivers.hpp"
#include "hilt/error.hpp"

#include <fmt/format.h>

namespace hilt::cli {

std::string table::str() const {
  std::vector<std::size_t> w(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i)
      w[i] = std::max(w[i], r[i].size());
  };
  widen(header_);
  for (const auto& r : rows_)
    widen(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string l;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string& c = i < r.size() ? r[i] : std::string();
      l += c;
      if (i + 1 < w.size()) l += std::string(w[i] - c.size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ')
      l.pop_back();
    out += l + '\n';
  };
  line(header_);
  std::vector<std::string> rule;
  for (auto n : w)
    rule.emplace_back(n, '-');
  line(rule);
  for (const auto& r : rows_)
    line(r);
  return out;
}

void error_line(const std::string& message) {
  fmt::print(stderr, "hilt: {}\n", message);
}

std::string resolve_db(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("HILT_DB"); env && *env) return env;
  return "hilt.db";
}

void app_state::load_drivers() {
  if (plugins_loaded) return;
  plugins_loaded = true;
  register_builtin_drivers(registry);
  plugin_problems = registry.load_plugins(driver_registry::default_plugin_path());
}

}  // namespace hilt::cli
