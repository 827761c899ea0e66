#include "hilt/emu/power_rail.hpp"

#include "hilt/emu/cmis_module.hpp"

namespace hilt::emu {

void power_rail::add_load(std::string label, std::function<double()> watts, double uvlo_volts) {
  loads_.push_back(load{std::move(label), std::move(watts), uvlo_volts});
}

void power_rail::add_module(std::shared_ptr<cmis_module> m) {
  const double uvlo = 0.8 * (nominal_v_ > 0 ? nominal_v_ : m->profile().vcc_v);
  add_load(
      m->profile().serial, [m] { return m->dissipation_w(); }, uvlo);
}

double power_rail::power_at(double volts) const {
  if (!(volts > 0)) return 0.0;
  double p = idle_w_;
  for (const auto& l : loads_) {
    if (volts >= l.uvlo_volts) p += l.watts();
  }
  return p;
}

}  // namespace hilt::emu
