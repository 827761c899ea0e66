// The Modbus TCP transport (client), on libmodbus.
//
// libmodbus is blocking, so every transaction runs on the client's own worker thread and its
// completion is posted back to the awaiting coroutine's executor: the io_context never stalls on a
// slow peer. While a transaction is in flight the caller holds a clock::io_scope, so virtual
// harness time does not jump while the real network exchange is happening.
//
// Contract:
//  - Register addresses are PDU addresses (0-based), as in the Modbus Application Protocol
//    Specification V1.1b3 §4.4 ("holding register 40001" is address 0).
//  - Every transaction is bounded by `timeout` (libmodbus response timeout; byte timeout 500 ms).
//    A transaction in flight is not interrupted when its caller is cancelled (libmodbus cannot be
//    interrupted); the caller resumes when it ends, within that bound.
//  - The connection is opened on first use and again after it was lost; a transaction that finds
//    the connection dropped is retried once on a new connection (reads and single/multiple
//    register writes are idempotent). After a timeout the connection is closed, so that a late
//    reply cannot be taken for the answer to the next request (the MBAP transaction id would be
//    rejected anyway, but the stream would stay out of step).
//  - Outcomes, never exceptions: errc::unreachable (cannot connect), errc::timeout (no reply),
//    errc::disconnected (connection lost, retry failed too), errc::instrument_error (the server
//    answered with a Modbus exception, V1.1b3 §7; `exception` holds its code),
//    errc::bad_reply (a malformed or mismatched response), errc::invalid_argument (a count outside
//    V1.1b3 limits: 1..125 registers read, 1..123 written), errc::cancelled.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/device.hpp"
#include "hilt/transport/tcp_line.hpp"

namespace hilt {

struct modbus_options {
  int unit_id = 1;  // MBAP unit identifier (V1.1b3 / Modbus Messaging on TCP/IP §3.1.3)
  clock::duration connect_timeout = std::chrono::seconds(3);
};

// The outcome of one Modbus transaction.
struct modbus_reply {
  std::error_code ec;
  int exception = 0;                     // Modbus exception code when the server sent one
  std::string detail;                    // for log lines: "exception 02 (illegal data address)"
  std::vector<std::uint16_t> registers;  // what a read returned
  explicit operator bool() const noexcept { return !ec; }
};

// The name of a Modbus exception code (V1.1b3 §7): 1 "illegal function", 2 "illegal data
// address", 3 "illegal data value", 4 "server device failure", 5 "acknowledge", 6 "server device
// busy", 8 "memory parity error", 10 "gateway path unavailable", 11 "gateway target device
// failed to respond"; "unknown exception" otherwise.
const char* modbus_exception_name(int code) noexcept;

class modbus_tcp_client {
 public:
  using duration = clock::duration;

  // `clk` may be null (no io_scope held).
  modbus_tcp_client(asio::any_io_executor ex, hilt::clock* clk, tcp_target target,
                    modbus_options opts = {});
  // Stops the worker after the transaction in flight (bounded by its timeout).
  ~modbus_tcp_client();
  modbus_tcp_client(const modbus_tcp_client&) = delete;
  modbus_tcp_client& operator=(const modbus_tcp_client&) = delete;

  // Function 03 (read holding registers).
  task<modbus_reply> async_read_holding(std::uint16_t address, std::uint16_t count,
                                        duration timeout);
  // Function 04 (read input registers).
  task<modbus_reply> async_read_input(std::uint16_t address, std::uint16_t count, duration timeout);
  // Function 06 (write single register).
  task<modbus_reply> async_write_register(std::uint16_t address, std::uint16_t value,
                                          duration timeout);
  // Function 16 (write multiple registers).
  task<modbus_reply> async_write_registers(std::uint16_t address, std::vector<std::uint16_t> values,
                                           duration timeout);

  const tcp_target& target() const noexcept { return target_; }
  std::string describe() const;  // "modbus-tcp:127.0.0.1:502/1"
  // Connections opened so far (by the worker).
  std::uint64_t connects() const noexcept;

 private:
  struct worker;
  enum class op { read_holding, read_input, write_one, write_many };
  task<modbus_reply> run(op o, std::uint16_t address, std::uint16_t count,
                         std::vector<std::uint16_t> values, duration timeout);

  asio::any_io_executor ex_;
  hilt::clock* clock_;
  tcp_target target_;
  modbus_options opts_;
  std::unique_ptr<worker> worker_;
};

}  // namespace hilt
