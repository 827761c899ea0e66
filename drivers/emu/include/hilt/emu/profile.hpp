// Module profiles: what an emulated CMIS module is, as data (fixtures/profiles/*.yaml).
//
// A profile gives the identity (SFF-8024 identifier, vendor fields), the advertisement (power
// class, applications, state-machine durations, monitors, thresholds) and the physics the emulator
// uses (dissipation per state, thermal resistance and time constant, optical power and bias and
// their temperature coefficients). drivers/emu/README.md documents every key.
//
// Loading is strict: an unknown key, a missing required key or an out-of-range value throws
// hilt::config_error naming "file:line:col" and what was expected (DESIGN.md rule 6).
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hilt::emu {

// One application descriptor (CMIS 5.x Table 8-25): 00h:86+ for apps 1-8, 01h:223+ for 9-15.
struct app_descriptor {
  std::uint8_t host_interface = 0;   // SFF-8024 host electrical interface ID
  std::uint8_t media_interface = 0;  // SFF-8024 media interface ID (table chosen by media_type)
  int host_lanes = 0;                // 1..8
  int media_lanes = 0;               // 1..8
  std::uint8_t host_lane_options = 0x01;   // allowed first host lanes, bit i = lane i+1
  std::uint8_t media_lane_options = 0x01;  // 01h:176+ allowed first media lanes
};

// Alarm / warning thresholds in engineering units (page 02h, CMIS 5.x Table 8-69).
struct threshold_set {
  double high_alarm = 0, low_alarm = 0, high_warn = 0, low_warn = 0;
};

struct module_profile {
  std::string source;  // file the profile was loaded from

  // Identity (lower memory, page 00h).
  std::uint8_t identifier = 0x18;            // 00h:0 / 00h:128
  std::uint8_t cmis_revision = 0x50;         // 00h:1, major in bits 7-4, minor in bits 3-0
  std::string vendor_name;                   // 00h:129-144
  std::array<std::uint8_t, 3> vendor_oui{};  // 00h:145-147
  std::string part_number;                   // 00h:148-163
  std::string revision;                      // 00h:164-165
  std::string serial;                        // 00h:166-181
  std::string date_code;                     // 00h:182-189, YYMMDD[LL]
  std::string clei;                          // 00h:190-199 (blank when empty)
  std::uint8_t firmware_major = 1, firmware_minor = 0;  // 00h:39-40 (and 01h:128-129)
  std::uint8_t hardware_major = 1, hardware_minor = 0;  // 01h:130-131

  // Advertisement.
  int power_class = 1;                   // 1..8 -> 00h:200 bits 7-5
  double max_power_w = 1.5;              // 00h:201, 0.25 W units rounded up
  std::uint8_t media_type = 0x02;        // 00h:85
  std::uint8_t connector = 0x00;         // 00h:203
  std::uint8_t media_technology = 0x00;  // 00h:212
  double wavelength_nm = 0;              // 01h:138-139 (0.05 nm units)
  double wavelength_tolerance_nm = 0;    // 01h:140-141
  double smf_length_km = 0;              // 01h:132
  int host_lanes = 8;
  int media_lanes = 8;
  std::vector<app_descriptor> applications;  // 1..15

  // State machine: advertised maximum durations (01h:144/167/168, Table 8-49 codes) and the
  // durations the emulated module actually takes.
  std::uint8_t code_module_pwr_up = 0, code_module_pwr_dn = 0;
  std::uint8_t code_dp_init = 0, code_dp_deinit = 0, code_tx_turn_on = 0, code_tx_turn_off = 0;
  std::chrono::nanoseconds mgmt_init{};      // MgmtInit after power-on / reset (≤ tMgmtInit 2 s)
  std::chrono::nanoseconds module_pwr_up{};  // time spent in ModulePwrUp
  std::chrono::nanoseconds module_pwr_dn{};  // time spent in ModulePwrDn

  // Physics.
  double ready_power_w = 1.5;               // dissipation in ModuleReady
  double low_power_w = 1.0;                 // dissipation in MgmtInit / ModuleLowPwr (≤ 1.5 W)
  double thermal_resistance_c_per_w = 2.0;  // case temperature rise per dissipated watt
  double thermal_time_constant_s = 60.0;    // first-order lag of the case temperature
  double temp_max_c = 70, temp_min_c = 0;   // 01h:146/147 operating range
  double vcc_v = 3.3;
  double vcc_noise_v = 0.003;  // peak of the uniform noise on the Vcc monitor
  double tx_power_dbm = 1.0;   // per-lane nominal at the reference temperature
  double tx_power_tempco_db_per_c = -0.02;
  double tx_bias_ma = 50.0;
  double tx_bias_tempco_ma_per_c = 0.2;
  double reference_temp_c = 40.0;
  double lane_spread_db = 0.3;  // fixed per-lane Tx power offsets, seeded, ± this

  // Thresholds (page 02h): temperature C, Vcc V, Tx/Rx power dBm, Tx bias mA.
  threshold_set temperature_thresholds{80, -5, 75, 0};
  threshold_set vcc_thresholds{3.63, 2.97, 3.465, 3.135};
  threshold_set tx_power_thresholds{5, -8, 4, -7};
  threshold_set tx_bias_thresholds{120, 10, 110, 15};
  threshold_set rx_power_thresholds{5, -12, 4, -10};
};

// Loads and checks a profile file. Throws hilt::config_error ("file:line:col: message") for a
// YAML syntax error, an unknown key, a missing required key or an out-of-range value, and
// ("file: cannot open profile") when the file cannot be read.
module_profile load_profile(const std::string& path);
// Same, from an already parsed node; `source` names the file in messages.
module_profile parse_profile(const YAML::Node& root, const std::string& source);

// CMIS 5.x Table 8-49 state-duration code for a maximum duration: the smallest code whose upper
// bound is at least `d` (0: <1 ms ... 12: <50 min, 13: >= 50 min).
std::uint8_t duration_code(std::chrono::nanoseconds d) noexcept;
// The upper bound a code stands for (code 13 and the reserved 14-15: 50 min).
std::chrono::nanoseconds duration_code_bound(std::uint8_t code) noexcept;

}  // namespace hilt::emu
