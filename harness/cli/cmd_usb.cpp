// hilt usb list [--json]
//
// Lists the USB devices hilt's transports can use — CP2112 USB-to-SMBus bridges (10c4:ea90) and
// USBTMC instruments (interface class FEh/03h) — with bus, port, ids, serial number, product and
// the device address to put in a fixture. Serials come from sysfs (readable without device
// permissions); a device that cannot be opened is listed with the reason and the remedy (the udev
// rule, docs/usb.md) on stderr. Exit 0 (also when nothing is attached), 3 when libusb cannot start.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "hilt/error.hpp"
#include "hilt/transport/usb.hpp"

namespace hilt::cli {

namespace {

std::string suggested_address(const usb::device_info& d) {
  if (d.kind == "cp2112") {
    if (d.serial.empty()) return fmt::format("cmis:cp2112:{:04x}:{:04x}:*@0x50", d.vid, d.pid);
    return fmt::format("cmis:cp2112:{}@0x50", d.serial);
  }
  return fmt::format("scpi-psu:usbtmc:{:04x}:{:04x}:{}", d.vid, d.pid,
                     d.serial.empty() ? "*" : d.serial);
}

int run_list(bool json) {
  std::string why;
  auto ctx = usb::context::get(&why);
  if (!ctx) {
    error_line(fmt::format("usb list: {}", why));
    return exit_code::device_error;
  }
  std::vector<usb::device_info> all;
  for (const auto* kind : {&usb::cp2112_kind(), &usb::usbtmc_kind()}) {
    auto l = ctx.value()->list(*kind);
    all.insert(all.end(), l.begin(), l.end());
  }
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : all) {
      out.push_back(
          {{"kind", d.kind},
           {"bus", d.bus},
           {"device", d.address},
           {"port", d.port},
           {"vid", fmt::format("{:04x}", d.vid)},
           {"pid", fmt::format("{:04x}", d.pid)},
           {"serial", d.serial},
           {"manufacturer", d.manufacturer},
           {"product", d.product},
           {"interface", d.interface},
           {"address", suggested_address(d)},
           {"problem", d.problem.empty() ? nlohmann::json() : nlohmann::json(d.problem)}});
    }
    fmt::print("{}\n", nlohmann::json{{"devices", out}}.dump(2));
    return exit_code::passed;
  }
  if (all.empty()) {
    fmt::print("no CP2112 bridges or USBTMC instruments attached\n");
    return exit_code::passed;
  }
  table t({"KIND", "BUS:DEV", "PORT", "VID:PID", "SERIAL", "PRODUCT", "ADDRESS"});
  for (const auto& d : all) {
    t.row({d.kind, fmt::format("{:03d}:{:03d}", d.bus, d.address), d.port,
           fmt::format("{:04x}:{:04x}", d.vid, d.pid), d.serial.empty() ? "?" : d.serial,
           d.product.empty() ? "?" : d.product, suggested_address(d)});
  }
  fmt::print("{}", t.str());
  for (const auto& d : all) {
    if (!d.problem.empty()) {
      error_line(fmt::format("{} at {}: {}", d.kind, d.where(), d.problem));
    }
  }
  return exit_code::passed;
}

}  // namespace

command_fn add_usb(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "usb", "USB devices hilt's transports use: CP2112 bridges and USBTMC instruments");
  auto* list = cmd->add_subcommand(
      "list",
      "List attached CP2112 USB-to-SMBus bridges and USBTMC instruments with their serial "
      "numbers and the address to use in a fixture");
  auto json = std::make_shared<bool>(false);
  list->add_flag("--json", *json, "Print JSON");
  return [cmd, list, json](app_state&) {
    if (list->parsed()) return run_list(*json);
    (void)cmd;
    error_line("usb: expected 'list' (run 'hilt usb --help')");
    return exit_code::bad_input;
  };
}

}  // namespace hilt::cli
