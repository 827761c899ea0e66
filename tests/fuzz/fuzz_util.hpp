// Helpers shared by the libFuzzer targets in tests/fuzz (docs/fuzzing.md).
#pragma once

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace hilt::fuzz {

// A broken invariant: print it (libFuzzer then saves the input as crash-*) and abort.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ INVARIANT BROKEN: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace hilt::fuzz

// HILT_FUZZ_CHECK(condition, message): fail(message) unless condition; the message (a
// std::string expression) is only built when the check fails.
#define HILT_FUZZ_CHECK(cond, msg)        \
  do {                                    \
    if (!(cond)) ::hilt::fuzz::fail(msg); \
  } while (0)

namespace hilt::fuzz {

// Nothing a parser logs is of interest while fuzzing (and printing slows every run down).
inline void quiet_logs() {
  spdlog::set_level(spdlog::level::off);
}

// HILT_FUZZ_PRINT=1 in the environment: targets print what the parser said about each input
// (run the target on one file to see why a seed is rejected).
inline bool print_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("HILT_FUZZ_PRINT");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}

// Whether `s` is well-formed UTF-8 (what nlohmann::json::dump() insists on: `hilt ... --json`).
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80             ? 0
                          : (c & 0xE0) == 0xC0 ? 1
                          : (c & 0xF0) == 0xE0 ? 2
                          : (c & 0xF8) == 0xF0 ? 3
                                               : 4;
    if (n == 4 || i + n >= s.size() + (n == 0)) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace hilt::fuzz
