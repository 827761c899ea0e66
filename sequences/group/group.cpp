#include "group/group.hpp"

namespace hilt::seq {

step_type group_step_type() {
  return step_type{
      .name = "group",
      .summary = "a named block of nested steps (steps: [...])",
      .options = {},
      .needs_dut = false,
      .children_key = "steps",
      .parse = nullptr,
  };
}

}  // namespace hilt::seq
