// sweep: runs its steps once per value of a variable, expanded when the sequence is loaded (the
// runner sees one group per point). The variable is ${name} inside the steps.
//   - step: sweep
//     over: temperature                   # required: the variable's name
//     values: [25 C, 85 C, -5 C]          # a list (or one text "25 C, 85 C"), in this order
//     # or
//     range: { from: 3.135 V, to: 3.465 V, step: 0.165 V }   # from, from+step, ... up to `to`
//     steps:
//       - step: log
//         message: corner ${temperature}
//
// Values are quantities of one dimension (checked: a sweep over a known monitor name such as
// `temperature` or `vcc` must use its dimension), plain numbers, or texts (patterns, modes). Each
// point is a group node of type "point" named "temperature=85 C" whose sweep_point_json is the
// point, merged with the points of enclosing sweeps ({"temperature":"85 C","vcc":"3.465 V"}); every
// step inside records it. An empty list or range, a zero step, or a step pointing away from `to`
// is an error.
#pragma once

#include "hilt/seq/step_registry.hpp"

namespace hilt::seq {

step_type sweep_step_type();

}  // namespace hilt::seq
