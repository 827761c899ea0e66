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
#include <span>
#include <string>
#include <string_view>
#include <vector>

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
};

// The entry for a required option, or nullptr after reporting
//   "step 'wait' needs 'duration:' (<hint>)"
// unless one of the step's unknown keys looks like a misspelling of it: that error is already
// reported, and one message about the typo is clearer than two.
const yaml_map::entry* require_option(parse_context& ctx, const step_spec& spec,
                                      std::string_view option, std::string_view hint);

// Returns the step object, or nullptr after reporting every problem through the context.
using step_parser = std::function<std::shared_ptr<const step>(parse_context&, const step_spec&)>;

struct step_type {
  std::string name;                  // "wait"
  std::string summary;               // one line, for help and docs
  std::vector<std::string> options;  // the type's own keys (the common keys are implied)
  bool needs_dut = true;             // false: may run as a station step (no module)
  // Structural types (group; later loops and sweeps) hold nested steps under this key; the loader
  // parses them into step_node::children. Empty for leaf steps.
  std::string children_key;
  step_parser parse;  // null for purely structural types (step_node::impl stays null)
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

// Adds group, identify, log, measure and wait.
void register_builtin_steps(step_registry& registry);

// A registry holding the built-in step types, built on first use.
const step_registry& builtin_steps();

}  // namespace hilt::seq
