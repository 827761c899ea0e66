// hilt/db/records.hpp — what the recorder writes, one struct per kind of row.
//
// Plain aggregates meant for designated initialisers:
//   rec.add_event({.run_id = run, .t = clock.now_s(), .severity = severity::alarm,
//                  .kind = "temp_high_alarm", .message = "case temperature 78.5 C"});
// Conventions (as in the schema, db/migrations/0001_initial.sql):
//   * t / started_t / ended_t: seconds on the harness clock since the run started;
//   * *_at / wall: ISO-8601 UTC text (hilt::db::utc_timestamp()); left empty, the recorder stamps
//     the current time when the call is made;
//   * optional text: an empty string is stored as NULL;
//   * *_json: a JSON document (validated by the recorder when the call is made); empty = NULL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hilt/db/types.hpp"

namespace hilt::db {

// dut_id of a station-level sample (chamber, supply, ...): samples have no NULL DUT.
inline constexpr std::int64_t station_dut = 0;
// lane of a module-level sample (not per lane).
inline constexpr int module_lane = -1;

struct run_record {
  std::string uuid;  // empty: the recorder generates a random UUID
  std::string sequence_name;
  std::string sequence_path;
  std::string sequence_text;  // stored verbatim; its SHA-256 is computed by the recorder
  std::string fixture_path;
  std::string fixture_text;  // stored verbatim; its SHA-256 is computed by the recorder
  std::string parameters_json;
  std::string hilt_version;
  std::string clock_mode;  // "real" or "virtual" (or empty)
  std::string host;
  std::string operator_name;
  std::string started_at;  // empty: now
  std::optional<std::int64_t> seed;
};

// How a run ended (recorder::end_run).
struct run_end {
  run_status status = run_status::passed;
  bool closed_cleanly = true;  // false: the run ended abnormally (signal, fault) but got to say so
  std::optional<int> exit_code;
  std::optional<double> duration_s;  // harness-clock duration
  std::string ended_at;              // empty: now
};

struct run_device_record {
  std::int64_t run_id = 0;
  std::string name;  // the fixture's name for the device; unique within a run
  std::string address;
  std::string driver;
  std::string device_class;
  std::string vendor;
  std::string model;
  std::string serial;
  std::string firmware;
  std::string calibration_due;
  std::string identity_json;
};

struct dut_record {
  std::int64_t run_id = 0;
  int slot = 0;  // unique within a run
  std::string name;
  std::string device;  // run_devices.name of the module that is this DUT
  std::string vendor;
  std::string part_number;
  std::string serial;
  std::string revision;
  std::string firmware;
  std::string identity_json;
  dut_status status = dut_status::running;
};

struct step_record {
  std::int64_t run_id = 0;
  std::optional<std::int64_t> dut_id;     // empty: a station step
  std::optional<std::int64_t> parent_id;  // empty: a top-level step
  int ordinal = 0;
  std::string path;  // e.g. "main/2/measure"
  std::string name;
  std::string type;  // step type, e.g. "ber"
  std::string sweep_point_json;
  double started_t = 0;
  std::string started_at;  // empty: now
  int attempt = 1;
};

struct measurement_record {
  std::int64_t run_id = 0;
  std::optional<std::int64_t> step_id;
  std::optional<std::int64_t> dut_id;
  std::string name;
  std::optional<int> lane;  // empty: module-level
  std::optional<lane_side> side;
  double t = 0;
  double value = 0;  // NaN is stored as NULL
  std::string unit;
  std::string comparator;           // "ge", "le", "range", "eq", "tol_abs", "tol_pct", "none", ...
  std::optional<double> limit_low;  // effective absolute bounds the value was judged against
  std::optional<double> limit_high;
  std::optional<double> nominal;
  std::optional<double> marginal_low;
  std::optional<double> marginal_high;
  std::string limit_source;
  measurement_verdict verdict = measurement_verdict::info;
};

struct ber_record {
  std::int64_t run_id = 0;
  std::optional<std::int64_t> step_id;
  std::optional<std::int64_t> dut_id;
  int lane = 0;
  std::optional<lane_side> side;
  double t = 0;
  std::optional<double> gate_s;  // harness seconds over which bits/errors were counted
  std::int64_t bits = 0;
  std::int64_t errors = 0;
  std::string pattern;             // e.g. "PRBS31Q"
  std::string fec_histogram_json;  // JSON array: [k] = codewords with k symbol errors
};

struct event_record {
  std::int64_t run_id = 0;
  std::optional<std::int64_t> dut_id;
  std::string device;  // run_devices.name, empty when not about a device
  double t = 0;
  std::string wall;  // empty: now
  hilt::db::severity severity = hilt::db::severity::info;
  std::string kind;  // machine-readable, e.g. "temp_high_alarm"
  std::optional<std::int64_t> code;
  std::string message;
};

}  // namespace hilt::db
