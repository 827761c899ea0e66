// Code tables shared by the CMIS, SFF-8636 and SFF-8472 decoders: SFF-8024 interface, connector
// and technology codes, and the CMIS state / status / pattern codes.
//
// Every function is total: any byte gives a name ("reserved (0xNN)", "unknown (0xNN)" or
// "custom (0xNN)" when the table has no entry), never a crash.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/device.hpp"

namespace hilt::cmis {

// SFF-8024 Rev 4.13 Table 4-5: host electrical interface ID (application descriptor byte 0).
std::string host_interface_name(std::uint8_t id);
// SFF-8024 Tables 4-6 to 4-10: media interface ID, whose table depends on the MediaType (00h:85):
// 01h MMF, 02h SMF, 03h passive copper, 04h active cable, 05h BASE-T.
std::string media_interface_name(std::uint8_t media_type, std::uint8_t id);
// SFF-8024 Table 4-3: connector type (CMIS 00h:203, SFF-8636 00h:130, SFF-8472 A0h:2).
std::string connector_name(std::uint8_t id);
// CMIS 5.x Table 8-40 (00h:212) MediaInterfaceTechnology.
std::string media_technology_name(std::uint8_t id);

// CMIS 5.x Table 8-94: DPStateHostLane nibble (11h:128-131).
std::string_view dp_state_name(std::uint8_t code) noexcept;
// CMIS 5.x Table 8-7: ModuleState (00h:3 bits 3-1), in ethtool's spelling ("ModuleReady"; codes
// 0, 6 and 7 are "reserved or unknown").
std::string_view module_state_name(std::uint8_t code) noexcept;
// CMIS 5.x Table 8-15: ModuleFaultCause (00h:41).
std::string module_fault_cause_name(std::uint8_t code);
// CMIS 5.x Table 8-101: ConfigStatusLane nibble (11h:202-205).
std::string_view config_status_name(std::uint8_t code) noexcept;
// CMIS 5.x Table 8-115: PRBS pattern ID (page 13h pattern-select nibbles).
std::string_view prbs_pattern_name(std::uint8_t id) noexcept;
// The inverse of prbs_pattern_name for the standard patterns ("PRBS-31Q", "prbs31q", "SSPRQ");
// -1 when the name is not one of IDs 0-12.
int prbs_pattern_id(std::string_view name) noexcept;

// Names of the latched flags that are set (CMIS 5.x Table 8-9): module flags 00h:8-11
// ("module_state_changed", "temperature_high_alarm", "vcc_low_warn", ...).
void append_module_flags(std::vector<std::string>& out, std::uint8_t b8, std::uint8_t b9,
                         std::uint8_t b10, std::uint8_t b11);
// Lane flags 11h:134-153 of one bank (Table 8-96 ff.; `bytes` holds 20 bytes from 134):
// "dp_state_changed lane 1", "rx_los lane 12", ... (lanes 1-based across banks).
void append_lane_flags(std::vector<std::string>& out, std::span<const std::uint8_t> bytes,
                       int bank);

// CMIS 5.x Table 8-174 VDM observable type: a snake_case name ("pre_fec_ber_current",
// "laser_temperature", "esnr", ...) and the side it belongs to (media/host for the per-input
// types, none otherwise); nullptr for types this table does not name.
const char* vdm_observable_name(std::uint8_t type, hilt::side& side) noexcept;

}  // namespace hilt::cmis
