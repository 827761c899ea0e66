#include "hilt/db/types.hpp"

#include <array>
#include <cstddef>

namespace hilt::db {

namespace {

// One table per enum, indexed by the enumerator's value: to_string and parse share it, so the
// two directions cannot drift apart.
constexpr std::array<std::string_view, 6> k_run_status = {"running", "passed",  "failed",
                                                          "error",   "aborted", "interrupted"};
constexpr std::array<std::string_view, 5> k_dut_status = {"running", "ok", "failed", "error",
                                                          "skipped"};
constexpr std::array<std::string_view, 7> k_step_verdict = {
    "running", "pass", "marginal", "fail", "error", "skipped", "done"};
constexpr std::array<std::string_view, 5> k_measurement_verdict = {"pass", "marginal", "fail",
                                                                   "info", "error"};
constexpr std::array<std::string_view, 6> k_severity = {"debug", "info",  "warning",
                                                        "alarm", "fault", "error"};
constexpr std::array<std::string_view, 2> k_lane_side = {"host", "media"};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, Enum value) noexcept {
  const auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : std::string_view("?");
}

template <typename Enum, std::size_t N>
std::optional<Enum> parse(const std::array<std::string_view, N>& names,
                          std::string_view text) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(run_status value) noexcept {
  return name_of(k_run_status, value);
}
std::string_view to_string(dut_status value) noexcept {
  return name_of(k_dut_status, value);
}
std::string_view to_string(step_verdict value) noexcept {
  return name_of(k_step_verdict, value);
}
std::string_view to_string(measurement_verdict value) noexcept {
  return name_of(k_measurement_verdict, value);
}
std::string_view to_string(severity value) noexcept {
  return name_of(k_severity, value);
}
std::string_view to_string(lane_side value) noexcept {
  return name_of(k_lane_side, value);
}

std::optional<run_status> parse_run_status(std::string_view text) noexcept {
  return parse<run_status>(k_run_status, text);
}
std::optional<dut_status> parse_dut_status(std::string_view text) noexcept {
  return parse<dut_status>(k_dut_status, text);
}
std::optional<step_verdict> parse_step_verdict(std::string_view text) noexcept {
  return parse<step_verdict>(k_step_verdict, text);
}
std::optional<measurement_verdict> parse_measurement_verdict(std::string_view text) noexcept {
  return parse<measurement_verdict>(k_measurement_verdict, text);
}
std::optional<severity> parse_severity(std::string_view text) noexcept {
  return parse<severity>(k_severity, text);
}
std::optional<lane_side> parse_lane_side(std::string_view text) noexcept {
  return parse<lane_side>(k_lane_side, text);
}

}  // namespace hilt::db
