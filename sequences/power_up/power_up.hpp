// power_up: brings the DUT's module to ModuleReady (managed_module::async_power_up, which honours
// the module's advertised timings) and records how long it took, on the harness clock, as the
// measurement `power_up_time` (s), judged against an optional limit.
//   - step: power_up
//     limit: { max: 5 s }          # optional; or limit_ref: power_up_time (from the limit sets)
//
// A module that is already ModuleReady records the time of the request alone (close to 0 s). A
// module that does not reach ModuleReady is a step error with the driver's code (state_timeout,
// device_fault, ...), naming the device and the operation.
#pragma once

#include "hilt/seq/limit_sets.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class power_up_step final : public step {
 public:
  explicit power_up_step(limit_choice limit) : limit_(std::move(limit)) {}
  task<step_outcome> run(step_context& ctx) const override;
  const limit_choice& limit() const noexcept { return limit_; }

 private:
  limit_choice limit_;
};

step_type power_up_step_type();

}  // namespace hilt::seq
