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
#include <initializer_list>
#include <optional>
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

// A state the emulated module can be made to stick in (fault injection): once it enters that
// state it never leaves it.
enum class stuck_state { none, module_pwr_up, module_pwr_dn, dp_init, dp_deinit, dp_tx_turn_on };

// Faults injected into one emulated module (profile `faults:`, or per device in the fixture).
// Times are harness time since the module was created.
struct module_faults {
  stuck_state stuck = stuck_state::none;
  int garbage_page = -1;  // reads of this upper page return seeded garbage (bad checksums)
  double laser_aging_db_per_khour = 0;  // Tx / laser output falls this much per 1000 h
  struct dark_lane {
    int lane = 1;  // media lane (laser lane for an ELSFP), 1-based
    std::chrono::nanoseconds at{};
  };
  std::vector<dark_lane> dark_lanes;                        // a lane's laser dies at a set time
  std::optional<std::chrono::nanoseconds> module_fault_at;  // ModuleFault at a set time
  // From this time on the management interface answers nothing (every transfer NACKed): a hung
  // module controller. Lasers and data paths stay as they were, so nothing can make it safe.
  std::optional<std::chrono::nanoseconds> silent_at;
  std::uint8_t module_fault_cause = 1;  // 00h:41 (1 = TEC runaway)
  bool any() const noexcept {
    return stuck != stuck_state::none || garbage_page >= 0 || laser_aging_db_per_khour != 0 ||
           !dark_lanes.empty() || module_fault_at.has_value() || silent_at.has_value();
  }
};

// The ELSFP part of a profile (OIF-CMIS-ELSFP; identifier 22h, a resource module): laser lanes
// with enable / state / bias / power on pages 1Ah / 1Bh.
struct elsfp_spec {
  int lanes = 0;                                      // 0: not an ELSFP
  double power_dbm = 17.0;                            // output power per lane at the set point
  double bias_ma = 400.0;                             // bias current per lane
  std::chrono::nanoseconds ramp{100'000'000};         // LaneState "ramping" after an enable
  bool apc = true;                                    // control mode: APC (1) or ACC (0), 1Ah:140.0
  threshold_set power_thresholds{21, 12, 20, 13};     // dBm
  threshold_set bias_thresholds{600, 100, 550, 150};  // mA
};

// A CPO optical engine's external laser source: an emulated ELSFP on the same I2C bus.
struct laser_source_spec {
  int address = 0;          // 0: none; else the ELSFP's 7-bit address on this module's bus
  int lanes_per_laser = 4;  // media lanes fed by one laser lane
  double loss_db = 16.0;    // laser output to modulated Tx output (splitting, modulator, coupling)
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
  int host_lanes = 8;                    // 1..32: more than 8 uses banks (CMIS 01h:142 bits 1-0)
  int media_lanes = 8;                   // 1..32
  std::vector<app_descriptor> applications;  // 1..15 (none for an ELSFP)
  int banks() const noexcept {
    return host_lanes > 8 || media_lanes > 8 ? (host_lanes > 16 || media_lanes > 16 ? 4 : 2) : 1;
  }

  // State machine: advertised maximum durations (01h:144/167/168, Table 8-49 codes) and the
  // durations the emulated module actually takes.
  std::uint8_t code_module_pwr_up = 0, code_module_pwr_dn = 0;
  std::uint8_t code_dp_init = 0, code_dp_deinit = 0, code_tx_turn_on = 0, code_tx_turn_off = 0;
  std::chrono::nanoseconds mgmt_init{};      // MgmtInit after power-on / reset (≤ tMgmtInit 2 s)
  std::chrono::nanoseconds module_pwr_up{};  // time spent in ModulePwrUp
  std::chrono::nanoseconds module_pwr_dn{};  // time spent in ModulePwrDn
  // Data path durations the module takes (default half the advertised maxima, 01h:144/168).
  std::chrono::nanoseconds dp_init{}, dp_deinit{}, tx_turn_on{}, tx_turn_off{};
  std::chrono::nanoseconds config_apply{1'000'000};  // ConfigStatus InProgress after ApplyDPInit

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
  double rx_los_dbm = -20.0;  // RxLOS below this received power

  // PRBS (pages 13h/14h, CMIS 5.x Table 8-115 IDs, bit i = pattern i). All zero: no pages 13h/14h.
  std::uint16_t host_generator_patterns = 0, host_checker_patterns = 0;
  std::uint16_t media_generator_patterns = 0, media_checker_patterns = 0;
  bool has_prbs() const noexcept {
    return (host_generator_patterns | host_checker_patterns | media_generator_patterns |
            media_checker_patterns) != 0;
  }
  // Link model: the BER a checker sees.
  double media_bit_rate = 106.25e9;  // b/s per media lane
  double host_bit_rate = 53.125e9;   // b/s per host lane
  double rx_sensitivity_dbm = -6.0;  // received power at which the media BER is reference_ber
  double reference_ber = 2.4e-4;
  double host_ber = 1e-12;  // the host electrical channel (host SerDes) BER
  double ber_floor = 0;     // the media BER never drops below this (DSP / receiver floor); 0: none
  double hot_q_penalty_per_c = 0.01;  // Q shrinks by this fraction per C above reference_temp_c
  bool linear = false;  // LPO: no retiming, the media path also carries the host SerDes noise
  bool vdm = false;     // VDM pages 20h-2Fh (pre-FEC BER per lane)

  elsfp_spec elsfp;                // lanes > 0: an ELSFP (identifier 22h)
  laser_source_spec laser_source;  // address > 0: a CPO engine fed by an ELSFP
  module_faults faults;
};

// Loads and checks a profile file. Throws hilt::config_error ("file:line:col: message") for a
// YAML syntax error, an unknown key, a missing required key or an out-of-range value, and
// ("file: cannot open profile") when the file cannot be read.
module_profile load_profile(const std::string& path);
// Same, from an already parsed node; `source` names the file in messages.
module_profile parse_profile(const YAML::Node& root, const std::string& source);

// Parses a `faults:` mapping (profile or fixture): stuck_state (ModulePwrUp, ModulePwrDn, DPInit,
// DPDeinit, DPTxTurnOn), garbage_page (0-255), laser_aging_db_per_khour (0-100), lane_dark
// ({lane, at} or a list of them), module_fault ({at, cause}), silent_at (a time). Keys in `ignore`
// (e.g. the bus-level nack_rate that the fixture parses itself) are accepted and skipped. Starts
// from `base` so a fixture's entry adds to its profile's. Throws hilt::config_error
// (file:line:col).
module_faults parse_module_faults(const YAML::Node& node, const std::string& source,
                                  module_faults base = {},
                                  std::initializer_list<const char*> ignore = {});

// CMIS 5.x Table 8-49 state-duration code for a maximum duration: the smallest code whose upper
// bound is at least `d` (0: <1 ms ... 12: <50 min, 13: >= 50 min).
std::uint8_t duration_code(std::chrono::nanoseconds d) noexcept;
// The upper bound a code stands for (code 13 and the reserved 14-15: 50 min).
std::chrono::nanoseconds duration_code_bound(std::uint8_t code) noexcept;

}  // namespace hilt::emu
