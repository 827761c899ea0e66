#include "hilt/modbus_chamber/driver.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>

#include "hilt/error.hpp"
#include "hilt/modbus_chamber/chamber.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"

namespace hilt::modbus_chamber {

namespace {

[[noreturn]] void bad_option(const make_args& a, const YAML::Node& n, const std::string& msg) {
  throw config_error(where(a.source, n), fmt::format("device '{}': {}", a.name, msg));
}

double quantity_option(const make_args& a, const YAML::Node& n, const char* key, dimension dim,
                       double lo, double hi, const char* example) {
  std::string why;
  auto q = n.IsScalar() ? parse_quantity(n.Scalar(), &why) : std::nullopt;
  if (!q || q->dim != dim || q->value < lo || q->value > hi) {
    bad_option(a, n,
               fmt::format("option '{}' expects a {} within {}..{} {}, e.g. '{}'", key,
                           to_string(dim), lo, hi, base_unit(dim), example));
  }
  return q->value;
}

double number_option(const make_args& a, const YAML::Node& n, const char* key, double lo,
                     double hi) {
  double v = 0;
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // !isfinite: from_chars reads "nan", which passes both range comparisons; `unit: nan` then
  // reached static_cast<int>(NaN), undefined behaviour (found by tests/fuzz/fixture_loader).
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v) || v < lo ||
      v > hi) {
    bad_option(a, n, fmt::format("option '{}' expects a number within {}..{}", key, lo, hi));
  }
  return v;
}

int unit_from(std::string_view text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || v < 0 || v > 255) {
    return -1;
  }
  return v;
}

chamber_options parse_options(const make_args& a, double& safe_setpoint) {
  chamber_options o;
  bool have_map = false;
  for (const auto& [k, v] : a.address.options) {
    if (k != "unit") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': unknown option '{}'; "
                                               "expected: unit",
                                               a.name, a.address.text, k));
    }
    o.unit_id = unit_from(v);
    if (o.unit_id < 0) {
      throw config_error(a.source, fmt::format("device '{}': address '{}': unit '{}' is not "
                                               "within 0..255",
                                               a.name, a.address.text, v));
    }
  }
  if (a.options && !a.options.IsNull()) {
    if (!a.options.IsMap()) bad_option(a, a.options, "'options' expects a mapping");
    // Empty until the option is seen (a default-constructed YAML::Node counts as defined, and
    // assigning to one rebinds every copy of it).
    std::optional<YAML::Node> map_opt, file_opt;
    for (auto it = a.options.begin(); it != a.options.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
      if (key == "map") {
        map_opt.emplace(v);
      } else if (key == "map_file") {
        file_opt.emplace(v);
      } else if (key == "unit") {
        o.unit_id = static_cast<int>(number_option(a, v, "unit", 0, 255));
      } else if (key == "timeout") {
        o.timeout =
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(
                quantity_option(a, v, "timeout", dimension::time, 0.001, 600, "1 s")));
      } else if (key == "safe_setpoint") {
        safe_setpoint =
            quantity_option(a, v, "safe_setpoint", dimension::temperature, -100, 300, "25 C");
      } else if (key == "deadband") {
        o.deadband = quantity_option(a, v, "deadband", dimension::temperature, 0.01, 50, "0.5 C");
      } else if (key == "min_setpoint") {
        o.min_setpoint =
            quantity_option(a, v, "min_setpoint", dimension::temperature, -273, 1000, "-40 C");
      } else if (key == "max_setpoint") {
        o.max_setpoint =
            quantity_option(a, v, "max_setpoint", dimension::temperature, -273, 1000, "125 C");
      } else if (key == "ramp_rate") {
        o.ramp_rate = number_option(a, v, "ramp_rate (C/min)", 0, 1000);
      } else if (key == "identity") {
        if (!v.IsMap())
          bad_option(a, v, "option 'identity' expects {vendor, model, serial, firmware}");
        for (auto iit = v.begin(); iit != v.end(); ++iit) {
          const YAML::Node ik = iit->first;
          const YAML::Node iv = iit->second;
          const std::string ikey = ik.IsScalar() ? ik.Scalar() : std::string("?");
          if (!iv.IsScalar())
            bad_option(a, iv, fmt::format("identity '{}' expects a string", ikey));
          if (ikey == "vendor")
            o.identity.vendor = iv.Scalar();
          else if (ikey == "model")
            o.identity.part_number = iv.Scalar();
          else if (ikey == "serial")
            o.identity.serial = iv.Scalar();
          else if (ikey == "firmware")
            o.identity.firmware = iv.Scalar();
          else
            bad_option(
                a, ik,
                fmt::format(
                    "unknown identity field '{}'; expected one of: vendor, model, serial, firmware",
                    ikey));
        }
      } else {
        bad_option(a, k,
                   fmt::format("unknown option '{}' for driver modbus-chamber; expected one of: "
                               "map, map_file, unit, timeout, safe_setpoint, deadband, "
                               "min_setpoint, max_setpoint, ramp_rate, identity",
                               key));
      }
    }
    if (map_opt && file_opt) bad_option(a, *file_opt, "give either 'map' or 'map_file', not both");
    if (file_opt) {
      const YAML::Node& file_node = *file_opt;
      if (!file_node.IsScalar()) bad_option(a, file_node, "option 'map_file' expects a path");
      const auto path =
          (std::filesystem::path(a.source).parent_path() / file_node.Scalar()).lexically_normal();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        bad_option(a, file_node,
                   fmt::format("register map '{}' not found (looked for {})", file_node.Scalar(),
                               path.string()));
      }
      o.map = load_map(path);
      have_map = true;
    } else if (map_opt) {
      const YAML::Node& map_node = *map_opt;
      if (!map_node.IsScalar()) bad_option(a, map_node, "option 'map' expects a map name");
      try {
        o.map = load_named_map(map_node.Scalar());
      } catch (const config_error& e) {
        if (!e.where().empty()) throw;
        bad_option(a, map_node, e.message());
      }
      have_map = true;
    }
  }
  if (!have_map) o.map = load_named_map("watlow-f4t");
  if (o.min_setpoint && o.max_setpoint && *o.min_setpoint >= *o.max_setpoint) {
    throw config_error(a.source, fmt::format("device '{}': min_setpoint {} C is not below "
                                             "max_setpoint {} C",
                                             a.name, *o.min_setpoint, *o.max_setpoint));
  }
  if ((o.min_setpoint && safe_setpoint < *o.min_setpoint) ||
      (o.max_setpoint && safe_setpoint > *o.max_setpoint)) {
    throw config_error(a.source, fmt::format("device '{}': safe_setpoint {} C is outside "
                                             "min_setpoint..max_setpoint",
                                             a.name, safe_setpoint));
  }
  return o;
}

