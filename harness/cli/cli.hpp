// Shared pieces of the `hilt` subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "hilt/driver.hpp"

namespace hilt::cli {

// State every subcommand may use, filled by main() before dispatch.
struct app_state {
  driver_registry registry;
  std::vector<plugin_problem> plugin_problems;
  bool plugins_loaded = false;
  // Loads built-in drivers and plugins once; plugin problems are kept and reported by the caller.
  void load_drivers();
};

// Each subcommand registers its options on `app` and returns the function that runs it; that
// function returns the process exit code (hilt::exit_code).
using command_fn = std::function<int(app_state&)>;

command_fn add_drivers(CLI::App& app);
command_fn add_validate(CLI::App& app);
command_fn add_devices(CLI::App& app);
command_fn add_run(CLI::App& app);
command_fn add_resume(CLI::App& app);  // cmd_run.cpp
command_fn add_runs(CLI::App& app);
command_fn add_show(CLI::App& app);
command_fn add_eeprom(CLI::App& app);   // cmd_eeprom.cpp: hilt eeprom dump|decode
command_fn add_emulate(CLI::App& app);  // cmd_emulate.cpp: hilt emulate psu|chamber
command_fn add_usb(CLI::App& app);      // cmd_usb.cpp: hilt usb list

// Prints "hilt: <message>" on stderr (one line).
void error_line(const std::string& message);

// The database path: --db if given, else $HILT_DB, else hilt.db in the working directory.
std::string resolve_db(const std::string& flag);

// A plain text table with column alignment, for terminal output.
class table {
 public:
  explicit table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  std::string str() const;
  bool empty() const noexcept { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace hilt::cli
