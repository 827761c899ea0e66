#include "hilt/db/queries.hpp"

#include <algorithm>
#include <string>

namespace hilt::db {

namespace {

// A stored enum value that this build does not know can only come from a damaged file: the
// CHECK constraints admit nothing else, and newer schemas are refused at open.
template <typename Enum>
Enum parse_or_throw(const database& db, std::optional<Enum> parsed, const std::string& text,
                    const char* column) {
  if (!parsed) {
    throw db_error(db_errc::corrupt, db.path(),
                   std::string("unexpected value '") + text + "' in " + column);
  }
  return *parsed;
}

void add_verdict(verdict_counts& counts, const database& db, const std::string& verdict,
                 std::int64_t n) {
  switch (parse_or_throw(db, parse_measurement_verdict(verdict), verdict, "measurements.verdict")) {
    case measurement_verdict::pass:
      counts.pass += n;
      break;
    case measurement_verdict::marginal:
      counts.marginal += n;
      break;
    case measurement_verdict::fail:
      counts.fail += n;
      break;
    case measurement_verdict::info:
      counts.info += n;
      break;
    case measurement_verdict::error:
      counts.error += n;
      break;
  }
}

}  // namespace

std::vector<run_summary> list_runs(database& db) {
  // DUT counts come from duts (small); nothing here scans samples or measurements.
  statement q(db,
              "SELECT r.id, r.uuid, r.sequence_name, r.started_at, r.ended_at, r.status, "
              "       r.closed_cleanly, r.exit_code, r.duration_s, "
              "       COUNT(d.id), "
              "       COALESCE(SUM(d.status = 'ok'), 0), "
              "       COALESCE(SUM(d.status = 'failed'), 0), "
              "       COALESCE(SUM(d.status = 'error'), 0), "
              "       COALESCE(SUM(d.status = 'skipped'), 0) "
              "  FROM runs r LEFT JOIN duts d ON d.run_id = r.id "
              " GROUP BY r.id ORDER BY r.id");
  std::vector<run_summary> runs;
  while (q.step()) {
    run_summary r;
    r.id = q.column_int64(0);
    r.uuid = q.column_text(1);
    r.sequence_name = q.column_text(2);
    r.started_at = q.column_text(3);
    r.ended_at = q.column_opt_text(4);
    const std::string status = q.column_text(5);
    r.status = parse_or_throw(db, parse_run_status(status), status, "runs.status");
    r.closed_cleanly = q.column_int64(6) != 0;
    if (auto code = q.column_opt_int64(7)) r.exit_code = static_cast<int>(*code);
    r.duration_s = q.column_opt_double(8);
    r.duts = static_cast<int>(q.column_int64(9));
    r.duts_passed = static_cast<int>(q.column_int64(10));
    r.duts_failed = static_cast<int>(q.column_int64(11));
    r.duts_error = static_cast<int>(q.column_int64(12));
    r.duts_skipped = static_cast<int>(q.column_int64(13));
    runs.push_back(std::move(r));
  }
  return runs;
}

run_detail load_run(database& db, std::int64_t run_id) {
  run_detail detail;

  {
    statement q(db,
                "SELECT id, uuid, sequence_name, sequence_path, sequence_sha256, fixture_path, "
                "       fixture_sha256, parameters_json, hilt_version, seed, clock_mode, host, "
                "       operator, started_at, ended_at, status, closed_cleanly, exit_code, "
                "       duration_s "
                "  FROM runs WHERE id = ?1");
    q.bind(1, run_id);
    if (!q.step()) {
      throw db_error(db_errc::not_found, db.path(), "run " + std::to_string(run_id) + " not found");
    }
    run_info& r = detail.run;
    r.id = q.column_int64(0);
    r.uuid = q.column_text(1);
    r.sequence_name = q.column_text(2);
    r.sequence_path = q.column_text(3);
    r.sequence_sha256 = q.column_text(4);
    r.fixture_path = q.column_text(5);
    r.fixture_sha256 = q.column_text(6);
    r.parameters_json = q.column_text(7);
    r.hilt_version = q.column_text(8);
    r.seed = q.column_opt_int64(9);
    r.clock_mode = q.column_text(10);
    r.host = q.column_text(11);
    r.operator_name = q.column_text(12);
    r.started_at = q.column_text(13);
    r.ended_at = q.column_opt_text(14);
    const std::string status = q.column_text(15);
    r.status = parse_or_throw(db, parse_run_status(status), status, "runs.status");
    r.closed_cleanly = q.column_int64(16) != 0;
    if (auto code = q.column_opt_int64(17)) r.exit_code = static_cast<int>(*code);
    r.duration_s = q.column_opt_double(18);
  }

  {
    statement q(db,
                "SELECT id, name, address, driver, device_class, vendor, model, serial, firmware, "
                "       calibration_due "
                "  FROM run_devices WHERE run_id = ?1 ORDER BY id");
    q.bind(1, run_id);
    while (q.step()) {
      device_info d;
      d.id = q.column_int64(0);
      d.name = q.column_text(1);
      d.address = q.column_text(2);
      d.driver = q.column_text(3);
      d.device_class = q.column_text(4);
      d.vendor = q.column_text(5);
      d.model = q.column_text(6);
      d.serial = q.column_text(7);
      d.firmware = q.column_text(8);
      d.calibration_due = q.column_text(9);
      detail.devices.push_back(std::move(d));
    }
  }

  {
    statement q(db,
                "SELECT id, slot, name, device, vendor, part_number, serial, revision, firmware, "
                "       status "
                "  FROM duts WHERE run_id = ?1 ORDER BY slot");
    q.bind(1, run_id);
    while (q.step()) {
      dut_info d;
      d.id = q.column_int64(0);
      d.slot = static_cast<int>(q.column_int64(1));
      d.name = q.column_text(2);
      d.device = q.column_text(3);
      d.vendor = q.column_text(4);
      d.part_number = q.column_text(5);
      d.serial = q.column_text(6);
      d.revision = q.column_text(7);
      d.firmware = q.column_text(8);
      const std::string status = q.column_text(9);
      d.status = parse_or_throw(db, parse_dut_status(status), status, "duts.status");
      detail.duts.push_back(std::move(d));
    }
  }

  {
    statement q(db,
                "SELECT s.id, s.dut_id, d.slot, s.parent_id, s.ordinal, s.path, s.name, s.type, "
                "       s.sweep_point_json, s.attempt, s.verdict, s.started_t, s.ended_t, "
                "       s.ended_t - s.started_t, s.error_code, s.error_message "
                "  FROM steps s LEFT JOIN duts d ON d.id = s.dut_id "
                " WHERE s.run_id = ?1 ORDER BY s.id");
    q.bind(1, run_id);
    while (q.step()) {
      step_info s;
      s.id = q.column_int64(0);
      s.dut_id = q.column_opt_int64(1);
      if (auto slot = q.column_opt_int64(2)) s.slot = static_cast<int>(*slot);
      s.parent_id = q.column_opt_int64(3);
      s.ordinal = static_cast<int>(q.column_int64(4));
      s.path = q.column_text(5);
      s.name = q.column_text(6);
      s.type = q.column_text(7);
      s.sweep_point_json = q.column_text(8);
      s.attempt = static_cast<int>(q.column_int64(9));
      const std::string verdict = q.column_text(10);
      s.verdict = parse_or_throw(db, parse_step_verdict(verdict), verdict, "steps.verdict");
      s.started_t = q.column_double(11);
      s.ended_t = q.column_opt_double(12);
      s.duration_s = q.column_opt_double(13);
      s.error_code = q.column_opt_int64(14);
      s.error_message = q.column_text(15);
      detail.steps.push_back(std::move(s));
    }
  }

  {
    // One pass over the run's measurements (index measurements_by_run) fills the per-step,
    // per-DUT and whole-run counts.
    statement q(db,
                "SELECT step_id, dut_id, verdict, COUNT(*) FROM measurements WHERE run_id = ?1 "
                " GROUP BY step_id, dut_id, verdict");
    q.bind(1, run_id);
    while (q.step()) {
      const auto step_id = q.column_opt_int64(0);
      const auto dut_id = q.column_opt_int64(1);
      const std::string verdict = q.column_text(2);
      const std::int64_t n = q.column_int64(3);
      add_verdict(detail.measurements, db, verdict, n);
      if (step_id) {
        // steps are ordered by id: binary search keeps a run of many steps linear-ish.
        auto step = std::lower_bound(detail.steps.begin(), detail.steps.end(), *step_id,
                                     [](const step_info& s, std::int64_t id) { return s.id < id; });
        if (step != detail.steps.end() && step->id == *step_id) {
          add_verdict(step->measurements, db, verdict, n);
        }
      }
      if (dut_id) {
        for (auto& d : detail.duts) {
          if (d.id == *dut_id) add_verdict(d.measurements, db, verdict, n);
        }
      }
    }
  }

  {
    statement q(db, "SELECT COUNT(*) FROM ber_counts WHERE run_id = ?1");
    q.bind(1, run_id);
    q.step();
    detail.ber_counts = q.column_int64(0);
  }

  {
    statement q(db, "SELECT severity, COUNT(*) FROM events WHERE run_id = ?1 GROUP BY severity");
    q.bind(1, run_id);
    while (q.step()) {
      const std::string text = q.column_text(0);
      const std::int64_t n = q.column_int64(1);
      switch (parse_or_throw(db, parse_severity(text), text, "events.severity")) {
        case severity::debug:
          detail.events.debug += n;
          break;
        case severity::info:
          detail.events.info += n;
          break;
        case severity::warning:
          detail.events.warning += n;
          break;
        case severity::alarm:
          detail.events.alarm += n;
          break;
        case severity::fault:
          detail.events.fault += n;
          break;
        case severity::error:
          detail.events.error += n;
          break;
      }
    }
  }
  return detail;
}

}  // namespace hilt::db
