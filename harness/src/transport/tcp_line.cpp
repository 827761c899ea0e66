#include "hilt/transport/tcp_line.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <optional>
#include <vector>

#include "hilt/error.hpp"

namespace hilt {

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
std::error_code code(errc e) {
  return make_error_code(e);
}
}  // namespace

tcp_target tcp_target::parse(std::string_view text, std::uint16_t default_port) {
  auto bad = [&](std::string_view why) {
    return config_error({}, fmt::format("bad TCP target '{}': {}", text, why));
  };
  tcp_target t;
  std::string_view host = text, port;
  if (!text.empty() && text.front() == '[') {  // [::1]:5025
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw bad("missing ']' after an IPv6 address");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw bad("expected ':PORT' after ']'");
      port = rest.substr(1);
    }
  } else if (const auto c = text.rfind(':'); c != std::string_view::npos) {
    host = text.substr(0, c);
    port = text.substr(c + 1);
    if (host.find(':') != std::string_view::npos) throw bad("write an IPv6 address as [ADDR]:PORT");
  }
  if (host.empty()) throw bad("the host is empty; expected HOST:PORT, e.g. 192.168.1.20:5025");
  t.host = std::string(host);
  if (port.empty()) {
    if (default_port == 0) throw bad("the port is missing; expected HOST:PORT");
    t.port = default_port;
    return t;
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (ec != std::errc{} || p != port.data() + port.size() || v < 1 || v > 65535) {
    throw bad(fmt::format("port '{}' is not a number within 1..65535", port));
  }
  t.port = static_cast<std::uint16_t>(v);
  return t;
}

