// CMIS typed fields and code tables: byte addresses, SFF-8024 identifiers, module states, power
// classes, state durations, application descriptors, and the monitor encodings.
//
// Every decoder takes raw bytes and is total: any byte value gives a defined answer (a "reserved"
// or "unknown" name, an empty optional), never a crash (DESIGN.md rule 6).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/device.hpp"

namespace hilt::cmis {

// Byte addresses (OIF-CMIS 5.x §8). Upper-page offsets are 128-255.
namespace reg {
// Lower memory (Table 8-5 ff.)
inline constexpr std::uint8_t identifier = 0;
inline constexpr std::uint8_t revision = 1;
inline constexpr std::uint8_t characteristics = 2;  // bit 7 MemoryModel: 1 = flat
inline constexpr std::uint8_t module_state = 3;     // bits 3-1 state, bit 0 InterruptDeasserted
inline constexpr std::uint8_t module_flags = 8;     // bit 0 ModuleStateChangedFlag (COR)
inline constexpr std::uint8_t temperature = 14;     // S16, 1/256 degC
inline constexpr std::uint8_t vcc = 16;             // U16, 100 uV
inline constexpr std::uint8_t controls = 26;        // Module Global Controls (Table 8-11)
inline constexpr std::uint8_t firmware = 39;        // active firmware major, minor
inline constexpr std::uint8_t media_type = 85;
inline constexpr std::uint8_t apps = 86;  // application descriptors 1-8
inline constexpr std::uint8_t bank_select = 126;
inline constexpr std::uint8_t page_select = 127;
// 00h:26 bits
inline constexpr std::uint8_t low_pwr_allow_request_hw = 0x40;
inline constexpr std::uint8_t low_pwr_request_sw = 0x10;
inline constexpr std::uint8_t software_reset = 0x08;
// Page 00h (Table 8-30 ff.)
inline constexpr std::uint8_t vendor_name = 129;  // 16 ASCII
inline constexpr std::uint8_t vendor_oui = 145;   // 3 bytes
inline constexpr std::uint8_t part_number = 148;  // 16 ASCII
inline constexpr std::uint8_t vendor_rev = 164;   // 2 ASCII
inline constexpr std::uint8_t serial = 166;       // 16 ASCII
inline constexpr std::uint8_t date_code = 182;    // 8 ASCII YYMMDDLL
inline constexpr std::uint8_t clei = 190;         // 10 ASCII
inline constexpr std::uint8_t power_class = 200;  // bits 7-5
inline constexpr std::uint8_t max_power = 201;    // 0.25 W units
inline constexpr std::uint8_t connector = 203;
inline constexpr std::uint8_t media_technology = 212;
inline constexpr std::uint8_t page00_checksum = 222;  // sum(128..221)
// Page 01h (Table 8-40 ff.)
inline constexpr std::uint8_t supported_pages = 142;
inline constexpr std::uint8_t dp_durations = 144;        // 7-4 DPDeinit, 3-0 DPInit
inline constexpr std::uint8_t controls_supported = 155;  // bit 1 TxDisable
inline constexpr std::uint8_t monitors_module = 159;     // bit 0 temp, bit 1 Vcc
inline constexpr std::uint8_t monitors_lane = 160;       // 0 bias, 1 Tx power, 2 Rx power, 4-3 mult
inline constexpr std::uint8_t module_durations = 167;    // 7-4 ModulePwrDn, 3-0 ModulePwrUp
inline constexpr std::uint8_t tx_durations = 168;        // 7-4 TxTurnOff, 3-0 TxTurnOn
inline constexpr std::uint8_t page01_checksum = 255;     // sum(130..254)
// Page 02h
inline constexpr std::uint8_t page02_checksum = 255;  // sum(128..254)
// Page 10h (Table 8-78 ff.)
inline constexpr std::uint8_t dp_deinit = 128;
inline constexpr std::uint8_t tx_disable = 130;
// Page 11h (Table 8-94 ff.)
inline constexpr std::uint8_t dp_state = 128;  // nibble per host lane
inline constexpr std::uint8_t tx_power = 154;  // U16 0.1 uW per lane
inline constexpr std::uint8_t tx_bias = 170;   // U16 2 uA x multiplier per lane
inline constexpr std::uint8_t rx_power = 186;  // U16 0.1 uW per lane
}  // namespace reg

// SFF-8024 Table 4-1 identifier name: "QSFP-DD", "OSFP", ...; "unknown (0xNN)" otherwise.
std::string identifier_name(std::uint8_t id);
// Identifiers whose management interface is CMIS (SFF-8024 Table 4-1; the set ethtool and SONiC
// dispatch to their CMIS parsers, plus OSFP-XD, OIF-ELSFP and CDFP).
bool is_cmis_identifier(std::uint8_t id) noexcept;

// 00h:1: {major, minor}.
struct revision {
  int major = 0, minor = 0;
};
inline revision decode_revision(std::uint8_t b) noexcept {
  return {b >> 4, b & 0x0F};
}

// 00h:3 bits 3-1 (Table 8-7); reserved codes map to module_state::unknown.
hilt::module_state decode_module_state(std::uint8_t b) noexcept;

// 00h:200 bits 7-5 -> class 1..8.
inline int decode_power_class(std::uint8_t b) noexcept {
  return (b >> 5) + 1;
}
// 00h:201 -> watts (0.25 W units).
inline double decode_max_power_w(std::uint8_t b) noexcept {
  return b * 0.25;
}

// 00h:85 MediaType name (SFF-8024 Table 4-3... "MMF", "SMF", ...).
std::string_view media_type_name(std::uint8_t b) noexcept;

// Table 8-49 state-duration code -> upper bound (codes 13-15: 50 min, the longest bound).
std::chrono::milliseconds decode_duration(std::uint8_t code) noexcept;

// One application descriptor (Table 8-25).
struct application {
  std::uint8_t host_interface = 0, media_interface = 0;
  int host_lanes = 0, media_lanes = 0;
  std::uint8_t host_lane_options = 0;
};
// Descriptors from lower memory bytes 86-117 (32 bytes), up to the FFh terminator.
std::vector<application> decode_applications(std::span<const std::uint8_t> bytes32);

// Space-padded ASCII field -> string without trailing spaces/NULs; non-printable bytes become '?'.
std::string decode_ascii(std::span<const std::uint8_t> bytes);
// "YYMMDDLL" -> "20YY-MM-DD" (+ " lot LL"); the raw text when it is not a valid date.
std::string decode_date_code(std::span<const std::uint8_t> bytes8);
// OUI bytes -> "00-90-65".
std::string decode_oui(std::span<const std::uint8_t> bytes3);

// Sum of bytes mod 256.
std::uint8_t checksum(std::span<const std::uint8_t> bytes) noexcept;

// Monitor decodings (Table 8-10, Table 8-93).
inline std::int16_t be_s16(const std::uint8_t* p) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(p[0] << 8 | p[1]));
}
inline std::uint16_t be_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
inline double decode_temperature_c(const std::uint8_t* p) noexcept {
  return be_s16(p) / 256.0;
}
inline double decode_vcc_v(const std::uint8_t* p) noexcept {
  return be_u16(p) * 100e-6;
}
inline double decode_power_mw(const std::uint8_t* p) noexcept {
  return be_u16(p) * 1e-4;
}
// Tx bias in mA with the 01h:160 bits 4-3 multiplier (00b x1, 01b x2, 10b x4).
double decode_bias_ma(const std::uint8_t* p, std::uint8_t monitors_lane_byte) noexcept;
// mW -> dBm; 0 mW (no light) reads as the floor of the encoding, -40 dBm (0.1 uW).
double mw_to_dbm_floor(double mw) noexcept;

// F16 (OIF-CMIS 5.x §3.4, used for BER in 14h:192-223 and VDM): two bytes, the byte at the lower
// address first; its bits 7-3 are the scaled exponent s, bits 2-0 and the second byte the 11-bit
// mantissa m; value = m * 10^(s - 24). Range 0 and 1e-24 .. 2.047e10.
double decode_f16(std::uint8_t first, std::uint8_t second) noexcept;
inline double decode_f16(const std::uint8_t* p) noexcept {
  return decode_f16(p[0], p[1]);
}
// The F16 code of `value` with the most precision (the smallest exponent whose rounded mantissa
// fits in 11 bits), as (first byte << 8 | second byte): 2.4e-4 -> 0x90F0, 1e-12 -> 0x4BE8.
// Negative values, NaN and values below 5e-25 encode as 0; values above 2.047e10 saturate at
// 0xFFFF.
std::uint16_t encode_f16(double value) noexcept;

}  // namespace hilt::cmis
