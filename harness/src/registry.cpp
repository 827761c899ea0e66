#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include "hilt/driver.hpp"
#include "hilt/version.hpp"

namespace hilt {

void driver_registry::add(std::shared_ptr<const driver> drv, std::string origin) {
  if (!drv) throw std::logic_error("driver_registry::add: null driver");
  const std::string name = drv->info().name;
  if (name.empty()) throw std::logic_error("driver_registry::add: driver without a name");
  if (drivers_.contains(name)) {
    throw std::logic_error(
        fmt::format("driver '{}' is already registered by {}", name, drivers_.at(name).origin));
  }
  drivers_.emplace(name, registered_driver{std::move(drv), std::move(origin)});
}

const registered_driver* driver_registry::find(std::string_view name) const noexcept {
  auto it = drivers_.find(name);
  return it == drivers_.end() ? nullptr : &it->second;
}

std::vector<const registered_driver*> driver_registry::all() const {
  std::vector<const registered_driver*> out;
  out.reserve(drivers_.size());
  for (const auto& [name, d] : drivers_)
    out.push_back(&d);
  return out;  // std::map: already sorted by name
}

std::string driver_registry::default_plugin_path() {
  std::string path;
  if (const char* env = std::getenv("HILT_PLUGIN_PATH"); env && *env) path = env;
  if (!path.empty()) path += ':';
  path += plugin_install_dir;
  path += ':';
  path += plugin_build_dir;  // absent once installed elsewhere: skipped like any missing directory
  return path;
}

std::vector<plugin_problem> driver_registry::load_plugins(const std::string& path) {
  std::vector<plugin_problem> problems;
  // A directory named twice on the path (HILT_PLUGIN_PATH also naming the default) is scanned once.
  std::vector<std::filesystem::path> seen;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find(':', start), path.size());
    const std::filesystem::path dir = path.substr(start, end - start);
    start = end + 1;
    std::error_code ec;
    if (dir.empty() || !std::filesystem::is_directory(dir, ec)) continue;  // absent dirs are fine
    const auto canonical = std::filesystem::weakly_canonical(dir, ec);
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    seen.push_back(canonical);
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());  // deterministic order: first claim of a name wins
    for (const auto& f : files) {
      if (auto p = load_plugin(f)) problems.push_back(std::move(*p));
    }
  }
  return problems;
}

std::optional<plugin_problem> driver_registry::load_plugin(const std::filesystem::path& file) {
  const std::string f = file.string();
  // RTLD_LOCAL: a plugin's symbols must not leak into the next plugin's resolution.
  void* h = ::dlopen(f.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* err = ::dlerror();
    return plugin_problem{f, fmt::format("cannot load: {}", err ? err : "unknown dlopen error")};
  }
  std::shared_ptr<void> handle(h, [](void* p) { ::dlclose(p); });
  using abi_fn = int (*)();
  using reg_fn = void (*)(plugin_registrar&);
  auto abi = reinterpret_cast<abi_fn>(::dlsym(h, "hilt_plugin_abi_version"));
  auto reg = reinterpret_cast<reg_fn>(::dlsym(h, "hilt_plugin_register"));
  if (!abi || !reg) {
    return plugin_problem{f,
                          "not a hilt plugin: missing hilt_plugin_abi_version or "
                          "hilt_plugin_register (use the HILT_PLUGIN macro)"};
  }
  const int v = abi();
  if (v != plugin_abi_version) {
    return plugin_problem{f, fmt::format("plugin ABI version {}, this hilt needs {}; rebuild the "
                                         "plugin against hilt {}",
                                         v, plugin_abi_version, version)};
  }
  // Register into a scratch registry first so that a plugin that throws or clashes leaves the
  // real one untouched.
  driver_registry scratch;
  try {
    plugin_registrar r(scratch, f);
    reg(r);
  } catch (const std::exception& e) {
    return plugin_problem{f, fmt::format("registration failed: {}", e.what())};
  } catch (...) {
    return plugin_problem{f, "registration failed: unknown exception"};
  }
  if (scratch.drivers_.empty()) return plugin_problem{f, "plugin registered no driver"};
  for (const auto& [name, d] : scratch.drivers_) {
    if (const auto* existing = find(name)) {
      return plugin_problem{
          f, fmt::format("driver '{}' is already registered by {}", name, existing->origin)};
    }
  }
  for (auto& [name, d] : scratch.drivers_)
    drivers_.emplace(name, std::move(d));
  handles_.push_back(std::move(handle));
  return std::nullopt;
}

}  // namespace hilt
