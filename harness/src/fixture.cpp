#include "hilt/fixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "hilt/driver.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"
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

// ---------------------------------------------------------------------------------------------
// links: (hilt/links.hpp)

// The device class a fixture device has, as far as its driver says (nullopt: not known here).
std::optional<device_class> class_of(const fixture& f, const driver_registry* registry,
                                     std::string_view name) {
  const auto* d = f.find_device(name);
  if (!d || !registry) return std::nullopt;
  const auto* r = registry->find(d->address.driver);
  if (!r || r->drv->info().classes.size() != 1) return std::nullopt;
  return r->drv->info().classes.front();
}

std::optional<std::vector<int>> lane_list(checker& c, const YAML::Node& n, const char* key) {
  std::vector<int> out;
  std::string error;
  if (n.IsSequence()) {
    for (const auto& e : n) {
      std::vector<int> one = e.IsScalar() ? parse_lane_list(e.Scalar(), error) : std::vector<int>{};
      if (!e.IsScalar() || one.size() != 1) {
        c.add(e, fmt::format("each entry of '{}' must be one lane number from 1 to 64", key));
        return std::nullopt;
      }
      out.push_back(one.front());
    }
  } else if (n.IsScalar()) {
    out = parse_lane_list(n.Scalar(), error);
  }
  if (!error.empty() || (!n.IsScalar() && !n.IsSequence())) {
    c.add(n, fmt::format("'{}' must be lanes like 1-8, 1,3,5 or a list of numbers{}{}", key,
                         error.empty() ? "" : ": ", error));
    return std::nullopt;
  }
  if (out.empty()) {
    c.add(n, fmt::format("'{}' names no lane", key));
    return std::nullopt;
  }
  std::set<int> seen;
  for (int l : out) {
    if (!seen.insert(l).second) {
      c.add(n, fmt::format("'{}' names lane {} twice", key, l));
      return std::nullopt;
    }
  }
  return out;
}

std::optional<double> loss_db(checker& c, const YAML::Node& n, const char* key) {
  if (!n.IsScalar()) {
    c.add(n, fmt::format("'{}' must be a loss in dB, like 3 dB", key));
    return std::nullopt;
  }
  std::string why;
  auto q = parse_quantity(n.Scalar(), &why);
  if (!q || q->dim != dimension::ratio_db) {
    c.add(n, fmt::format("'{}' must be a loss in dB, like 3 dB; got '{}'", key, n.Scalar()));
    return std::nullopt;
  }
  if (!(q->value >= 0 && q->value <= 100)) {
    c.add(n, fmt::format("'{}' must be between 0 and 100 dB, got {} dB", key, q->value));
    return std::nullopt;
  }
  return q->value;
}

