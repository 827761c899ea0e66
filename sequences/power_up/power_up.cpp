#include "power_up/power_up.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {

// The device call's own watchdog. The driver bounds the wait by the module's advertised
// MaxDurationModulePwrUp (CMIS allows up to an hour); the step's `timeout:` bounds it further.
constexpr auto power_up_watchdog = std::chrono::hours(1);

}  // namespace

task<step_outcome> power_up_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("power_up");
  const resolved_limit chosen = resolve_limit(limit_, ctx.dut_identity());
  if (!chosen.error.empty()) {
    co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                           fmt::format("{}: {}", describe_device(*m), chosen.error)};
  }
  const auto started = ctx.clock().now();
  const std::optional<device::duration> watchdog = power_up_watchdog;
  const std::error_code ec = co_await m->async_power_up(watchdog);
  const auto took = ctx.clock().now() - started;
  if (ec) co_return device_failure(*m, "power up", ec);
  const double seconds = std::chrono::duration<double>(took).count();
  measurement meas;
  meas.name = "power_up_time";
  meas.value = seconds;
  meas.unit = "s";
  meas.limit = chosen.limit;
  const verdict v = ctx.record(meas);
  ctx.log().info("{}: ModuleReady after {}", describe_device(*m), format_duration(took));
  co_return step_outcome{v == verdict::info ? verdict::pass : v,
                         {},
                         fmt::format("ModuleReady after {}", format_duration(took))};
}

step_type power_up_step_type() {
  return step_type{
      .name = "power_up",
      .summary = "bring the module to ModuleReady and record the time it took (limit: {max: 5 s})",
      .options = {"limit", "limit_ref"},
      .needs_dut = true,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        static constexpr dimension time[] = {dimension::time};
        auto choice = read_limit_choice(ctx, spec, time, "the power-up time");
        if (!choice) return nullptr;
        return std::make_shared<power_up_step>(std::move(*choice));
      },
  };
}

}  // namespace hilt::seq
