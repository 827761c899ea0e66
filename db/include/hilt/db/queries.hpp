// hilt/db/queries.hpp — read-only queries behind `hilt runs`, `hilt show` and reports.
//
// Every function takes an open database (read-only or read-write), only reads, and throws
// db_error on failure. Neither touches the samples table except where stated: listing runs and
// loading a run stay fast however long the soaks in the file were.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hilt/db/database.hpp"
#include "hilt/db/types.hpp"

namespace hilt::db {

// One line of `hilt runs`.
struct run_summary {
  std::int64_t id = 0;
  std::string uuid;
  std::string sequence_name;
  std::string started_at;
  std::optional<std::string> ended_at;  // empty: the run never recorded its end
  run_status status = run_status::running;
  bool closed_cleanly = false;
  std::optional<int> exit_code;
  std::optional<double> duration_s;  // harness clock
  int duts = 0;
  int duts_passed = 0;   // status 'ok'
  int duts_failed = 0;   // status 'failed'
  int duts_error = 0;    // status 'error'
  int duts_skipped = 0;  // status 'skipped'
};

// All runs in the file, oldest first (by id).
std::vector<run_summary> list_runs(database& db);

struct run_info {
  std::int64_t id = 0;
  std::string uuid;
  std::string sequence_name;
  std::string sequence_path;
  std::string sequence_sha256;
  std::string fixture_path;
  std::string fixture_sha256;
  std::string parameters_json;
  std::string hilt_version;
  std::optional<std::int64_t> seed;
  std::string clock_mode;
  std::string host;
  std::string operator_name;
  std::string started_at;
  std::optional<std::string> ended_at;
  run_status status = run_status::running;
  bool closed_cleanly = false;
  std::optional<int> exit_code;
  std::optional<double> duration_s;
};

struct device_info {
  std::int64_t id = 0;
  std::string name, address, driver, device_class, vendor, model, serial, firmware, calibration_due;
};

// Counts of measurements by verdict.
struct verdict_counts {
  std::int64_t pass = 0, marginal = 0, fail = 0, info = 0, error = 0;
  std::int64_t total() const noexcept { return pass + marginal + fail + info + error; }
};

struct dut_info {
  std::int64_t id = 0;
  int slot = 0;
  std::string name, device, vendor, part_number, serial, revision, firmware;
  dut_status status = dut_status::running;
  verdict_counts measurements;
};

struct step_info {
  std::int64_t id = 0;
  std::optional<std::int64_t> dut_id;  // empty: station step
  std::optional<int> slot;             // the DUT's slot
  std::optional<std::int64_t> parent_id;
  int ordinal = 0;
  std::string path, name, type, sweep_point_json;
  int attempt = 1;
  step_verdict verdict = step_verdict::running;
  double started_t = 0;
  std::optional<double> ended_t;
  std::optional<double> duration_s;  // ended_t - started_t, harness clock
  std::optional<std::int64_t> error_code;
  std::string error_message;
  verdict_counts measurements;
};

// Events by severity.
struct severity_counts {
  std::int64_t debug = 0, info = 0, warning = 0, alarm = 0, fault = 0, error = 0;
  std::int64_t total() const noexcept { return debug + info + warning + alarm + fault + error; }
};

// Everything `hilt show RUN` prints.
struct run_detail {
  run_info run;
  std::vector<device_info> devices;  // by id
  std::vector<dut_info> duts;        // by slot
  std::vector<step_info> steps;      // in execution order (by id)
  verdict_counts measurements;       // whole run
  std::int64_t ber_counts = 0;       // rows of raw BER counts
  severity_counts events;
};

// Loads one run. Throws db_error(not_found) when there is no such run, with the what() text
// "hilt.db: run 42 not found" (every db_error starts with the database path).
run_detail load_run(database& db, std::int64_t run_id);

}  // namespace hilt::db
