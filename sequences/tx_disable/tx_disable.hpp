// tx_disable: turns the DUT's transmitters off (or back on) per lane
// (managed_module::async_set_tx_disable: CMIS OutputDisableTx).
//   - step: tx_disable
//     lanes: all               # optional: all (default), 3, "1-4", [1, 2] (lanes 1..32)
//     disable: true            # optional: true = lasers dark (default), false = lasers on again
//
// A module that cannot disable its transmitters answers not_supported: a step error naming the
// device and the operation.
#pragma once

#include <vector>

#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class tx_disable_step final : public step {
 public:
  tx_disable_step(std::vector<int> lanes, bool disable)
      : lanes_(std::move(lanes)), disable_(disable) {}
  task<step_outcome> run(step_context& ctx) const override;
  const std::vector<int>& lanes() const noexcept { return lanes_; }  // empty: every lane
  bool disable() const noexcept { return disable_; }

 private:
  std::vector<int> lanes_;
  bool disable_;
};

step_type tx_disable_step_type();

// Shared with `set`: applies Tx disable to `lanes` of the context's module.
task<step_outcome> apply_tx_disable(step_context& ctx, const std::vector<int>& lanes, bool disable);

}  // namespace hilt::seq
