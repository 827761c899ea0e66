// A plugin whose registration throws: reported against its file, nothing registered.
#include <stdexcept>

#include "hilt/driver.hpp"

namespace {
void reg(hilt::plugin_registrar&) {
  throw std::runtime_error("cannot find my calibration table");
}
}  // namespace

HILT_PLUGIN(reg)
