// identify: asks the DUT who it is (vendor, part number, serial, firmware) and reports the identity
// to the run. Options: none.
#pragma once

#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class identify_step final : public step {
 public:
  task<step_outcome> run(step_context& ctx) const override;
};

step_type identify_step_type();

}  // namespace hilt::seq