std::string tcp_target::str() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string printable(std::string_view bytes, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(bytes.size(), max);
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

struct tcp_line_client::waiter {
  explicit waiter(const asio::any_io_executor& ex)
      : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool granted = false;
};

tcp_line_client::tcp_line_client(asio::any_io_executor ex, hilt::clock* clk, tcp_target target,
                                 tcp_line_options opts)
    : ex_(std::move(ex)),
      clock_(clk),
      target_(std::move(target)),
      opts_(std::move(opts)),
      socket_(ex_),
      deadline_(ex_) {
  deadline_state_->socket = &socket_;
}

tcp_line_client::~tcp_line_client() {
  deadline_state_->socket = nullptr;
  close();
}

std::string tcp_line_client::describe() const {
  return "tcp:" + target_.str();
}

bool tcp_line_client::is_open() const noexcept {
  return socket_.is_open();
}

void tcp_line_client::close() noexcept {
  boost::system::error_code ignored;
  if (socket_.is_open()) {
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  rbuf_.clear();
}

std::error_code tcp_line_client::fail(errc e, std::string text) {
  last_error_ = std::move(text);
  if (e != errc::unreachable) close();  // the stream may hold half a reply
  return code(e);
}

std::error_code tcp_line_client::map_socket_error(const boost::system::error_code& ec,
                                                  const char* doing) {
  namespace ae = asio::error;
  if (ec == ae::operation_aborted) return fail(errc::cancelled, fmt::format("{} cancelled", doing));
  if (ec == ae::eof || ec == ae::connection_reset || ec == ae::broken_pipe ||
      ec == ae::connection_aborted || ec == ae::not_connected || ec == ae::bad_descriptor) {
    return fail(errc::disconnected,
                fmt::format("{}: connection closed by the peer ({})", doing, ec.message()));
  }
  if (ec == ae::not_found) {
    return fail(errc::bad_reply, fmt::format("{}: reply longer than {} bytes without a line end",
                                             doing, opts_.max_line));
  }
  return fail(errc::io_error, fmt::format("{}: {}", doing, ec.message()));
}

task<std::shared_ptr<void>> tcp_line_client::async_lock() {
  if (locked_) {
    auto w = std::make_shared<waiter>(ex_);
    waiters_.push_back(w);
    co_await w->timer.async_wait(use_tuple);  // woken by unlock() (granted) or cancellation
    if (!w->granted) {
      waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
      co_return std::shared_ptr<void>();
    }
  } else {
    locked_ = true;
  }
  co_return std::shared_ptr<void>(static_cast<void*>(this), [this](void*) { unlock(); });
}

void tcp_line_client::unlock() noexcept {
  if (waiters_.empty()) {
    locked_ = false;
    return;
  }
  auto w = std::move(waiters_.front());
  waiters_.pop_front();
  w->granted = true;  // ownership passes straight to the first waiter (FIFO)
  w->timer.cancel();
}

template <class T>
task<result<T>> tcp_line_client::bounded(task<result<T>> op, duration timeout, const char* what) {
  using namespace asio::experimental::awaitable_operators;
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  try {
    if (clock_ && !clock_->is_virtual()) {
      auto r = co_await (std::move(op) || clock_->async_sleep(timeout, asio::use_awaitable));
      if (r.index() == 0) co_return std::move(std::get<0>(r));
    } else {
      // Virtual time cannot move while this real I/O holds its io_scope: bound it in real time.
      asio::steady_timer timer(ex_, timeout);
      auto r = co_await (std::move(op) || timer.async_wait(use_tuple));
      if (r.index() == 0) co_return std::move(std::get<0>(r));
    }
  } catch (const boost::system::system_error& e) {
    co_return failure(map_socket_error(e.code(), what));
  } catch (const std::exception& e) {
    co_return failure(fail(errc::io_error, fmt::format("{}: {}", what, e.what())));
  }
  co_return failure(
      fail(errc::timeout, fmt::format("no {} within {}", what, format_duration(timeout))));
}

// Socket I/O on the open connection: a deadline that cancels the socket's operations when it
// expires (cheaper per exchange than racing a second awaitable). Real mode: a wait on the
// harness clock. Virtual mode: harness time cannot move while this I/O holds its io_scope, so
// the bound is a steady timer (the I/O is real).
template <class T>
task<result<T>> tcp_line_client::bounded_io(task<result<T>> op, duration timeout,
                                            const char* what) {
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  auto st = deadline_state_;
  st->timed_out = false;
  const std::uint64_t gen = ++st->generation;
  // The signal that stops the deadline lives as long as the wait's handler: the clock touches the
  // slot when the wait completes, which may be after this exchange is over.
  auto stop_deadline = std::make_shared<asio::cancellation_signal>();
  auto expire = [st, gen, stop_deadline](auto ec) {
    // Cancelled, an older exchange's deadline, or the client is gone: nothing to do.
    if (ec || gen != st->generation || !st->socket) return;
    st->timed_out = true;
    boost::system::error_code ignored;
    st->socket->cancel(ignored);
  };
  const bool on_clock = clock_ && !clock_->is_virtual();
  if (on_clock) {
    // Real mode: the deadline is a wait on the harness clock.
    clock_->async_sleep(timeout, asio::bind_cancellation_slot(stop_deadline->slot(), expire));
  } else {
    deadline_.expires_after(timeout);
    deadline_.async_wait(expire);
  }
  result<T> r = failure(make_error_code(errc::io_error));
  try {
    r = co_await std::move(op);
  } catch (const boost::system::system_error& e) {
    r = failure(map_socket_error(e.code(), what));
  }
  ++st->generation;
  if (on_clock) {
    stop_deadline->emit(asio::cancellation_type::all);
  } else {
    deadline_.cancel();
  }
  if (st->timed_out) {
    co_return failure(
        fail(errc::timeout, fmt::format("no {} within {}", what, format_duration(timeout))));
  }
  co_return r;
}

task<result<bool>> tcp_line_client::connect_op() {
  close();
  std::vector<asio::ip::tcp::endpoint> endpoints;
  boost::system::error_code aec;
  const auto addr = asio::ip::make_address(target_.host, aec);
  if (!aec) {
    endpoints.emplace_back(addr, target_.port);
  } else {
    asio::ip::tcp::resolver resolver(ex_);
    auto [rec, results] =
        co_await resolver.async_resolve(target_.host, std::to_string(target_.port), use_tuple);
    if (rec) {
      co_return failure(fail(errc::unreachable,
                             fmt::format("cannot resolve '{}': {}", target_.host, rec.message())));
    }
    for (const auto& e : results)
      endpoints.push_back(e.endpoint());
  }
  asio::ip::tcp::socket s(ex_);
  auto [cec, ep] = co_await asio::async_connect(s, endpoints, use_tuple);
  if (cec) {
    if (cec == asio::error::operation_aborted) {
      co_return failure(fail(errc::cancelled, "connect cancelled"));
    }
    co_return failure(fail(errc::unreachable,
                           fmt::format("cannot connect to {}: {}", target_.str(), cec.message())));
  }
  boost::system::error_code ignored;
  s.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket_ = std::move(s);
  rbuf_.clear();
  ++connects_;
  co_return true;
}

task<std::error_code> tcp_line_client::async_connect() {
  if (is_open()) co_return std::error_code{};
  auto r = co_await bounded(connect_op(), opts_.connect_timeout, "connection");
  if (r) co_return std::error_code{};
  if (r.error() == code(errc::timeout)) {
    // A peer that never answers the SYN is as unreachable as one that refuses it.
    co_return fail(errc::unreachable,
                   fmt::format("cannot connect to {}: no answer within {}", target_.str(),
                               format_duration(opts_.connect_timeout)));
  }
  co_return r.error();
}

task<result<bool>> tcp_line_client::send_op(std::string data) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data), use_tuple);
  (void)n;
  if (ec) co_return failure(map_socket_error(ec, "send"));
  co_return true;
}

