#include "hilt/clock.hpp"

#include <fmt/format.h>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "hilt/error.hpp"

namespace hilt {

namespace {
std::error_code cancelled_code() {
  return std::make_error_code(std::errc::operation_canceled);
}
}  // namespace

struct clock::waiter {
  asio::any_completion_handler<void(std::error_code)> handler;
};

std::string_view to_string(clock_mode m) noexcept {
  return m == clock_mode::real ? "real" : "virtual";
}

clock_mode parse_clock_mode(std::string_view text) {
  if (text == "real") return clock_mode::real;
  if (text == "virtual") return clock_mode::virtual_time;
  throw config_error({}, fmt::format("unknown clock '{}': expected 'real' or 'virtual'", text));
}

clock::clock(asio::io_context& io, clock_mode mode, time_point start)
    : io_(io),
      mode_(mode),
      real_epoch_(std::chrono::steady_clock::now()),
      start_(start),
      virtual_now_ns_(start.count()) {}

clock::~clock() {
  // Pending handlers are destroyed without being called: the run is over. Destroying them frees
  // any coroutine frames that were suspended on them.
  waiters_.clear();
}

clock::time_point clock::now() const noexcept {
  if (mode_ == clock_mode::real) {
    return start_ +
           std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - real_epoch_);
  }
  return duration(virtual_now_ns_.load(std::memory_order_relaxed));
}

namespace {
// Completes `h` on its own executor (the coroutine's), never inline: the caller may still be inside
// the operation that started the wait.
void post_completion(asio::io_context& io, asio::any_completion_handler<void(std::error_code)> h,
                     std::error_code ec) {
  // The runner's coroutines all live on this io_context, so running the handler here is running
  // it on its associated executor.
  asio::post(io.get_executor(), [h = std::move(h), ec]() mutable { std::move(h)(ec); });
}
}  // namespace

void clock::start_wait(time_point at, asio::any_completion_handler<void(std::error_code)> handler) {
  if (mode_ == clock_mode::real) {
    auto timer = std::make_shared<asio::steady_timer>(io_);
    timer->expires_at(real_epoch_ + (at - start_));
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
      slot.assign([timer](asio::cancellation_type t) {
        if (t != asio::cancellation_type::none) timer->cancel();
      });
    }
    timer->async_wait([this, timer, h = std::move(handler)](boost::system::error_code ec) mutable {
      auto s = asio::get_associated_cancellation_slot(h);
      if (s.is_connected()) s.clear();
      post_completion(io_, std::move(h), ec ? cancelled_code() : std::error_code{});
    });
    return;
  }

  if (at <= now()) {
    // Already due: complete now, in order with everything else that is ready.
    post_completion(io_, std::move(handler), {});
    return;
  }
  key k{at, next_seq_++};
  auto slot = asio::get_associated_cancellation_slot(handler);
  if (slot.is_connected()) {
    slot.assign([this, k](asio::cancellation_type t) {
      if (t != asio::cancellation_type::none) cancel_wait(k);
    });
  }
  // Constructed, never move-assigned: Asio 1.26's any_completion_handler move assignment recurses
  // forever (it copies `other` as an lvalue into its converting constructor).
  waiters_.emplace(k, std::make_unique<waiter>(waiter{std::move(handler)}));
}

void clock::cancel_wait(key k) {
  auto it = waiters_.find(k);
  if (it == waiters_.end()) return;  // already fired
  auto w = std::move(it->second);
  waiters_.erase(it);
  // Do not clear the cancellation slot here: we are running inside its handler.
  post_completion(io_, std::move(w->handler), cancelled_code());
}

bool clock::fire_next() {
  if (waiters_.empty()) return false;
  const time_point at = waiters_.begin()->first.first;
  if (at > now()) {
    virtual_now_ns_.store(at.count(), std::memory_order_relaxed);
    ++jumps_;
  }
  // Fire every waiter due at this instant, in registration order.
  while (!waiters_.empty() && waiters_.begin()->first.first <= at) {
    auto node = waiters_.extract(waiters_.begin());
    auto& h = node.mapped()->handler;
    auto slot = asio::get_associated_cancellation_slot(h);
    if (slot.is_connected()) slot.clear();
    post_completion(io_, std::move(h), {});
  }
  return true;
}

void clock::run() {
  stop_requested_ = false;
  if (mode_ == clock_mode::real) {
    io_.run();
    return;
  }
  while (!stop_requested_) {
    io_.poll();  // every handler that is ready now, including ones they post
    if (stop_requested_) break;
    if (io_in_flight_.load() > 0) {
      // Real I/O is outstanding (a TCP emulator, a USB model): let it finish before time moves.
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds(1));
      continue;
    }
    if (fire_next()) {
      if (io_.stopped()) io_.restart();
      continue;
    }
    if (io_.stopped()) break;  // no handlers, no I/O, no timers: done
    // Work is held elsewhere (another thread will post): wait for it without moving time.
    io_.run_one_for(std::chrono::milliseconds(10));
    if (io_.stopped() && waiters_.empty() && io_in_flight_.load() == 0) break;
  }
}

void clock::stop() {
  stop_requested_ = true;
  io_.stop();
}

std::string format_duration(clock::duration d) {
  using namespace std::chrono;
  const bool neg = d < clock::duration::zero();
  if (neg) d = -d;
  const auto h = duration_cast<hours>(d);
  const auto m = duration_cast<minutes>(d - h);
  const double s = std::chrono::duration<double>(d - h - m).count();
  std::string out;
  if (h.count() > 0) {
    out = fmt::format("{}h {:02}m {:06.3f}s", h.count(), m.count(), s);
  } else if (m.count() > 0) {
    out = fmt::format("{}m {:06.3f}s", m.count(), s);
  } else {
    out = fmt::format("{:.3f}s", s);
  }
  return neg ? "-" + out : out;
}

}  // namespace hilt
