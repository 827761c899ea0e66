#include "log/log.hpp"

#include <spdlog/spdlog.h>

#include <array>

namespace hilt::seq {

task<step_outcome> log_step::run(step_context& ctx) const {
  ctx.event(level_, "log", message_);
  // "{}" keeps a message containing braces from being read as a format string.
  const auto lvl = level_ == severity::debug     ? spdlog::level::debug
                   : level_ == severity::warning ? spdlog::level::warn
                                                 : spdlog::level::info;
  ctx.log().log(lvl, "{}", message_);
  co_return step_outcome{};
}

step_type log_step_type() {
  return step_type{
      .name = "log",
      .summary = "write a message to the run log and events (message: TEXT)",
      .options = {"message", "level"},
      .needs_dut = false,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        static constexpr std::array<std::string_view, 3> levels{"debug", "info", "warning"};
        const auto* msg = require_option(ctx, spec, "message", "the text to log");
        std::optional<std::string> text;
        if (msg != nullptr) text = ctx.read_text(msg->value, "message");
        severity level = severity::info;
        if (const auto* l = spec.options.find("level")) {
          auto name = ctx.read_choice(l->value, "level", levels);
          if (!name) return nullptr;
          level = *name == "debug"     ? severity::debug
                  : *name == "warning" ? severity::warning
                                       : severity::info;
        }
        if (!text) return nullptr;
        return std::make_shared<log_step>(*text, level);
      },
  };
}

}  // namespace hilt::seq
