// libFuzzer target: the fixture loader (hilt::load_fixture_text, harness/include/hilt/fixture.hpp)
// with a registry holding the built-in drivers, as `hilt` has.
//
// After a fixture loads, each device's driver is asked to make it, as a bench does, with no bench
// services: every driver parses and checks its options first and then, on an emulated transport
// (emu-i2c, emu-tcp), finds no bus or endpoint and fails with device_not_found. So the drivers'
// option parsing is fuzzed too, without any I/O. (Devices on real transports and options that
// name files — map_file, model_file — are not made: those would touch the machine.)
//
// Expected outcome for bad input: config_error. Anything else (another exception type, a crash, a
// sanitizer report, a hang, a leak) is a bug. On success the fixture must be consistent: every
// device has a name and a parsed address naming a registered driver, every DUT's module is one
// of the devices, names and slots are unique.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_util.hpp"
#include "hilt/builtin_drivers.hpp"
#include "hilt/driver.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"

namespace {
hilt::driver_registry& registry() {
  static hilt::driver_registry r = [] {
    hilt::driver_registry reg;
    hilt::register_builtin_drivers(reg);
    return reg;
  }();
  return r;
}
bool names_a_file(const YAML::Node& options) {
  if (!options || !options.IsMap()) return false;
  for (const auto& kv : options) {
    if (!kv.first.IsScalar() || kv.first.Scalar().find("file") != std::string::npos) return true;
  }
  return false;
}

void make_offline(const hilt::driver& drv, const hilt::fixture::device_entry& d,
                  const std::string& source) {
  if (!d.address.transport.starts_with("emu-") || names_a_file(d.options)) return;
  hilt::make_args args;
  args.name = d.name;
  args.address = d.address;
  args.options = d.options;
  args.source = source;
  args.context.logger = spdlog::default_logger();
  args.services = nullptr;
  try {
    auto dev = drv.make(args);
    if (hilt::fuzz::print_enabled()) {
      std::fprintf(stderr, "  make %s: %s\n", d.name.c_str(),
                   dev ? "a device" : dev.error().message().c_str());
    }
    HILT_FUZZ_CHECK(!dev, "a device was made without bench services: " + d.name);
  } catch (const hilt::config_error& e) {
    if (hilt::fuzz::print_enabled())
      std::fprintf(stderr, "  make %s: %s\n", d.name.c_str(), e.what());
    HILT_FUZZ_CHECK(std::string_view(e.what()).starts_with(source),
                    std::string("driver option error without its file: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hilt::fuzz::quiet_logs();
  (void)registry();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return -1;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The loader does not open files (profiles are read when the emulation is built, which this
  // target does not do); the path only names the text in messages.
  const std::filesystem::path file = "/nonexistent/fuzz/fixture.yaml";
  try {
    const hilt::fixture f = hilt::load_fixture_text(text, file, &registry());
    if (hilt::fuzz::print_enabled()) {
      std::fprintf(stderr, "fixture '%s': %zu device(s), %zu DUT(s)\n", f.name.c_str(),
                   f.devices.size(), f.duts.size());
    }
    HILT_FUZZ_CHECK(f.text == text, "fixture::text is not the input");
    std::set<std::string> names;
    for (const auto& d : f.devices) {
      HILT_FUZZ_CHECK(names.insert(d.name).second, "device defined twice: " + d.name);
      const auto* drv = registry().find(d.address.driver);
      HILT_FUZZ_CHECK(drv != nullptr, "device with an unregistered driver: " + d.address.driver);
      make_offline(*drv->drv, d, f.path);
    }
    std::set<int> slots;
    std::set<std::string> duts;
    for (const auto& d : f.duts) {
      HILT_FUZZ_CHECK(d.slot >= 1 && slots.insert(d.slot).second, "bad or repeated slot");
      HILT_FUZZ_CHECK(duts.insert(d.name).second, "DUT name used twice: " + d.name);
      HILT_FUZZ_CHECK(f.find_device(d.module) != nullptr, "DUT module not a device: " + d.module);
    }
  } catch (const hilt::config_error& e) {
    if (hilt::fuzz::print_enabled()) std::fprintf(stderr, "%s\n", e.what());
    HILT_FUZZ_CHECK(std::string_view(e.what()).starts_with(file.string()),
                    std::string("error without its file: ") + e.what());
  }
  return 0;
}
