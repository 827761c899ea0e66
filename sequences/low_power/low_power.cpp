#include "low_power/low_power.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

task<step_outcome> low_power_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("low_power");
  const char* op = low_power_ ? "request low power" : "release low power";
  auto st = co_await m->async_set_low_power(low_power_);
  if (!st) co_return device_failure(*m, op, st.error());
  const std::string note = fmt::format("module state after the request: {}", to_string(st.value()));
  if (st.value() == module_state::fault) {
    co_return step_outcome{verdict::error, make_error_code(errc::device_fault),
                           fmt::format("{}: {}: {}", describe_device(*m), op, note)};
  }
  ctx.log().info("{}: {}: {}", describe_device(*m), op, note);
  co_return step_outcome{verdict::pass, {}, note};
}

step_type low_power_step_type() {
  return step_type{
      .name = "low_power",
      .summary = "request low power from the module (release: true releases the request)",
      .options = {"release"},
      .needs_dut = true,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        bool release = false;
        if (const auto* e = spec.options.find("release")) {
          auto b = ctx.read_bool(e->value, "release");
          if (!b) return nullptr;
          release = *b;
        }
        return std::make_shared<low_power_step>(!release);
      },
  };
}

}  // namespace hilt::seq
