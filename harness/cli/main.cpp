// hilt — hardware-in-the-loop test harness for optical modules, CPO engines and switch ASICs.
//
// Exit codes (docs/cli.md): 0 all passed, 1 a DUT failed a limit, 2 bad input or usage,
// 3 device or harness error, 130 interrupted.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli.hpp"
#include "hilt/error.hpp"
#include "hilt/log.hpp"
#include "hilt/version.hpp"

namespace {

constexpr const char* footer = R"(Exit codes:
  0    every DUT passed every limit (or the command succeeded)
  1    at least one DUT failed a limit
  2    bad input: usage, file, sequence, fixture, plugin or database problem
  3    a device or harness error stopped the work
  130  interrupted (SIGINT / SIGTERM); safe state was applied first

Environment:
  HILT_DB           database path when --db is not given (default ./hilt.db)
  HILT_FIXTURE      fixture used when --fixture is not given
  HILT_PLUGIN_PATH  colon-separated directories searched for driver plugins (*.so)

See docs/cli.md for every subcommand.)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hilt: hardware-in-the-loop test harness for optical modules, CPO engines and switch "
      "ASICs",
      "hilt"};
  app.footer(footer);
  app.set_version_flag("--version", std::string("hilt ") + hilt::version);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `hilt run x.yaml -v`

  int verbosity = 0;
  std::string log_level;
  app.add_flag("-v,--verbose", verbosity, "More console output (-v info, -vv debug)");
  app.add_option("--log-level", log_level,
                 "Console log level: trace, debug, info, warn, error, critical, off");

  std::vector<std::pair<CLI::App*, hilt::cli::command_fn>> commands;
  auto add = [&](auto adder, const char* name) {
    (void)name;
    std::size_t before = app.get_subcommands({}).size();
    auto fn = adder(app);
    auto subs = app.get_subcommands({});
    commands.emplace_back(subs.size() > before ? subs.back() : nullptr, std::move(fn));
  };
  add(hilt::cli::add_drivers, "drivers");
  add(hilt::cli::add_validate, "validate");
  add(hilt::cli::add_devices, "devices");
  add(hilt::cli::add_run, "run");
  add(hilt::cli::add_resume, "resume");
  add(hilt::cli::add_runs, "runs");
  add(hilt::cli::add_show, "show");
  add(hilt::cli::add_eeprom, "eeprom");
  add(hilt::cli::add_emulate, "emulate");
  add(hilt::cli::add_usb, "usb");

  // CLI11 reports an unknown subcommand as "A subcommand is required"; name it instead.
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--log-level") {
      ++i;
      continue;
    }
    if (a.starts_with("-")) continue;
    std::string names;
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == a;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      hilt::cli::error_line(fmt::format(
          "unknown subcommand '{}' (expected one of: {}; run 'hilt --help' for usage)", a, names));
      return hilt::exit_code::bad_input;
    }
    break;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, the documented code: usage errors are "bad input".
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    hilt::cli::error_line(fmt::format("{} (run 'hilt --help' for usage)", what));
    return hilt::exit_code::bad_input;
  }

  try {
    auto level = spdlog::level::warn;
    if (verbosity == 1) level = spdlog::level::info;
    if (verbosity >= 2) level = spdlog::level::debug;
    if (!log_level.empty()) level = hilt::log::parse_level(log_level);
    hilt::log::init(level);

    hilt::cli::app_state state;
    for (auto& [sub, fn] : commands) {
      if (sub && sub->parsed()) return fn(state);
    }
    hilt::cli::error_line("no subcommand given (run 'hilt --help' for usage)");
    return hilt::exit_code::bad_input;
  } catch (const hilt::config_error& e) {
    hilt::cli::error_line(e.what());
    return hilt::exit_code::bad_input;
  } catch (const std::exception& e) {
    hilt::cli::error_line(fmt::format("internal error: {}", e.what()));
    return hilt::exit_code::device_error;
  }
}
