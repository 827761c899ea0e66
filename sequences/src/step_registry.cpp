#include "hilt/seq/step_registry.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "ber/ber.hpp"
#include "fec/fec.hpp"
#include "group/group.hpp"
#include "identify/identify.hpp"
#include "log/log.hpp"
#include "low_power/low_power.hpp"
#include "measure/measure.hpp"
#include "power/power.hpp"
#include "power_up/power_up.hpp"
#include "prompt/prompt.hpp"
#include "repeat/repeat.hpp"
#include "set/set.hpp"
#include "sweep/sweep.hpp"
#include "thermal_soak/thermal_soak.hpp"
#include "tx_disable/tx_disable.hpp"
#include "wait/wait.hpp"
#include "wait_until/wait_until.hpp"

namespace hilt::seq {

void step_registry::add(step_type type) {
  if (type.name.empty()) throw std::logic_error("step type without a name");
  if (!type.parse && type.children_key.empty()) {
    throw std::logic_error("step type '" + type.name + "' has neither a parser nor children");
  }
  if (type.plan && (type.children_key.empty() || type.parse)) {
    throw std::logic_error("loop step type '" + type.name + "' needs children and no parser");
  }
  const std::string name = type.name;
  if (!types_.emplace(name, std::move(type)).second) {
    throw std::logic_error("step type '" + name + "' registered twice");
  }
}

const step_type* step_registry::find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> step_registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, type] : types_)
    out.push_back(name);
  return out;  // std::map keeps them sorted
}

const yaml_map::entry* require_option(parse_context& ctx, const step_spec& spec,
                                      std::string_view option, std::string_view hint) {
  if (const auto* e = spec.options.find(option)) return e;
  if (misspelt(spec.unknown_keys, option)) return nullptr;
  ctx.error(spec.node, fmt::format("step '{}' needs '{}:' ({})", spec.type, option, hint));
  return nullptr;
}

void register_builtin_steps(step_registry& registry) {
  registry.add(group_step_type());
  registry.add(identify_step_type());
  registry.add(log_step_type());
  registry.add(low_power_step_type());
  registry.add(measure_step_type());
  registry.add(power_up_step_type());
  registry.add(prompt_step_type());
  registry.add(repeat_step_type());
  registry.add(set_step_type());
  registry.add(sweep_step_type());
  registry.add(tx_disable_step_type());
  registry.add(wait_step_type());
  registry.add(wait_until_step_type());
  registry.add(ber_step_type());
  registry.add(fec_step_type());
  registry.add(power_step_type());
  registry.add(thermal_soak_step_type());
}

const step_registry& builtin_steps() {
  static const step_registry registry = [] {
    step_registry r;
    register_builtin_steps(r);
    return r;
  }();
  return registry;
}

}  // namespace hilt::seq
