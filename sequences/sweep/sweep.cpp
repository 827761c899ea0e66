#include "sweep/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "hilt/seq/limits.hpp"

namespace hilt::seq {

namespace {

constexpr std::size_t max_points = 10000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// "3.135 V" -> (3.135, "V"); nullopt when it does not start with a number.
std::optional<std::pair<double, std::string>> split_number(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return std::pair{v, std::string(trim(std::string_view(p, text.data() + text.size() - p)))};
}

std::string format_point(double v, double step, std::string_view unit) {
  if (std::abs(v) < std::abs(step) * 1e-9) v = 0;  // no "-0" or "1e-17" where the user meant 0
  const std::string n = fmt::format("{:.10g}", v);
  return unit.empty() ? n : fmt::format("{} {}", n, unit);
}

// What a value is, for "got ..." in messages.
std::string describe_value(const std::optional<quantity>& q, const std::string& text) {
  if (!q) return fmt::format("'{}'", text);
  if (q->dim == dimension::none) return fmt::format("'{}' with no unit", text);
  return fmt::format("{} '{}'", to_string(q->dim), text);
}

std::string negated(std::string_view written) {
  written = trim(written);
  if (written.starts_with('-')) return std::string(trim(written.substr(1)));
  if (written.starts_with('+')) written.remove_prefix(1);
  return fmt::format("-{}", written);
}

bool read_values(parse_context& ctx, const YAML::Node& node, std::span<const dimension> expected,
                 const std::string& variable, loop_plan& plan) {
  auto items = read_list(ctx, node, "values", "values to sweep");
  if (!items) return false;
  if (items->size() > max_points) {
    ctx.error(node, fmt::format("values: {} values; a sweep has at most {} points", items->size(),
                                max_points));
    return false;
  }
  bool ok = true;
  std::optional<dimension> dim;  // set by the first value when the variable is not a known one
  bool texts = false;            // the first value is not a quantity: every value is a text
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    std::string why;
    const auto q = parse_quantity(item.text, &why);
    if (!expected.empty()) {
      if (!q || std::find(expected.begin(), expected.end(), q->dim) == expected.end()) {
        ctx.error(item.node,
                  fmt::format("values: expected {} for a sweep over '{}', got {}",
                              describe_expected(expected), variable, describe_value(q, item.text)));
        ok = false;
        continue;
      }
    } else if (i == 0) {
      if (q) {
        dim = q->dim;
      } else {
        texts = true;
      }
    } else if (!texts && (!q || q->dim != *dim)) {
      const dimension want[] = {*dim};
      ctx.error(item.node, fmt::format("values: expected {} like the first value '{}', got {}",
                                       describe_expected(want), (*items)[0].text,
                                       describe_value(q, item.text)));
      ok = false;
      continue;
    }
    plan.values.push_back({item.text, !texts && q && q->dim == dimension::none});
  }
  return ok;
}

bool read_range(parse_context& ctx, const YAML::Node& node, std::span<const dimension> expected,
                loop_plan& plan) {
  static const std::vector<std::string> keys{"from", "to", "step"};
  yaml_map m(ctx, node, "a range");
  if (!m.valid()) return false;
  const auto unknown = m.reject_unknown(keys, "key", "in a range");
  std::vector<std::string> missing;
  for (const auto& k : keys) {
    if (!m.has(k) && !misspelt(unknown, k)) missing.push_back(k);
  }
  if (!missing.empty()) {
    ctx.error(node, fmt::format("range: needs from, to and step ({{ from: 25 C, to: 85 C, step: "
                                "10 C }}); missing {}",
                                join(missing)));
    return false;
  }
  if (!unknown.empty()) return false;
  const auto& from_e = *m.find("from");
  const auto& to_e = *m.find("to");
  const auto& step_e = *m.find("step");
  auto from = ctx.read_quantity(from_e.value, "from", expected);
  if (!from) return false;
  const dimension dims[] = {from->dim};
  auto to = ctx.read_quantity(to_e.value, "to", dims);
  // A step is a difference: "10 C" or "18 F" (10 C), and dB for a range of dBm levels.
  std::vector<dimension> step_dims{from->dim};
  if (from->dim == dimension::power_dbm) step_dims = {dimension::ratio_db, dimension::power_dbm};
  auto step = ctx.read_difference(step_e.value, "step", step_dims);
  if (!to || !step) return false;
  const std::string from_text = *ctx.read_text(from_e.value, "from");
  const std::string to_text = *ctx.read_text(to_e.value, "to");
  const std::string step_text = *ctx.read_text(step_e.value, "step");
  if (step->value == 0) {
    ctx.error(step_e.value, fmt::format("range: step must not be zero, got '{}'", step_text));
    return false;
  }
  const double span = to->value - from->value;
  if (span != 0 && (span > 0) != (step->value > 0)) {
    ctx.error(node, fmt::format("range: from {} to {} with step {} is empty: the step goes {}, "
                                "away from {}; write step: {} to go {}",
                                from_text, to_text, step_text, step->value > 0 ? "up" : "down",
                                to_text, negated(step_text), step->value > 0 ? "down" : "up"));
    return false;
  }
  const double steps = std::floor(span / step->value + 1e-9);
  if (steps + 1 > static_cast<double>(max_points)) {
    ctx.error(node, fmt::format("range: from {} to {} with step {} gives {:.0f} points; a sweep "
                                "has at most {}",
                                from_text, to_text, step_text, steps + 1, max_points));
    return false;
  }
  const auto count = static_cast<std::size_t>(steps) + 1;
  // In the unit the user wrote when from, to and step share it ("5 min", "10 min"), else in the
  // base unit.
  const auto f = split_number(from_text), t = split_number(to_text), s = split_number(step_text);
  const bool written = f && t && s && f->second == t->second && f->second == s->second;
  for (std::size_t i = 0; i < count; ++i) {
    const double k = static_cast<double>(i);
    std::string text =
        written ? format_point(f->first + k * s->first, s->first, f->second)
                : format_point(from->value + k * step->value, step->value, base_unit(from->dim));
    plan.values.push_back({std::move(text), from->dim == dimension::none});
  }
  return true;
}

std::optional<loop_plan> plan_sweep(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  loop_plan plan;
  plan.point_type = "point";
  std::span<const dimension> expected;
  const auto* over = require_option(ctx, spec, "over",
                                    "the name of the swept variable, used as ${name} in its "
                                    "steps");
  if (over != nullptr) {
    if (auto name = ctx.read_text(over->value, "over")) {
      if (!is_parameter_name(*name)) {
        ctx.error(over->value, fmt::format("over: expected a variable name (letters, digits and "
                                           "'_', not starting with a digit), got '{}'",
                                           *name));
      } else {
        plan.variable = *name;
        plan.variable_node.reset(over->value);  // rebinds (operator= on a node writes through)
        // A sweep over a quantity hilt knows (temperature, vcc, ...) must use its dimension.
        if (const monitor_info* known = find_monitor(*name)) expected = known->dimensions;
      }
    }
  }
  const auto* values = spec.options.find("values");
  const auto* range = spec.options.find("range");
  const std::string variable = plan.variable.empty() ? std::string("?") : plan.variable;
  if (values != nullptr && range != nullptr) {
    ctx.error(range->key_node, "range: give either 'values:' or 'range:', not both");
  } else if (values != nullptr) {
    read_values(ctx, values->value, expected, variable, plan);
  } else if (range != nullptr) {
    read_range(ctx, range->value, expected, plan);
  } else if (!misspelt(spec.unknown_keys, "values") && !misspelt(spec.unknown_keys, "range")) {
    ctx.error(spec.node,
              "step 'sweep' needs 'values:' (a list like [25 C, 85 C]) or 'range:' "
              "({ from: 25 C, to: 85 C, step: 10 C })");
  }
  if (ctx.error_count() != errors_before || plan.variable.empty() || plan.values.empty()) {
    return std::nullopt;
  }
  return plan;
}

}  // namespace

step_type sweep_step_type() {
  return step_type{
      .name = "sweep",
      .summary =
          "run steps once per value of a variable (over: NAME, values: [...] or range: "
          "{from, to, step}, steps: [...])",
      .options = {"over", "values", "range"},
      .needs_dut = false,
      .children_key = "steps",
      .parse = nullptr,
      .plan = plan_sweep,
  };
}

}  // namespace hilt::seq
