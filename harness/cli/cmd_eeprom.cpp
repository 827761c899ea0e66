// hilt eeprom dump [--fixture F] --device D --out FILE
// hilt eeprom decode FILE [--json]
//
// dump: reads every page a module advertises through its driver (drivers/cmis) and writes the
// Linux optoe linear layout (lower memory at 0-127; page P of bank K at (K*256+P)*128+128).
// decode: decodes such a file — a full dump, or only lower memory + page 00h — with the driver's
// decoders (hilt/cmis/eeprom.hpp): CMIS 3.0-5.x (paged and flat), SFF-8636, SFF-8472.
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "hilt/bench.hpp"
#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"
#include "hilt/watchdog.hpp"

namespace hilt::cli {

namespace {

using hilt::cmis::module_report;

std::string side_text(hilt::side s) {
  return std::string(to_string(s));
}

std::string value_text(double v, const std::string& unit) {
  if (unit.empty()) return fmt::format("{:.3g}", v);
  if (unit == "raw") return fmt::format("{:g}", v);
  if (unit == "V") return fmt::format("{:.4f} V", v);
  if (unit == "mA") return fmt::format("{:.3f} mA", v);
  if (unit == "dBm") return fmt::format("{:.2f} dBm ({:.4f} mW)", v, std::pow(10.0, v / 10.0));
  return fmt::format("{:.2f} {}", v, unit);
}

std::string lane_label(const std::string& name, int lane, hilt::side s) {
  if (lane < 0) return name;
  std::string out = fmt::format("{} lane {}", name, lane);
  if (s != hilt::side::none) out += fmt::format(" ({})", side_text(s));
  return out;
}

std::string join(const std::vector<std::string>& v, const char* none = "none") {
  if (v.empty()) return none;
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

void print_text(const module_report& r, const std::string& file) {
  auto line = [](const std::string& label, const std::string& value) {
    fmt::print("{:<24}: {}\n", label, value);
  };
  line("File", file);
  line("Identifier", fmt::format("0x{:02x} ({})", r.identifier, r.identifier_name));
  line("Specification",
       fmt::format("{} {}, {} memory", to_string(r.spec), r.spec_revision, r.memory_model));
  line("Vendor", r.vendor);
  line("Vendor OUI", r.vendor_oui);
  line("Part number", r.part_number);
  line("Revision", r.revision);
  line("Serial number", r.serial);
  line("Date code", r.date_code == r.date_code_raw
                        ? r.date_code
                        : fmt::format("{} ({})", r.date_code, r.date_code_raw));
  if (!r.clei.empty()) line("CLEI", r.clei);
  line("Power class", r.power_class ? std::to_string(*r.power_class) : "unknown");
  line("Max power", r.max_power_w ? fmt::format("{:.2f} W", *r.max_power_w) : "unknown");
  line("Module state", r.module_state_code
                           ? fmt::format("{} (0x{:02x})", r.module_state, *r.module_state_code)
                           : r.module_state);
  if (!r.firmware.empty()) line("Firmware", r.firmware);
  if (r.spec == hilt::cmis::mgmt_spec::cmis) {
    line("Media type", fmt::format("0x{:02x} ({})", r.media_type_code, r.media_type));
  }
  if (r.connector_code)
    line("Connector", fmt::format("0x{:02x} ({})", *r.connector_code, r.connector));
  if (!r.applications.empty()) {
    fmt::print("Applications:\n");
    for (const auto& a : r.applications) {
      fmt::print(
          "  {:>2}  {} (0x{:02x}) / {} (0x{:02x}), host lanes {} (first-lane mask 0x{:02x}), "
          "media lanes {}{}\n",
          a.appsel, a.host_name, a.host_id, a.media_name, a.media_id, a.host_lanes,
          a.host_lane_options, a.media_lanes,
          a.media_lane_options ? fmt::format(" (first-lane mask 0x{:02x})", *a.media_lane_options)
                               : std::string());
    }
  }
  if (!r.lanes.empty()) {
    fmt::print("Lanes:\n");
    for (const auto& l : r.lanes) {
      std::string s = fmt::format("  {:>2}  {}", l.lane, l.dp_state.empty() ? "-" : l.dp_state);
      if (!l.config_status.empty()) s += "  " + l.config_status;
      if (l.active_appsel >= 0) s += fmt::format("  AppSel {}", l.active_appsel);
      if (l.dp_deinit && *l.dp_deinit) s += "  DPDeinit";
      if (l.tx_disabled) s += *l.tx_disabled ? "  tx disabled" : "  tx enabled";
      fmt::print("{}\n", s);
    }
  }
  if (!r.monitors.empty()) {
    fmt::print("Monitors:\n");
    for (const auto& m : r.monitors)
      fmt::print("  {:<28} {}\n", lane_label(m.name, m.lane, m.side), value_text(m.value, m.unit));
  }
  if (!r.thresholds.empty()) {
    fmt::print("Thresholds:{:<17} {:>12} {:>12} {:>12} {:>12}\n", "", "high alarm", "low alarm",
               "high warn", "low warn");
    for (const auto& t : r.thresholds) {
      fmt::print("  {:<26} {:>12.4g} {:>12.4g} {:>12.4g} {:>12.4g}\n",
                 fmt::format("{} ({})", t.name, t.unit), t.high_alarm, t.low_alarm, t.high_warn,
                 t.low_warn);
    }
  }
  line("Flags set", join(r.flags));
  if (!r.diagnostics.empty()) {
    fmt::print("Diagnostics:\n");
    for (const auto& d : r.diagnostics)
      fmt::print("  {:<34} {}\n", lane_label(d.name, d.lane, d.side), value_text(d.value, d.unit));
  }
  for (const auto& [k, v] : r.details)
    line(k, v);
  line("Pages present", join(r.pages_present));
  line("Pages missing", join(r.pages_missing));
  for (const auto& w : r.warnings)
    line("Warning", w);
}

nlohmann::json to_json(const module_report& r, const std::string& file) {
  using nlohmann::json;
  json j;
  j["file"] = file;
  j["spec"] = to_string(r.spec);
  j["spec_revision"] = r.spec_revision;
  j["identifier"] = r.identifier;
  j["identifier_name"] = r.identifier_name;
  j["memory_model"] = r.memory_model;
  j["vendor"] = r.vendor;
  j["vendor_oui"] = r.vendor_oui;
  j["part_number"] = r.part_number;
  j["revision"] = r.revision;
  j["serial"] = r.serial;
  j["date_code"] = r.date_code;
  j["date_code_raw"] = r.date_code_raw;
  j["clei"] = r.clei;
  j["power_class"] = r.power_class ? json(*r.power_class) : json(nullptr);
  j["max_power_w"] = r.max_power_w ? json(*r.max_power_w) : json(nullptr);
  j["module_state"] = r.module_state;
  j["module_state_code"] = r.module_state_code ? json(*r.module_state_code) : json(nullptr);
  j["firmware"] = r.firmware;
  j["media_type"] = r.media_type;
  j["media_type_code"] = r.media_type_code;
  j["connector"] = r.connector;
  j["connector_code"] = r.connector_code ? json(*r.connector_code) : json(nullptr);
  j["applications"] = json::array();
  for (const auto& a : r.applications) {
    json ja{{"appsel", a.appsel},           {"host_id", a.host_id},
            {"host_name", a.host_name},     {"media_id", a.media_id},
            {"media_name", a.media_name},   {"host_lanes", a.host_lanes},
            {"media_lanes", a.media_lanes}, {"host_lane_options", a.host_lane_options}};
    ja["media_lane_options"] = a.media_lane_options ? json(*a.media_lane_options) : json(nullptr);
    j["applications"].push_back(std::move(ja));
  }
  j["lanes"] = json::array();
  for (const auto& l : r.lanes) {
    json jl{{"lane", l.lane}, {"dp_state", l.dp_state}, {"config_status", l.config_status}};
    jl["active_appsel"] = l.active_appsel >= 0 ? json(l.active_appsel) : json(nullptr);
    jl["tx_disabled"] = l.tx_disabled ? json(*l.tx_disabled) : json(nullptr);
    jl["dp_deinit"] = l.dp_deinit ? json(*l.dp_deinit) : json(nullptr);
    j["lanes"].push_back(std::move(jl));
  }
  auto values = [](const std::vector<hilt::cmis::report_value>& v) {
    json out = json::array();
    for (const auto& m : v) {
      json jm{{"name", m.name}, {"side", side_text(m.side)}, {"value", m.value}, {"unit", m.unit}};
      jm["lane"] = m.lane >= 0 ? json(m.lane) : json(nullptr);
      out.push_back(std::move(jm));
    }
    return out;
  };
  j["monitors"] = values(r.monitors);
  j["thresholds"] = json::array();
  for (const auto& t : r.thresholds) {
    j["thresholds"].push_back({{"name", t.name},
                               {"unit", t.unit},
                               {"high_alarm", t.high_alarm},
                               {"low_alarm", t.low_alarm},
                               {"high_warn", t.high_warn},
                               {"low_warn", t.low_warn}});
  }
  j["flags"] = r.flags;
  j["diagnostics"] = values(r.diagnostics);
  j["details"] = json::object();
  for (const auto& [k, v] : r.details)
    j["details"][k] = v;
  j["pages_present"] = r.pages_present;
  j["pages_missing"] = r.pages_missing;
  j["warnings"] = r.warnings;
  return j;
}

int run_decode(const std::string& file, bool json) {
  namespace fs = std::filesystem;
  std::error_code fec;
  if (!fs::exists(file, fec)) {
    error_line(fmt::format("{}: no such file", file));
    return exit_code::bad_input;
  }
  if (fs::is_directory(file, fec)) {
    error_line(fmt::format("{}: is a directory, not an EEPROM dump", file));
    return exit_code::bad_input;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error_line(fmt::format("{}: cannot open for reading", file));
    return exit_code::bad_input;
  }
  // optoe images are at most 256 banks x 256 pages x 128 bytes; refuse anything far larger
  // before reading it into memory.
  constexpr std::uintmax_t max_size = 256ull * 256 * 128 + 128;
  const auto size = fs::file_size(file, fec);
  if (!fec && size > max_size) {
    error_line(
        fmt::format("{}: {} bytes is larger than any optoe EEPROM image ({} bytes): not an "
                    "EEPROM dump",
                    file, size, max_size));
    return exit_code::bad_input;
  }
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  auto d = hilt::cmis::decode_eeprom(bytes);
  if (!d.report) {
    error_line(fmt::format("{}: {}", file, d.error));
    return exit_code::bad_input;
  }
  if (json) {
    fmt::print("{}\n", to_json(*d.report, file).dump(2));
  } else {
    print_text(*d.report, file);
  }
  return exit_code::passed;
}

struct dump_opts {
  std::string fixture, device, out;
};

int run_dump(app_state& st, const dump_opts& o) {
  st.load_drivers();
  for (const auto& p : st.plugin_problems) {
    error_line(fmt::format("plugin {} skipped: {}", p.file, p.message));
  }
  const std::string path = o.fixture.empty() ? default_fixture_path().string() : o.fixture;
  const fixture f = load_fixture(path, &st.registry);
  asio::io_context io;
  hilt::clock clk(io, f.clock);
  bench b(f, st.registry, clk, f.seed);

  bench::device_slot* slot = nullptr;
  std::string names;
  for (auto& s : b.devices()) {
    if (s.name == o.device || s.address.text == o.device) slot = &s;
    names += (names.empty() ? "" : ", ") + s.name;
  }
  if (!slot) {
    error_line(fmt::format("{}: no device '{}' (devices: {})", path, o.device,
                           names.empty() ? "none" : names));
    return exit_code::bad_input;
  }
  const std::string who = fmt::format("{} ({})", slot->name, slot->address.text);
  if (!slot->device) {
    error_line(fmt::format("{}: cannot open: {}", who, slot->open_error.message()));
    return exit_code::device_error;
  }
  auto* mod = dynamic_cast<hilt::cmis::cmis_module*>(slot->device.get());
  if (!mod) {
    error_line(
        fmt::format("{}: driver '{}' has no EEPROM to dump (eeprom dump reads modules of "
                    "the cmis driver)",
                    who, slot->address.driver));
    return exit_code::bad_input;
  }

  std::optional<result<hilt::cmis::eeprom_dump>> res;
  std::string where;
  asio::co_spawn(
      io,
      [&]() -> task<void> {
        auto op = mod->async_dump_eeprom(&where);
        res.emplace(co_await with_timeout(clk, std::move(op), std::chrono::seconds(60)));
      },
      asio::detached);
  clk.run();
  if (!res || !*res) {
    const std::error_code ec = res ? res->error() : make_error_code(errc::cancelled);
    error_line(fmt::format("{}: eeprom dump failed{}: {} ({})", who,
                           where.empty() ? std::string() : " at " + where, ec.message(),
                           errc_name(ec.value())));
    return exit_code::device_error;
  }
  const auto& dump = res->value();
  std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
  if (out) {
    out.write(reinterpret_cast<const char*>(dump.image.data()),
              static_cast<std::streamsize>(dump.image.size()));
  }
  if (!out) {
    error_line(fmt::format("{}: cannot write the dump", o.out));
    return exit_code::bad_input;
  }
  std::vector<std::string> pages;
  for (const auto& p : dump.pages)
    pages.push_back(hilt::cmis::page_label(p));
  fmt::print("{}: {} dump, {} bytes written to {}: lower memory{}{}\n", who, to_string(dump.spec),
             dump.image.size(), o.out, pages.empty() ? "" : ", pages ", join(pages, ""));
  return exit_code::passed;
}

}  // namespace

command_fn add_eeprom(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eeprom",
      "Module EEPROM tools: dump a module's memory in the Linux optoe layout, decode a dump");
  cmd->require_subcommand(1);

  auto* dump = cmd->add_subcommand(
      "dump",
      "Read every page a module advertises and write it in the optoe linear layout (page P "
      "of bank K at (K*256+P)*128+128; lower memory at 0-127)");
  auto d = std::make_shared<dump_opts>();
  dump->add_option("--fixture,-f", d->fixture, "Fixture file (default: the emulated bench)");
  dump->add_option("--device,-d", d->device, "Device name in the fixture (or its address)")
      ->required();
  dump->add_option("--out,-o", d->out, "Output file")->required();

  auto* decode = cmd->add_subcommand(
      "decode",
      "Decode an EEPROM dump in the optoe layout (a full dump or lower memory + page 00h): "
      "CMIS 3.0-5.x, SFF-8636, SFF-8472");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  decode->add_option("file", *file, "Dump file")->required();
  decode->add_flag("--json", *json, "Print JSON instead of text");

  return [dump, decode, d, file, json](app_state& st) {
    if (dump->parsed()) return run_dump(st, *d);
    if (decode->parsed()) return run_decode(*file, *json);
    error_line("eeprom: expected 'dump' or 'decode' (run 'hilt eeprom --help')");
    return exit_code::bad_input;
  };
}

}  // namespace hilt::cli
