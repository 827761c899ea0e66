// A plugin built against another ABI version: it must be refused without being called.
#include <cstdlib>

#include "hilt/driver.hpp"

extern "C" __attribute__((visibility("default"))) int hilt_plugin_abi_version() {
  return hilt::plugin_abi_version + 41;
}
extern "C" __attribute__((visibility("default"))) void hilt_plugin_register(
    hilt::plugin_registrar&) {
  std::abort();  // proves the harness never calls a mismatched plugin
}
