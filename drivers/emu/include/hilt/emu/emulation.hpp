// The emulation factory registered by drivers/emu (hilt::emulation_factory).
//
// Builds, from a fixture's `emulation:` section, the world model, the emulated I2C buses and the
// emulated devices behind them — CMIS modules, PMBus regulators — and the emulated bench
// instruments behind their own wires: SCPI supplies on TCP, Modbus TCP chambers (syntax in
// drivers/emu/README.md and docs/instruments.md):
//
//   emulation:
//     ambient: 25 C
//     chambers:                                  # Modbus TCP: modbus-chamber:emu-tcp:chamber1
//       - name: chamber1
//         map: watlow-f4t                        # optional register map
//         room: 23 C                             # optional, default: ambient
//         setpoint: 25 C                         # optional, default 25 C
//         running: true                          # optional, default true
//         max_ramp: 5                            # optional, C/min (the machine's fastest)
//         ramp: 0                                # optional, programmed C/min (0: fastest)
//         time_constant: 120 s                   # optional
//         off_time_constant: 900 s               # optional
//         load_coupling: 0.05                    # optional, C per W dissipated inside
//         capacity: 500 W                        # optional, DUT heat the controller takes out
//         limits: { min: -70 C, max: 180 C }     # optional set point range
//         serial: 100001                         # optional
//     supplies:                                  # SCPI on TCP: scpi-psu:emu-tcp:psu1
//       - name: psu1
//         model: keysight-e36xx                  # drivers/scpi_psu/models (or model_file:)
//         serial: MY0001                         # optional
//         channels: 3                            # optional, default: the model's
//         outputs:                               # optional state at power-on
//           1: { voltage: 3.3 V, current: 5 A, on: true }
//     regulators:                                # PMBus: pmbus:emu-i2c:pmbus0@0x40
//       - name: vr0
//         bus: pmbus0
//         address: 0x40                          # optional, default 0x40
//         vin: 12 V                              # optional
//         vout: 0.75 V                           # optional
//         vout_exponent: -12                     # optional (VOUT_MODE)
//         efficiency: 0.9                        # optional
//         idle: 5 W                              # optional load besides the devices on it
//         iout_limit: 100 A                      # optional
//         mfr: { id: HILT, model: EMU-VR-100A, revision: A1, serial: VR0001 }  # optional
//         unsupported: [0x88]                    # optional: commands it NACKs
//         faults: { nack_rate: 0.0 }             # optional
//     asics:                                     # JSON lines on TCP: sai-rpc:emu-tcp:asic0
//       - name: asic0
//         model: 51t2                            # optional preset: 51t2 | 25t6 | 12t8
//         ports: 64                              # optional, override the preset's ports,
//         lanes: 8                               #   lanes per port
//         lane_rate: 106.25 Gb/s                 #   and lane rate
//         serial: ASIC0001                       # optional
//         counter_bits: 64                       # optional, 8..64: statistics counters wrap
//         power: { idle: 180 W, per_lane: 0.25 W }              # optional
//         thermal: { resistance: 0.08, time_constant: 20 s }    # optional (C/W)
//         loopback: false                        # optional: unlinked lanes hear their own Tx
//         loopback_loss: 10 dB                   # optional, that plug's channel loss
//         chamber: chamber1                      # optional: its ambient is that chamber's air
//         faults: { no_lock: [3], forced_ber: { 5: 1e-5 } }   # optional
//     attenuators:                               # SCPI on TCP: scpi-voa:emu-tcp:voa1
//       - name: voa1
//         range: { min: 0 dB, max: 60 dB }       # optional (the N7762A's)
//         insertion_loss: 1 dB                   # optional
//         attenuation: 0 dB                      # optional, at power-on
//         wavelength: 1310 nm                    # optional, at power-on
//         output: true                           # optional: shutter open at power-on
//         serial: MY00000001                     # optional
//     modules:
//       - bus: port1
//         address: 0x50                          # optional, default 0x50
//         profile: profiles/qsfpdd-400g-dr4.yaml # relative to the fixture file
//         serial: EMU400G0001                    # optional, overrides the profile
//         lpmode_pin: false                      # optional
//         boot: settled                          # optional: settled | cold
//         rx_loss: 2 dB                          # optional loopback loss
//         faults: { nack_rate: 0.0 }             # optional, seeded from the run seed
//         chamber: chamber1                      # optional: its ambient is that chamber's air
//         rail: psu1/1                           # optional: powered by supply psu1 output 1
//                                                #   (psu1 = output 1), or by regulator vr0
//
// Every key is checked; mistakes throw hilt::config_error naming file:line:col.
//
// The TCP instruments listen on 127.0.0.1, on ports the kernel picks, from the first tcp(name)
// call on; their sockets are served by one thread the emulation owns (the libmodbus chamber
// servers by one thread each), so a runner's io_context never waits on an emulator's listening
// socket and runs out of work when the sequence is done. All emulated state is thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hilt/emu/asic.hpp"
#include "hilt/emu/chamber_server.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/link_graph.hpp"
#include "hilt/emu/pmbus_regulator.hpp"
#include "hilt/emu/power_rail.hpp"
#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/emu/voa_server.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/emulation.hpp"

