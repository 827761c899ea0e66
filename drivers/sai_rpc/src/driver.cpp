#include "hilt/sai_rpc/driver.hpp"

#include <fmt/format.h>

#include <optional>

#include "hilt/error.hpp"
#include "hilt/sai_rpc/asic.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"

namespace hilt::sai_rpc {

namespace {

[[noreturn]] void bad_option(const make_args& a, const YAML::Node& n, const std::string& msg) {
  throw config_error(n.IsDefined() ? where(a.source, n) : a.source,
                     fmt::format("device '{}': {}", a.name, msg));
}

asic_options parse_options(const make_args& a) {
  asic_options o;
  if (!a.address.options.empty()) {
    throw config_error(a.source,
                       fmt::format("device '{}': address '{}': unknown option '{}'; "
                                   "driver sai-rpc takes none in the address",
                                   a.name, a.address.text, a.address.options.begin()->first));
  }
  if (!a.options || a.options.IsNull()) return o;
  if (!a.options.IsMap()) bad_option(a, a.options, "'options' expects a mapping");
  for (auto it = a.options.begin(); it != a.options.end(); ++it) {
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
    if (key == "timeout") {
      std::string why;
      auto q = v.IsScalar() ? parse_quantity(v.Scalar(), &why) : std::nullopt;
      if (!q || q->dim != dimension::time || !(q->value > 0) || q->value > 600) {
        bad_option(a, v, "option 'timeout' expects a time above 0 and at most 600 s, e.g. '2 s'");
      }
      o.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(q->value));
    } else {
      bad_option(
          a, k,
          fmt::format("unknown option '{}' for driver sai-rpc; expected one of: timeout", key));
    }
  }
  return o;
}

class sai_rpc_driver final : public hilt::driver {
 public:
  sai_rpc_driver() {
    info_.name = "sai-rpc";
    info_.version = "0.1.0";
    info_.description =
        "Switch ASICs through a sai-rpc agent: SAI port attributes and statistics as JSON lines "
        "over TCP (docs/asic.md)";
    info_.classes = {device_class::switch_asic};
    info_.transports = {"tcp", "emu-tcp"};
  }

  const driver_info& info() const noexcept override { return info_; }

  result<std::shared_ptr<device>> make(const make_args& a) const override {
    const auto& t = a.address.transport;
    if (t != "tcp" && t != "emu-tcp") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': driver sai-rpc speaks "
                                               "transports tcp and emu-tcp, not '{}'",
                                               a.name, a.address.text, t));
    }
    asic_options opts = parse_options(a);
    tcp_target target;
    if (t == "tcp") {
      try {
        target = tcp_target::parse(a.address.target);
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
    // Nothing is sent here: the device opens (asks `info`) on its first operation, which is the
    // runner's identify at the start of a run.
    return std::shared_ptr<device>(
        std::make_shared<sai_asic>(a.name, a.address.text, a.context, std::move(target), opts));
  }

 private:
  driver_info info_;
};

}  // namespace

std::shared_ptr<const hilt::driver> make_driver() {
  return std::make_shared<sai_rpc_driver>();
}

}  // namespace hilt::sai_rpc