task<result<std::string>> tcp_line_client::read_op() {
  auto [ec, n] = co_await asio::async_read_until(
      socket_, asio::dynamic_buffer(rbuf_, opts_.max_line), '\n', use_tuple);
  if (ec) co_return failure(map_socket_error(ec, "reply"));
  std::string line = rbuf_.substr(0, n - 1);
  rbuf_.erase(0, n);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  co_return line;
}

task<result<std::string>> tcp_line_client::query_op(std::string data) {
  auto s = co_await send_op(std::move(data));
  if (!s) co_return failure(s.error());
  co_return co_await read_op();
}

void tcp_line_client::discard_stale_input() {
  rbuf_.clear();
  if (!socket_.is_open()) return;
  // Non-blocking look at the socket: bytes nobody asked for are a previous exchange's leftovers;
  // end-of-stream means the peer closed while we were idle, so reconnect before sending rather
  // than lose the line in a dead socket.
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  char buf[512];
  for (int i = 0; i < 64 && socket_.is_open(); ++i) {
    socket_.receive(asio::buffer(buf), 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      close();
      break;
    }
  }
  if (socket_.is_open()) socket_.non_blocking(false, ec);
}

task<std::error_code> tcp_line_client::async_send(std::string line, duration timeout) {
  discard_stale_input();
  if (auto ec = co_await async_connect()) co_return ec;
  line += opts_.terminator;
  auto r = co_await bounded_io(send_op(std::move(line)), timeout, "send");
  co_return r ? std::error_code{} : r.error();
}

task<result<std::string>> tcp_line_client::async_read_line(duration timeout) {
  if (!is_open()) {
    co_return failure(fail(errc::disconnected, "reply: not connected"));
  }
  co_return co_await bounded_io(read_op(), timeout, "reply");
}

task<result<std::string>> tcp_line_client::async_query(std::string line, duration timeout) {
  discard_stale_input();
  if (auto ec = co_await async_connect()) co_return failure(ec);
  line += opts_.terminator;
  co_return co_await bounded_io(query_op(std::move(line)), timeout, "reply");
}

}  // namespace hilt
