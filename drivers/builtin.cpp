#include "hilt/builtin_drivers.hpp"

#include "hilt/cmis/driver.hpp"
#include "hilt/emu/emulation.hpp"
#include "hilt/modbus_chamber/driver.hpp"
#include "hilt/pmbus/driver.hpp"
#include "hilt/sai_rpc/driver.hpp"
#include "hilt/scpi_psu/driver.hpp"
#include "hilt/scpi_voa/driver.hpp"

namespace hilt {

void register_builtin_drivers(driver_registry& registry) {
  registry.add(cmis::make_driver());
  registry.add(scpi_psu::make_driver());
  registry.add(modbus_chamber::make_driver());
  registry.add(pmbus::make_driver());
  registry.add(scpi_voa::make_driver());
  registry.add(sai_rpc::make_driver());
  registry.set_emulation_factory(&emu::make_emulation);
}

}  // namespace hilt
