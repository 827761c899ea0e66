#include "hilt/fixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "hilt/driver.hpp"
#include "hilt/step.hpp"
#include "hilt/version.hpp"

namespace hilt {

std::string read_text_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw config_error(file.string(), "cannot read: is a directory");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error(file.string(), fmt::format("cannot read: {}", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path default_fixture_path() {
  if (const char* env = std::getenv("HILT_FIXTURE"); env && *env) return env;
  const std::filesystem::path src =
      std::filesystem::path(source_dir) / "fixtures/emulated-bench.yaml";
  std::error_code ec;
  if (std::filesystem::exists(src, ec)) return src;
  return std::filesystem::path(data_install_dir) / "fixtures/emulated-bench.yaml";
}

const fixture::device_entry* fixture::find_device(std::string_view n) const noexcept {
  for (const auto& d : devices) {
    if (d.name == n) return &d;
  }
  return nullptr;
}

namespace {

// Collects every problem instead of stopping at the first, so `hilt validate` reports them all.
struct checker {
  std::string file;
  std::vector<config_error> errors;

  void add(const YAML::Node& at, std::string msg) { errors.emplace_back(where(file, at), msg); }
  void add(const YAML::Mark& at, std::string msg) { errors.emplace_back(where(file, at), msg); }

  void known_keys(const YAML::Node& map, std::initializer_list<std::string_view> keys,
                  std::string_view what) {
    for (const auto& kv : map) {
      // A list or mapping used as a key ("{? [a, b] : c}") has no string form: as<std::string>()
      // would throw YAML::TypedBadConversion, and `hilt` would report an internal error instead of
      // file:line:col (found by tests/fuzz/fixture_loader).
      if (!kv.first.IsScalar() && !kv.first.IsNull()) {
        add(kv.first, fmt::format("a key in {} must be a single value, not a {}", what,
                                  kv.first.IsSequence() ? "list" : "mapping"));
        continue;
      }
      const auto k = kv.first.as<std::string>();
      bool ok = false;
      std::string list;
      for (auto key : keys) {
        ok = ok || key == k;
        list += list.empty() ? "" : ", ";
        list += key;
      }
      if (!ok)
        add(kv.first, fmt::format("unknown key '{}' in {}; expected one of: {}", k, what, list));
    }
  }

  std::optional<std::string> scalar(const YAML::Node& map, const char* key,
                                    const YAML::Node& parent, bool required,
                                    std::string_view what) {
    const YAML::Node n = map[key];
    if (!n) {
      if (required) add(parent, fmt::format("{} needs '{}'", what, key));
      return std::nullopt;
    }
    if (!n.IsScalar()) {
      add(n, fmt::format("'{}' must be a single value", key));
      return std::nullopt;
    }
    return n.as<std::string>();
  }
};

fixture parse(const std::string& source_text, const std::filesystem::path& file,
              const driver_registry* registry, checker& c) {
  fixture f;
  f.path = file.string();
  f.text = source_text;
  YAML::Node root;
  try {
    root = YAML::Load(f.text);
  } catch (const YAML::Exception& e) {
    c.add(e.mark, fmt::format("YAML syntax error: {}", e.msg));
    return f;
  }
  if (!root.IsMap()) {
    c.add(root, "a fixture must be a mapping with a 'fixture:' key");
    return f;
  }
  if (!root["fixture"]) {
    c.add(root, root["sequence"] ? "this is a sequence, not a fixture (it has 'sequence:')"
                                 : "a fixture needs a 'fixture:' key naming it");
  }
  c.known_keys(
      root,
      {"fixture", "description", "clock", "seed", "calibration", "emulation", "devices", "duts"},
      "a fixture");
  if (auto n = c.scalar(root, "fixture", root, false, "a fixture")) f.name = *n;
  if (auto d = c.scalar(root, "description", root, false, "a fixture")) f.description = *d;
  if (auto ck = c.scalar(root, "clock", root, false, "a fixture")) {
    try {
      f.clock = parse_clock_mode(*ck);
    } catch (const config_error& e) {
      c.add(root["clock"], e.message());
    }
  }
  if (auto s = c.scalar(root, "seed", root, false, "a fixture")) {
    char* end = nullptr;
    errno = 0;
    const auto v = std::strtoull(s->c_str(), &end, 10);
    if (s->empty() || *end != '\0' || errno != 0 || (*s)[0] == '-') {
      c.add(root["seed"], fmt::format("seed must be a non-negative integer, got '{}'", *s));
    } else {
      f.seed = v;
    }
  }
  auto policy = [&](const YAML::Node& map, const YAML::Node& parent,
                    const char* what) -> std::optional<calibration_policy> {
    auto text = c.scalar(map, "calibration", parent, false, what);
    if (!text) return std::nullopt;
    auto p = parse_calibration_policy(*text);
    if (!p) {
      c.add(map["calibration"],
            fmt::format("calibration must be warn, refuse or ignore, got '{}'", *text));
    }
    return p;
  };
  if (auto p = policy(root, root, "a fixture")) f.calibration = *p;
  if (root["emulation"]) {
    if (!root["emulation"].IsMap())
      c.add(root["emulation"], "'emulation' must be a mapping");
    else
      f.emulation = root["emulation"];
  }

  const YAML::Node devs = root["devices"];
  if (!devs) {
    c.add(root, "a fixture needs a 'devices:' list");
  } else if (!devs.IsSequence()) {
    c.add(devs, "'devices' must be a list");
  } else {
    for (const auto& d : devs) {
      if (!d.IsMap()) {
        c.add(d, "each device must be a mapping with 'name' and 'address'");
        continue;
      }
      c.known_keys(d, {"name", "address", "options", "calibration_due", "calibration"}, "a device");
      fixture::device_entry e;
      e.where = where(c.file, d);
      auto name = c.scalar(d, "name", d, true, "a device");
      auto addr = c.scalar(d, "address", d, true, "a device");
      if (name) {
        e.name = *name;
        if (f.find_device(e.name))
          c.add(d["name"], fmt::format("device '{}' is defined twice", e.name));
      }
      if (addr) {
        try {
          e.address = address::parse(*addr);
          if (registry && !registry->find(e.address.driver)) {
            std::string known;
            for (const auto* r : registry->all())
              known += (known.empty() ? "" : ", ") + r->drv->info().name;
            c.add(d["address"],
                  fmt::format("no driver named '{}' (registered: {}; see `hilt drivers`)",
                              e.address.driver, known));
          }
        } catch (const config_error& err) {
          c.add(d["address"], err.message());
        }
      }
      if (d["options"]) {
        if (!d["options"].IsMap())
          c.add(d["options"], "'options' must be a mapping");
        else
          e.options = d["options"];
      }
      if (auto cal = c.scalar(d, "calibration_due", d, false, "a device")) {
        if (!parse_iso_date(*cal)) {
          c.add(d["calibration_due"],
                fmt::format("calibration_due must be a date YYYY-MM-DD, got '{}'", *cal));
        } else {
          e.calibration_due = *cal;
        }
      }
      e.calibration = policy(d, d, "a device");
      if (name && addr) f.devices.push_back(std::move(e));
    }
  }

  const YAML::Node duts = root["duts"];
  if (duts && !duts.IsSequence()) {
    c.add(duts, "'duts' must be a list");
  } else if (duts) {
    std::set<int> slots;
    std::set<std::string> names;
    for (const auto& d : duts) {
      if (!d.IsMap()) {
        c.add(d, "each DUT must be a mapping with 'slot' and 'module'");
        continue;
      }
      c.known_keys(d, {"slot", "name", "module"}, "a DUT");
      fixture::dut_entry e;
      e.where = where(c.file, d);
      auto slot = c.scalar(d, "slot", d, true, "a DUT");
      auto mod = c.scalar(d, "module", d, true, "a DUT");
      if (slot) {
        char* end = nullptr;
        const long v = std::strtol(slot->c_str(), &end, 10);
        if (slot->empty() || *end != '\0' || v < 1 || v > 100000) {
          c.add(d["slot"], fmt::format("slot must be a positive integer, got '{}'", *slot));
          slot.reset();
        } else if (!slots.insert(static_cast<int>(v)).second) {
          c.add(d["slot"], fmt::format("slot {} is used twice", v));
        } else {
          e.slot = static_cast<int>(v);
        }
      }
      if (mod) {
        e.module = *mod;
        if (!f.find_device(*mod)) {
          c.add(d["module"], fmt::format("DUT module '{}' is not a device of this fixture", *mod));
        }
      }
      e.name = d["name"] && d["name"].IsScalar() ? d["name"].as<std::string>()
                                                 : fmt::format("slot{}", e.slot);
      if (!names.insert(e.name).second)
        c.add(d, fmt::format("DUT name '{}' is used twice", e.name));
      if (slot && mod) f.duts.push_back(std::move(e));
    }
  }
  return f;
}

// (line, column) of a "file:line:col" location, for reporting problems in file order.
std::pair<long, long> position(const std::string& w) {
  const auto c2 = w.rfind(':');
  const auto c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : w.rfind(':', c2 - 1);
  if (c1 == std::string::npos) return {0, 0};
  return {std::strtol(w.c_str() + c1 + 1, nullptr, 10),
          std::strtol(w.c_str() + c2 + 1, nullptr, 10)};
}

void sort_by_position(std::vector<config_error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const config_error& a, const config_error& b) {
    return position(a.where()) < position(b.where());
  });
}

}  // namespace

fixture load_fixture(const std::filesystem::path& file, const driver_registry* registry) {
  return load_fixture_text(read_text_file(file), file, registry);
}

fixture load_fixture_text(const std::string& text, const std::filesystem::path& file,
                          const driver_registry* registry) {
  checker c{file.string(), {}};
  fixture f = parse(text, file, registry, c);
  sort_by_position(c.errors);
  if (!c.errors.empty()) throw c.errors.front();
  return f;
}

std::vector<config_error> check_fixture(const std::filesystem::path& file,
                                        const driver_registry& registry) {
  checker c{file.string(), {}};
  fixture f;
  try {
    f = parse(read_text_file(file), file, &registry, c);
  } catch (const config_error& e) {
    return {e};
  }
  if (f.emulation.IsMap() && registry.emulation()) {
    // Build the emulation on a throwaway clock: the factory checks every key as it builds.
    try {
      asio::io_context io;
      hilt::clock clk(io, clock_mode::virtual_time);
      registry.emulation()(f.emulation, emulation_env{&clk, f.seed, f.path});
    } catch (const config_error& e) {
      c.errors.push_back(e);
    }
  }
  sort_by_position(c.errors);
  return c.errors;
}

}  // namespace hilt