namespace hilt::emu {

// The emulated side of a bench. i2c(name) hands out the buses the fixture declared; tcp(name)
// the loopback endpoints of its TCP instruments.
class bench_emulation final : public hilt::emulation {
 public:
  explicit bench_emulation(std::shared_ptr<world> w);
  ~bench_emulation() override;

  result<std::shared_ptr<hilt::i2c_bus>> i2c(std::string_view name) override;
  result<hilt::tcp_endpoint> tcp(std::string_view name) override;
  // One line per device: modules ("port1@0x50 state=ModuleReady lasers=on ..."), then supplies,
  // chambers, regulators, ASICs and attenuators.
  std::vector<std::string> describe() const override;
  // Builds the link graph (link_graph.hpp) and hands it to every module and ASIC; an attenuator
  // in a link settles the graph before each of its changes. Throws config_error at a link's
  // `where`. Without links nothing changes.
  void connect(const hilt::link_map& links) override;
  std::shared_ptr<const link_graph> links() const noexcept { return graph_; }

  world& the_world() noexcept { return *world_; }
  std::shared_ptr<world> world_ptr() const noexcept { return world_; }
  // The bus of that name, created on first use.
  std::shared_ptr<emu_i2c_bus> bus(const std::string& name);
  void add_module(std::shared_ptr<cmis_module> m) { modules_.push_back(std::move(m)); }
  const std::vector<std::shared_ptr<cmis_module>>& modules() const noexcept { return modules_; }

  // Instruments (also for tests: state backdoors and fault injection).
  struct supply_entry {
    std::shared_ptr<scpi_psu_emulator> psu;
    std::shared_ptr<line_server> server;             // null until tcp(name)
    std::vector<std::shared_ptr<power_rail>> rails;  // one per output
    // Fault injection: from this harness time on the supply answers nothing on the network (a
    // cable pulled); its outputs stay as they are.
    std::optional<hilt::clock::duration> offline_at;
  };
  struct chamber_entry {
    std::shared_ptr<chamber_model> chamber;
    std::unique_ptr<modbus_chamber_server> server;  // null until tcp(name)
    modbus_chamber::register_map map;
    std::shared_ptr<world> inside;  // the world devices in the chamber see
    // Fault injection: from this harness time on every request is answered with Modbus
    // exception 04 (server device failure); the chamber itself goes on regulating.
    std::optional<hilt::clock::duration> errors_at;
  };
  struct regulator_entry {
    std::string name, label;  // "vr0", "pmbus0@0x40"
    std::shared_ptr<pmbus_regulator> regulator;
    std::shared_ptr<power_rail> rail;
  };
  void add_supply(std::string name, std::shared_ptr<scpi_psu_emulator> psu);
  void add_chamber(std::string name, std::shared_ptr<chamber_model> c,
                   modbus_chamber::register_map map);
  void add_regulator(regulator_entry r) { regulators_.push_back(std::move(r)); }
  struct asic_entry {
    std::shared_ptr<emulated_asic> asic;
    std::shared_ptr<line_server> server;  // null until tcp(name)
  };
  struct attenuator_entry {
    std::shared_ptr<voa_emulator> voa;
    std::shared_ptr<line_server> server;  // null until tcp(name)
  };
  void add_asic(std::string name, std::shared_ptr<emulated_asic> a);
  void add_attenuator(std::string name, std::shared_ptr<voa_emulator> v);
  asic_entry* asic(std::string_view name);
  attenuator_entry* attenuator(std::string_view name);
  // The module of that wire label ("port1@0x50"), or null.
  std::shared_ptr<cmis_module> module_by_label(std::string_view label) const;
  supply_entry* supply(std::string_view name);
  chamber_entry* chamber(std::string_view name);
  regulator_entry* regulator(std::string_view name);
  // "psu1/2", "psu1" (output 1) or a regulator's name; null when there is none.
  std::shared_ptr<power_rail> rail(std::string_view name);

 private:
  boost::asio::any_io_executor net_executor();

  std::shared_ptr<world> world_;
  std::map<std::string, std::shared_ptr<emu_i2c_bus>, std::less<>> buses_;
  std::vector<std::shared_ptr<cmis_module>> modules_;
  // Declared before the instruments: the network io_context outlives their sockets.
  std::unique_ptr<boost::asio::io_context> net_io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> net_work_;
  std::thread net_thread_;
  std::map<std::string, supply_entry, std::less<>> supplies_;
  std::map<std::string, chamber_entry, std::less<>> chambers_;
  std::vector<regulator_entry> regulators_;
  std::map<std::string, asic_entry, std::less<>> asics_;
  std::map<std::string, attenuator_entry, std::less<>> attenuators_;
  std::shared_ptr<const link_graph> graph_;
};

// hilt::emulation_factory. Returns a bench_emulation (as the base class).
std::unique_ptr<hilt::emulation> make_emulation(const YAML::Node& section,
                                                const hilt::emulation_env& env);

}  // namespace hilt::emu
