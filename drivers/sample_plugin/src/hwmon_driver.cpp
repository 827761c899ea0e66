// sample-hwmon: Linux hwmon sensors as a power_monitor, built as a plugin.
//
// The hwmon sysfs ABI (Documentation/hwmon/sysfs-interface.rst): temp*_input in millidegrees
// Celsius, in*_input in millivolts, curr*_input in milliamperes, power*_input in microwatts.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "hilt/driver.hpp"

namespace {

namespace fs = std::filesystem;

std::optional<double> read_milli(const fs::path& file, double scale) {
  std::ifstream in(file);
  long long v = 0;
  if (!(in >> v)) return std::nullopt;
  return static_cast<double>(v) * scale;
}

class hwmon_device final : public hilt::power_monitor {
 public:
  hwmon_device(std::string name, std::string address, hilt::device_context ctx, fs::path dir)
      : power_monitor(std::move(name), std::move(address), std::move(ctx)), dir_(std::move(dir)) {}

  std::string_view driver_name() const noexcept override { return "sample-hwmon"; }

 protected:
  hilt::task<hilt::result<hilt::identity>> do_identify() override {
    std::ifstream in(dir_ / "name");
    std::string chip;
    if (!std::getline(in, chip)) co_return hilt::failure(make_error_code(hilt::errc::disconnected));
    hilt::identity id;
    id.vendor = "linux-hwmon";
    id.part_number = chip;
    id.serial = dir_.filename().string();
    co_return id;
  }

  hilt::task<hilt::result<hilt::rail_reading>> do_read_rail() override {
    hilt::rail_reading r;
    r.temperature = read_milli(dir_ / "temp1_input", 1e-3);
    r.vin = read_milli(dir_ / "in0_input", 1e-3);
    r.iout = read_milli(dir_ / "curr1_input", 1e-3);
    r.pout = read_milli(dir_ / "power1_input", 1e-6);
    if (!r.temperature && !r.vin && !r.iout && !r.pout) {
      co_return hilt::failure(make_error_code(hilt::errc::disconnected));
    }
    co_return r;
  }

 private:
  fs::path dir_;
};

class hwmon_driver final : public hilt::driver {
 public:
  const hilt::driver_info& info() const noexcept override { return info_; }

  std::vector<std::string> find(hilt::bench_services&) const override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/hwmon", ec)) {
      out.push_back("sample-hwmon:sysfs:" + e.path().filename().string());
    }
    return out;
  }

  hilt::result<std::shared_ptr<hilt::device>> make(const hilt::make_args& a) const override {
    if (a.address.transport != "sysfs") {
      throw hilt::config_error(
          {}, fmt::format("sample-hwmon: unknown transport '{}' in '{}': expected sysfs",
                          a.address.transport, a.address.text));
    }
    fs::path root = "/sys/class/hwmon";
    if (auto it = a.address.options.find("root"); it != a.address.options.end()) root = it->second;
    const fs::path dir = root / a.address.target;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return hilt::failure(make_error_code(hilt::errc::device_not_found));
    }
    return std::make_shared<hwmon_device>(a.name, a.address.text, a.context, dir);
  }

 private:
  hilt::driver_info info_{"sample-hwmon",
                          "1.0.0",
                          "Linux hwmon sensors as a power monitor (sample plugin)",
                          {hilt::device_class::power_monitor},
                          {"sysfs"}};
};

void register_drivers(hilt::plugin_registrar& r) {
  r.add(std::make_shared<hwmon_driver>());
}

}  // namespace

HILT_PLUGIN(register_drivers)
