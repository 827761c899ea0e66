#include "hilt/emu/power_rail.hpp"

#include "hilt/emu/cmis_module.hpp"

namespace hilt::emu {

void power_rail::add_load(std::string label, std::function<double()> watts, double uvlo_volts,
                          std::function<void(bool)> on_power) {
  std::lock_guard lk(mu_);
  load l{std::move(label), std::move(watts), uvlo_volts, std::move(on_power), true};
  if (source_v_ && l.on_power) {
    l.powered = *source_v_ >= l.uvlo_volts && *source_v_ > 0;
    l.on_power(l.powered);
  }
  loads_.push_back(std::move(l));
}

void power_rail::add_module(std::shared_ptr<cmis_module> m) {
  const double uvlo = 0.8 * (nominal_v_ > 0 ? nominal_v_ : m->profile().vcc_v);
  add_load(
      m->profile().serial, [m] { return m->dissipation_w(); }, uvlo,
      [m](bool powered) { m->set_powered(powered); });
}

void power_rail::set_source_volts(double volts) {
  std::lock_guard lk(mu_);
  source_v_ = volts;
  for (auto& l : loads_) {
    const bool powered = volts > 0 && volts >= l.uvlo_volts;
    if (!l.on_power || powered == l.powered) continue;
    l.powered = powered;
    l.on_power(powered);
  }
}

std::optional<double> power_rail::source_volts() const {
  std::lock_guard lk(mu_);
  return source_v_;
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
