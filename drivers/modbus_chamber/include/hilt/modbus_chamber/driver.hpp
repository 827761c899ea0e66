// The "modbus-chamber" driver registration (drivers/modbus_chamber/README.md).
//
// Addresses:
//   modbus-chamber:tcp:192.168.1.30:502?unit=1   a controller on the network (port 502 when
//                                                omitted; unit 1 when omitted)
//   modbus-chamber:emu-tcp:chamber1              the fixture's emulated chamber "chamber1"
// Options (fixture `options:` of the device, all optional):
//   map: watlow-f4t            a register map in drivers/modbus_chamber/maps (default watlow-f4t)
//   map_file: lab/my-map.yaml  a register map file, relative to the fixture
//   unit: 1                    Modbus unit identifier (also ?unit= in the address)
//   timeout: 1 s               per transaction
//   safe_setpoint: 25 C        where stop and safe state put the set point (default 25 C)
//   deadband: 1 C              "at temperature" band for wait_settled (default 1 C)
//   min_setpoint: -40 C        safety limits, refused before anything is sent
//   max_setpoint: 125 C
//   ramp_rate: 2               C/min, written before each set point
//   identity: { vendor: ..., model: ..., serial: ... }   when the map has no identity registers
#pragma once

#include <memory>

#include "hilt/driver.hpp"

namespace hilt::modbus_chamber {

std::shared_ptr<const hilt::driver> make_driver();

}  // namespace hilt::modbus_chamber
