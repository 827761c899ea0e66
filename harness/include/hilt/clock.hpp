// The harness clock: the only way sequences, steps and drivers wait (DESIGN.md rule 4).
//
// One code path, two clocks:
//  - real: time is the steady clock; a wait is an Asio steady_timer.
//  - virtual: time only moves when everything is waiting. clock::run() drains every ready handler
//    of the io_context, lets in-flight I/O complete, and only then jumps time to the earliest
//    pending deadline and fires it. A 1000-hour soak runs in seconds.
//
// Determinism: in virtual time, waiters with the same deadline fire in the order they were
// registered, and nothing depends on wall time, so a run is repeatable for a given seed.
//
// Threading: a clock belongs to one io_context run by one thread (the runner thread). now() may be
// read from any thread; waits must be started from the io_context's thread.
#pragma once

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string_view>
#include <system_error>

namespace hilt {

namespace asio = boost::asio;

enum class clock_mode { real, virtual_time };

// "real" / "virtual"; parse_clock_mode throws config_error on anything else.
std::string_view to_string(clock_mode m) noexcept;
clock_mode parse_clock_mode(std::string_view text);

class clock {
 public:
  // Harness time: nanoseconds since the clock's epoch (the start of the run).
  using duration = std::chrono::nanoseconds;
  using time_point = duration;

  // `start` lets a resumed run continue at the harness time where it stopped.
  clock(asio::io_context& io, clock_mode mode, time_point start = time_point::zero());
  ~clock();
  clock(const clock&) = delete;
  clock& operator=(const clock&) = delete;

  clock_mode mode() const noexcept { return mode_; }
  bool is_virtual() const noexcept { return mode_ == clock_mode::virtual_time; }
  asio::io_context& context() noexcept { return io_; }

  time_point now() const noexcept;
  double now_seconds() const noexcept { return std::chrono::duration<double>(now()).count(); }

  // Completes with {} at `deadline`, or with asio::error::operation_aborted when the operation is
  // cancelled through its cancellation slot (e.g. by awaitable operator || or parallel_group).
  template <class CompletionToken>
  auto async_wait_until(time_point deadline, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [this](auto handler, time_point at) {
          start_wait(at, asio::any_completion_handler<void(std::error_code)>(std::move(handler)));
        },
        token, deadline);
  }

  template <class CompletionToken>
  auto async_sleep(duration d, CompletionToken&& token) {
    return async_wait_until(now() + d, std::forward<CompletionToken>(token));
  }

  // Marks real I/O as in flight, so that virtual time does not jump past it. Transports that wait
  // for a peer (a TCP emulator in the same process, a USB model) hold one while they wait.
  class io_scope {
   public:
    explicit io_scope(clock& c) : c_(&c) { ++c_->io_in_flight_; }
    io_scope(io_scope&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
    io_scope(const io_scope&) = delete;
    io_scope& operator=(const io_scope&) = delete;
    io_scope& operator=(io_scope&&) = delete;
    ~io_scope() {
      if (c_) --c_->io_in_flight_;
    }

   private:
    clock* c_;
  };

  // Runs the io_context until it runs out of work or stop() is called. In real mode this is
  // io_context::run(); in virtual mode it is the jump-to-next-deadline loop described above.
  void run();
  void stop();

  // Number of pending virtual waits (for tests and progress); 0 in real mode.
  std::size_t pending_waits() const noexcept { return waiters_.size(); }
  // Virtual-time statistics: how many times time jumped.
  std::uint64_t jumps() const noexcept { return jumps_; }

 private:
  struct waiter;
  using key = std::pair<time_point, std::uint64_t>;  // (deadline, registration order)

  void start_wait(time_point at, asio::any_completion_handler<void(std::error_code)> handler);
  void cancel_wait(key k);
  bool fire_next();

  asio::io_context& io_;
  clock_mode mode_;
  std::chrono::steady_clock::time_point real_epoch_;
  time_point start_;
  std::atomic<std::int64_t> virtual_now_ns_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t jumps_ = 0;
  std::map<key, std::unique_ptr<waiter>> waiters_;
  std::atomic<int> io_in_flight_{0};
  std::atomic<bool> stop_requested_{false};
};

// "1h 02m 03.500s"-style rendering of a harness duration, for logs and progress.
std::string format_duration(clock::duration d);

}  // namespace hilt
