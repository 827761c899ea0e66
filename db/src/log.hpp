// Internal: the "db" logger.
#pragma once

#include <memory>

#include <spdlog/spdlog.h>

namespace hilt::db::detail {

// The spdlog logger named "db". If the application registered one it is used as is; otherwise
// one is created that writes to the default logger's sinks, so db messages land wherever the
// harness sends its own.
std::shared_ptr<spdlog::logger> logger();

}  // namespace hilt::db::detail
