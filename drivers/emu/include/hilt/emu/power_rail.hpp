// A power rail of the world model: what an emulated supply output or PMBus regulator feeds.
//
// Its load is the modelled dissipation of the devices on it (an emulated CMIS module's
// dissipation_w(), which follows its state: LowPwr, PwrUp, Ready), drawn as constant power — the
// DC-DC converters inside modules hold their power as the rail voltage moves, so I = P / V —
// plus a fixed idle power. Below a load's under-voltage lockout (80 % of its nominal supply: the
// rail's nominal voltage when it has one — a regulator's core rail — else the module's Vcc) the
// load draws nothing.
//
// Power coupling: the rail's source (a supply output, a regulator) tells it the voltage it
// delivers now (set_source_volts; 0 while the output is off or tripped). A device on the rail is
// powered while that voltage is at or above its lockout, and the rail tells it when this changes:
// an emulated module that loses its Vcc stops, forgets its volatile state and dissipates nothing;
// when Vcc comes back it goes through its power-on reset (cmis_module::set_powered). A rail whose
// source never said anything (built by hand, in tests) powers its devices.
//
// Threading: loads are added while the emulation is built; after that power_at() may be called
// from any thread (module dissipation is thread-safe), and set_source_volts() from the source
// while it holds its own lock (lock order: source, rail, device; a device never calls back into
// its rail or source).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hilt::emu {

class cmis_module;

class power_rail {
 public:
  explicit power_rail(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  // `watts` is called whenever the rail is evaluated. `on_power` (optional) is told whether the
  // load is powered — the source's voltage at or above `uvlo_volts` — at once when the source
  // has already said what it delivers, then whenever that changes.
  void add_load(std::string label, std::function<double()> watts, double uvlo_volts,
                std::function<void(bool powered)> on_power = {});
  // An emulated module: its dissipation, locked out below 80 % of the rail's nominal voltage, or
  // of its profile's Vcc when the rail has none; it is powered down and up with the rail.
  void add_module(std::shared_ptr<cmis_module> m);
  // The voltage the devices on this rail are designed for (0: each device's own).
  void set_nominal_volts(double v) noexcept { nominal_v_ = v; }
  void set_idle_watts(double w) noexcept { idle_w_ = w; }
  double idle_watts() const noexcept { return idle_w_; }
  std::size_t load_count() const noexcept { return loads_.size(); }

  // The source delivers `volts` now (0: off). Powers the loads down or up as their lockouts say.
  void set_source_volts(double volts);
  // What the source said last; nullopt when it never did (the loads are then powered).
  std::optional<double> source_volts() const;

  // Power drawn at rail voltage `volts` (W): idle + every load above its lockout; 0 at 0 V.
  double power_at(double volts) const;
  // Current drawn at `volts` (A).
  double current_at(double volts) const { return volts > 0 ? power_at(volts) / volts : 0.0; }

 private:
  struct load {
    std::string label;
    std::function<double()> watts;
    double uvlo_volts = 0;
    std::function<void(bool)> on_power;
    bool powered = true;  // what on_power was last told
  };
  std::string name_;
  double idle_w_ = 0;
  double nominal_v_ = 0;
  std::vector<load> loads_;
  mutable std::mutex mu_;  // source_v_ and each load's `powered`
  std::optional<double> source_v_;
};

}  // namespace hilt::emu
