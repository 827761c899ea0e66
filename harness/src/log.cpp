#include "hilt/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "hilt/error.hpp"

namespace hilt::log {

namespace {

struct state {
  std::mutex mu;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist =
      std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::sinks::sink> console;
  std::shared_ptr<spdlog::sinks::sink> run_file;
  spdlog::level::level_enum console_level = spdlog::level::warn;
};

state& st() {
  static state s;
  return s;
}

}  // namespace

void init(spdlog::level::level_enum console_level) {
  auto& s = st();
  std::lock_guard lock(s.mu);
  if (!s.console) {
    s.console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s.console->set_pattern("%^%l%$ [%n] %v");
    s.dist->add_sink(s.console);
    // Loggers pass everything to the sinks; each sink filters at its own level.
    s.dist->set_level(spdlog::level::trace);
    auto def = std::make_shared<spdlog::logger>("hilt", s.dist);
    def->set_level(spdlog::level::debug);
    spdlog::set_default_logger(def);
  }
  s.console_level = console_level;
  s.console->set_level(console_level);
}

spdlog::level::level_enum parse_level(std::string_view text) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> levels[] = {
      {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (auto [name, lvl] : levels) {
    if (name == text) return lvl;
  }
  throw config_error({}, "unknown log level '" + std::string(text) +
                             "': expected trace, debug, info, warn, error, critical or off");
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  if (auto l = spdlog::get(name)) return l;
  auto& s = st();
  {
    std::lock_guard lock(s.mu);
    if (!s.console) {
      // Not initialised (a unit test): keep library output quiet unless it is an error.
      s.console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      s.console->set_level(spdlog::level::err);
      s.dist->add_sink(s.console);
    }
  }
  auto l = std::make_shared<spdlog::logger>(name, s.dist);
  l->set_level(spdlog::level::debug);
  try {
    spdlog::register_logger(l);
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get(name);  // another thread registered it first
  }
  return l;
}

void add_run_log(const std::filesystem::path& file) {
  auto& s = st();
  std::lock_guard lock(s.mu);
  if (s.run_file) s.dist->remove_sink(s.run_file);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), false);
  sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l [%n] %v");
  sink->set_level(spdlog::level::debug);
  s.run_file = sink;
  s.dist->add_sink(sink);
}

void remove_run_log() {
  auto& s = st();
  std::lock_guard lock(s.mu);
  if (s.run_file) {
    s.run_file->flush();
    s.dist->remove_sink(s.run_file);
    s.run_file.reset();
  }
}

}  // namespace hilt::log
