#include "hilt/scpi_psu/driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

#include "hilt/error.hpp"
#include "hilt/scpi_psu/supply.hpp"
#include "hilt/step.hpp"
#include "hilt/transport/usb_tmc.hpp"
#include "hilt/units.hpp"

namespace hilt::scpi_psu {

namespace {

[[noreturn]] void bad_option(const make_args& a, const YAML::Node& n, const std::string& msg) {
  throw config_error(n.IsDefined() ? where(a.source, n) : a.source,
                     fmt::format("device '{}': {}", a.name, msg));
}

double quantity_option(const make_args& a, const YAML::Node& n, const std::string& key,
                       dimension dim, double max) {
  std::string why;
  auto q = n.IsScalar() ? parse_quantity(n.Scalar(), &why) : std::nullopt;
  if (!q || q->dim != dim || !(q->value > 0) || q->value > max) {
    bad_option(a, n,
               fmt::format("option '{}' expects a {} above 0 and at most {} {}, e.g. '{}'", key,
                           to_string(dim), max, base_unit(dim),
                           dim == dimension::voltage   ? "3.6 V"
                           : dim == dimension::current ? "5 A"
                                                       : "2 s"));
  }
  return q->value;
}

supply_options parse_options(const make_args& a) {
  supply_options o;
  std::string model_name;
  if (auto it = a.address.options.find("model"); it != a.address.options.end()) {
    model_name = it->second;
  }
  for (const auto& [k, v] : a.address.options) {
    if (k != "model") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': unknown option '{}'; "
                                               "expected: model",
                                               a.name, a.address.text, k));
    }
  }
  // Empty until the option is seen (a default-constructed YAML::Node counts as defined, and
  // assigning to one rebinds every copy of it).
  std::optional<YAML::Node> model_opt, file_opt, channels_opt;
  if (a.options && !a.options.IsNull()) {
    if (!a.options.IsMap()) bad_option(a, a.options, "'options' expects a mapping");
    for (auto it = a.options.begin(); it != a.options.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
      if (key == "model") {
        model_opt.emplace(v);
      } else if (key == "model_file") {
        file_opt.emplace(v);
      } else if (key == "timeout") {
        const double s = quantity_option(a, v, "timeout", dimension::time, 600);
        o.timeout =
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
      } else if (key == "channels") {
        channels_opt.emplace(v);
      } else {
        bad_option(a, k,
                   fmt::format("unknown option '{}' for driver scpi-psu; expected one of: model, "
                               "model_file, timeout, channels",
                               key));
      }
    }
  }
  const bool have_model_option = model_opt.has_value();
  if (have_model_option) {
    const YAML::Node& model_node = *model_opt;
    if (!model_node.IsScalar()) bad_option(a, model_node, "option 'model' expects a model name");
    if (!model_name.empty() && model_name != model_node.Scalar()) {
      bad_option(a, model_node,
                 fmt::format("option 'model' says '{}' but the address says '{}'",
                             model_node.Scalar(), model_name));
    }
    model_name = model_node.Scalar();
  }
  if (file_opt) {
    const YAML::Node& file_node = *file_opt;
    if (!model_name.empty())
      bad_option(a, file_node, "give either 'model' or 'model_file', not both");
    if (!file_node.IsScalar()) bad_option(a, file_node, "option 'model_file' expects a path");
    const auto base = std::filesystem::path(a.source).parent_path();
    const auto path = (base / file_node.Scalar()).lexically_normal();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      bad_option(a, file_node,
                 fmt::format("model file '{}' not found (looked for {})", file_node.Scalar(),
                             path.string()));
    }
    o.model = load_model(path);
  } else if (!model_name.empty()) {
    try {
      o.model = load_named_model(model_name);
    } catch (const config_error& e) {
      if (!e.where().empty()) throw;  // a mistake inside the model file names its own place
      if (have_model_option) bad_option(a, *model_opt, e.message());
      throw config_error(a.source, fmt::format("device '{}': {}", a.name, e.message()));
    }
  } else {
    for (const auto& n : known_models())
      o.candidates.push_back(load_named_model(n));
  }

  if (channels_opt && !channels_opt->IsNull()) {
    const YAML::Node& channels_node = *channels_opt;
    if (!channels_node.IsMap()) {
      bad_option(a, channels_node,
                 "option 'channels' expects a mapping of channel number to limits, e.g. "
                 "{1: {max_voltage: 3.6 V, max_current: 5 A}}");
    }
    const int max_channel = o.model ? o.model->channel_count() : 16;
    for (auto it = channels_node.begin(); it != channels_node.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      int ch = 0;
      const std::string ks = k.IsScalar() ? k.Scalar() : std::string();
      auto [p, ec] = std::from_chars(ks.data(), ks.data() + ks.size(), ch);
      if (ks.empty() || ec != std::errc{} || p != ks.data() + ks.size() || ch < 1 ||
          ch > max_channel) {
        bad_option(
            a, k,
            fmt::format("channel '{}' is not a channel number within 1..{}{}", ks, max_channel,
                        o.model ? fmt::format(" (model {})", o.model->name) : ""));
      }
      if (!v.IsMap())
        bad_option(a, v, fmt::format("channel {} expects {{max_voltage, max_current}}", ch));
      channel_limits lim;
      for (auto lit = v.begin(); lit != v.end(); ++lit) {
        const YAML::Node lk = lit->first;
        const YAML::Node lv = lit->second;
        const std::string key = lk.IsScalar() ? lk.Scalar() : std::string("?");
        if (key == "max_voltage") {
          lim.max_voltage = quantity_option(a, lv, "max_voltage", dimension::voltage, 10000);
        } else if (key == "max_current") {
          lim.max_current = quantity_option(a, lv, "max_current", dimension::current, 1000);
        } else {
          bad_option(a, lk,
                     fmt::format("unknown limit '{}' for channel {}; expected one of: "
                                 "max_voltage, max_current",
                                 key, ch));
        }
      }
      o.limits[ch] = lim;
    }
  }
  return o;
}

