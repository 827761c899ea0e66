#include "hilt/emu/emulation.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "hilt/error.hpp"
#include "hilt/units.hpp"
#include "yaml_checked.hpp"

namespace hilt::emu {

using detail::as_bool;
using detail::as_int;
using detail::as_number;
using detail::as_quantity;
using detail::as_string;
using detail::checked_map;
using detail::fail_at;

result<std::shared_ptr<hilt::i2c_bus>> bench_emulation::i2c(std::string_view name) {
  auto it = buses_.find(name);
  if (it == buses_.end()) return failure(make_error_code(errc::device_not_found));
  return std::shared_ptr<hilt::i2c_bus>(it->second);
}

std::vector<std::string> bench_emulation::describe() const {
  std::vector<std::string> out;
  out.reserve(modules_.size());
  for (const auto& m : modules_)
    out.push_back(m->describe());
  return out;
}

std::shared_ptr<emu_i2c_bus> bench_emulation::bus(const std::string& name) {
  auto it = buses_.find(name);
  if (it != buses_.end()) return it->second;
  auto b = std::make_shared<emu_i2c_bus>(name);
  buses_.emplace(name, b);
  return b;
}

std::unique_ptr<hilt::emulation> make_emulation(const YAML::Node& section,
                                                const hilt::emulation_env& env) {
  const std::string& src = env.source;
  checked_map top(section, src, "emulation", {"ambient", "modules"});
  double ambient = 25.0;
  if (auto n = top.get("ambient"); n.IsDefined()) {
    ambient = as_quantity(n, src, "ambient", hilt::dimension::temperature, -60, 150);
  }
  auto modules_node = top.get("modules");

  auto w = std::make_shared<world>(env.clock, env.seed, ambient);
  auto emu = std::make_unique<bench_emulation>(w);
  if (!modules_node.IsDefined() || modules_node.IsNull()) return emu;
  if (!modules_node.IsSequence()) fail_at(src, modules_node, "'modules' expects a list");

  // Profile paths are relative to the fixture file.
  const std::filesystem::path base = std::filesystem::path(src).parent_path();
  std::map<std::string, module_profile> profiles;
  std::set<std::pair<std::string, unsigned>> taken;
  std::uint64_t index = 0;
  for (const auto& mn : modules_node) {
    checked_map m(
        mn, src, "emulated module",
        {"bus", "address", "profile", "serial", "lpmode_pin", "boot", "rx_loss", "faults"});
    const std::string bus_name = as_string(m.require("bus"), src, "bus");
    if (bus_name.empty()) fail_at(src, mn, "'bus' must not be empty");
    unsigned addr = 0x50;
    auto addr_node = m.get("address");
    if (addr_node.IsDefined())
      addr = static_cast<unsigned>(as_int(addr_node, src, "address", 0x03, 0x77));

    auto pn = m.require("profile");
    const std::string rel = as_string(pn, src, "profile");
    const std::string path = (base / rel).lexically_normal().string();
    if (!profiles.count(path)) {
      if (!std::filesystem::exists(path)) {
        fail_at(src, pn, fmt::format("profile '{}' not found (looked for {})", rel, path));
      }
      profiles.emplace(path, load_profile(path));
    }

    cmis_module_options opts;
    opts.label = fmt::format("{}@0x{:02x}", bus_name, addr);
    if (auto n = m.get("serial"); n.IsDefined()) {
      opts.serial = as_string(n, src, "serial");
      if (opts.serial.empty() || opts.serial.size() > 16) {
        fail_at(src, n, "'serial' must be 1 to 16 characters (00h:166-181)");
      }
      for (char c : opts.serial) {
        if (c < 0x20 || c > 0x7E) fail_at(src, n, "'serial' must be printable ASCII");
      }
    }
    if (auto n = m.get("lpmode_pin"); n.IsDefined())
      opts.lpmode_pin = as_bool(n, src, "lpmode_pin");
    if (auto n = m.get("boot"); n.IsDefined()) {
      const std::string b = as_string(n, src, "boot");
      if (b == "cold") {
        opts.cold_boot = true;
      } else if (b != "settled") {
        fail_at(src, n, fmt::format("'boot' expects 'settled' or 'cold', got '{}'", b));
      }
    }
    if (auto n = m.get("rx_loss"); n.IsDefined()) {
      opts.rx_loss_db = as_quantity(n, src, "rx_loss", hilt::dimension::ratio_db, 0, 40);
    }
    target_faults faults;
    if (auto fn = m.get("faults"); fn.IsDefined()) {
      checked_map f(fn, src, "faults", {"nack_rate"});
      if (auto n = f.get("nack_rate"); n.IsDefined()) {
        faults.nack_rate = as_number(n, src, "nack_rate", 0.0, 1.0);
      }
    }

    if (!taken.emplace(bus_name, addr).second) {
      fail_at(src, addr_node.IsDefined() ? addr_node : YAML::Node(mn),
              fmt::format("bus '{}' already has a module at 0x{:02x}", bus_name, addr));
    }
    const std::uint64_t module_seed = w->derive_seed(2 * index + 1);
    faults.seed = w->derive_seed(2 * index + 2);
    auto mod = std::make_shared<cmis_module>(w, profiles.at(path), opts, module_seed);
    emu->bus(bus_name)->attach(static_cast<std::uint8_t>(addr), mod, faults);
    emu->add_module(std::move(mod));
    ++index;
  }
  return emu;
}

}  // namespace hilt::emu
