// The "scpi-psu" driver registration (drivers/scpi_psu/README.md).
//
// Addresses:
//   scpi-psu:tcp:192.168.1.20:5025?model=keysight-e36xx   an instrument on the network (port 5025
//                                                          when omitted)
//   scpi-psu:emu-tcp:psu1                                  the fixture's emulated supply "psu1"
//   scpi-psu:usbtmc:2a8d:1102:MY60000001?model=keysight-e36xx   an instrument on USB (USBTMC):
//                                                          VID:PID:SERIAL, SERIAL, or * (the only
//                                                          one); docs/usb.md
// Options (fixture `options:` of the device, all optional):
//   model: keysight-e36xx       a model in drivers/scpi_psu/models (or ?model= in the address);
//                               neither: detected from *IDN? on first use
//   model_file: lab/my-psu.yaml a model file, relative to the fixture
//   timeout: 2 s                per command / reply
//   channels:                   safety limits, refused before anything is sent
//     1: { max_voltage: 3.6 V, max_current: 5 A }
#pragma once

#include <memory>

#include "hilt/driver.hpp"

namespace hilt::scpi_psu {

std::shared_ptr<const hilt::driver> make_driver();

}  // namespace hilt::scpi_psu
