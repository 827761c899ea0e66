// The emulation factory registered by drivers/emu (hilt::emulation_factory).
//
// Builds, from a fixture's `emulation:` section, the world model, the emulated I2C buses and the
// emulated CMIS modules behind them (syntax in drivers/emu/README.md):
//
//   emulation:
//     ambient: 25 C
//     modules:
//       - bus: port1
//         address: 0x50                        # optional, default 0x50
//         profile: profiles/qsfpdd-400g-dr4.yaml  # relative to the fixture file
//         serial: EMU400G0001                  # optional, overrides the profile
//         lpmode_pin: false                    # optional
//         boot: settled                        # optional: settled | cold
//         rx_loss: 2 dB                        # optional loopback loss
//         faults: { nack_rate: 0.0 }           # optional, seeded from the run seed
//
// Every key is checked; mistakes throw hilt::config_error naming file:line:col.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/emulation.hpp"

namespace hilt::emu {

// The emulated side of a bench. i2c(name) hands out the buses the fixture declared.
class bench_emulation final : public hilt::emulation {
 public:
  explicit bench_emulation(std::shared_ptr<world> w) : world_(std::move(w)) {}

  result<std::shared_ptr<hilt::i2c_bus>> i2c(std::string_view name) override;
  // One line per module: "port1@0x50 state=ModuleReady lasers=on tx_disable=0x00 pn=... sn=...".
  std::vector<std::string> describe() const override;

  world& the_world() noexcept { return *world_; }
  // The bus of that name, created on first use.
  std::shared_ptr<emu_i2c_bus> bus(const std::string& name);
  void add_module(std::shared_ptr<cmis_module> m) { modules_.push_back(std::move(m)); }
  const std::vector<std::shared_ptr<cmis_module>>& modules() const noexcept { return modules_; }

 private:
  std::shared_ptr<world> world_;
  std::map<std::string, std::shared_ptr<emu_i2c_bus>, std::less<>> buses_;
  std::vector<std::shared_ptr<cmis_module>> modules_;
};

// hilt::emulation_factory. Returns a bench_emulation (as the base class).
std::unique_ptr<hilt::emulation> make_emulation(const YAML::Node& section,
                                                const hilt::emulation_env& env);

}  // namespace hilt::emu
