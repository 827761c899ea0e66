// hilt error codes.
//
// Device and harness errors are std::error_code values in the "hilt" category. Their numbers are
// stored in SQLite (steps.error_code, events.code) and therefore NEVER change: new codes are
// appended, retired codes keep their number. docs/errors.md lists them; a unit test pins every
// value so that a renumbering fails the build's tests.
//
// Configuration errors (bad fixture, bad sequence, bad command line) are exceptions, not codes:
// see config_error below.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace hilt {

enum class errc : int {
  // 0 is success in std::error_code; never used here.
  not_supported = 1,          // the driver does not implement this operation
  timeout = 2,                // the device or the harness watchdog timed out
  cancelled = 3,              // the operation was cancelled (abort, Ctrl-C)
  nack = 4,                   // I2C target did not acknowledge
  bus_timeout = 5,            // I2C bus held / clock stretched too long
  arbitration_lost = 6,       // I2C multi-master arbitration lost
  io_error = 7,               // transport-level failure (OS error, socket closed)
  bad_reply = 8,              // device answered with bytes that cannot be parsed
  checksum_mismatch = 9,      // stored checksum does not match the data
  unknown_identifier = 10,    // module identifier byte not known to the driver
  unsupported_revision = 11,  // management-spec revision not known to the driver
  page_not_supported = 12,    // page not advertised by the module
  invalid_argument = 13,      // argument outside what the device accepts (lane, range)
  device_fault = 14,          // the device reports a fault state
  not_ready = 15,             // the device is not in a state that allows the operation
  device_not_found = 16,      // nothing answers at the address
  unreachable = 17,           // network / USB peer cannot be reached
  instrument_error = 18,      // instrument reported an error (SCPI error queue, Modbus exception)
  limit_refused = 19,         // refused by a fixture safety limit before anything was sent
  state_timeout = 20,         // a state machine did not reach the expected state in time
  lock_lost = 21,             // PRBS checker lost lock
  disconnected = 22,          // device was unplugged / connection dropped mid-operation
};

const std::error_category& hilt_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), hilt_category()};
}

// Stable short name of a code ("nack", "timeout"); "unknown" for values not in errc.
const char* errc_name(int value) noexcept;

// Thrown for bad configuration: sequences, fixtures, profiles, command-line values.
// `where` is "file:line:col" when the error is located in a file, else empty; what() is the full
// one-line message "file:line:col: message".
class config_error : public std::runtime_error {
 public:
  config_error(std::string where, const std::string& message)
      : std::runtime_error(where.empty() ? message : where + ": " + message),
        where_(std::move(where)),
        message_(message) {}
  const std::string& where() const noexcept { return where_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string where_;
  std::string message_;
};

// Documented process exit codes of the `hilt` command (docs/cli.md).
namespace exit_code {
inline constexpr int passed = 0;         // every DUT passed every limit
inline constexpr int failed = 1;         // at least one DUT failed a limit
inline constexpr int bad_input = 2;      // bad usage, file, sequence, fixture or database
inline constexpr int device_error = 3;   // a device or harness error stopped the work
inline constexpr int interrupted = 130;  // SIGINT / SIGTERM
}  // namespace exit_code

}  // namespace hilt

template <>
struct std::is_error_code_enum<hilt::errc> : std::true_type {};
