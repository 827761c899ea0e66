#include "hilt/error.hpp"

#include <string>

namespace hilt {

namespace {

struct code_entry {
  errc code;
  const char* name;
  const char* message;
};

// The table is the single source of names and messages; docs/errors.md mirrors it.
constexpr code_entry entries[] = {
    {errc::not_supported, "not_supported", "operation not supported by this driver"},
    {errc::timeout, "timeout", "timed out"},
    {errc::cancelled, "cancelled", "cancelled"},
    {errc::nack, "nack", "I2C target did not acknowledge (NACK)"},
    {errc::bus_timeout, "bus_timeout", "I2C bus timeout"},
    {errc::arbitration_lost, "arbitration_lost", "I2C arbitration lost"},
    {errc::io_error, "io_error", "I/O error"},
    {errc::bad_reply, "bad_reply", "malformed reply from device"},
    {errc::checksum_mismatch, "checksum_mismatch", "checksum mismatch"},
    {errc::unknown_identifier, "unknown_identifier", "unknown module identifier"},
    {errc::unsupported_revision, "unsupported_revision", "unsupported management revision"},
    {errc::page_not_supported, "page_not_supported", "page not advertised by the module"},
    {errc::invalid_argument, "invalid_argument", "argument out of range for the device"},
    {errc::device_fault, "device_fault", "device reports a fault"},
    {errc::not_ready, "not_ready", "device not ready for this operation"},
    {errc::device_not_found, "device_not_found", "no device at this address"},
    {errc::unreachable, "unreachable", "device unreachable"},
    {errc::instrument_error, "instrument_error", "instrument reported an error"},
    {errc::limit_refused, "limit_refused", "refused by a fixture safety limit"},
    {errc::state_timeout, "state_timeout",
     "state machine did not reach the expected state in time"},
    {errc::lock_lost, "lock_lost", "PRBS checker lost lock"},
    {errc::disconnected, "disconnected", "device disconnected"},
};

const code_entry* find(int value) noexcept {
  for (const auto& e : entries) {
    if (static_cast<int>(e.code) == value) return &e;
  }
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hilt"; }
  std::string message(int value) const override {
    const auto* e = find(value);
    return e ? e->message : "unknown hilt error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& hilt_category() noexcept {
  static const category c;
  return c;
}

const char* errc_name(int value) noexcept {
  const auto* e = find(value);
  return e ? e->name : "unknown";
}

}  // namespace hilt
