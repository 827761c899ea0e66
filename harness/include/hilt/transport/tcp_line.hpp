// The TCP line transport: newline-framed request/reply over a raw TCP socket, the way SCPI
// instruments are driven on port 5025 (IEEE 488.2 §7.5 program message terminator: LF; the
// reply ends with LF, a CR before it is dropped).
//
// Contract:
//  - One connection per client, opened on first use and again after it was lost ("reconnect").
//    TCP_NODELAY is set: SCPI lines are tiny and each one waits for its reply.
//  - Every operation is bounded, and holds a clock::io_scope while it waits on the socket, so that
//    virtual harness time does not jump while a reply is in flight. In real mode the bound is a
//    wait on the harness clock (a deadline that cancels the socket's operations when it fires).
//    In virtual mode harness time cannot move while the io_scope is held, so the bound is a
//    steady timer of the same length (the I/O is real, and so is its time).
//  - Failures are codes, never exceptions: errc::unreachable (connect refused, no route, connect
//    timed out, name not resolved), errc::timeout (no complete reply line in time),
//    errc::disconnected (the peer closed or reset the connection), errc::bad_reply (a reply line
//    longer than max_line), errc::cancelled (the caller was cancelled). After timeout,
//    disconnected, bad_reply or cancelled the connection is closed, because the byte stream may
//    hold half a reply; the next operation reconnects. last_error() says what happened in words.
//  - One exchange at a time: a caller that needs several lines to stay together (a command and
//    the error-queue check after it) holds async_lock() across them. Bytes left in the receive
//    buffer from an earlier exchange are discarded before a query is sent.
//  - Threading: a client lives on one executor (one thread).
//  - It is a hilt::line_transport (line.hpp), like the USBTMC client: the SCPI drivers take either.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "hilt/clock.hpp"
#include "hilt/device.hpp"
#include "hilt/transport/line.hpp"

namespace hilt {

// A TCP peer "HOST:PORT". parse() throws config_error ("bad TCP target '...': why") when the port
// is missing (and there is no default), not a number, or outside 1..65535.
struct tcp_target {
  std::string host;
  std::uint16_t port = 0;
  static tcp_target parse(std::string_view text, std::uint16_t default_port = 0);
  std::string str() const;  // "127.0.0.1:5025"
};

// Renders device bytes for a log line: printable ASCII as is, others as \xNN, at most `max`
// bytes (then "..."), so that garbage from a device never garbles a log.
std::string printable(std::string_view bytes, std::size_t max = 80);

struct tcp_line_options {
  std::string terminator = "\n";  // appended to every line sent
  std::size_t max_line = 4096;    // longest reply line accepted (bytes, terminator included)
  clock::duration connect_timeout = std::chrono::seconds(3);
};

class tcp_line_client : public line_transport {
 public:
  using duration = clock::duration;

  // `clk` may be null (no harness clock: real-time bounds).
  tcp_line_client(asio::any_io_executor ex, hilt::clock* clk, tcp_target target,
                  tcp_line_options opts = {});
  ~tcp_line_client() override;
  tcp_line_client(const tcp_line_client&) = delete;
  tcp_line_client& operator=(const tcp_line_client&) = delete;

  // Exclusive use of the connection until the returned guard is destroyed (FIFO). Completes with
  // a null guard only when the caller was cancelled while waiting.
  task<std::shared_ptr<void>> async_lock() override;

  // Connects if not connected. errc::unreachable on failure.
  task<std::error_code> async_connect() override;
  // Sends one line (the terminator is appended).
  task<std::error_code> async_send(std::string line, duration timeout) override;
  // Reads one reply line (terminator and a trailing CR removed).
  task<result<std::string>> async_read_line(duration timeout) override;
  // Sends one line and reads one reply line, under one bound of `timeout`.
  task<result<std::string>> async_query(std::string line, duration timeout) override;

  void close() noexcept override;
  bool is_open() const noexcept override;
  // Number of connections opened so far: a new value means a new connection (a reconnect), so
  // callers cache per-connection state (the selected channel) together with this number.
  std::uint64_t connects() const noexcept override { return connects_; }
  const tcp_target& target() const noexcept { return target_; }
  std::string describe() const override;  // "tcp:127.0.0.1:5025"
  const std::string& last_error() const noexcept override { return last_error_; }

 private:
  struct waiter;
  template <class T>
  task<result<T>> bounded(task<result<T>> op, duration timeout, const char* what);
  template <class T>
  task<result<T>> bounded_io(task<result<T>> op, duration timeout, const char* what);
  task<result<bool>> connect_op();
  task<result<bool>> send_op(std::string data);
  task<result<std::string>> read_op();
  task<result<std::string>> query_op(std::string data);
  std::error_code fail(errc e, std::string text);
  std::error_code map_socket_error(const boost::system::error_code& ec, const char* doing);
  void discard_stale_input();
  void unlock() noexcept;

  asio::any_io_executor ex_;
  hilt::clock* clock_;
  tcp_target target_;
  tcp_line_options opts_;
  asio::ip::tcp::socket socket_;
  // The deadline of the exchange in flight. Its handler may run after this client is gone (a
  // timer that expired just as the exchange completed), so what it touches is shared.
  struct deadline_state {
    std::uint64_t generation = 0;
    bool timed_out = false;
    asio::ip::tcp::socket* socket = nullptr;  // null once the client is destroyed
  };
  asio::steady_timer deadline_;
  std::shared_ptr<deadline_state> deadline_state_ = std::make_shared<deadline_state>();
  std::string rbuf_;
  std::uint64_t connects_ = 0;
  std::string last_error_;
  bool locked_ = false;
  std::deque<std::shared_ptr<waiter>> waiters_;
};

}  // namespace hilt
