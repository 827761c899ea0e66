// The "sai-rpc" driver registration (drivers/sai_rpc/README.md, docs/asic.md).
//
// Addresses:
//   sai-rpc:tcp:10.0.0.5:9559   a sai-rpc agent next to a real switch's SAI (HOST:PORT)
//   sai-rpc:emu-tcp:asic0       the fixture's emulated ASIC "asic0" (drivers/emu)
// Options (fixture `options:` of the device, all optional):
//   timeout: 2 s                per request line and its reply
#pragma once

#include <memory>

#include "hilt/driver.hpp"

namespace hilt::sai_rpc {

std::shared_ptr<const hilt::driver> make_driver();

}  // namespace hilt::sai_rpc