void parse_links(const YAML::Node& links, fixture& f, const driver_registry* registry, checker& c) {
  if (!links) return;
  if (!links.IsSequence()) {
    c.add(links, "'links' must be a list of links (asic:, loopback: or fiber: entries)");
    return;
  }
  // A device named by a link must exist and be of the right class.
  auto device_ref = [&](const YAML::Node& n, const char* key, device_class want,
                        std::string_view text) -> bool {
    if (!f.find_device(text)) {
      c.add(n, fmt::format("'{}': '{}' is not a device of this fixture", key, text));
      return false;
    }
    if (auto k = class_of(f, registry, text); k && *k != want) {
      c.add(n, fmt::format("'{}': device '{}' is of class {}; a link's '{}' needs class {}", key,
                           text, to_string(*k), key, to_string(want)));
      return false;
    }
    return true;
  };
  // Every lane end is used once: "asic0/1 lane 3", "m1 host lane 2", "m1 media lane 4".
  std::map<std::string, std::string> used;  // end -> where it was first used
  auto claim = [&](const YAML::Node& at, const std::string& end) {
    auto [it, fresh] = used.emplace(end, where(c.file, at));
    if (!fresh) c.add(at, fmt::format("{} is already linked at {}", end, it->second));
  };
  for (const auto& l : links) {
    if (!l.IsMap()) {
      c.add(l, "each link must be a mapping with 'asic:', 'loopback:' or 'fiber:'");
      continue;
    }
    const int kinds = (l["asic"] ? 1 : 0) + (l["loopback"] ? 1 : 0) + (l["fiber"] ? 1 : 0);
    if (kinds != 1) {
      c.add(l, kinds == 0 ? "a link needs one of 'asic:' (electrical), 'loopback:' (a loopback "
                            "plug) or 'fiber:' (a fiber pair)"
                          : "a link has exactly one of 'asic:', 'loopback:' and 'fiber:'");
      continue;
    }
    if (l["asic"]) {
      c.known_keys(l, {"asic", "asic_lanes", "module", "host_lanes", "loss"}, "an electrical link");
      electrical_link e;
      e.where = where(c.file, l);
      bool ok = true;
      auto asic = c.scalar(l, "asic", l, true, "an electrical link");
      auto module = c.scalar(l, "module", l, true, "an electrical link");
      if (asic) {
        const auto slash = asic->rfind('/');
        char* end = nullptr;
        const long port =
            slash == std::string::npos ? 0 : std::strtol(asic->c_str() + slash + 1, &end, 10);
        if (slash == std::string::npos || slash == 0 || !end || *end != '\0' || port < 1 ||
            port > 1024) {
          c.add(l["asic"],
                fmt::format("'asic' must be DEVICE/PORT, like asic0/1; got '{}'", *asic));
          ok = false;
        } else {
          e.asic = asic->substr(0, slash);
          e.port = static_cast<int>(port);
          ok = device_ref(l["asic"], "asic", device_class::switch_asic, e.asic) && ok;
        }
      } else {
        ok = false;
      }
      if (module) {
        e.module = *module;
        ok = device_ref(l["module"], "module", device_class::managed_module, e.module) && ok;
      } else {
        ok = false;
      }
      if (!l["host_lanes"]) {
        c.add(l, "an electrical link needs 'host_lanes' (the module's host lanes, like 1-8)");
        ok = false;
      } else if (auto h = lane_list(c, l["host_lanes"], "host_lanes")) {
        e.host_lanes = *h;
      } else {
        ok = false;
      }
      if (l["asic_lanes"]) {
        if (auto a = lane_list(c, l["asic_lanes"], "asic_lanes")) {
          e.asic_lanes = *a;
          if (!e.host_lanes.empty() && e.asic_lanes.size() != e.host_lanes.size()) {
            c.add(l["asic_lanes"],
                  fmt::format("'asic_lanes' names {} lanes but 'host_lanes' {}: they pair up one "
                              "to one",
                              e.asic_lanes.size(), e.host_lanes.size()));
            ok = false;
          }
        } else {
          ok = false;
        }
      } else {
        for (std::size_t i = 0; i < e.host_lanes.size(); ++i)
          e.asic_lanes.push_back(static_cast<int>(i) + 1);
      }
      if (l["loss"]) {
        if (auto v = loss_db(c, l["loss"], "loss"))
          e.loss_db = *v;
        else
          ok = false;
      }
      if (!ok) continue;
      for (std::size_t i = 0; i < e.host_lanes.size(); ++i) {
        claim(l, fmt::format("{}/{} lane {}", e.asic, e.port, e.asic_lanes[i]));
        claim(l, fmt::format("{} host lane {}", e.module, e.host_lanes[i]));
      }
      f.links.electrical.push_back(std::move(e));
      continue;
    }
    // Media side.
    optical_link o;
    o.where = where(c.file, l);
    bool ok = true;
    if (l["loopback"]) {
      c.known_keys(l, {"module", "loopback", "media_lanes", "attenuator"}, "a loopback link");
      if (auto m = c.scalar(l, "module", l, true, "a loopback link")) {
        o.a = *m;
        ok = device_ref(l["module"], "module", device_class::managed_module, o.a) && ok;
      } else {
        ok = false;
      }
      if (auto v = loss_db(c, l["loopback"], "loopback"))
        o.loss_db = *v;
      else
        ok = false;
    } else {
      c.known_keys(l, {"fiber", "media_lanes", "loss", "attenuator"}, "a fiber link");
      const YAML::Node fb = l["fiber"];
      if (!fb.IsSequence() || fb.size() != 2 || !fb[0].IsScalar() || !fb[1].IsScalar()) {
        c.add(fb, "'fiber' must name the two modules it joins, like [m1, m2]");
        ok = false;
      } else {
        o.a = fb[0].Scalar();
        o.b = fb[1].Scalar();
        ok = device_ref(fb[0], "fiber", device_class::managed_module, o.a) && ok;
        ok = device_ref(fb[1], "fiber", device_class::managed_module, o.b) && ok;
        if (ok && o.a == o.b) {
          c.add(fb, fmt::format("'fiber' joins '{}' to itself: use 'loopback:' for a loopback "
                                "plug",
                                o.a));
          ok = false;
        }
      }
      if (l["loss"]) {
        if (auto v = loss_db(c, l["loss"], "loss"))
          o.loss_db = *v;
        else
          ok = false;
      }
    }
    if (l["media_lanes"]) {
      if (auto m = lane_list(c, l["media_lanes"], "media_lanes"))
        o.media_lanes = *m;
      else
        ok = false;
    }
    if (l["attenuator"]) {
      if (auto a = c.scalar(l, "attenuator", l, false, "a link")) {
        o.attenuator = *a;
        ok = device_ref(l["attenuator"], "attenuator", device_class::optical_attenuator,
                        o.attenuator) &&
             ok;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    // Without media_lanes a link takes every media lane: claim the module as a whole, so that a
    // second link on the same module is caught whatever its lanes.
    auto claim_media = [&](const std::string& m) {
      if (o.media_lanes.empty()) {
        claim(l, fmt::format("{} media lanes", m));
        for (const auto& [end, at] : used) {
          if (end.rfind(m + " media lane ", 0) == 0)
            c.add(l, fmt::format("{} is already linked at {}", end, at));
        }
      } else {
        if (auto it = used.find(m + " media lanes"); it != used.end())
          c.add(l, fmt::format("{} media lanes are already linked at {}", m, it->second));
        for (int lane : o.media_lanes)
          claim(l, fmt::format("{} media lane {}", m, lane));
      }
    };
    claim_media(o.a);
    if (!o.loopback()) claim_media(o.b);
    f.links.optical.push_back(std::move(o));
  }
}

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
  c.known_keys(root,
               {"fixture", "description", "clock", "seed", "calibration", "emulation", "devices",
                "links", "duts"},
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

  parse_links(root["links"], f, registry, c);

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
      auto emu = registry.emulation()(f.emulation, emulation_env{&clk, f.seed, f.path});
      if (emu) emu->connect(emulated_links(f));
    } catch (const config_error& e) {
      c.errors.push_back(e);
    }
  }
  sort_by_position(c.errors);
  return c.errors;
}

