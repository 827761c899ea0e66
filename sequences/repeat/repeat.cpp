#include "repeat/repeat.hpp"

#include <fmt/format.h>

namespace hilt::seq {

namespace {

constexpr long long max_count = 10000;

std::optional<loop_plan> plan_repeat(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  loop_plan plan;
  plan.point_type = "iteration";
  plan.variable = "iteration";
  plan.variable_node = spec.node;
  if (const auto* e = spec.options.find("index")) {
    if (auto name = ctx.read_text(e->value, "index")) {
      if (!is_parameter_name(*name)) {
        ctx.error(e->value, fmt::format("index: expected a variable name (letters, digits and "
                                        "'_', not starting with a digit), got '{}'",
                                        *name));
      } else {
        plan.variable = *name;
        plan.variable_node.reset(e->value);  // reset: operator= would write into spec.node
      }
    }
  }
  const auto* c = require_option(ctx, spec, "count", "how many times, like 'count: 3'");
  if (c != nullptr) {
    if (auto n = ctx.read_integer(c->value, "count", 1, max_count,
                                  "how many times to run the "
                                  "steps")) {
      for (long long i = 1; i <= *n; ++i)
        plan.values.push_back({std::to_string(i), true});
    }
  }
  if (ctx.error_count() != errors_before || plan.values.empty()) return std::nullopt;
  return plan;
}

}  // namespace

step_type repeat_step_type() {
  return step_type{
      .name = "repeat",
      .summary = "run steps a number of times (count: N, index: NAME, steps: [...])",
      .options = {"count", "index"},
      .needs_dut = false,
      .children_key = "steps",
      .parse = nullptr,
      .plan = plan_repeat,
  };
}

}  // namespace hilt::seq
