#include "hilt/scpi_voa/driver.hpp"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <optional>

#include "hilt/error.hpp"
#include "hilt/scpi_voa/attenuator.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"

namespace hilt::scpi_voa {

namespace {

[[noreturn]] void bad_option(const make_args& a, const YAML::Node& n, const std::string& msg) {
  throw config_error(n.IsDefined() ? where(a.source, n) : a.source,
                     fmt::format("device '{}': {}", a.name, msg));
}

attenuator_options parse_options(const make_args& a) {
  attenuator_options o;
  std::string model_name;
  if (auto it = a.address.options.find("model"); it != a.address.options.end()) {
    model_name = it->second;
  }
  for (const auto& kv : a.address.options) {
    if (kv.first != "model") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': unknown option '{}'; "
                                               "expected: model",
                                               a.name, a.address.text, kv.first));
    }
  }
  // Empty until the option is seen (a default-constructed YAML::Node counts as defined, and
  // assigning to one rebinds every copy of it).
  std::optional<YAML::Node> model_opt, file_opt, channel_opt;
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
      } else if (key == "channel") {
        channel_opt.emplace(v);
      } else if (key == "timeout") {
        std::string why;
        auto q = v.IsScalar() ? parse_quantity(v.Scalar(), &why) : std::nullopt;
        if (!q || q->dim != dimension::time || !(q->value > 0) || q->value > 600) {
          bad_option(a, v, "option 'timeout' expects a time above 0 and at most 600 s, e.g. '2 s'");
        }
        o.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(q->value));
      } else {
        bad_option(a, k,
                   fmt::format("unknown option '{}' for driver scpi-voa; expected one of: model, "
                               "model_file, channel, timeout",
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
  } else {
    // The ranges must be known before the instrument is touched (`hilt validate`), so there is
    // always a model: the N7762A unless another is named.
    if (model_name.empty()) model_name = default_model;
    try {
      o.model = load_named_model(model_name);
    } catch (const config_error& e) {
      if (!e.where().empty()) throw;  // a mistake inside the model file names its own place
      if (have_model_option) bad_option(a, *model_opt, e.message());
      throw config_error(a.source, fmt::format("device '{}': {}", a.name, e.message()));
    }
  }
  if (channel_opt) {
    const YAML::Node& n = *channel_opt;
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    int ch = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ch);
    if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || ch < 1 ||
        ch > o.model.channels) {
      bad_option(a, n,
                 fmt::format("option 'channel' expects a channel number within 1..{} (model {})",
                             o.model.channels, o.model.name));
    }
    o.channel = ch;
  }
  return o;
}

class scpi_voa_driver final : public hilt::driver {
 public:
  scpi_voa_driver() {
    info_.name = "scpi-voa";
    info_.version = "0.1.0";
    info_.description =
        "Variable optical attenuators over SCPI on raw TCP (Keysight N7762A / 8157xA-style; "
        "models as data)";
    info_.classes = {device_class::optical_attenuator};
    info_.transports = {"tcp", "emu-tcp"};
  }

  const driver_info& info() const noexcept override { return info_; }

  result<std::shared_ptr<device>> make(const make_args& a) const override {
    const auto& t = a.address.transport;
    if (t != "tcp" && t != "emu-tcp") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': driver scpi-voa speaks "
                                               "transports tcp and emu-tcp, not '{}'",
                                               a.name, a.address.text, t));
    }
    attenuator_options opts = parse_options(a);
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
    // Nothing is sent here; range() comes from the model.
    return std::shared_ptr<device>(std::make_shared<scpi_attenuator>(
        a.name, a.address.text, a.context, std::move(target), std::move(opts)));
  }

 private:
  driver_info info_;
};

}  // namespace

std::shared_ptr<const hilt::driver> make_driver() {
  return std::make_shared<scpi_voa_driver>();
}

}  // namespace hilt::scpi_voa