link_map emulated_links(const fixture& f) {
  // name -> the emulation's name for it, for the devices that sit behind an emulated wire.
  auto emulated = [&](const std::string& device) -> std::optional<std::string> {
    const auto* d = f.find_device(device);
    if (!d) return std::nullopt;
    if (d->address.transport == "emu-tcp") return d->address.target;
    if (d->address.transport == "emu-i2c") {
      try {
        const auto t = i2c_target::parse(d->address.target);
        return fmt::format("{}@0x{:02x}", t.bus, t.addr);
      } catch (const config_error&) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  };
  link_map out;
  for (auto e : f.links.electrical) {
    auto a = emulated(e.asic);
    auto m = emulated(e.module);
    if (!a || !m) continue;
    e.asic = *a;
    e.module = *m;
    out.electrical.push_back(std::move(e));
  }
  for (auto o : f.links.optical) {
    auto a = emulated(o.a);
    if (!a) continue;
    o.a = *a;
    if (!o.b.empty()) {
      auto b = emulated(o.b);
      if (!b) continue;
      o.b = *b;
    }
    if (!o.attenuator.empty()) {
      // A real attenuator between emulated modules cannot act on emulated light: the link is
      // modelled without it.
      auto v = emulated(o.attenuator);
      o.attenuator = v ? *v : std::string{};
    }
    out.optical.push_back(std::move(o));
  }
  return out;
}

}  // namespace hilt
