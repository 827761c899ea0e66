// Small helpers for step implementations: outcomes that name the device and the operation
// (DESIGN.md rule 6), so every step type words its errors the same way.
#pragma once

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/seq/parse.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

// "nack (hilt 4)" / "generic 110": a code's stable short name, for messages and logs.
std::string describe_code(std::error_code ec);

// "dut1 (cmis:emu-i2c:port1@0x50)".
std::string describe_device(const device& d);

// step_outcome{error, ec, "dut1 (cmis:...): read monitors failed: I2C target did not acknowledge
// (NACK) [nack, hilt 4]"}.
step_outcome device_failure(const device& d, std::string_view operation, std::error_code ec);

// The outcome of a DUT step run without a DUT (a runner bug or a misplaced station step).
step_outcome no_dut(std::string_view step_type);

// lanes: all | 3 | "1-4" | [1, 2, "5-8"], lanes numbered 1..max_lane as the module numbers them.
// Returns the sorted lanes, empty for `all`; nullopt after reporting an error.
std::optional<std::vector<int>> parse_lanes(parse_context& ctx, const YAML::Node& node,
                                            int max_lane);

// The lane mask for `lanes` (1-based; empty = every lane of the module: lane_count() lanes, or 8
// when the module does not say).
lane_mask lanes_to_mask(const std::vector<int>& lanes, const managed_module& m);

// "1, 2, 5" / "all".
std::string describe_lanes(const std::vector<int>& lanes);

// True once the calling step has been cancelled (Ctrl-C / SIGTERM: the runner emits one terminal
// cancellation to each DUT's coroutine). A step that waits in a loop checks it before every wait:
// a cancellation that arrives while no cancellable operation is pending (a device read, or a
// clock wait whose completion is already queued, e.g. every DUT woken at the same sample instant)
// reaches no operation. Asio only records it in the coroutine's cancellation state, so the next
// wait would start as if nothing had happened and the step would run to its end (a 1000 h soak
// went on for its full length after SIGINT: SafeState.SigintAtRandomInstantsOfEveryLibrarySequence
// measured 68 s from SIGINT to exit under the asan preset, 6.5 s in the dev build).
inline task<bool> step_cancelled() {
  const asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
  co_return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace hilt::seq
