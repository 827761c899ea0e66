// An emulated PMBus point-of-load regulator on the emulated I2C bus (DESIGN.md rule 1: the pmbus
// driver reads it with SMBus transactions byte for byte, as it would a real one).
//
// It feeds a power rail (power_rail.hpp) whose load is the modelled dissipation of the devices on
// it — an emulated CPO engine or module, plus an idle load standing for an ASIC core — so READ_IOUT
// and READ_POUT follow the devices' state. Input side: P_in = P_out / efficiency, I_in = P_in /
// V_in; temperature = ambient + thermal resistance x (P_in - P_out).
//
// Wire (PMBus Part II rev 1.3, SMBus 3.x): the first byte of a write is the command code; Write
// Byte / Write Word carry data after it; a read returns the command's data (words low byte
// first; blocks as a count byte then the bytes), padded with 0xFF. Supported: PAGE (0 only),
// OPERATION (bit 7 on/off), CLEAR_FAULTS (send byte), CAPABILITY, VOUT_MODE (linear), VOUT_COMMAND
// (LINEAR16), IOUT_OC_FAULT_LIMIT (LINEAR11), STATUS_BYTE/WORD/VOUT/IOUT/TEMPERATURE/CML,
// READ_VIN, READ_IIN, READ_VOUT, READ_IOUT, READ_TEMPERATURE_1, READ_POUT, READ_PIN,
// PMBUS_REVISION, MFR_ID, MFR_MODEL, MFR_REVISION, MFR_SERIAL (an empty string: not supported).
// An unsupported command, or one listed in `unsupported`, is NACKed and sets STATUS_CML bit 7;
// bad data (a PAGE other than 0, a write to a read-only command) is NACKed and sets bit 6.
// Over-current: I_out above IOUT_OC_FAULT_LIMIT latches the output off (STATUS_IOUT bit 7,
// STATUS_WORD IOUT_OC_FAULT and IOUT/POUT) until CLEAR_FAULTS (evaluated when the regulator is
// read). What the output delivers (VOUT_COMMAND while on, 0 while off or latched) is passed on to
// the rail at once (power_rail::set_source_volts): the emulated modules on it lose power when it
// goes off and go through their power-on reset when it comes back.
//
// Thread-safe (one lock per regulator).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/power_rail.hpp"
#include "hilt/emu/world.hpp"

namespace hilt::emu {

struct regulator_params {
  double vin = 12.0;             // V
  double vout = 0.75;            // V, VOUT_COMMAND at power-on
  int vout_exponent = -12;       // VOUT_MODE exponent (LINEAR16)
  double efficiency = 0.9;       // P_out / P_in
  double standby_w = 0.2;        // input power while off
  double iout_limit = 100.0;     // A, IOUT_OC_FAULT_LIMIT at power-on
  double thermal_c_per_w = 2.0;  // temperature rise per watt of loss
  bool on = true;                // OPERATION bit 7 at power-on
  std::string mfr_id = "HILT", mfr_model = "EMU-VR-100A", mfr_revision = "A1",
              mfr_serial = "VR0000001";
  std::uint8_t pmbus_revision = 0x33;  // Part I 1.3, Part II 1.3
  std::set<std::uint8_t> unsupported;  // commands answered with a NACK (a simpler device)
};

class pmbus_regulator final : public i2c_target_device {
 public:
  pmbus_regulator(std::shared_ptr<const world> w, std::shared_ptr<power_rail> rail,
                  regulator_params p);

  std::error_code on_write(std::span<const std::uint8_t> bytes) override;
  std::error_code on_read(std::span<std::uint8_t> out) override;
  std::error_code on_transfer(std::span<const std::uint8_t> write,
                              std::span<std::uint8_t> read) override;

  // Observation (the model's values now).
  struct snapshot {
    bool on = false;
    double vin = 0, iin = 0, vout = 0, iout = 0, pout = 0, pin = 0, temperature = 0;
    std::uint16_t status_word = 0;
  };
  snapshot read();
  // "vr0 pmbus0@0x40 on vout=0.750V iout=12.3A pout=9.2W"
  std::string describe(const std::string& label);

 private:
  snapshot evaluate();  // callers hold mu_
  void sync_rail();     // tells the rail what the output delivers now (callers hold mu_)
  std::error_code nack_cml(std::uint8_t bit);
  std::error_code write_command(std::uint8_t cmd, std::span<const std::uint8_t> data);

  std::shared_ptr<const world> world_;
  std::shared_ptr<power_rail> rail_;
  std::optional<double> told_;  // the voltage last passed on to the rail
  regulator_params p_;
  std::mutex mu_;
  std::uint8_t pointer_ = 0;
  bool on_ = true;
  double vout_cmd_ = 0;
  double iout_limit_ = 0;
  bool oc_latched_ = false;
  std::uint8_t status_cml_ = 0;
};

}  // namespace hilt::emu
