#include "prompt/prompt.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace hilt::seq {

namespace {

class terminal final : public prompt_console {
 public:
  bool interactive() const override { return ::isatty(STDIN_FILENO) == 1; }

  task<std::optional<std::string>> ask(step_context& ctx, std::string text) override {
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
    const int fd = ::dup(STDIN_FILENO);
    if (fd < 0) co_return std::nullopt;
    // Asio makes the descriptor non-blocking, and a dup shares that flag with stdin: put it back.
    const int flags = ::fcntl(fd, F_GETFL);
    auto ex = co_await asio::this_coro::executor;
    std::string line;
    std::error_code failed;
    {
      asio::posix::stream_descriptor in(ex, fd);
      // Virtual time must not run past an operator who is still reading the question.
      hilt::clock::io_scope busy(ctx.clock());
      auto [ec, n] = co_await asio::async_read_until(in, asio::dynamic_buffer(line), '\n',
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec && n == 0) failed = ec;
      line.resize(n > 0 ? n - 1 : line.size());
      if (flags >= 0) ::fcntl(fd, F_SETFL, flags);
    }
    if (failed) co_return std::nullopt;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
      line.pop_back();
    co_return line;
  }
};

std::string lower_trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
    ++i;
  s.erase(0, i);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::optional<bool> yes_or_no(const std::string& answer) {
  const std::string a = lower_trimmed(answer);
  if (a == "y" || a == "yes") return true;
  if (a == "n" || a == "no") return false;
  return std::nullopt;
}

}  // namespace

std::shared_ptr<prompt_console> terminal_console() {
  static const auto console = std::make_shared<terminal>();
  return console;
}

task<step_outcome> prompt_step::run(step_context& ctx) const {
  const bool yes_no = kind_ == kind::yes_no;
  // 1. Answered automatically: HILT_PROMPT_AUTO, or nobody at a terminal.
  std::optional<bool> automatic;
  std::string reason;
  if (const char* env = std::getenv("HILT_PROMPT_AUTO"); env != nullptr && *env != '\0') {
    automatic = yes_or_no(env);
    if (!automatic) {
      co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                             fmt::format("HILT_PROMPT_AUTO: expected yes or no, got '{}'", env)};
    }
    reason = fmt::format("HILT_PROMPT_AUTO={}", env);
  } else if (!console_->interactive()) {
    automatic = true;
    reason = "stdin is not a terminal";
  }
  if (automatic) {
    const std::string answer = !yes_no ? "continue" : *automatic ? "yes" : "no";
    const std::string note =
        fmt::format("prompt '{}' answered automatically: {} ({})", message_, answer, reason);
    ctx.event(severity::info, "prompt", note);
    ctx.log().info("{}: {}", ctx.dut_name(), note);
    if (yes_no && !*automatic) {
      co_return step_outcome{
          verdict::fail, {}, fmt::format("'{}' answered no (automatically: {})", message_, reason)};
    }
    co_return step_outcome{verdict::pass, {}, note};
  }

  // 2. The operator: one prompt at a time on the console, whichever DUT asks.
  auto console = co_await ctx.async_lock("operator console");
  const std::string who = ctx.module() != nullptr ? fmt::format("[{}] ", ctx.dut_name()) : "";
  std::string question = fmt::format("{}{} {} ", who, message_, yes_no ? "[y/n]" : "[press Enter]");
  for (;;) {
    auto line = co_await console_->ask(ctx, question);
    if (!line) {
      co_return step_outcome{
          verdict::error, make_error_code(errc::cancelled),
          fmt::format("prompt '{}': no answer (input closed or interrupted)", message_)};
    }
    std::optional<bool> answer = true;
    if (yes_no) answer = yes_or_no(*line);
    if (!answer) {
      question = fmt::format("{}please answer y or n: {} [y/n] ", who, message_);
      continue;
    }
    const std::string text = !yes_no ? "continue" : *answer ? "yes" : "no";
    const std::string note =
        fmt::format("prompt '{}' answered by the operator: {}", message_, text);
    ctx.event(severity::info, "prompt", note);
    ctx.log().info("{}: {}", ctx.dut_name(), note);
    if (!*answer) {
      co_return step_outcome{
          verdict::fail, {}, fmt::format("'{}' answered no by the operator", message_)};
    }
    co_return step_outcome{verdict::pass, {}, note};
  }
}

step_type prompt_step_type() {
  return step_type{
      .name = "prompt",
      .summary =
          "ask the operator (message: TEXT, ask: enter | yes_no); answered automatically "
          "when stdin is not a terminal or HILT_PROMPT_AUTO=yes|no",
      .options = {"message", "ask"},
      .needs_dut = false,
      .children_key = {},
      .parse = [](parse_context& ctx, const step_spec& spec) -> std::shared_ptr<const step> {
        static constexpr std::array<std::string_view, 2> kinds{"enter", "yes_no"};
        const std::size_t errors_before = ctx.error_count();
        std::optional<std::string> text;
        if (const auto* m = require_option(ctx, spec, "message", "the question or instruction")) {
          text = ctx.read_text(m->value, "message");
          if (text && text->empty()) {
            ctx.error(m->value,
                      "message: expected the text to show the operator, got an empty "
                      "text");
          }
        }
        prompt_step::kind k = prompt_step::kind::enter;
        if (const auto* a = spec.options.find("ask")) {
          if (auto v = ctx.read_choice(a->value, "ask", kinds)) {
            k = *v == "yes_no" ? prompt_step::kind::yes_no : prompt_step::kind::enter;
          }
        }
        if (ctx.error_count() != errors_before || !text) return nullptr;
        return std::make_shared<prompt_step>(*text, k);
      },
  };
}

}  // namespace hilt::seq
