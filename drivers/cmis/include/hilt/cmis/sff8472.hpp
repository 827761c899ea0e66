// SFF-8472 (SFP / SFP+ / SFP28) typed fields: identity from A0h (I2C 0x50) and digital
// diagnostics from A2h (I2C 0x51): thresholds, monitors (internally or externally calibrated),
// status and flags (SFF-8472 Rev 12.4 §4, §8, §9).
//
// Pure functions over bytes, bounds-checked: any input gives a defined answer.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "hilt/cmis/eeprom.hpp"

namespace hilt::cmis::sff8472 {

namespace reg {
// A0h (Table 4-1)
inline constexpr std::uint8_t identifier = 0;
inline constexpr std::uint8_t ext_identifier = 1;
inline constexpr std::uint8_t connector = 2;
inline constexpr std::uint8_t vendor_name = 20;  // 16 ASCII
inline constexpr std::uint8_t vendor_oui = 37;   // 3 bytes
inline constexpr std::uint8_t part_number = 40;  // 16 ASCII
inline constexpr std::uint8_t vendor_rev = 56;   // 4 ASCII
inline constexpr std::uint8_t wavelength = 60;   // U16 nm
inline constexpr std::uint8_t cc_base = 63;      // sum(0..62)
inline constexpr std::uint8_t options = 64;      // 64-65 (Table 8-3)
inline constexpr std::uint8_t serial = 68;       // 16 ASCII
inline constexpr std::uint8_t date_code = 84;    // 8 ASCII
inline constexpr std::uint8_t diag_type = 92;    // 6 DDM, 5 internal, 4 external, 3 Rx avg
inline constexpr std::uint8_t enhanced_options = 93;
inline constexpr std::uint8_t compliance = 94;  // SFF-8472 revision (Table 8-8)
inline constexpr std::uint8_t cc_ext = 95;      // sum(64..94)
// A2h (Table 9-5 ff.)
inline constexpr std::uint8_t thresholds = 0;    // temp, Vcc, bias, Tx power, Rx power
inline constexpr std::uint8_t rx_pwr_cal = 56;   // Rx_PWR(4) .. Rx_PWR(0), IEEE-754 floats
inline constexpr std::uint8_t tx_i_slope = 76;   // then offset, Tx_PWR, T, V slope/offset
inline constexpr std::uint8_t cc_dmi = 95;       // sum(0..94)
inline constexpr std::uint8_t temperature = 96;  // S16 1/256 degC
inline constexpr std::uint8_t vcc = 98;          // U16 100 uV
inline constexpr std::uint8_t tx_bias = 100;     // U16 2 uA
inline constexpr std::uint8_t tx_power = 102;    // U16 0.1 uW
inline constexpr std::uint8_t rx_power = 104;    // U16 0.1 uW
inline constexpr std::uint8_t status = 110;      // 7 Tx disable pin, 6 soft Tx disable, 2 Tx fault,
                                                 // 1 Rx LOS, 0 Data_Ready_Bar
inline constexpr std::uint8_t alarm_flags = 112;    // 112-113
inline constexpr std::uint8_t warning_flags = 116;  // 116-117
}  // namespace reg

// A0h:94 SFF-8472 compliance (Table 8-8): "12.3", ...; "unspecified" for 0.
std::string compliance_name(std::uint8_t b);

// Monitors from A2h bytes 96-105 with the calibration A0h:92 names: internally calibrated values
// are taken as they are; externally calibrated ones go through the A2h slopes, offsets and the
// Rx power polynomial (SFF-8472 §9.3). `a2h` is the 256-byte A2h block.
struct diagnostics {
  double temperature_c = 0, vcc_v = 0, tx_bias_ma = 0, tx_power_mw = 0, rx_power_mw = 0;
};
diagnostics decode_diagnostics(std::span<const std::uint8_t> a2h, std::uint8_t diag_type) noexcept;

// Fills `r` from A0h (always present) and A2h (when the image holds 512 bytes and A0h:92.6 says
// digital diagnostics are implemented).
void decode(const eeprom_image& img, module_report& r);

}  // namespace hilt::cmis::sff8472
