// hilt devices [--fixture F] [--json]
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "hilt/bench.hpp"
#include "hilt/calibration.hpp"
#include "hilt/error.hpp"

namespace hilt::cli {

namespace {

// Where a device stands with its calibration today: the listing's text (describe_calibration,
// "-" without a date), and for --json a status keyword and the days left (negative: overdue).
struct calibration_view {
  std::string text = "-";
  std::string status = "none";  // none | ok | overdue | invalid
  std::optional<int> days_left;
  std::optional<calibration_policy> policy;
};

calibration_view view_calibration(const fixture& f, const std::string& device,
                                  const std::string& due, std::chrono::year_month_day today) {
  calibration_view v;
  for (const auto& d : f.devices) {
    if (d.name == device) v.policy = d.calibration.value_or(f.calibration);
  }
  if (due.empty()) return v;
  v.text = describe_calibration(due, today);
  const auto date = parse_iso_date(due);
  if (!date) {
    v.status = "invalid";  // load_fixture accepts only real dates: not expected
    return v;
  }
  v.days_left =
      static_cast<int>((std::chrono::sys_days(*date) - std::chrono::sys_days(today)).count());
  // Valid through the due date (calibration.hpp).
  v.status = *v.days_left < 0 ? "overdue" : "ok";
  return v;
}

}  // namespace

command_fn add_devices(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "devices",
      "Open the bench, probe each device and print its identity (vendor, part number, "
      "serial, firmware) and its calibration due date from the fixture. No test runs and no "
      "device setting is changed");
  auto fixture_path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--fixture,-f", *fixture_path, "Fixture file (default: the emulated bench)");
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  return [fixture_path, json](app_state& st) {
    st.load_drivers();
    for (const auto& p : st.plugin_problems) {
      error_line(fmt::format("plugin {} skipped: {}", p.file, p.message));
    }
    const std::string path =
        fixture_path->empty() ? default_fixture_path().string() : *fixture_path;
    const fixture f = load_fixture(path, &st.registry);
    asio::io_context io;
    hilt::clock clk(io, f.clock);
    bench b(f, st.registry, clk, f.seed);

    struct row {
      std::string name, address, driver, kind, origin, calibration_due;
      std::optional<identity> id;
      std::error_code ec;
    };
    std::vector<row> rows;
    asio::co_spawn(
        io,
        [&]() -> task<void> {
          for (auto& s : b.devices()) {
            row r{s.name,          s.address.text,    s.address.driver, "",
                  s.driver_origin, s.calibration_due, std::nullopt,     s.open_error};
            if (s.device) {
              r.kind = std::string(to_string(s.device->kind()));
              auto id = co_await s.device->async_identify();
              if (id)
                r.id = id.value();
              else
                r.ec = id.error();
            }
            rows.push_back(std::move(r));
          }
        },
        asio::detached);
    clk.run();

    const auto today = today_utc();
    int failures = 0;
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : rows) {
        nlohmann::json j{{"name", r.name},
                         {"address", r.address},
                         {"driver", r.driver},
                         {"class", r.kind},
                         {"origin", r.origin}};
        const auto cal = view_calibration(f, r.name, r.calibration_due, today);
        j["calibration_due"] =
            r.calibration_due.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.calibration_due);
        j["calibration_status"] = cal.status;
        if (cal.days_left) j["calibration_days_left"] = *cal.days_left;
        if (cal.policy && !r.calibration_due.empty())
          j["calibration_policy"] = std::string(to_string(*cal.policy));
        if (r.id) {
          j["identity"] = {{"vendor", r.id->vendor},     {"part_number", r.id->part_number},
                           {"serial", r.id->serial},     {"firmware", r.id->firmware},
                           {"revision", r.id->revision}, {"extra", r.id->extra}};
        } else {
          j["error"] = {{"code", r.ec.value()},
                        {"name", errc_name(r.ec.value())},
                        {"message", r.ec.message()}};
        }
        out.push_back(std::move(j));
      }
      fmt::print("{}\n", out.dump(2));
    } else {
      table t({"DEVICE", "ADDRESS", "CLASS", "VENDOR", "PART NUMBER", "SERIAL", "FIRMWARE",
               "CAL DUE", "STATUS"});
      for (const auto& r : rows) {
        const std::string cal = view_calibration(f, r.name, r.calibration_due, today).text;
        if (r.id) {
          t.row({r.name, r.address, r.kind, r.id->vendor, r.id->part_number, r.id->serial,
                 r.id->firmware, cal, "ok"});
        } else {
          t.row({r.name, r.address, r.kind, "", "", "", "", cal,
                 fmt::format("error: {} ({})", r.ec.message(), errc_name(r.ec.value()))});
        }
      }
      fmt::print("{}", t.str());
    }
    for (const auto& r : rows) {
      if (!r.id) {
        ++failures;
        error_line(fmt::format("{} ({}): identify failed: {}", r.name, r.address, r.ec.message()));
      }
    }
    return failures ? exit_code::device_error : exit_code::passed;
  };
}

}  // namespace hilt::cli
