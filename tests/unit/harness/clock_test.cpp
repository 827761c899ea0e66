#include "hilt/clock.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "hilt/error.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Runs `body` as a coroutine on a clock in `mode` and returns the wall time the run took.
template <class F>
std::chrono::steady_clock::duration run_on(hilt::clock& clk, F body) {
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(clk.context(), body, asio::detached);
  clk.run();
  return std::chrono::steady_clock::now() - t0;
}

}  // namespace

TEST(VirtualClock, TwentyFourHourWaitTakesUnderASecond) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  std::error_code ec = make_error_code(hilt::errc::io_error);
  const auto wall = run_on(clk, [&]() -> asio::awaitable<void> {
    ec = co_await clk.async_sleep(24h, asio::use_awaitable);
  });
  EXPECT_FALSE(ec);
  EXPECT_EQ(clk.now(), hilt::clock::duration(24h));
  EXPECT_LT(wall, 1s);
}

TEST(VirtualClock, ManyShortWaitsAddUpExactly) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  run_on(clk, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3600; ++i)
      co_await clk.async_sleep(1s, asio::use_awaitable);
  });
  EXPECT_EQ(clk.now(), hilt::clock::duration(1h));
  EXPECT_EQ(clk.jumps(), 3600u);
}

TEST(VirtualClock, StartsAtTheGivenOffset) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time, 5h);
  EXPECT_EQ(clk.now(), hilt::clock::duration(5h));
  run_on(clk,
         [&]() -> asio::awaitable<void> { co_await clk.async_sleep(1h, asio::use_awaitable); });
  EXPECT_EQ(clk.now(), hilt::clock::duration(6h));
}

// Many coroutines with pseudo-random waits: the order in which they wake must be the deadline
// order, ties in registration order, and identical on every run with the same seed.
std::vector<int> wake_order(unsigned seed) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  std::mt19937 rng(seed);
  std::vector<int> order;
  std::vector<hilt::clock::duration> deadlines;
  for (int i = 0; i < 200; ++i) {
    const auto d = std::chrono::seconds(rng() % 50);  // many ties on purpose
    deadlines.push_back(d);
    asio::co_spawn(
        io,
        [&clk, &order, &deadlines, i, d]() -> asio::awaitable<void> {
          co_await clk.async_sleep(d, asio::use_awaitable);
          EXPECT_EQ(clk.now(), d);
          order.push_back(i);
          (void)deadlines;
        },
        asio::detached);
  }
  clk.run();
  // Deadline order, stable for ties.
  for (std::size_t k = 1; k < order.size(); ++k) {
    const auto a = order[k - 1], b = order[k];
    EXPECT_TRUE(deadlines[a] < deadlines[b] || (deadlines[a] == deadlines[b] && a < b))
        << "position " << k;
  }
  return order;
}

TEST(VirtualClock, OrderIsDeterministicForASeed) {
  const auto a = wake_order(42);
  const auto b = wake_order(42);
  EXPECT_EQ(a.size(), 200u);
  EXPECT_EQ(a, b);
  EXPECT_NE(wake_order(7), a);
}

TEST(VirtualClock, CancelledWaitCompletesWithOperationCanceledAndTimeDoesNotJump) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  std::variant<std::error_code, std::error_code> r;
  run_on(clk, [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    // The 1 s wait wins; the 1000 h wait is cancelled and must not move time to 1000 h.
    r = co_await (clk.async_sleep(1000h, asio::use_awaitable) ||
                  clk.async_sleep(1s, asio::use_awaitable));
  });
  EXPECT_EQ(r.index(), 1u);
  EXPECT_EQ(clk.now(), hilt::clock::duration(1s));
  EXPECT_EQ(clk.pending_waits(), 0u);
}

TEST(VirtualClock, DoesNotJumpWhileIoIsInFlight) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  hilt::clock::duration seen_at_io_completion{-1};
  run_on(clk, [&]() -> asio::awaitable<void> {
    auto scope = std::make_shared<hilt::clock::io_scope>(clk);
    // A "device" answers from another thread after 20 ms of wall time.
    std::thread([&io, &clk, &seen_at_io_completion, scope]() mutable {
      std::this_thread::sleep_for(20ms);
      asio::post(io, [&clk, &seen_at_io_completion, scope]() mutable {
        seen_at_io_completion = clk.now();
        scope.reset();
      });
    }).detach();
    scope.reset();  // only the thread holds it now
    co_await clk.async_sleep(10h, asio::use_awaitable);
  });
  EXPECT_EQ(seen_at_io_completion, hilt::clock::duration::zero());
  EXPECT_EQ(clk.now(), hilt::clock::duration(10h));
}

TEST(RealClock, WaitsInWallTime) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::real);
  std::error_code ec = make_error_code(hilt::errc::io_error);
  const auto wall = run_on(clk, [&]() -> asio::awaitable<void> {
    ec = co_await clk.async_sleep(30ms, asio::use_awaitable);
  });
  EXPECT_FALSE(ec);
  EXPECT_GE(wall, 30ms);
  EXPECT_GE(clk.now(), hilt::clock::duration(30ms));
}

TEST(RealClock, CancellationAbortsTheTimer) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::real);
  std::variant<std::error_code, std::error_code> r;
  const auto wall = run_on(clk, [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    r = co_await (clk.async_sleep(1h, asio::use_awaitable) ||
                  clk.async_sleep(10ms, asio::use_awaitable));
  });
  EXPECT_EQ(r.index(), 1u);
  EXPECT_LT(wall, 10s);
}

TEST(ClockMode, ParsesAndRejects) {
  EXPECT_EQ(hilt::parse_clock_mode("real"), hilt::clock_mode::real);
  EXPECT_EQ(hilt::parse_clock_mode("virtual"), hilt::clock_mode::virtual_time);
  try {
    hilt::parse_clock_mode("fast");
    FAIL() << "expected config_error";
  } catch (const hilt::config_error& e) {
    EXPECT_STREQ(e.what(), "unknown clock 'fast': expected 'real' or 'virtual'");
  }
}

TEST(FormatDuration, ReadsLikeALabClock) {
  EXPECT_EQ(hilt::format_duration(1500ms), "1.500s");
  EXPECT_EQ(hilt::format_duration(61s), "1m 01.000s");
  EXPECT_EQ(hilt::format_duration(1000h + 2min + 3s), "1000h 02m 03.000s");
}
