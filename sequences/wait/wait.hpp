// wait: lets time pass on the harness clock (DESIGN.md rule 4: in virtual time a 24 h wait is
// instant and exact).
//   - step: wait
//     duration: 30 s        # required, a time >= 0
#pragma once

#include "hilt/clock.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class wait_step final : public step {
 public:
  explicit wait_step(clock::duration d) : duration_(d) {}
  task<step_outcome> run(step_context& ctx) const override;
  clock::duration duration() const noexcept { return duration_; }

 private:
  clock::duration duration_;
};

step_type wait_step_type();

}  // namespace hilt::seq
