// Calibration traceability: instruments carry a `calibration_due:` date in the fixture; a run
// (and `hilt devices`) checks it against today's date.
//
// Policy, from the fixture (per device, else top level, else warn):
//
//   fixture: lab-bench
//   calibration: warn            # warn (default) | refuse | ignore, for every device
//   devices:
//     - name: psu1
//       address: scpi-psu:tcp:10.0.0.7:5025?model=keysight-e36xx
//       calibration_due: 2026-03-31
//       calibration: refuse      # this device only
//
//  - warn: an overdue device is reported (the caller logs it and records an event), the run goes
//  on;
//  - refuse: an overdue device stops the run before any device is touched (config_error, exit 2);
//  - ignore: no check.
// A device is overdue the day after its due date (a calibration due 2026-03-31 is still valid on
// that day).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hilt {

struct fixture;

enum class calibration_policy { warn, refuse, ignore };
std::string_view to_string(calibration_policy p) noexcept;
// "warn" | "refuse" | "ignore"; nullopt for anything else.
std::optional<calibration_policy> parse_calibration_policy(std::string_view text) noexcept;

// A strict ISO 8601 calendar date "YYYY-MM-DD" that exists (2025-02-29 does not); nullopt else.
std::optional<std::chrono::year_month_day> parse_iso_date(std::string_view text) noexcept;
// Today's date in UTC.
std::chrono::year_month_day today_utc() noexcept;

// One overdue instrument.
struct calibration_finding {
  std::string device;    // fixture name
  std::string due;       // "2026-03-31" as written
  int days_overdue = 0;  // >= 1
  calibration_policy policy = calibration_policy::warn;
  std::string where;    // file:line:col of the device entry
  std::string message;  // "device 'psu1': calibration was due 2026-03-31, 12 days ago"
};

// Checks every device of `f` that has a calibration_due date against `today`. Returns one finding
// per overdue device whose policy is warn, in fixture order. Throws config_error located at the
// device entry, naming the device and its due date, for the first overdue device whose policy is
// refuse. Devices without a date, and devices whose policy is ignore, are skipped.
std::vector<calibration_finding> check_calibration(const fixture& f,
                                                   std::chrono::year_month_day today);

// For listings (`hilt devices`): "2027-06-30", "2026-03-31 (overdue by 12 d)", "" when no date.
std::string describe_calibration(std::string_view due, std::chrono::year_month_day today);

}  // namespace hilt