class scpi_psu_driver final : public hilt::driver {
 public:
  scpi_psu_driver() {
    info_.name = "scpi-psu";
    info_.version = "0.1.0";
    info_.description =
        "Programmable supplies over SCPI on raw TCP or USBTMC (Keysight E36xx-, R&S "
        "NGP-style; models as data)";
    info_.classes = {device_class::power_supply};
    info_.transports = {"tcp", "emu-tcp", "usbtmc"};
  }

  const driver_info& info() const noexcept override { return info_; }

  result<std::shared_ptr<device>> make(const make_args& a) const override {
    const auto& t = a.address.transport;
    if (t != "tcp" && t != "emu-tcp" && t != "usbtmc") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': driver scpi-psu speaks "
                                               "transports tcp, emu-tcp and usbtmc, not '{}'",
                                               a.name, a.address.text, t));
    }
    supply_options opts = parse_options(a);
    if (t == "usbtmc") {
      // USBTMC: the target is a USB selector (VID:PID:SERIAL, SERIAL or *); docs/usb.md.
      usb::selector sel;
      try {
        sel = usb::selector::parse(a.address.target, "USBTMC instrument");
      } catch (const config_error& e) {
        throw config_error(a.source, fmt::format("device '{}': {}", a.name, e.message()));
      }
      return std::shared_ptr<device>(std::make_shared<scpi_supply>(
          a.name, a.address.text, a.context,
          std::make_unique<usbtmc_client>(a.context.executor, a.context.clock, std::move(sel)),
          std::move(opts)));
    }
    tcp_target target;
    if (t == "tcp") {
      try {
        target = tcp_target::parse(a.address.target, 5025);
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
    return std::shared_ptr<device>(std::make_shared<scpi_supply>(
        a.name, a.address.text, a.context, std::move(target), std::move(opts)));
  }

 private:
  driver_info info_;
};

}  // namespace

std::shared_ptr<const hilt::driver> make_driver() {
  return std::make_shared<scpi_psu_driver>();
}

}  // namespace hilt::scpi_psu
