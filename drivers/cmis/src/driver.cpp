#include "hilt/cmis/driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"
#include "hilt/step.hpp"
#include "hilt/transport/i2c.hpp"
#include "hilt/units.hpp"

namespace hilt::cmis {

namespace {

[[noreturn]] void bad_option(const make_args& a, const YAML::Node& n, const std::string& msg) {
  throw config_error(where(a.source, n), fmt::format("device '{}': {}", a.name, msg));
}

std::chrono::nanoseconds duration_option(const make_args& a, const YAML::Node& n, const char* key,
                                         double max_s) {
  std::string why;
  auto q = n.IsScalar() ? parse_quantity(n.Scalar(), &why) : std::nullopt;
  if (!q || q->dim != dimension::time || q->value <= 0 || q->value > max_s) {
    bad_option(
        a, n,
        fmt::format("option '{}' expects a duration within 0..{} s, e.g. '20 ms'", key, max_s));
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(q->value));
}

long long int_option(const make_args& a, const YAML::Node& n, const char* key, long long lo,
                     long long hi) {
  long long v = 0;
  const std::string s = n.IsScalar() ? n.Scalar() : std::string();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) {
    bad_option(a, n, fmt::format("option '{}' expects an integer within {}..{}", key, lo, hi));
  }
  return v;
}

module_options parse_options(const make_args& a) {
  module_options o;
  if (!a.options || a.options.IsNull()) return o;
  if (!a.options.IsMap()) bad_option(a, a.options, "'options' expects a mapping");
  for (auto it = a.options.begin(); it != a.options.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a proxy, references into it would dangle.
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
    if (key == "lanes") {
      o.lanes = static_cast<int>(int_option(a, v, "lanes", 1, 32));
    } else if (key == "poll_interval") {
      o.poll_interval = duration_option(a, v, "poll_interval", 10);
    } else if (key == "power_up_margin") {
      o.power_up_margin = duration_option(a, v, "power_up_margin", 600);
    } else if (key == "verify_checksums") {
      const std::string s = v.IsScalar() ? v.Scalar() : std::string();
      if (s != "true" && s != "false")
        bad_option(a, v, "option 'verify_checksums' expects true or false");
      o.verify_checksums = s == "true";
    } else if (key == "max_read") {
      o.max_read = static_cast<std::size_t>(int_option(a, v, "max_read", 8, 128));
    } else {
      bad_option(a, k,
                 fmt::format("unknown option '{}' for driver cmis; expected one of: lanes, "
                             "poll_interval, power_up_margin, verify_checksums, max_read",
                             key));
    }
  }
  return o;
}

class cmis_driver final : public hilt::driver {
 public:
  cmis_driver() {
    info_.name = "cmis";
    info_.version = "0.1.0";
    info_.description =
        "CMIS 3.x-5.x managed modules (QSFP-DD, OSFP, QSFP112, CPO engines) over I2C";
    info_.classes = {device_class::managed_module};
    info_.transports = {"emu-i2c", "i2c-dev", "cp2112"};
  }

  const driver_info& info() const noexcept override { return info_; }

  result<std::shared_ptr<device>> make(const make_args& a) const override {
    const auto& t = a.address.transport;
    if (std::find(info_.transports.begin(), info_.transports.end(), t) == info_.transports.end()) {
      throw config_error(a.source, fmt::format("device '{}': address '{}': driver cmis speaks "
                                               "transports emu-i2c, i2c-dev and cp2112, not '{}'",
                                               a.name, a.address.text, t));
    }
    i2c_target target;
    try {
      target = i2c_target::parse(a.address.target);
    } catch (const config_error& e) {
      throw config_error(a.source, fmt::format("device '{}': {}", a.name, e.message()));
    }
    const module_options opts = parse_options(a);
    if (!a.services) return failure(make_error_code(errc::device_not_found));
    auto bus = a.services->i2c(t, target.bus);
    if (!bus) return failure(bus.error());
    return std::shared_ptr<device>(
        std::make_shared<cmis_module>(a.name, a.address.text, a.context, std::move(bus).value(),
                                      static_cast<std::uint8_t>(target.addr), opts));
  }

 private:
  driver_info info_;
};

}  // namespace

std::shared_ptr<const hilt::driver> make_driver() {
  return std::make_shared<cmis_driver>();
}

}  // namespace hilt::cmis
