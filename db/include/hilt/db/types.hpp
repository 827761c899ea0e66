// hilt/db/types.hpp — the enumerated values stored in the database.
//
// Each enum mirrors one CHECK constraint of the schema (db/migrations): to_string() gives the
// exact stored text, parse_*() reads it back (std::nullopt for anything else). Stored values are
// part of the file format: never rename one, only add (with a migration that widens the CHECK).
#pragma once

#include <optional>
#include <string_view>

namespace hilt::db {

// runs.status
enum class run_status { running, passed, failed, error, aborted, interrupted };
// duts.status ('ok' = the DUT passed; 'running' until the runner decides)
enum class dut_status { running, ok, failed, error, skipped };
// steps.verdict ('done' = finished, step type gives no verdict)
enum class step_verdict { running, pass, marginal, fail, error, skipped, done };
// measurements.verdict ('info' = recorded, not judged)
enum class measurement_verdict { pass, marginal, fail, info, error };
// events.severity, in increasing order
enum class severity { debug, info, warning, alarm, fault, error };
// measurements.side / ber_counts.side: host (electrical, towards the ASIC) or media (optical)
enum class lane_side { host, media };

std::string_view to_string(run_status value) noexcept;
std::string_view to_string(dut_status value) noexcept;
std::string_view to_string(step_verdict value) noexcept;
std::string_view to_string(measurement_verdict value) noexcept;
std::string_view to_string(severity value) noexcept;
std::string_view to_string(lane_side value) noexcept;

std::optional<run_status> parse_run_status(std::string_view text) noexcept;
std::optional<dut_status> parse_dut_status(std::string_view text) noexcept;
std::optional<step_verdict> parse_step_verdict(std::string_view text) noexcept;
std::optional<measurement_verdict> parse_measurement_verdict(std::string_view text) noexcept;
std::optional<severity> parse_severity(std::string_view text) noexcept;
std::optional<lane_side> parse_lane_side(std::string_view text) noexcept;

}  // namespace hilt::db
