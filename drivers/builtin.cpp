#include "hilt/builtin_drivers.hpp"

#include "hilt/cmis/driver.hpp"
#include "hilt/emu/emulation.hpp"

namespace hilt {

void register_builtin_drivers(driver_registry& registry) {
  registry.add(cmis::make_driver());
  registry.set_emulation_factory(&emu::make_emulation);
}

}  // namespace hilt
