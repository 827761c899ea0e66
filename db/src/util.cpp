#include "hilt/db/util.hpp"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <random>

namespace hilt::db {

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto since_epoch = when.time_since_epoch();
  auto secs = duration_cast<seconds>(since_epoch);
  auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
  if (millis < 0) {  // before 1970: keep the field positive
    secs -= seconds(1);
    millis += 1000;
  }
  const std::time_t as_time_t = static_cast<std::time_t>(secs.count());
  std::tm utc{};
  gmtime_r(&as_time_t, &utc);  // reentrant: producers stamp times from many threads
  char text[64];               // generous: the compiler cannot bound tm_year
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return text;
}

std::string utc_timestamp() {
  return utc_timestamp(std::chrono::system_clock::now());
}

std::string make_uuid() {
  // One generator seeded once from the OS: UUIDs must differ across runs and processes but
  // need not be cryptographic.
  static std::mutex mutex;
  static std::mt19937_64 engine{[] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }()};
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  {
    std::lock_guard lock(mutex);
    high = engine();
    low = engine();
  }
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // RFC 4122 variant
  char text[40];
  std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
                static_cast<unsigned>(low >> 48),
                static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

}  // namespace hilt::db
