// group: a named block of steps, a structural node (step_node::impl is null and the runner runs
// step_node::children in order). Common keys apply to the whole group: a timeout bounds all of it,
// `station: true` makes every step inside a station step.
//   - step: group
//     name: lanes
//     steps:
//       - step: measure
//         ...
#pragma once

#include "hilt/seq/step_registry.hpp"

namespace hilt::seq {

step_type group_step_type();

}  // namespace hilt::seq
