// log: writes a line to the run's log and its event table, to mark a point in the procedure.
//   - step: log
//     message: chamber at 85 C     # required
//     level: info                  # debug | info | warning (default info)
#pragma once

#include <string>

#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class log_step final : public step {
 public:
  log_step(std::string message, severity level) : message_(std::move(message)), level_(level) {}
  task<step_outcome> run(step_context& ctx) const override;
  const std::string& message() const noexcept { return message_; }
  severity level() const noexcept { return level_; }

 private:
  std::string message_;
  severity level_;
};

step_type log_step_type();

}  // namespace hilt::seq
