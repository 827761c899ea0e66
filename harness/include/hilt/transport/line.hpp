// The line transport: one request line out, one reply line back — how SCPI instruments are
// driven, whatever the wire. Implementations: tcp_line_client (raw TCP, port 5025;
// tcp_line.hpp) and usbtmc_client (USB Test & Measurement Class; usb_tmc.hpp). The SCPI supply
// driver (drivers/scpi_psu) talks to this interface only, so its address picks the wire.
//
// The contract is tcp_line.hpp's: every operation is bounded by its timeout and completes with an
// error code, never an exception; one exchange at a time under async_lock(); a "connection" is
// opened on first use and again after it was lost, and connects() counts them so callers can
// keep per-connection state (the selected channel, a drained error queue).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "hilt/clock.hpp"
#include "hilt/device.hpp"

namespace hilt {

class line_transport {
 public:
  using duration = clock::duration;

  virtual ~line_transport() = default;

  // Exclusive use of the link until the returned guard is destroyed (FIFO). Completes with a
  // null guard only when the caller was cancelled while waiting.
  virtual task<std::shared_ptr<void>> async_lock() = 0;
  // Opens the link if it is not open. errc::unreachable (and last_error()) on failure.
  virtual task<std::error_code> async_connect() = 0;
  // Sends one line (the terminator is added by the transport).
  virtual task<std::error_code> async_send(std::string line, duration timeout) = 0;
  // Reads one reply line (terminator and a trailing CR removed).
  virtual task<result<std::string>> async_read_line(duration timeout) = 0;
  // Sends one line and reads one reply line.
  virtual task<result<std::string>> async_query(std::string line, duration timeout) = 0;

  // Closes the link; the next operation opens it again (connects() then grows by one).
  virtual void close() noexcept = 0;
  virtual bool is_open() const noexcept = 0;
  virtual std::uint64_t connects() const noexcept = 0;
  // "tcp:127.0.0.1:5025", "usbtmc:2a8d:1102:MY60000001": for messages.
  virtual std::string describe() const = 0;
  // What the last failure was, in words.
  virtual const std::string& last_error() const noexcept = 0;
};

}  // namespace hilt
