#include "tx_disable/tx_disable.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {

constexpr int max_lane = 32;  // hilt::lane_mask is 32 bits

}  // namespace

task<step_outcome> apply_tx_disable(step_context& ctx, const std::vector<int>& lanes,
                                    bool disable) {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("tx_disable");
  const lane_mask mask = lanes_to_mask(lanes, *m);
  const std::string op =
      fmt::format("{} Tx on lane(s) {}", disable ? "disable" : "enable", describe_lanes(lanes));
  const std::error_code ec = co_await m->async_set_tx_disable(mask, disable);
  if (ec) co_return device_failure(*m, op, ec);
  ctx.log().info("{}: {} (mask 0x{:08x})", describe_device(*m), op, mask);
  co_return step_outcome{verdict::pass, {}, op};
}

task<step_outcome> tx_disable_step::run(step_context& ctx) const {
  co_return co_await apply_tx_disable(ctx, lanes_, disable_);
}

step_type tx_disable_step_type() {
  return step_type{
      .name = "tx_disable",
      .summary = "turn transmitters off (disable: true, default) or on per lane (lanes: all)",
      .options = {"lanes", "disable"},
      .needs_dut = true,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        const std::size_t errors_before = ctx.error_count();
        std::vector<int> lanes;
        bool disable = true;
        if (const auto* e = spec.options.find("lanes")) {
          if (auto l = parse_lanes(ctx, e->value, max_lane)) lanes = std::move(*l);
        }
        if (const auto* e = spec.options.find("disable")) {
          if (auto b = ctx.read_bool(e->value, "disable")) disable = *b;
        }
        if (ctx.error_count() != errors_before) return nullptr;
        return std::make_shared<tx_disable_step>(std::move(lanes), disable);
      },
  };
}

}  // namespace hilt::seq