class modbus_chamber_driver final : public hilt::driver {
 public:
  modbus_chamber_driver() {
    info_.name = "modbus-chamber";
    info_.version = "0.1.0";
    info_.description =
        "Thermal chamber controllers over Modbus TCP (libmodbus; register maps as data, e.g. "
        "Watlow F4T-like)";
    info_.classes = {device_class::thermal_chamber};
    info_.transports = {"tcp", "emu-tcp"};
  }

  const driver_info& info() const noexcept override { return info_; }

  result<std::shared_ptr<device>> make(const make_args& a) const override {
    const auto& t = a.address.transport;
    if (t != "tcp" && t != "emu-tcp") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': driver modbus-chamber "
                                               "speaks transports tcp and emu-tcp, not '{}'",
                                               a.name, a.address.text, t));
    }
    double safe = 25.0;
    chamber_options opts = parse_options(a, safe);
    tcp_target target;
    if (t == "tcp") {
      try {
        target = tcp_target::parse(a.address.target, 502);
      } catch (const config_error& e) {
        throw config_error(a.source, fmt::format("device '{}': {}", a.name, e.message()));
      }
    } else {
      if (!a.services) return failure(make_error_code(errc::device_not_found));
      auto ep = a.services->tcp(t, a.address.target);
      if (!ep) return failure(ep.error());
      target.host = ep.value().host;
      target.port = ep.value().port;
    }
    auto dev = std::make_shared<modbus_chamber>(a.name, a.address.text, a.context,
                                                std::move(target), std::move(opts));
    dev->set_safe_setpoint(safe);
    return std::shared_ptr<device>(std::move(dev));
  }

 private:
  driver_info info_;
};

}  // namespace

std::shared_ptr<const hilt::driver> make_driver() {
  return std::make_shared<modbus_chamber_driver>();
}

}  // namespace hilt::modbus_chamber
