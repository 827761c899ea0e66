// A PMBus power rail (hilt::power_monitor): a regulator read over I2C/SMBus.
//
// read_rail reads, in one pass: VOUT_MODE (once, cached until an error), READ_VIN (LINEAR11),
// READ_VOUT (LINEAR16 with the VOUT_MODE exponent), READ_IOUT, READ_POUT, READ_TEMPERATURE_1
// (LINEAR11) and STATUS_WORD — each only when the fixture lists it in `commands` (default: all).
// identify reads PMBUS_REVISION, MFR_ID, MFR_MODEL, MFR_REVISION and MFR_SERIAL (SMBus block
// reads: a count byte, then up to 32 bytes; Part II §22.2). MFR_REVISION and MFR_SERIAL are
// optional (a NACK leaves the field empty); MFR_ID and MFR_MODEL are required.
//
// SMBus shapes (System Management Bus Specification 3.x §6.5): Read Byte / Read Word are a
// command-code write, a repeated start and a 1- or 2-byte read, words low byte first; Write Byte
// is the command code and one data byte. Packet error checking is not used.
//
// Errors: a NACK (the address or the command code not acknowledged) is errc::nack; a VOUT_MODE
// that is not linear (VID, direct, IEEE half) is errc::not_supported; a block count above 32 is
// errc::bad_reply. Each is logged with the device, the operation, the command name and code and
// the bus.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/transport/i2c.hpp"

namespace hilt::pmbus {

struct rail_options {
  bool vin = true, vout = true, iout = true, pout = true, temperature = true, status = true;
  std::optional<std::uint8_t> page;  // written with PAGE before each pass (multi-rail devices)
};

class pmbus_rail final : public hilt::power_monitor {
 public:
  pmbus_rail(std::string name, std::string address, hilt::device_context ctx,
             std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t i2c_address, rail_options opts);

  std::string_view driver_name() const noexcept override { return "pmbus"; }

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<hilt::rail_reading>> do_read_rail() override;

 private:
  task<std::error_code> transfer(const char* op, std::uint8_t command, const char* command_name,
                                 std::span<const std::uint8_t> data, std::span<std::uint8_t> read,
                                 bool optional = false);
  task<result<std::uint8_t>> read_byte(const char* op, std::uint8_t command, const char* name);
  task<result<std::uint16_t>> read_word(const char* op, std::uint8_t command, const char* name);
  task<result<std::string>> read_block(const char* op, std::uint8_t command, const char* name,
                                       bool optional = false);
  task<std::error_code> select_page(const char* op);
  task<result<int>> vout_exponent(const char* op);

  std::shared_ptr<hilt::i2c_bus> bus_;
  std::uint8_t addr_;
  rail_options opts_;
  std::optional<int> exponent_;  // from VOUT_MODE, cached
};

}  // namespace hilt::pmbus
