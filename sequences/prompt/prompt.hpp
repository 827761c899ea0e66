// prompt: asks the operator something and waits for the answer — or, in CI, answers by itself.
//   - step: prompt
//     message: Connect the loopback fibres to every module   # required
//     ask: enter               # enter (default): wait for Enter | yes_no: wait for y/yes or n/no
//
// On a terminal (stdin is a tty) the message is written to stderr and the step waits for the
// operator; prompts of several DUTs take turns (the "operator console" is locked like a shared
// instrument), and virtual time does not move while the operator thinks. When stdin is not a
// terminal, or HILT_PROMPT_AUTO=yes|no is set, the prompt is answered automatically — yes (or the
// value of HILT_PROMPT_AUTO) — so CI never hangs; either way the question and its answer are
// logged as an event (kind "prompt"). Answering no to a yes_no prompt fails the step.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

// Where a prompt is shown and answered: the terminal, or a stand-in in tests.
class prompt_console {
 public:
  virtual ~prompt_console() = default;
  // True when an operator can answer (stdin is a terminal).
  virtual bool interactive() const = 0;
  // Shows `text` and completes with the line the operator typed (without its newline); nullopt
  // when the input ended or the wait was cancelled.
  virtual task<std::optional<std::string>> ask(step_context& ctx, std::string text) = 0;
};

// The process's terminal: stdin for answers, stderr for the question.
std::shared_ptr<prompt_console> terminal_console();

class prompt_step final : public step {
 public:
  enum class kind { enter, yes_no };
  prompt_step(std::string message, kind k,
              std::shared_ptr<prompt_console> console = terminal_console())
      : message_(std::move(message)), kind_(k), console_(std::move(console)) {}
  task<step_outcome> run(step_context& ctx) const override;
  const std::string& message() const noexcept { return message_; }
  kind asks() const noexcept { return kind_; }

 private:
  std::string message_;
  kind kind_;
  std::shared_ptr<prompt_console> console_;
};

step_type prompt_step_type();

}  // namespace hilt::seq
