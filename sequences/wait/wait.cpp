#include "wait/wait.hpp"

#include <fmt/format.h>

#include <boost/asio/use_awaitable.hpp>

#include "hilt/error.hpp"

namespace hilt::seq {

task<step_outcome> wait_step::run(step_context& ctx) const {
  const auto started = ctx.clock().now();
  ctx.progress(started + duration_, fmt::format("waiting {}", format_duration(duration_)));
  const std::error_code ec = co_await ctx.clock().async_sleep(duration_, asio::use_awaitable);
  if (ec) {
    co_return step_outcome{verdict::error, make_error_code(errc::cancelled),
                           fmt::format("wait of {} cancelled after {}", format_duration(duration_),
                                       format_duration(ctx.clock().now() - started))};
  }
  co_return step_outcome{};
}

step_type wait_step_type() {
  return step_type{
      .name = "wait",
      .summary = "let time pass on the harness clock (duration: 30 s)",
      .options = {"duration"},
      .needs_dut = false,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        const auto* d = require_option(ctx, spec, "duration", "a time like '30 s' or '5 min'");
        if (d == nullptr) return nullptr;
        auto duration = ctx.read_duration(d->value, "duration", /*allow_zero=*/true);
        if (!duration) return nullptr;
        return std::make_shared<wait_step>(*duration);
      },
  };
}

}  // namespace hilt::seq
