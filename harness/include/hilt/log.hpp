// Logging: one spdlog logger per component, all writing to the same sinks.
//
// The console sink (stderr, coloured on a terminal) is always there; a run adds its per-run log
// file with add_run_log() and removes it with remove_run_log(). Drivers get a logger named after
// themselves ("cmis", "scpi-psu"); the harness uses "hilt", "runner", "bench", "db".
#pragma once

#include <spdlog/common.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace hilt::log {

// Sets up the shared sinks once; safe to call again (only the level changes).
void init(spdlog::level::level_enum console_level);
// Parses "trace|debug|info|warn|error|critical|off"; throws config_error otherwise.
spdlog::level::level_enum parse_level(std::string_view text);

// The logger for a component, created on first use with the shared sinks.
std::shared_ptr<spdlog::logger> get(const std::string& name);

// Adds a file sink receiving everything at debug and above from every logger.
void add_run_log(const std::filesystem::path& file);
void remove_run_log();

}  // namespace hilt::log
