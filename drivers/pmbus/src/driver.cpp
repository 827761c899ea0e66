#include "hilt/pmbus/driver.hpp"

#include <fmt/format.h>

#include <charconv>

#include "hilt/error.hpp"
#include "hilt/pmbus/rail.hpp"
#include "hilt/step.hpp"

namespace hilt::pmbus {

namespace {

[[noreturn]] void bad_option(const make_args& a, const YAML::Node& n, const std::string& msg) {
  throw config_error(where(a.source, n), fmt::format("device '{}': {}", a.name, msg));
}

rail_options parse_options(const make_args& a) {
  rail_options o;
  if (!a.options || a.options.IsNull()) return o;
  if (!a.options.IsMap()) bad_option(a, a.options, "'options' expects a mapping");
  for (auto it = a.options.begin(); it != a.options.end(); ++it) {
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
    if (key == "commands") {
      if (!v.IsSequence() || v.size() == 0) {
        bad_option(a, v,
                   "option 'commands' expects a list of: vin, vout, iout, pout, "
                   "temperature, status");
      }
      o = rail_options{false, false, false, false, false, false, o.page};
      for (const auto& c : v) {
        const std::string s = c.IsScalar() ? c.Scalar() : std::string("?");
        if (s == "vin")
          o.vin = true;
        else if (s == "vout")
          o.vout = true;
        else if (s == "iout")
          o.iout = true;
        else if (s == "pout")
          o.pout = true;
        else if (s == "temperature")
          o.temperature = true;
        else if (s == "status")
          o.status = true;
        else {
          bad_option(a, c,
                     fmt::format("unknown PMBus reading '{}'; expected one of: vin, vout, "
                                 "iout, pout, temperature, status",
                                 s));
        }
      }
    } else if (key == "page") {
      int p = 0;
      const std::string s = v.IsScalar() ? v.Scalar() : std::string();
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
      if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || p < 0 || p > 255) {
        bad_option(a, v, "option 'page' expects an integer within 0..255");
      }
      o.page = static_cast<std::uint8_t>(p);
    } else {
      bad_option(a, k,
                 fmt::format("unknown option '{}' for driver pmbus; expected one of: "
                             "commands, page",
                             key));
    }
  }
  return o;
}

class pmbus_driver final : public hilt::driver {
 public:
  pmbus_driver() {
    info_.name = "pmbus";
    info_.version = "0.1.0";
    info_.description =
        "PMBus power rails over I2C/SMBus (READ_VIN/VOUT/IOUT/POUT/TEMPERATURE_1, "
        "STATUS_WORD; LINEAR11/LINEAR16)";
    info_.classes = {device_class::power_monitor};
    info_.transports = {"emu-i2c", "i2c-dev"};
  }

  const driver_info& info() const noexcept override { return info_; }

  result<std::shared_ptr<device>> make(const make_args& a) const override {
    const auto& t = a.address.transport;
    if (t != "emu-i2c" && t != "i2c-dev") {
      throw config_error(a.source, fmt::format("device '{}': address '{}': driver pmbus speaks "
                                               "transports emu-i2c and i2c-dev, not '{}'",
                                               a.name, a.address.text, t));
    }
    i2c_target target;
    try {
      target = i2c_target::parse(a.address.target);
    } catch (const config_error& e) {
      throw config_error(a.source, fmt::format("device '{}': {}", a.name, e.message()));
    }
    const rail_options opts = parse_options(a);
    if (!a.services) return failure(make_error_code(errc::device_not_found));
    auto bus = a.services->i2c(t, target.bus);
    if (!bus) return failure(bus.error());
    return std::shared_ptr<device>(
        std::make_shared<pmbus_rail>(a.name, a.address.text, a.context, std::move(bus).value(),
                                     static_cast<std::uint8_t>(target.addr), opts));
  }

 private:
  driver_info info_;
};

}  // namespace

std::shared_ptr<const hilt::driver> make_driver() {
  return std::make_shared<pmbus_driver>();
}

}  // namespace hilt::pmbus
