// power: DUT power draw in named module states, judged against what the module advertises.
//   - step: power
//     states: [low_power, high_power, prbs]   # default [high_power]; in this order
//     supply: psu1              # a power supply feeding the DUT: V x I of `channel`
//     channel: 1                # default 1
//     # or one feed per DUT slot:  supply: { 1: psu1/1, 2: psu1/2, 5: psu2/1 }
//     rail: vr0                 # and/or a PMBus power monitor (vout, iout, pout)
//     settle: 2 s               # after entering a state, before measuring (default 2 s)
//     limit: { max: 12 W }      # optional, on the power in every high-power state (limit_ref too)
//
// States: low_power (CMIS LowPwr requested), high_power (ModuleReady, idle: data paths as they
// are), prbs (ModuleReady with the media PRBS generators and checkers running on every lane).
// The module is left as found: in high power when it was ModuleReady.
//
// Per state S the step records `supply_voltage.S` (V), `supply_current.S` (A) and `power.S` (W)
// from the supply (held with step_context::async_lock while it is read), `rail_vout.S`,
// `rail_iout.S`, `rail_pout.S` from a rail. `power.S` (supply, else rail) is judged against the
// module's own advertisement: ≤ 1.5 W in low power (CMIS), else ≤ the advertised maximum
// (00h:201, identity extra "max_power_w"), or its power class's maximum when the module gives no
// number; with `limit:` the same value is also recorded as `power_limit.S` judged against it.
// Without a supply or a rail the step asks the module: a module that reports no power monitor
// (none of hilt's CMIS modules does: CMIS has no module power monitor) is a step error that says
// so and asks for a supply or rail.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/limit_sets.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class power_step final : public step, public needs_devices {
 public:
  enum class state { low_power, high_power, prbs };
  struct feed {
    std::string supply;
    int channel = 1;
  };
  struct config {
    std::vector<state> states{state::high_power};
    std::optional<feed> supply;    // one feed for every DUT
    std::map<int, feed> per_slot;  // or one per slot
    std::string supply_where;
    std::string rail;
    std::string rail_where;
    clock::duration settle = std::chrono::seconds(2);
    limit_choice limit;
  };

  explicit power_step(config c) : config_(std::move(c)) {}
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<device_need> required_devices() const override;
  const config& settings() const noexcept { return config_; }

 private:
  config config_;
};

std::string_view to_string(power_step::state s) noexcept;
// The maximum power of a CMIS power class (1-7); nullopt for class 8 (given in 00h:201) and others.
std::optional<double> power_class_max_w(int power_class) noexcept;

step_type power_step_type();

}  // namespace hilt::seq
