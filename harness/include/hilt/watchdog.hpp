// with_timeout: runs an awaitable device operation under a watchdog on the harness clock.
//
// Completes with the operation's own result, or with errc::timeout when `timeout` elapses first;
// in that case the operation is cancelled through its cancellation slot (Asio per-operation
// cancellation), so a transport read that would block forever is torn down, not leaked. When the
// caller itself is cancelled (Ctrl-C), the watchdog's timer ends early with an error: that is
// errc::cancelled, not a timeout, so the step says "interrupted" rather than blaming the device.
#pragma once

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <variant>

#include "hilt/clock.hpp"
#include "hilt/device.hpp"

namespace hilt {

template <class T>
task<result<T>> with_timeout(clock& clk, task<result<T>> op, clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (std::move(op) || clk.async_sleep(timeout, asio::use_awaitable));
  if (r.index() == 0) co_return std::move(std::get<0>(r));
  if (std::get<1>(r)) co_return failure(make_error_code(errc::cancelled));
  co_return failure(make_error_code(errc::timeout));
}

inline task<std::error_code> with_timeout(clock& clk, task<std::error_code> op,
                                          clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (std::move(op) || clk.async_sleep(timeout, asio::use_awaitable));
  if (r.index() == 0) co_return std::get<0>(r);
  if (std::get<1>(r)) co_return make_error_code(errc::cancelled);
  co_return make_error_code(errc::timeout);
}

}  // namespace hilt
