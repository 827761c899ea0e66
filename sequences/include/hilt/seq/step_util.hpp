// Small helpers for step implementations: outcomes that name the device and the operation
// (DESIGN.md rule 6), so every step type words its errors the same way.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "hilt/device.hpp"
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

}  // namespace hilt::seq
