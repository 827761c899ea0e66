// hilt runs [--db PATH] [--json] [--last]      hilt show RUN [--db PATH] [--json | --markdown]
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli.hpp"
#include "hilt/db/database.hpp"
#include "hilt/db/error.hpp"
#include "hilt/db/queries.hpp"
#include "hilt/error.hpp"

namespace hilt::cli {

namespace {

std::string seconds(const std::optional<double>& s) {
  if (!s) return "-";
  if (*s >= 3600) return fmt::format("{:.2f} h", *s / 3600);
  if (*s >= 60) return fmt::format("{:.1f} min", *s / 60);
  return fmt::format("{:.3f} s", *s);
}

db::database open_read_only(const std::string& path) {
  db::open_options o;
  o.mode = db::open_mode::read_only;
  return db::database(path, o);
}

struct failed_measurement {
  int slot;
  std::string dut, step, name, unit, verdict, source;
  std::optional<std::int64_t> lane;
  std::optional<double> value, low, high;
};

// Measurements that did not pass, for the report (fail and marginal first).
std::vector<failed_measurement> non_passing(db::database& d, std::int64_t run_id) {
  db::statement st(d,
                   "SELECT slot, dut, step_path, measurement, lane, value, unit, limit_low, "
                   "limit_high, limit_source, verdict FROM v_measurement_verdicts WHERE run_id = ? "
                   "AND verdict IN ('fail','marginal','error') ORDER BY verdict = 'marginal', "
                   "slot, measurement_id LIMIT 200");
  st.bind(1, run_id);
  std::vector<failed_measurement> out;
  while (st.step()) {
    failed_measurement m;
    m.slot = static_cast<int>(st.column_int64(0));
    m.dut = st.column_text(1);
    m.step = st.column_text(2);
    m.name = st.column_text(3);
    m.lane = st.column_opt_int64(4);
    m.value = st.column_opt_double(5);
    m.unit = st.column_text(6);
    m.low = st.column_opt_double(7);
    m.high = st.column_opt_double(8);
    m.source = st.column_text(9);
    m.verdict = st.column_text(10);
    out.push_back(std::move(m));
  }
  return out;
}

std::string limit_text(const failed_measurement& m) {
  if (m.low && m.high) return fmt::format("[{:g}, {:g}] {}", *m.low, *m.high, m.unit);
  if (m.low) return fmt::format(">= {:g} {}", *m.low, m.unit);
  if (m.high) return fmt::format("<= {:g} {}", *m.high, m.unit);
  return "-";
}

// The verdict of each (step path, slot): the last attempt counts.
struct matrix {
  std::vector<std::string> paths;            // in first-seen order
  std::map<std::string, std::string> names;  // path -> step name
  std::vector<int> slots;
  std::map<std::pair<std::string, int>, std::string> cell;
};

matrix step_matrix(const db::run_detail& r) {
  matrix m;
  std::set<std::string> seen;
  // Station steps (no DUT) get a column of their own, slot 0, first.
  if (std::any_of(r.steps.begin(), r.steps.end(), [](const auto& st) { return !st.slot; })) {
    m.slots.push_back(0);
  }
  for (const auto& d : r.duts)
    m.slots.push_back(d.slot);
  for (const auto& s : r.steps) {
    if (seen.insert(s.path).second) {
      m.paths.push_back(s.path);
      m.names[s.path] = s.name;
    }
    const int slot = s.slot.value_or(0);
    std::string v(db::to_string(s.verdict));
    if (s.attempt > 1) v += fmt::format(" (try {})", s.attempt);
    m.cell[{s.path, slot}] = v;
  }
  return m;
}

void print_text(const db::run_detail& r, db::database& d) {
  const auto& run = r.run;
  fmt::print("Run {}: {} — {}{}\n", run.id, run.sequence_name, db::to_string(run.status),
             run.exit_code ? fmt::format(" (exit {})", *run.exit_code) : "");
  fmt::print("  sequence   {}  sha256 {:.12}\n", run.sequence_path, run.sequence_sha256);
  fmt::print("  fixture    {}  sha256 {:.12}\n", run.fixture_path, run.fixture_sha256);
  fmt::print("  started    {}   ended {}   harness time {}{}\n", run.started_at,
             run.ended_at.value_or("(never recorded)"), seconds(run.duration_s),
             run.closed_cleanly ? "" : "   NOT CLOSED CLEANLY");
  fmt::print("  hilt {} · clock {} · seed {} · host {} · operator {}\n\n", run.hilt_version,
             run.clock_mode, run.seed ? std::to_string(*run.seed) : "-", run.host,
             run.operator_name);

  table duts({"SLOT", "DUT", "DEVICE", "VENDOR", "PART NUMBER", "SERIAL", "RESULT", "PASS",
              "MARGINAL", "FAIL", "ERROR"});
  for (const auto& u : r.duts) {
    duts.row({std::to_string(u.slot), u.name, u.device, u.vendor, u.part_number, u.serial,
              std::string(db::to_string(u.status)), std::to_string(u.measurements.pass),
              std::to_string(u.measurements.marginal), std::to_string(u.measurements.fail),
              std::to_string(u.measurements.error)});
  }
  fmt::print("{}\n", duts.str());

  const auto m = step_matrix(r);
  std::vector<std::string> header{"STEP", "NAME"};
  for (int s : m.slots)
    header.push_back(s == 0 ? "STATION" : fmt::format("SLOT {}", s));
  header.push_back("DURATION");
  table steps(header);
  std::map<std::string, double> longest;
  for (const auto& s : r.steps) {
    longest[s.path] = std::max(longest[s.path], s.duration_s.value_or(0));
  }
  for (const auto& p : m.paths) {
    std::vector<std::string> row{p, m.names.at(p)};
    for (int s : m.slots) {
      auto it = m.cell.find({p, s});
      row.push_back(it == m.cell.end() ? "" : it->second);
    }
    row.push_back(seconds(longest[p]));
    steps.row(std::move(row));
  }
  fmt::print("{}\n", steps.str());

  std::vector<std::string> errors;
  for (const auto& s : r.steps) {
    if (s.verdict == db::step_verdict::error) {
      errors.push_back(
          fmt::format("  slot {} {}: {}{}", s.slot.value_or(0), s.path, s.error_message,
                      s.error_code ? fmt::format(" (code {} {})", *s.error_code,
                                                 errc_name(static_cast<int>(*s.error_code)))
                                   : ""));
    }
  }
  if (!errors.empty()) {
    fmt::print("Errors:\n");
    for (const auto& e : errors)
      fmt::print("{}\n", e);
    fmt::print("\n");
  }
  const auto bad = non_passing(d, run.id);
  if (!bad.empty()) {
    table t({"SLOT", "STEP", "MEASUREMENT", "LANE", "VALUE", "LIMIT", "VERDICT"});
    for (const auto& b : bad) {
      t.row({std::to_string(b.slot), b.step, b.name, b.lane ? std::to_string(*b.lane) : "",
             b.value ? fmt::format("{:.4g} {}", *b.value, b.unit) : "-", limit_text(b), b.verdict});
    }
    fmt::print("Measurements not passing:\n{}\n", t.str());
  }
  fmt::print(
      "Measurements: {} ({} pass, {} marginal, {} fail, {} error, {} info); events: {} "
      "({} warning, {} alarm, {} fault, {} error)\n",
      r.measurements.total(), r.measurements.pass, r.measurements.marginal, r.measurements.fail,
      r.measurements.error, r.measurements.info, r.events.total(), r.events.warning, r.events.alarm,
      r.events.fault, r.events.error);
}

void print_markdown(const db::run_detail& r, db::database& d) {
  const auto& run = r.run;
  fmt::print("# hilt run {}: {} — {}\n\n", run.id, run.sequence_name, db::to_string(run.status));
  fmt::print("| | |\n|---|---|\n");
  fmt::print("| sequence | `{}` (sha256 `{:.12}`) |\n", run.sequence_path, run.sequence_sha256);
  fmt::print("| fixture | `{}` (sha256 `{:.12}`) |\n", run.fixture_path, run.fixture_sha256);
  fmt::print("| started / ended | {} / {} |\n", run.started_at, run.ended_at.value_or("—"));
  fmt::print("| harness time | {} ({} clock, seed {}) |\n", seconds(run.duration_s), run.clock_mode,
             run.seed ? std::to_string(*run.seed) : "—");
  fmt::print("| hilt / host / operator | {} / {} / {} |\n", run.hilt_version, run.host,
             run.operator_name);
  fmt::print("| closed cleanly | {} |\n\n", run.closed_cleanly ? "yes" : "**no**");
  fmt::print(
      "## DUTs\n\n| slot | DUT | vendor | part number | serial | result | pass | marginal "
      "| fail | error |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& u : r.duts) {
    fmt::print("| {} | {} | {} | {} | {} | **{}** | {} | {} | {} | {} |\n", u.slot, u.name,
               u.vendor, u.part_number, u.serial, db::to_string(u.status), u.measurements.pass,
               u.measurements.marginal, u.measurements.fail, u.measurements.error);
  }
  const auto m = step_matrix(r);
  fmt::print("\n## Steps\n\n| step | name |");
  for (int s : m.slots)
    fmt::print("{}", s == 0 ? " station |" : fmt::format(" slot {} |", s));
  fmt::print("\n|---|---|");
  for (std::size_t i = 0; i < m.slots.size(); ++i)
    fmt::print("---|");
  fmt::print("\n");
  for (const auto& p : m.paths) {
    fmt::print("| `{}` | {} |", p, m.names.at(p));
    for (int s : m.slots) {
      auto it = m.cell.find({p, s});
      fmt::print(" {} |", it == m.cell.end() ? "" : it->second);
    }
    fmt::print("\n");
  }
  const auto bad = non_passing(d, run.id);
  if (!bad.empty()) {
    fmt::print(
        "\n## Measurements not passing\n\n| slot | step | measurement | lane | value | "
        "limit | limit from | verdict |\n|---|---|---|---|---|---|---|---|\n");
    for (const auto& b : bad) {
      fmt::print("| {} | `{}` | {} | {} | {} | {} | `{}` | **{}** |\n", b.slot, b.step, b.name,
                 b.lane ? std::to_string(*b.lane) : "",
                 b.value ? fmt::format("{:.4g} {}", *b.value, b.unit) : "—", limit_text(b),
                 b.source, b.verdict);
    }
  }
  fmt::print(
      "\n{} measurements ({} pass, {} marginal, {} fail, {} error); {} events ({} alarm, "
      "{} fault, {} error).\n",
      r.measurements.total(), r.measurements.pass, r.measurements.marginal, r.measurements.fail,
      r.measurements.error, r.events.total(), r.events.alarm, r.events.fault, r.events.error);
}

nlohmann::json to_json(const db::run_detail& r) {
  nlohmann::json j;
  const auto& run = r.run;
  j["run"] = {{"id", run.id},
              {"uuid", run.uuid},
              {"sequence", run.sequence_name},
              {"sequence_path", run.sequence_path},
              {"fixture_path", run.fixture_path},
              {"status", db::to_string(run.status)},
              {"closed_cleanly", run.closed_cleanly},
              {"started_at", run.started_at},
              {"ended_at", run.ended_at ? nlohmann::json(*run.ended_at) : nlohmann::json()},
              {"duration_s", run.duration_s ? nlohmann::json(*run.duration_s) : nlohmann::json()},
              {"clock", run.clock_mode},
              {"seed", run.seed ? nlohmann::json(*run.seed) : nlohmann::json()}};
  j["duts"] = nlohmann::json::array();
  for (const auto& u : r.duts) {
    j["duts"].push_back({{"slot", u.slot},
                         {"name", u.name},
                         {"vendor", u.vendor},
                         {"part_number", u.part_number},
                         {"serial", u.serial},
                         {"status", db::to_string(u.status)}});
  }
  j["steps"] = nlohmann::json::array();
  for (const auto& s : r.steps) {
    j["steps"].push_back(
        {{"slot", s.slot ? nlohmann::json(*s.slot) : nlohmann::json()},
         {"path", s.path},
         {"attempt", s.attempt},
         {"verdict", db::to_string(s.verdict)},
         {"duration_s", s.duration_s ? nlohmann::json(*s.duration_s) : nlohmann::json()},
         {"error_code", s.error_code ? nlohmann::json(*s.error_code) : nlohmann::json()},
         {"error", s.error_message}});
  }
  return j;
}

}  // namespace

int print_run_summary(const std::string& db_path, std::int64_t run_id) {
  auto d = open_read_only(db_path);
  print_text(db::load_run(d, run_id), d);
  return 0;
}

command_fn add_runs(CLI::App& app) {
  auto* cmd = app.add_subcommand("runs", "List the runs in a database");
  struct opts {
    std::string db;
    bool json = false, last = false;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("--db", o->db, "Database file (default: $HILT_DB, else ./hilt.db)");
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  cmd->add_flag("--last", o->last, "Print only the id of the newest run (for scripts)");
  return [o](app_state&) {
    try {
      auto d = open_read_only(resolve_db(o->db));
      const auto runs = db::list_runs(d);
      if (o->last) {
        if (runs.empty()) {
          error_line(fmt::format("{}: no runs", resolve_db(o->db)));
          return exit_code::bad_input;
        }
        fmt::print("{}\n", runs.back().id);
        return exit_code::passed;
      }
      if (o->json) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& r : runs) {
          j.push_back(
              {{"id", r.id},
               {"uuid", r.uuid},
               {"sequence", r.sequence_name},
               {"started_at", r.started_at},
               {"ended_at", r.ended_at ? nlohmann::json(*r.ended_at) : nlohmann::json()},
               {"status", db::to_string(r.status)},
               {"closed_cleanly", r.closed_cleanly},
               {"duts", r.duts},
               {"duts_passed", r.duts_passed},
               {"duts_failed", r.duts_failed},
               {"duts_error", r.duts_error},
               {"duration_s", r.duration_s ? nlohmann::json(*r.duration_s) : nlohmann::json()}});
        }
        fmt::print("{}\n", j.dump(2));
        return exit_code::passed;
      }
      table t({"RUN", "SEQUENCE", "STARTED", "STATUS", "DUTS", "PASS", "FAIL", "ERROR",
               "HARNESS TIME", "CLEAN"});
      for (const auto& r : runs) {
        t.row({std::to_string(r.id), r.sequence_name, r.started_at,
               std::string(db::to_string(r.status)), std::to_string(r.duts),
               std::to_string(r.duts_passed), std::to_string(r.duts_failed),
               std::to_string(r.duts_error), seconds(r.duration_s),
               r.closed_cleanly ? "yes" : "no"});
      }
      fmt::print("{}", t.str());
      return exit_code::passed;
    } catch (const db::db_error& e) {
      error_line(e.what());
      return exit_code::bad_input;
    }
  };
}

command_fn add_show(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "show", "Print a run's summary: DUTs, steps, verdicts, durations, failures");
  struct opts {
    std::int64_t run = 0;
    std::string db;
    bool json = false, markdown = false;
  };
  auto o = std::make_shared<opts>();
  cmd->add_option("run", o->run, "Run id (see `hilt runs`)")->required();
  cmd->add_option("--db", o->db, "Database file (default: $HILT_DB, else ./hilt.db)");
  auto* j = cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_flag("--markdown", o->markdown, "Print a Markdown report")->excludes(j);
  return [o](app_state&) {
    try {
      auto d = open_read_only(resolve_db(o->db));
      const auto r = db::load_run(d, o->run);
      if (o->json)
        fmt::print("{}\n", to_json(r).dump(2));
      else if (o->markdown)
        print_markdown(r, d);
      else
        print_text(r, d);
      return exit_code::passed;
    } catch (const db::db_error& e) {
      error_line(e.what());
      return exit_code::bad_input;
    }
  };
}

}  // namespace hilt::cli
