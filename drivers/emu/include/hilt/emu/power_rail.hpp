// A power rail of the world model: what an emulated supply output or PMBus regulator feeds.
//
// Its load is the modelled dissipation of the devices on it (an emulated CMIS module's
// dissipation_w(), which follows its state: LowPwr, PwrUp, Ready), drawn as constant power — the
// DC-DC converters inside modules hold their power as the rail voltage moves, so I = P / V —
// plus a fixed idle power. Below a load's under-voltage lockout (80 % of its nominal supply: the
// rail's nominal voltage when it has one — a regulator's core rail — else the module's Vcc) the
// load draws nothing.
//
// Limitation: an emulated module keeps running when its rail is off (the module emulator has no
// power input yet); only the rail's current and power go to zero.
//
// Threading: loads are added while the emulation is built; after that power_at() may be called
// from any thread (module dissipation is thread-safe).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hilt::emu {

class cmis_module;

class power_rail {
 public:
  explicit power_rail(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  // `watts` is called whenever the rail is evaluated.
  void add_load(std::string label, std::function<double()> watts, double uvlo_volts);
  // An emulated module: its dissipation, locked out below 80 % of the rail's nominal voltage, or
  // of its profile's Vcc when the rail has none.
  void add_module(std::shared_ptr<cmis_module> m);
  // The voltage the devices on this rail are designed for (0: each device's own).
  void set_nominal_volts(double v) noexcept { nominal_v_ = v; }
  void set_idle_watts(double w) noexcept { idle_w_ = w; }
  double idle_watts() const noexcept { return idle_w_; }
  std::size_t load_count() const noexcept { return loads_.size(); }

  // Power drawn at rail voltage `volts` (W): idle + every load above its lockout; 0 at 0 V.
  double power_at(double volts) const;
  // Current drawn at `volts` (A).
  double current_at(double volts) const { return volts > 0 ? power_at(volts) / volts : 0.0; }

 private:
  struct load {
    std::string label;
    std::function<double()> watts;
    double uvlo_volts = 0;
  };
  std::string name_;
  double idle_w_ = 0;
  double nominal_v_ = 0;
  std::vector<load> loads_;
};

}  // namespace hilt::emu
