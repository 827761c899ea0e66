// The "scpi-voa" driver registration (drivers/scpi_voa/README.md).
//
// Addresses:
//   scpi-voa:tcp:192.168.1.30:5025?model=keysight-n7762a   an instrument on the network (port 5025
//                                                          when omitted)
//   scpi-voa:emu-tcp:voa1                                  the fixture's emulated attenuator "voa1"
// Options (fixture `options:` of the device, all optional):
//   model: keysight-n7762a      a model in drivers/scpi_voa/models (or ?model= in the address);
//                               default keysight-n7762a. Its ranges are range() from the start.
//   model_file: lab/my-voa.yaml a model file, relative to the fixture
//   channel: 1                  the instrument channel (INPut/OUTPut number), 1..model channels
//   timeout: 2 s                per command / reply
#pragma once

#include <memory>

#include "hilt/driver.hpp"

namespace hilt::scpi_voa {

std::shared_ptr<const hilt::driver> make_driver();

}  // namespace hilt::scpi_voa
