// The emulated side of a bench: emulated devices sitting behind their wires (DESIGN.md rule 1).
//
// A fixture's `emulation:` section is handed to the emulation factory that drivers/emu registers.
// It builds the world model and the emulated targets, and exposes the emulated wires (I2C buses,
// later TCP endpoints) by name, so that the real drivers open them exactly as they would open a
// real bus. The harness never talks to an emulated device except through such a wire.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/links.hpp"
#include "hilt/result.hpp"

namespace hilt {

class clock;
class i2c_bus;

// Where an emulated TCP instrument listens: always on loopback, on a port the kernel chose.
struct tcp_endpoint {
  std::string host;        // "127.0.0.1"
  std::uint16_t port = 0;  // never 0 once the server listens
};

struct emulation_env {
  hilt::clock* clock = nullptr;  // emulated time is harness time
  std::uint64_t seed = 1;        // every random draw of the emulation derives from this
  std::string source;            // fixture path, for file:line:col messages
};

class emulation {
 public:
  virtual ~emulation() = default;
  // An emulated I2C bus by name; errc::device_not_found if the fixture declares none.
  virtual result<std::shared_ptr<i2c_bus>> i2c(std::string_view name) = 0;
  // A one-line state summary per emulated device (state, Tx on/off), for logs and safety checks.
  virtual std::vector<std::string> describe() const { return {}; }
  // An emulated TCP instrument (SCPI supply, Modbus TCP chamber) by name: the loopback endpoint
  // its server listens on, started on first use. errc::device_not_found if the fixture declares
  // none of that name; errc::io_error if its server cannot listen.
  virtual result<tcp_endpoint> tcp(std::string_view name) {
    (void)name;
    return failure(make_error_code(errc::device_not_found));
  }
  // The fixture's links between emulated devices (hilt/links.hpp), in the emulation's own names:
  // a module by its wire "BUS@0xAA" (its emu-i2c bus and address, e.g. "port1@0x50"), an ASIC or
  // an attenuator by its emu-tcp name ("asic0", "voa1"). The bench drops links with an end that is
  // not emulated. Called once, after the factory and before any device is opened. Throws
  // config_error (at the link's `where`) for an end the emulation does not have, a port or lane
  // out of range, a lane used twice. Without links every module keeps its default loopback.
  virtual void connect(const link_map& links) { (void)links; }
};

// Builds the emulation from the fixture's `emulation:` mapping. Throws config_error with
// file:line:col on anything it does not accept, so `hilt validate` can run it on a throwaway clock.
using emulation_factory =
    std::function<std::unique_ptr<emulation>(const YAML::Node& section, const emulation_env& env)>;

}  // namespace hilt
