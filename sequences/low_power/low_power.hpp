// low_power: requests low power from the DUT's module (managed_module::async_set_low_power(true):
// CMIS LowPwrRequestSW), or releases the request. No waiting: the module state after the request
// is logged and returned in the step's message; power_up brings a module back to ModuleReady and
// times it.
//   - step: low_power
//     release: false           # optional: true releases the request instead (default false)
//
// A module that answers with the Fault state is a step error (device_fault).
#pragma once

#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class low_power_step final : public step {
 public:
  explicit low_power_step(bool low_power) : low_power_(low_power) {}
  task<step_outcome> run(step_context& ctx) const override;
  bool low_power() const noexcept { return low_power_; }

 private:
  bool low_power_;
};

step_type low_power_step_type();

}  // namespace hilt::seq
