// repeat: runs its steps a number of times, expanded when the sequence is loaded (the runner sees
// one group per pass).
//   - step: repeat
//     count: 3                 # required, 1..10000
//     index: reading           # optional: the counter's name, ${reading} = 1, 2, 3 (default
//                              # "iteration")
//     steps:
//       - step: measure
//         monitor: temperature
//
// Each pass is a group node of type "iteration" named "reading=2" whose sweep_point_json is
// {"reading":2}, merged with the points of enclosing loops; every step inside records it.
#pragma once

#include "hilt/seq/step_registry.hpp"

namespace hilt::seq {

step_type repeat_step_type();

}  // namespace hilt::seq
