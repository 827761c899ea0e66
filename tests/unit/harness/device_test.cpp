#include "hilt/device.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "hilt/clock.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// A module that never answers identify and implements nothing else.
class hung_module final : public hilt::managed_module {
 public:
  using managed_module::managed_module;
  std::string_view driver_name() const noexcept override { return "test"; }

 protected:
  hilt::task<hilt::result<hilt::identity>> do_identify() override {
    co_await context().clock->async_sleep(1000h, asio::use_awaitable);
    co_return hilt::identity{"never", "", "", "", "", {}};
  }
};

// A supply whose channel 1 refuses to switch off; the others must still be switched off.
class stubborn_supply final : public hilt::power_supply {
 public:
  using power_supply::power_supply;
  std::string_view driver_name() const noexcept override { return "test"; }
  int channel_count() const noexcept override { return 3; }
  std::vector<std::pair<int, bool>> calls;

 protected:
  hilt::task<std::error_code> do_set_output(int ch, bool on) override {
    calls.emplace_back(ch, on);
    co_return ch == 1 ? make_error_code(hilt::errc::timeout) : std::error_code{};
  }
};

}  // namespace

TEST(Device, WatchdogTimesOutAHungCallInVirtualTime) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  hung_module m("m1", "test:x:y", {io.get_executor(), &clk, nullptr});
  std::error_code ec;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await m.async_identify(5s);
        ec = r ? std::error_code{} : r.error();
      },
      asio::detached);
  clk.run();
  EXPECT_EQ(ec, hilt::errc::timeout);
  EXPECT_EQ(clk.now(), hilt::clock::duration(5s));  // the hung wait was cancelled, not waited out
  EXPECT_EQ(clk.pending_waits(), 0u);
}

TEST(Device, BaseMethodsAnswerNotSupported) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  hung_module m("m1", "test:x:y", {io.get_executor(), &clk, nullptr});
  std::error_code mon, tx;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await m.async_read_monitors();
        mon = r.error();
        tx = co_await m.async_set_tx_disable(0xff, true);
      },
      asio::detached);
  clk.run();
  EXPECT_EQ(mon, hilt::errc::not_supported);
  EXPECT_EQ(tx, hilt::errc::not_supported);
  EXPECT_EQ(m.name(), "m1");
  EXPECT_EQ(m.kind(), hilt::device_class::managed_module);
}

TEST(Device, SupplySafeStateTurnsEveryOutputOffEvenIfOneFails) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  stubborn_supply s("psu", "test:x:y", {io.get_executor(), &clk, nullptr});
  std::error_code ec;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { ec = co_await s.async_safe_state(); }, asio::detached);
  clk.run();
  EXPECT_EQ(ec, hilt::errc::timeout);
  const std::vector<std::pair<int, bool>> want{{1, false}, {2, false}, {3, false}};
  EXPECT_EQ(s.calls, want);
}
