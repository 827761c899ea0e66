// Drivers and the driver registry.
//
// One registration object per driver (SoapySDR's shape): its name, version, the device classes it
// makes and the transports it speaks, a find() that lists what it can see, and make() that opens a
// device from an address string. In-tree drivers are linked into the harness; out-of-tree drivers
// are shared objects on the plugin path (HILT_PLUGIN_PATH, then <libdir>/hilt/plugins) that export
// the two C symbols defined by HILT_PLUGIN() below. A plugin whose ABI version differs from
// hilt::plugin_abi_version is refused with a message naming its file, and never called.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/address.hpp"
#include "hilt/device.hpp"
#include "hilt/emulation.hpp"

namespace hilt {

// Bump whenever a header a plugin compiles against changes in a way that breaks binary
// compatibility (a virtual added to a device class, a struct layout change).
inline constexpr int plugin_abi_version = 2;

class i2c_bus;

struct driver_info {
  std::string name;  // the DRIVER part of an address
  std::string version;
  std::string description;  // one line
  std::vector<device_class> classes;
  std::vector<std::string> transports;
};

// What a driver may ask of the bench it is opened on.
class bench_services {
 public:
  virtual ~bench_services() = default;
  // An I2C bus by transport and name: ("emu-i2c", "port1") or ("i2c-dev", "/dev/i2c-3").
  // Completes with errc::device_not_found and a message when there is none.
  virtual result<std::shared_ptr<i2c_bus>> i2c(std::string_view transport,
                                               std::string_view name) = 0;
  // An emulated TCP instrument by transport and name: ("emu-tcp", "psu1") -> the loopback
  // endpoint its emulator listens on. Completes with errc::device_not_found (and a log line) when
  // there is none. Real instruments are addressed as tcp:HOST:PORT and need no service.
  // (Appended after i2c(): callers compiled against the older vtable are unaffected.)
  virtual result<tcp_endpoint> tcp(std::string_view transport, std::string_view name) {
    (void)transport;
    (void)name;
    return failure(make_error_code(errc::device_not_found));
  }
};

struct make_args {
  std::string name;       // device name in the fixture
  hilt::address address;  // parsed address
  YAML::Node options;     // the device's "options:" mapping in the fixture (may be null)
  std::string source;     // fixture file, for file:line:col messages
  device_context context;
  bench_services* services = nullptr;
};

class driver {
 public:
  virtual ~driver() = default;
  virtual const driver_info& info() const noexcept = 0;
  // Addresses of devices this driver can see right now (may be empty; must not throw).
  virtual std::vector<std::string> find(bench_services&) const { return {}; }
  // Opens a device. Bad options throw config_error (with file:line:col); device trouble opening
  // it (nothing answers) is an error code.
  virtual result<std::shared_ptr<device>> make(const make_args& args) const = 0;
};

struct registered_driver {
  std::shared_ptr<const driver> drv;
  std::string origin;  // "built-in" or the plugin file path
};

struct plugin_problem {
  std::string file;
  std::string message;  // one line: "ABI version 0, this hilt needs 1"
};

class driver_registry {
 public:
  // Throws std::logic_error on a duplicate name (a programming error for built-in drivers; for a
  // plugin the loader turns it into a plugin_problem).
  void add(std::shared_ptr<const driver> drv, std::string origin = "built-in");

  const registered_driver* find(std::string_view name) const noexcept;
  // Every driver, sorted by name.
  std::vector<const registered_driver*> all() const;

  // Loads every *.so in each directory of `path` (colon-separated), in order. Bad plugins are
  // reported, skipped, and never crash the harness; the first plugin to claim a name wins.
  std::vector<plugin_problem> load_plugins(const std::string& path);
  // Loads one plugin file. Returns the problem, if any.
  std::optional<plugin_problem> load_plugin(const std::filesystem::path& file);

  // The plugin search path: $HILT_PLUGIN_PATH, then the install plugin directory, then (for a
  // binary run from its build tree) the build tree's plugin directory.
  static std::string default_plugin_path();

  // The factory that builds a fixture's `emulation:` section (registered by drivers/emu).
  void set_emulation_factory(emulation_factory f) { emulation_ = std::move(f); }
  const emulation_factory& emulation() const noexcept { return emulation_; }

 private:
  // dlopen handles. Declared first so that they are destroyed last: the drivers' code lives in
  // them. Devices made by a plugin driver must not outlive the registry.
  std::vector<std::shared_ptr<void>> handles_;
  emulation_factory emulation_;
  std::map<std::string, registered_driver, std::less<>> drivers_;
};

// Registrar handed to a plugin's registration function.
class plugin_registrar {
 public:
  plugin_registrar(driver_registry& r, std::string origin) : reg_(r), origin_(std::move(origin)) {}
  void add(std::shared_ptr<const driver> drv) { reg_.add(std::move(drv), origin_); }

 private:
  driver_registry& reg_;
  std::string origin_;
};

}  // namespace hilt

// In exactly one source file of a plugin:  HILT_PLUGIN(my_register_function)
// where `void my_register_function(hilt::plugin_registrar&)` adds the plugin's drivers.
#define HILT_PLUGIN(register_fn)                                                    \
  extern "C" __attribute__((visibility("default"))) int hilt_plugin_abi_version() { \
    return ::hilt::plugin_abi_version;                                              \
  }                                                                                 \
  extern "C" __attribute__((visibility("default"))) void hilt_plugin_register(      \
      ::hilt::plugin_registrar& r) {                                                \
    register_fn(r);                                                                 \
  }
