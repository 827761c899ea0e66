// Registers every in-tree driver and the emulation factory with a registry.
#pragma once

#include "hilt/driver.hpp"

namespace hilt {
void register_builtin_drivers(driver_registry& registry);
}
