// SFF-8636 (QSFP+ / QSFP28) typed fields: identity, power class, status, monitors, thresholds and
// flags, decoded from lower memory, upper page 00h and page 03h (SFF-8636 Rev 2.10a §6).
//
// Pure functions over bytes, bounds-checked: any input gives a defined answer.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "hilt/cmis/eeprom.hpp"

namespace hilt::cmis::sff8636 {

namespace reg {
// Lower memory (Table 6-2 ff.)
inline constexpr std::uint8_t identifier = 0;
inline constexpr std::uint8_t revision = 1;    // Table 6-3
inline constexpr std::uint8_t status = 2;      // bit 2 Flat_mem, bit 1 IntL, bit 0 Data_Not_Ready
inline constexpr std::uint8_t los = 3;         // bits 7-4 Tx4..Tx1 LOS, 3-0 Rx4..Rx1 LOS
inline constexpr std::uint8_t tx_fault = 4;    // bits 3-0 Tx4..Tx1 fault
inline constexpr std::uint8_t lol = 5;         // bits 7-4 Tx4..Tx1 LOL, 3-0 Rx4..Rx1 LOL
inline constexpr std::uint8_t temp_flags = 6;  // 7 HA, 6 LA, 5 HW, 4 LW
inline constexpr std::uint8_t vcc_flags = 7;   // 7 HA, 6 LA, 5 HW, 4 LW
inline constexpr std::uint8_t rx_power_flags = 9;   // 9-10, nibble per lane (HA LA HW LW)
inline constexpr std::uint8_t tx_bias_flags = 11;   // 11-12
inline constexpr std::uint8_t tx_power_flags = 13;  // 13-14
inline constexpr std::uint8_t temperature = 22;     // S16 1/256 degC
inline constexpr std::uint8_t vcc = 26;             // U16 100 uV
inline constexpr std::uint8_t rx_power = 34;        // 4 x U16 0.1 uW
inline constexpr std::uint8_t tx_bias = 42;         // 4 x U16 2 uA
inline constexpr std::uint8_t tx_power = 50;        // 4 x U16 0.1 uW
inline constexpr std::uint8_t tx_disable = 86;      // bits 3-0
inline constexpr std::uint8_t power_control =
    93;  // 0 Power_override, 1 Power_set, 2 HP 5-7, 3 class 8
inline constexpr std::uint8_t max_power = 107;  // class 8 max power, 0.1 W
inline constexpr std::uint8_t page_select = 127;
// Upper page 00h (Table 6-14 ff.)
inline constexpr std::uint8_t ext_identifier = 129;  // power class (Table 6-16)
inline constexpr std::uint8_t connector = 130;
inline constexpr std::uint8_t compliance = 131;    // 131-138
inline constexpr std::uint8_t nominal_rate = 140;  // 100 Mb/s
inline constexpr std::uint8_t smf_length = 142;    // km
inline constexpr std::uint8_t device_technology = 147;
inline constexpr std::uint8_t vendor_name = 148;  // 16 ASCII
inline constexpr std::uint8_t vendor_oui = 165;   // 3 bytes
inline constexpr std::uint8_t part_number = 168;  // 16 ASCII
inline constexpr std::uint8_t vendor_rev = 184;   // 2 ASCII
inline constexpr std::uint8_t wavelength = 186;   // U16, nm x 20
inline constexpr std::uint8_t max_case_temp = 190;
inline constexpr std::uint8_t cc_base = 191;         // sum(128..190)
inline constexpr std::uint8_t ext_compliance = 192;  // SFF-8024 Table 4-4
inline constexpr std::uint8_t options = 195;         // bit 7 page 02h, bit 6 page 01h provided
inline constexpr std::uint8_t serial = 196;          // 16 ASCII
inline constexpr std::uint8_t date_code = 212;       // 8 ASCII YYMMDDLL
inline constexpr std::uint8_t diag_type = 220;       // 5 temp, 4 Vcc, 3 Rx avg, 2 Tx power
inline constexpr std::uint8_t cc_ext = 223;          // sum(192..222)
// Page 03h thresholds (Table 6-27): HA, LA, HW, LW, 2 bytes each.
inline constexpr std::uint8_t temp_thresholds = 128;
inline constexpr std::uint8_t vcc_thresholds = 144;
inline constexpr std::uint8_t rx_power_thresholds = 176;
inline constexpr std::uint8_t tx_bias_thresholds = 184;
inline constexpr std::uint8_t tx_power_thresholds = 192;
}  // namespace reg

inline constexpr int lanes = 4;

// 00h:1 revision compliance (Table 6-3): "SFF-8636 Rev 2.5, 2.6 and 2.7", ...
std::string revision_name(std::uint8_t b);
// Short form for module_report::spec_revision: "2.5-2.7", "2.8-2.10", "SFF-8436 4.8", ...
std::string revision_short(std::uint8_t b);

// Power class and its maximum power (Table 6-16): 129 bits 7-6 classes 1-4 (1.5, 2.0, 2.5,
// 3.5 W), bits 1-0 classes 5-7 (4.0, 4.5, 5.0 W), bit 5 class 8 with the maximum in 00h:107
// (0.1 W units).
struct power_class_info {
  int power_class = 1;
  double max_power_w = 1.5;
};
power_class_info decode_power_class(std::uint8_t ext_identifier, std::uint8_t byte107) noexcept;

// Fills `r` from the image (lower memory and upper page 00h are present; page 03h when the image
// holds it): identity, power, status, monitors (lower memory), thresholds (03h), flags, details,
// checksum warnings.
void decode(const eeprom_image& img, module_report& r);

}  // namespace hilt::cmis::sff8636
