// Small helpers for step implementations: outcomes that name the device and the operation
// (DESIGN.md rule 6), so every step type words its errors the same way.
#pragma once

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

}  // namespace hilt::seq
