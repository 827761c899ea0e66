#include "hilt/seq/step_util.hpp"

#include <fmt/format.h>

#include "hilt/error.hpp"

namespace hilt::seq {

std::string describe_code(std::error_code ec) {
  if (ec.category() == hilt_category()) {
    return fmt::format("{}, hilt {}", errc_name(ec.value()), ec.value());
  }
  return fmt::format("{} {}", ec.category().name(), ec.value());
}

std::string describe_device(const device& d) {
  return fmt::format("{} ({})", d.name(), d.address());
}

step_outcome device_failure(const device& d, std::string_view operation, std::error_code ec) {
  return step_outcome{verdict::error, ec,
                      fmt::format("{}: {} failed: {} [{}]", describe_device(d), operation,
                                  ec.message(), describe_code(ec))};
}

step_outcome no_dut(std::string_view step_type) {
  return step_outcome{
      verdict::error, make_error_code(errc::invalid_argument),
      fmt::format("step '{}' needs a DUT but ran without one (as a station step)", step_type)};
}

}  // namespace hilt::seq
