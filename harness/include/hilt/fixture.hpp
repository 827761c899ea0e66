// Fixtures: bench definitions in YAML.
//
//   fixture: emulated-bench            # name (the key that marks a fixture file)
//   description: ...
//   clock: virtual                     # default clock for runs on this bench (real | virtual)
//   seed: 1                            # default seed for emulation
//   calibration: warn                  # overdue calibration: warn | refuse | ignore (default warn)
//   emulation: { ... }                 # emulated devices and their wires (drivers/emu/README.md)
//   devices:
//     - name: m1
//       address: cmis:emu-i2c:port1@0x50
//       options: { ... }               # driver options (optional)
//       calibration_due: 2027-06-30    # instruments (optional)
//       calibration: refuse            # overdue policy for this device (optional; calibration.hpp)
//   links: [ ... ]                     # cabling: ASIC lanes, fibers, attenuators (hilt/links.hpp)
//   duts:
//     - slot: 1
//       name: dut1                     # optional, default "slot<N>"
//       module: m1                     # the managed_module device under test
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hilt/address.hpp"
#include "hilt/calibration.hpp"
#include "hilt/clock.hpp"
#include "hilt/error.hpp"
#include "hilt/links.hpp"

namespace hilt {

class driver_registry;

struct fixture {
  struct device_entry {
    std::string name;
    hilt::address address;
    YAML::Node options;
    std::string calibration_due;                    // ISO date or empty
    std::optional<calibration_policy> calibration;  // overrides the fixture's policy
    std::string where;                              // file:line:col of the entry
  };
  struct dut_entry {
    int slot = 0;
    std::string name;
    std::string module;  // device name
    std::string where;
  };

  std::string name;
  std::string description;
  std::string path;  // as given
  std::string text;  // file bytes, stored with each run
  clock_mode clock = clock_mode::virtual_time;
  std::uint64_t seed = 1;
  calibration_policy calibration = calibration_policy::warn;  // for overdue calibration_due
  YAML::Node emulation;  // null when the bench is all real hardware
  std::vector<device_entry> devices;
  std::vector<dut_entry> duts;
  link_map links;

  const device_entry* find_device(std::string_view name) const noexcept;
};

// Loads and checks a fixture; throws config_error (file:line:col) on the first problem.
// With a registry, also checks that every address names a registered driver.
fixture load_fixture(const std::filesystem::path& file, const driver_registry* registry = nullptr);
// The same from text already read (a fixture stored with a run, a fuzzer's input); `file` names it
// in messages and is where relative paths (profiles) are resolved from.
fixture load_fixture_text(const std::string& text, const std::filesystem::path& file,
                          const driver_registry* registry = nullptr);

// Every problem found, for `hilt validate`: schema, references, driver names, and the emulation
// section (built on a throwaway virtual clock).
std::vector<config_error> check_fixture(const std::filesystem::path& file,
                                        const driver_registry& registry);

// The links whose ends are all emulated devices, renamed into the emulation's names (a module by
// its emu-i2c "BUS@0xAA", an ASIC or attenuator by its emu-tcp name), for emulation::connect().
link_map emulated_links(const fixture& f);

// Reads a whole file; throws config_error "FILE: cannot read: <reason>".
std::string read_text_file(const std::filesystem::path& file);

// The default fixture: $HILT_FIXTURE, else fixtures/emulated-bench.yaml from the source tree when
// run from a build tree, else the installed copy.
std::filesystem::path default_fixture_path();

}  // namespace hilt
