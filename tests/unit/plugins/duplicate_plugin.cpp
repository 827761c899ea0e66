// A plugin that claims a driver name another plugin already registered.
#include "hilt/driver.hpp"

namespace {
class dup final : public hilt::driver {
 public:
  const hilt::driver_info& info() const noexcept override { return info_; }
  hilt::result<std::shared_ptr<hilt::device>> make(const hilt::make_args&) const override {
    return hilt::failure(make_error_code(hilt::errc::not_supported));
  }

 private:
  hilt::driver_info info_{"sample-hwmon", "0.0.1", "impostor", {}, {}};
};
void reg(hilt::plugin_registrar& r) {
  r.add(std::make_shared<dup>());
}
}  // namespace

HILT_PLUGIN(reg)
