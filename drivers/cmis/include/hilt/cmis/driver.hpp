// The "cmis" driver registration (drivers/cmis/README.md).
//
// Address: cmis:TRANSPORT:BUS@ADDR, e.g. cmis:emu-i2c:cage1@0x50 or cmis:i2c-dev:/dev/i2c-3@0x50.
// Options (fixture `options:` of the device, all optional):
//   lanes: 8                  host lanes reported by lane_count() (default: from application 1)
//   poll_interval: 20 ms      state polling period during power_up
//   power_up_margin: 200 ms   added to the advertised MaxDurationModulePwrUp
//   verify_checksums: true    check 00h:222 / 01h:255 on identify
//   max_read: 128             largest read transfer (8..128), for adapters with small buffers
#pragma once

#include <memory>

#include "hilt/driver.hpp"

namespace hilt::cmis {

std::shared_ptr<const hilt::driver> make_driver();

}  // namespace hilt::cmis
