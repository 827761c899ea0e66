// The step-type registry: step name -> how to check and parse its options into a hilt::step.
//
// Each step type lives in its own folder (sequences/<type>/<type>.hpp/.cpp) and describes itself
// with one step_type value; register_builtin_steps() adds the in-tree ones. The loader uses the
// registry to reject unknown step types and unknown options (listing what is accepted) before a
// type's own parser runs, so a parser only looks at its own keys.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/seq/parse.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

// Keys every step accepts, whatever its type.
//   step: TYPE        required
//   name: TEXT        display name (default: the type)
//   timeout: TIME     per-step timeout on the harness clock (> 0)
//   retry: N          extra attempts after a failure or error (0..100)
//   station: BOOL     run once for the bench instead of once per DUT (types with needs_dut=false)
inline const std::vector<std::string>& common_step_keys() {
  static const std::vector<std::string> keys{"step", "name", "timeout", "retry", "station"};
  return keys;
}

// What a step type's parser is given. Unknown keys have already been reported.
struct step_spec {
  std::string_view type;
  const YAML::Node& node;   // the step's mapping
  const yaml_map& options;  // its keys, common ones included
  bool station = false;     // the step runs as a station step (module() is null)
  std::span<const std::string> unknown_keys = {};  // already reported as unknown options
  // The common `timeout:` as read by the loader (empty when absent or wrong: a wrong one is
  // already reported). For types with step_type::handles_timeout.
  std::optional<clock::duration> timeout = {};
};

// The entry for a required option, or nullptr after reporting
//   "step 'wait' needs 'duration:' (<hint>)"
// unless one of the step's unknown keys looks like a misspelling of it: that error is already
// reported, and one message about the typo is clearer than two.
const yaml_map::entry* require_option(parse_context& ctx, const step_spec& spec,
                                      std::string_view option, std::string_view hint);

// Returns the step object, or nullptr after reporting every problem through the context.
using step_parser = std::function<std::shared_ptr<const step>(parse_context&, const step_spec&)>;

// A loop (sweep, repeat): the variable it binds and its values, in order. The loader parses the
// loop's body once per value with ${variable} bound to it, and makes each pass a group node (type
// `point_type`, name "variable=value") whose step_node::sweep_point_json holds the point, merged
// with the points of enclosing loops; every node inside carries the same point.
struct loop_plan {
  struct value {
    std::string text;     // what ${variable} becomes: "85 C", "3.465 V", "PRBS31Q", "2"
    bool number = false;  // a plain number: a JSON number in sweep_point_json, else a string
  };
  std::string variable;       // "temperature"
  YAML::Node variable_node;   // where the variable is named (for a clash with another name)
  std::vector<value> values;  // at least one
  std::string point_type;     // step_node::type of each pass: "point" (sweep), "iteration" (repeat)
};
// Returns the plan, or nullopt after reporting every problem through the context.
using loop_planner = std::function<std::optional<loop_plan>(parse_context&, const step_spec&)>;

struct step_type {
  std::string name;                  // "wait"
  std::string summary;               // one line, for help and docs
  std::vector<std::string> options;  // the type's own keys (the common keys are implied)
  bool needs_dut = true;             // false: may run as a station step (no module)
  // Structural types (group, sweep, repeat) hold nested steps under this key; the loader parses
  // them into step_node::children. Empty for leaf steps.
  std::string children_key;
  step_parser parse;  // null for purely structural types (step_node::impl stays null)
  // Loops: expanded at load time into one group node per value (see loop_plan); the runner sees
  // only ordinary groups. Needs children_key; parse stays null.
  loop_planner plan = nullptr;
  // The step reads the common `timeout:` itself (step_spec::timeout) and the loader does not set
  // step_node::timeout: for wait_until a timeout is a failed condition, not a harness error.
  bool handles_timeout = false;
  // Appended to the "unknown option" message, to say what the type can and cannot do.
  std::string unknown_option_note = {};
};

class step_registry {
 public:
  // Throws std::logic_error when the name is already registered (a programming error).
  void add(step_type type);
  const step_type* find(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted

 private:
  std::map<std::string, step_type, std::less<>> types_;
};

// Adds every in-tree step type: group, identify, log, low_power, measure, power_up, prompt,
// repeat, set, sweep, tx_disable, wait, wait_until.
void register_builtin_steps(step_registry& registry);

// A registry holding the built-in step types, built on first use.
const step_registry& builtin_steps();

}  // namespace hilt::seq
