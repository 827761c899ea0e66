#include "hilt/calibration.hpp"

#include <fmt/format.h>

#include <charconv>

#include "hilt/error.hpp"
#include "hilt/fixture.hpp"

namespace hilt {

std::string_view to_string(calibration_policy p) noexcept {
  switch (p) {
    case calibration_policy::warn:
      return "warn";
    case calibration_policy::refuse:
      return "refuse";
    case calibration_policy::ignore:
      return "ignore";
  }
  return "warn";
}

std::optional<calibration_policy> parse_calibration_policy(std::string_view text) noexcept {
  for (auto p :
       {calibration_policy::warn, calibration_policy::refuse, calibration_policy::ignore}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

std::optional<std::chrono::year_month_day> parse_iso_date(std::string_view s) noexcept {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    int v = 0;
    const char* b = s.data() + at;
    auto [p, ec] = std::from_chars(b, b + len, v);
    if (ec != std::errc{} || p != b + len) return std::nullopt;
    return v;
  };
  auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y),
                                        std::chrono::month(static_cast<unsigned>(*m)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

std::chrono::year_month_day today_utc() noexcept {
  return std::chrono::year_month_day(
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()));
}

namespace {
int days_between(std::chrono::year_month_day from, std::chrono::year_month_day to) {
  return static_cast<int>((std::chrono::sys_days(to) - std::chrono::sys_days(from)).count());
}
}  // namespace

std::vector<calibration_finding> check_calibration(const fixture& f,
                                                   std::chrono::year_month_day today) {
  std::vector<calibration_finding> out;
  for (const auto& d : f.devices) {
    if (d.calibration_due.empty()) continue;
    const calibration_policy policy = d.calibration.value_or(f.calibration);
    if (policy == calibration_policy::ignore) continue;
    const auto due = parse_iso_date(d.calibration_due);
    if (!due) {
      // load_fixture accepts only real dates; a hand-built fixture may not.
      throw config_error(d.where, fmt::format("device '{}': calibration_due '{}' is not a date "
                                              "YYYY-MM-DD",
                                              d.name, d.calibration_due));
    }
    const int late = days_between(*due, today);
    if (late <= 0) continue;
    calibration_finding c;
    c.device = d.name;
    c.due = d.calibration_due;
    c.days_overdue = late;
    c.policy = policy;
    c.where = d.where;
    c.message = fmt::format("device '{}': calibration was due {}, {} day{} ago", d.name,
                            d.calibration_due, late, late == 1 ? "" : "s");
    if (policy == calibration_policy::refuse) {
      throw config_error(d.where, c.message + " (calibration: refuse)");
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string describe_calibration(std::string_view due, std::chrono::year_month_day today) {
  if (due.empty()) return {};
  const auto d = parse_iso_date(due);
  if (!d) return std::string(due);
  const int late = days_between(*d, today);
  if (late <= 0) return std::string(due);
  return fmt::format("{} (overdue by {} d)", due, late);
}

}  // namespace hilt
