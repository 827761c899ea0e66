#include "hilt/emu/cmis_module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>

#include "hilt/emu/cmis_link.hpp"
#include "hilt/error.hpp"

namespace hilt::emu {

namespace {

using std::chrono::nanoseconds;

// Byte addresses (OIF-CMIS 5.x §8). Kept here, independent of drivers/cmis, so that the emulator
// and the driver are two readings of the specification that must agree on the wire.
namespace lower {
constexpr std::uint8_t identifier = 0;  // Table 8-5
constexpr std::uint8_t revision = 1;
constexpr std::uint8_t characteristics = 2;  // bit 7 MemoryModel (1 = flat)
constexpr std::uint8_t state = 3;            // Table 8-6: bits 3-1 ModuleState, bit 0 IntDeasserted
constexpr std::uint8_t lane_summary = 4;     // Table 8-8: 4-7 lane flag summary per bank
constexpr std::uint8_t flags_first = 8;      // Table 8-9: module flags 8-11, clear-on-read
constexpr std::uint8_t flags_last = 11;
constexpr std::uint8_t temperature = 14;  // Table 8-10: S16, 1/256 degC
constexpr std::uint8_t vcc = 16;          // U16, 100 uV
constexpr std::uint8_t controls = 26;     // Table 8-11
constexpr std::uint8_t masks_first = 31;  // Table 8-12: masks for 8-13
constexpr std::uint8_t masks_last = 36;
constexpr std::uint8_t firmware = 39;  // active firmware major, minor
constexpr std::uint8_t fault_cause = 41;
constexpr std::uint8_t function_type = 57;  // 1 = resource module (ELSFP)
constexpr std::uint8_t media_type = 85;
constexpr std::uint8_t apps = 86;  // Table 8-25: 8 descriptors of 4 bytes
constexpr std::uint8_t bank_select = 126;
constexpr std::uint8_t page_select = 127;
}  // namespace lower

// 00h:26 Module Global Controls bits (Table 8-11).
constexpr std::uint8_t low_pwr_allow_request_hw = 0x40;
constexpr std::uint8_t low_pwr_request_sw = 0x10;
constexpr std::uint8_t software_reset = 0x08;
constexpr std::uint8_t module_state_changed = 0x01;  // 00h:8.0

// Offsets inside an upper page are 128-255; the storage index is offset - 128.
constexpr std::size_t up(int offset) {
  return static_cast<std::size_t>(offset - 128);
}

void put_ascii(std::array<std::uint8_t, 128>& pg, int offset, std::size_t width,
               const std::string& s) {
  for (std::size_t i = 0; i < width; ++i) {
    pg[up(offset) + i] = static_cast<std::uint8_t>(i < s.size() ? s[i] : ' ');
  }
}
void put_u16(std::uint8_t* p, long v) {
  v = std::clamp(v, 0L, 65535L);
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v & 0xFF);
}
void put_s16(std::uint8_t* p, long v) {
  v = std::clamp(v, -32768L, 32767L);
  const auto u = static_cast<std::uint16_t>(static_cast<std::int16_t>(v));
  p[0] = static_cast<std::uint8_t>(u >> 8);
  p[1] = static_cast<std::uint8_t>(u & 0xFF);
}
void put_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
long get_u16(const std::uint8_t* p) {
  return p[0] << 8 | p[1];
}
long get_s16(const std::uint8_t* p) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(p[0] << 8 | p[1]));
}

// Monitor and threshold encodings (CMIS 5.x Table 8-10, Table 8-69, Table 8-93).
long temp_code(double c) {
  return std::lround(c * 256.0);
}
long vcc_code(double v) {
  return std::lround(v / 100e-6);
}
long power_code_mw(double mw) {
  return std::lround(mw * 1e4);
}  // 0.1 uW units
long power_code_dbm(double dbm) {
  return power_code_mw(std::pow(10.0, dbm / 10.0));
}
long bias_code_ma(double ma) {
  return std::lround(ma * 500.0);
}  // 2 uA units, multiplier 1
// ELSFP units (page 1Ah/1Bh): power 10 uW, bias 100 uA.
long elsfp_power_code_mw(double mw) {
  return std::lround(mw * 100.0);
}
long elsfp_power_code_dbm(double dbm) {
  return elsfp_power_code_mw(std::pow(10.0, dbm / 10.0));
}
long elsfp_bias_code_ma(double ma) {
  return std::lround(ma * 10.0);
}

void put_thresholds(std::array<std::uint8_t, 128>& pg, int offset, const threshold_set& t,
                    long (*code)(double), bool is_signed) {
  const double v[4] = {t.high_alarm, t.low_alarm, t.high_warn, t.low_warn};
  for (int i = 0; i < 4; ++i) {
    std::uint8_t* p = &pg[up(offset + 2 * i)];
    if (is_signed) {
      put_s16(p, code(v[i]));
    } else {
      put_u16(p, code(v[i]));
    }
  }
}

// Alarm / warning bits of a value against four stored thresholds (HA, LA, HW, LW): bit 0 high
// alarm, 1 low alarm, 2 high warning, 3 low warning.
int threshold_bits(long v, const std::uint8_t* th, bool is_signed) {
  auto at = [&](int i) { return is_signed ? get_s16(th + 2 * i) : get_u16(th + 2 * i); };
  return (v > at(0) ? 1 : 0) | (v < at(1) ? 2 : 0) | (v > at(2) ? 4 : 0) | (v < at(3) ? 8 : 0);
}

bool intersects(std::size_t from, std::size_t n, std::size_t lo, std::size_t hi_excl) {
  return from < hi_excl && from + n > lo;
}

double seconds(nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// Emulated modules by (world, "bus@0xNN"), so a CPO engine finds the ELSFP that feeds it.
std::mutex registry_mu;
std::map<std::pair<const world*, std::string>, cmis_module*>& registry() {
  static std::map<std::pair<const world*, std::string>, cmis_module*> r;
  return r;
}

constexpr int host_side = 0, media_side = 1;

// Marks a module as evaluating itself for the scope (link_graph.hpp re-entrancy).
struct depth_guard {
  int& d;
  explicit depth_guard(int& depth) : d(depth) { ++d; }
  ~depth_guard() { --d; }
  depth_guard(const depth_guard&) = delete;
  depth_guard& operator=(const depth_guard&) = delete;
};

}  // namespace

const char* to_string(msm_state s) noexcept {
  switch (s) {
    case msm_state::mgmt_init:
      return "MgmtInit";
    case msm_state::low_pwr:
      return "ModuleLowPwr";
    case msm_state::pwr_up:
      return "ModulePwrUp";
    case msm_state::ready:
      return "ModuleReady";
    case msm_state::pwr_dn:
      return "ModulePwrDn";
    case msm_state::fault:
      return "ModuleFault";
  }
  return "?";
}

const char* to_string(dp_state s) noexcept {
  switch (s) {
    case dp_state::deactivated:
      return "DPDeactivated";
    case dp_state::init:
      return "DPInit";
    case dp_state::deinit:
      return "DPDeinit";
    case dp_state::activated:
      return "DPActivated";
    case dp_state::tx_turn_on:
      return "DPTxTurnOn";
    case dp_state::tx_turn_off:
      return "DPTxTurnOff";
    case dp_state::initialized:
      return "DPInitialized";
  }
  return "?";
}

cmis_module::cmis_module(std::shared_ptr<const world> w, module_profile profile,
                         cmis_module_options opts, std::uint64_t seed)
    : world_(std::move(w)), profile_(std::move(profile)), opts_(std::move(opts)), seed_(seed) {
  if (!opts_.serial.empty()) profile_.serial = opts_.serial;
  faults_ = opts_.faults ? *opts_.faults : profile_.faults;
  q_ref_ = q_from_ber(profile_.reference_ber);
  q_host_ = profile_.host_ber > 0 ? q_from_ber(profile_.host_ber) : 0;
  q_floor_ = profile_.ber_floor > 0 ? q_from_ber(profile_.ber_floor) : 0;
  lpmode_pin_ = opts_.lpmode_pin;
  banks_ = profile_.banks();
  std::uint64_t rng = seed_;
  lane_offset_db_.resize(static_cast<std::size_t>(std::max(1, profile_.media_lanes)));
  for (auto& o : lane_offset_db_)
    o = (uniform01(rng) * 2.0 - 1.0) * profile_.lane_spread_db;
  for (int s = 0; s < 2; ++s) {
    for (int l = 0; l < max_lanes; ++l)
      chk_[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)].rng =
          seed_ ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(2 * l + s + 1));
  }

  const time_point now = world_->now();
  created_ = now;
  control_changed_at_ = now;
  state_since_ = now;
  cond_since_ = now;
  thermal_t0_ = now;
  prbs_t_ = now;
  build_memory_map();
  if (opts_.cold_boot) {
    state_ = msm_state::mgmt_init;
    thermal_t0_c_ = world_->ambient_c();
  } else {
    // Powered long before the run: the module sits in its steady state, with the
    // ModuleStateChangedFlag its power-on transitions latched still set (nobody read it yet), and
    // its configured data paths activated (DPDeinit is clear by default).
    state_ = low_pwr_s() ? msm_state::low_pwr : msm_state::ready;
    lower_[lower::flags_first] |= module_state_changed;
    if (state_ == msm_state::ready) {
      for (int h = 0; h < profile_.host_lanes && h < max_lanes; ++h) {
        if (!dp_deinit_s(h)) dp_[static_cast<std::size_t>(h)].state = dp_state::activated;
      }
    }
    thermal_t0_c_ =
        world_->ambient_c() + dissipation_for(state_) * profile_.thermal_resistance_c_per_w;
  }
  for (auto& l : dp_)
    l.since = now;
  for (auto& t : laser_enabled_at_)
    t = now - std::chrono::hours(24);  // settled: lasers long past their ramp
  if (opts_.cold_boot) {
    for (auto& t : laser_enabled_at_)
      t = now;
  }
  if (!opts_.label.empty()) {
    std::lock_guard lock(registry_mu);
    registry()[{world_.get(), opts_.label}] = this;
  }
}

cmis_module::~cmis_module() {
  if (!opts_.label.empty()) {
    std::lock_guard lock(registry_mu);
    auto it = registry().find({world_.get(), opts_.label});
    if (it != registry().end() && it->second == this) registry().erase(it);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory map

const cmis_module::page_bytes* cmis_module::page_ptr(std::uint8_t bank,
                                                     std::uint8_t page) const noexcept {
  if (page < 0x10) bank = 0;  // pages 00h-0Fh are not banked (CMIS 5.x §8.1)
  if (bank >= max_banks) return nullptr;
  const auto idx = page_index_[bank][page];
  return idx < 0 ? nullptr : &pages_[static_cast<std::size_t>(idx)];
}

cmis_module::page_bytes* cmis_module::page_ptr(std::uint8_t bank, std::uint8_t page) noexcept {
  return const_cast<page_bytes*>(std::as_const(*this).page_ptr(bank, page));
}

cmis_module::page_bytes& cmis_module::add_page(std::uint8_t bank, std::uint8_t page) {
  if (page < 0x10) bank = 0;
  if (auto* p = page_ptr(bank, page)) return *p;
  pages_.emplace_back();
  pages_.back().fill(0);
  page_index_[bank][page] = static_cast<std::int16_t>(pages_.size() - 1);
  return pages_.back();
}

void cmis_module::fix_checksum(std::uint8_t page) noexcept {
  page_bytes* pg = page_ptr(0, page);
  if (!pg) return;
  // CMIS 5.x: 00h:222 = sum(128..221), 01h:255 = sum(130..254), 02h:255 = sum(128..254), mod 256.
  int first = 0, last = 0, at = 0;
  switch (page) {
    case 0x00:
      first = 128, last = 221, at = 222;
      break;
    case 0x01:
      first = 130, last = 254, at = 255;
      break;
    case 0x02:
      first = 128, last = 254, at = 255;
      break;
    default:
      return;
  }
  unsigned sum = 0;
  for (int i = first; i <= last; ++i)
    sum += (*pg)[up(i)];
  (*pg)[up(at)] = static_cast<std::uint8_t>(sum & 0xFF);
}

void cmis_module::default_lane_config(page_bytes& p10, int bank) {
  // SCS0 (10h:145-152, Table 8-81): application 1 on every data path it fits, from the lowest
  // allowed first lane up (AppSel bits 7-4, DPIDX bits 3-1 = first lane of the data path).
  if (profile_.applications.empty()) return;
  const auto& a = profile_.applications.front();
  const int lanes_in_bank = std::clamp(profile_.host_lanes - 8 * bank, 0, 8);
  int next_free = 0;
  for (int first = 0; first < 8; ++first) {
    if (!(a.host_lane_options >> first & 1) || first < next_free) continue;
    if (first + a.host_lanes > lanes_in_bank) break;
    for (int i = 0; i < a.host_lanes; ++i)
      p10[up(145 + first + i)] = static_cast<std::uint8_t>(1 << 4 | first << 1);
    next_free = first + a.host_lanes;
  }
}

void cmis_module::build_memory_map() {
  const module_profile& p = profile_;
  lower_.fill(0);
  pages_.clear();
  for (auto& b : page_index_)
    b.fill(-1);
  flat_ = false;
  const bool elsfp = p.elsfp.lanes > 0;

  lower_[lower::identifier] = p.identifier;
  lower_[lower::revision] = p.cmis_revision;
  lower_[lower::characteristics] = 0x00;  // paged memory, 400 kHz, no auto-commissioning
  lower_[lower::controls] = low_pwr_allow_request_hw;  // Table 8-11 default 40h
  lower_[lower::firmware] = p.firmware_major;
  lower_[lower::firmware + 1] = p.firmware_minor;
  lower_[lower::function_type] = elsfp ? 1 : 0;  // resource module (ELSFP, CMIS 5.3)
  lower_[lower::media_type] = p.media_type;

  auto& p00 = add_page(0, 0x00);
  auto& p01 = add_page(0, 0x01);
  auto& p02 = add_page(0, 0x02);

  // Application descriptors: 1-8 in lower memory 86-117, 9-15 in 01h:223-250; the first unused
  // slot holds HostInterfaceID FFh, which ends the list (Table 8-25).
  auto slot = [&](std::size_t i) -> std::uint8_t* {
    return i < 8 ? &lower_[lower::apps + 4 * i] : &p01[up(223) + 4 * (i - 8)];
  };
  const std::size_t napps = p.applications.size();
  for (std::size_t i = 0; i < napps; ++i) {
    const auto& a = p.applications[i];
    std::uint8_t* d = slot(i);
    d[0] = a.host_interface;
    d[1] = a.media_interface;
    d[2] = static_cast<std::uint8_t>(a.host_lanes << 4 | a.media_lanes);
    d[3] = a.host_lane_options;
    p01[up(176) + i] = a.media_lane_options;  // 01h:176-190 MediaLaneAssignmentOptions
  }
  if (napps < 15) slot(napps)[0] = 0xFF;
  if (napps < 8) p01[up(223)] = 0xFF;  // hosts that read 9-15 regardless see an empty list

  // Page 00h: administrative information (Table 8-30 ff.).
  p00[up(128)] = p.identifier;
  put_ascii(p00, 129, 16, p.vendor_name);
  std::copy(p.vendor_oui.begin(), p.vendor_oui.end(), &p00[up(145)]);
  put_ascii(p00, 148, 16, p.part_number);
  put_ascii(p00, 164, 2, p.revision);
  put_ascii(p00, 166, 16, p.serial);
  put_ascii(p00, 182, 8, p.date_code);
  put_ascii(p00, 190, 10, p.clei);
  p00[up(200)] = static_cast<std::uint8_t>((p.power_class - 1) << 5);  // Table 8-32
  p00[up(201)] = static_cast<std::uint8_t>(std::ceil(p.max_power_w / 0.25 - 1e-9));
  p00[up(203)] = p.connector;
  p00[up(212)] = p.media_technology;

  // Page 01h: advertising (Table 8-40 ff.).
  p01[up(128)] = p.firmware_major;  // inactive firmware: same image
  p01[up(129)] = p.firmware_minor;
  p01[up(130)] = p.hardware_major;
  p01[up(131)] = p.hardware_minor;
  if (p.smf_length_km > 0) {
    // 01h:132: bits 7-6 multiplier (00b x0.1 km, 01b x1 km), bits 5-0 base.
    const long tenth = std::lround(p.smf_length_km * 10);
    p01[up(132)] =
        tenth <= 63 ? static_cast<std::uint8_t>(tenth)
                    : static_cast<std::uint8_t>(0x40 | std::min(63L, std::lround(p.smf_length_km)));
  }
  put_u16(&p01[up(138)], std::lround(p.wavelength_nm / 0.05));
  put_u16(&p01[up(140)], std::lround(p.wavelength_tolerance_nm / 0.05));
  // 01h:142 (Table 8-47): bit 6 VDM pages, bit 5 diagnostic pages 13h-14h, bits 1-0 banks.
  const std::uint8_t bank_code = banks_ == 4 ? 2 : banks_ == 2 ? 1 : 0;
  p01[up(142)] = static_cast<std::uint8_t>((p.vdm ? 0x40 : 0) | (p.has_prbs() ? 0x20 : 0) |
                                           (elsfp ? 0 : bank_code));
  p01[up(144)] = static_cast<std::uint8_t>(p.code_dp_deinit << 4 | p.code_dp_init);
  p01[up(146)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(p.temp_max_c)));
  p01[up(147)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(p.temp_min_c)));
  p01[up(151)] = 0x10;                 // Rx power measured as average power
  p01[up(155)] = elsfp ? 0x00 : 0x02;  // TxDisable implemented (lane pages only)
  p01[up(157)] = elsfp ? 0x00 : 0x01;  // TxFault flag implemented (Table 8-55)
  p01[up(158)] = elsfp ? 0x00 : 0x02;  // RxLOS flag implemented
  p01[up(159)] = 0x03;                 // temperature and Vcc monitors (Table 8-52)
  p01[up(160)] = elsfp ? 0x00 : 0x07;  // Tx bias, Tx power, Rx power; bias multiplier x1
  p01[up(167)] = static_cast<std::uint8_t>(p.code_module_pwr_dn << 4 | p.code_module_pwr_up);
  p01[up(168)] = static_cast<std::uint8_t>(p.code_tx_turn_off << 4 | p.code_tx_turn_on);
  p01[up(251)] = 0x10;  // full-page (128-byte) READ supported (§5.2.2.1)

  // Page 02h: thresholds (Table 8-69).
  put_thresholds(p02, 128, p.temperature_thresholds, temp_code, true);
  put_thresholds(p02, 136, p.vcc_thresholds, vcc_code, false);
  put_thresholds(p02, 176, p.tx_power_thresholds, power_code_dbm, false);
  put_thresholds(p02, 184, p.tx_bias_thresholds, bias_code_ma, false);
  put_thresholds(p02, 192, p.rx_power_thresholds, power_code_dbm, false);

  page10_default_.clear();
  if (elsfp) {
    build_elsfp_pages();
  } else {
    for (int b = 0; b < banks_; ++b) {
      const auto bank = static_cast<std::uint8_t>(b);
      auto& p10 = add_page(bank, 0x10);
      auto& p11 = add_page(bank, 0x11);
      default_lane_config(p10, b);
      // ConfigStatus Success (nibble per lane) and the active control set mirror SCS0
      // (Table 8-98, 8-99) for the lanes the default configuration uses.
      for (int h = 0; h < 8; ++h) {
        if (p10[up(145 + h)] >> 4 == 0) continue;
        p11[up(202 + h / 2)] |= static_cast<std::uint8_t>(0x1 << (4 * (h % 2)));
        p11[up(206 + h)] = p10[up(145 + h)];
      }
      page10_default_.push_back(p10);
    }
    if (p.has_prbs()) build_prbs_pages();
  }
  if (p.vdm) build_vdm_pages();

  fix_checksum(0x00);
  fix_checksum(0x01);
  fix_checksum(0x02);
}

void cmis_module::build_prbs_pages() {
  // Page 13h per bank (Table 8-110 ff.): capabilities 128-143 (the same in every bank), controls
  // 144-183 per bank. Page 14h per bank: selector, flags, data (computed on read).
  for (int b = 0; b < banks_; ++b) {
    const auto bank = static_cast<std::uint8_t>(b);
    auto& p13 = add_page(bank, 0x13);
    add_page(bank, 0x14);
    p13[up(129)] = 0x10;  // diagnostics measurement: periodic updates supported
    p13[up(130)] = 0x03;  // reporting: BER and error/bit counters
    p13[up(131)] = static_cast<std::uint8_t>(
        (profile_.host_generator_patterns || profile_.host_checker_patterns ? 0x0F : 0) |
        (profile_.media_generator_patterns || profile_.media_checker_patterns ? 0xF0 : 0));
    auto mask = [&](int off, std::uint16_t m) {
      p13[up(off)] = static_cast<std::uint8_t>(m & 0xFF);  // little endian: IDs 0-7 first
      p13[up(off + 1)] = static_cast<std::uint8_t>(m >> 8);
    };
    mask(132, profile_.host_generator_patterns);
    mask(134, profile_.media_generator_patterns);
    mask(136, profile_.host_checker_patterns);
    mask(138, profile_.media_checker_patterns);
  }
}

void cmis_module::build_vdm_pages() {
  // VDM (Table 8-170 ff.), one group in bank 0: descriptors 20h, values 24h, thresholds 28h,
  // flags 2Ch, masks 2Dh, control 2Fh. Slot k: pre-FEC BER current value, media input (type 15)
  // for media lanes 1-8, then host input (type 16) for host lanes 1-8; threshold set 1.
  auto& p20 = add_page(0, 0x20);
  add_page(0, 0x24);
  auto& p28 = add_page(0, 0x28);
  add_page(0, 0x2C);
  add_page(0, 0x2D);
  auto& p2f = add_page(0, 0x2F);
  int slot = 0;
  for (int m = 0; m < std::min(8, profile_.media_lanes); ++m, ++slot) {
    p20[up(128 + 2 * slot)] = static_cast<std::uint8_t>(1 << 4 | m);
    p20[up(129 + 2 * slot)] = 15;
  }
  for (int h = 0; h < std::min(8, profile_.host_lanes); ++h, ++slot) {
    p20[up(128 + 2 * slot)] = static_cast<std::uint8_t>(1 << 4 | h);
    p20[up(129 + 2 * slot)] = 16;
  }
  // Threshold set 1 at 28h:136 (set k at 128 + 8k): pre-FEC BER alarms at the KP4 limit.
  const std::uint16_t th[4] = {f16_encode(2.4e-4), 0, f16_encode(1e-4), 0};
  for (int i = 0; i < 4; ++i) {
    p28[up(136 + 2 * i)] = static_cast<std::uint8_t>(th[i] >> 8);
    p28[up(137 + 2 * i)] = static_cast<std::uint8_t>(th[i]);
  }
  p2f[up(128)] = 0x00;            // VDMSupport: one group
  put_u16(&p2f[up(129)], 10000);  // fine interval 1 s (0.1 ms units)
}

void cmis_module::build_elsfp_pages() {
  // OIF-CMIS-ELSFP pages 1Ah (advertisement, thresholds, flags, lane controls) and 1Bh (set
  // points, monitors), after SONiC's ELSFP memory map.
  const auto& e = profile_.elsfp;
  auto& a = add_page(0, 0x1A);
  auto& m = add_page(0, 0x1B);
  const double pmw = std::pow(10.0, e.power_dbm / 10.0);
  put_u16(&a[up(128)], elsfp_power_code_mw(pmw * 1.26));  // max settable power (+1 dB)
  put_u16(&a[up(130)], elsfp_power_code_mw(pmw * 0.5));   // min (-3 dB)
  put_u16(&a[up(132)], elsfp_bias_code_ma(e.bias_ma * 1.5));
  put_u16(&a[up(134)], elsfp_bias_code_ma(e.bias_ma * 0.25));
  a[up(140)] = static_cast<std::uint8_t>(e.lanes << 1 | (e.apc ? 1 : 0));
  put_thresholds(a, 141, e.bias_thresholds, elsfp_bias_code_ma, false);
  put_thresholds(a, 149, e.power_thresholds, elsfp_power_code_dbm, false);
  a[up(220)] = static_cast<std::uint8_t>((1u << e.lanes) - 1);  // LaneEnable: all on
  for (int l = 0; l < e.lanes; ++l) {
    put_u16(&m[up(128 + 2 * l)], elsfp_bias_code_ma(e.bias_ma));
    put_u16(&m[up(144 + 2 * l)], elsfp_power_code_dbm(e.power_dbm));
  }
}

void cmis_module::reset_volatile(time_point now) {
  // SoftwareReset (00h:26.3) returns every control to its default (CMIS 5.x §6.3.2.3).
  lower_[lower::controls] = low_pwr_allow_request_hw;
  for (int i = lower::flags_first; i <= lower::flags_last; ++i)
    lower_[static_cast<std::size_t>(i)] = 0;
  for (int i = lower::masks_first; i <= lower::masks_last; ++i)
    lower_[static_cast<std::size_t>(i)] = 0;
  lower_[lower::bank_select] = 0;
  lower_[lower::page_select] = 0;
  for (int b = 0; b < static_cast<int>(page10_default_.size()); ++b) {
    const auto bank = static_cast<std::uint8_t>(b);
    if (auto* p10 = page_ptr(bank, 0x10)) *p10 = page10_default_[static_cast<std::size_t>(b)];
    if (auto* p13 = page_ptr(bank, 0x13)) std::fill(p13->begin() + up(144), p13->end(), 0);
    if (auto* p14 = page_ptr(bank, 0x14)) p14->fill(0);
  }
  for (auto& side : chk_) {
    for (auto& c : side) {
      c.enabled = false;
      c.locked = false;
    }
  }
  for (auto& l : dp_) {
    l.state = dp_state::deactivated;
    l.since = now;
  }
  apply_ = {};
  pointer_ = 0;
}

bool cmis_module::upper_accessible() noexcept {
  const std::uint8_t page = lower_[lower::page_select];
  if (flat_) return page == 0x00;
  return page_ptr(lower_[lower::bank_select], page) != nullptr;
}

std::uint8_t cmis_module::byte10(int host_lane, int offset) const noexcept {
  const auto* p10 = page_ptr(static_cast<std::uint8_t>(host_lane / 8), 0x10);
  return p10 ? (*p10)[up(offset)] : 0;
}

// ---------------------------------------------------------------------------------------------
// State machines

bool cmis_module::low_pwr_s() const noexcept {
  // CMIS 5.x §6.3.2.4: LowPwrS = LowPwrRequestSW OR (LowPwrAllowRequestHW AND LowPwrRequestHW).
  const std::uint8_t c = lower_[lower::controls];
  return (c & low_pwr_request_sw) || ((c & low_pwr_allow_request_hw) && lpmode_pin_);
}

bool cmis_module::dp_deinit_s(int h) const noexcept {
  // DPDeinitS (§6.3.3): the lane's DPDeinit bit, or the module is not ModuleReady or is asked
  // for low power, or the lane has no application in its active control set.
  if (state_ != msm_state::ready || low_pwr_s()) return true;
  if (byte10(h, 128) >> (h % 8) & 1) return true;
  const auto* p11 = page_ptr(static_cast<std::uint8_t>(h / 8), 0x11);
  return !p11 || ((*p11)[up(206 + h % 8)] >> 4) == 0;
}

bool cmis_module::all_dp_deactivated() const noexcept {
  for (int h = 0; h < profile_.host_lanes && h < max_lanes; ++h) {
    if (dp_[static_cast<std::size_t>(h)].state != dp_state::deactivated) return false;
  }
  return true;
}

void cmis_module::conditions_changed(time_point at) {
  cond_since_ = std::max(cond_since_, at);
  next_due_.reset();
}

void cmis_module::enter(msm_state s, time_point at) {
  settle_thermal(at);  // the dissipation changes with the state
  state_ = s;
  state_since_ = at;
  lower_[lower::flags_first] |= module_state_changed;  // Table 8-9, latched until read
  if (s == msm_state::ready) {
    // Lasers of an ELSFP start their ramp when the module becomes ready.
    for (auto& t : laser_enabled_at_)
      t = std::max(t, at);
  }
  conditions_changed(at);
}

void cmis_module::enter_dp(int h, dp_state s, time_point at) {
  auto& l = dp_[static_cast<std::size_t>(h)];
  l.state = s;
  l.since = at;
  auto* p11 = page_ptr(static_cast<std::uint8_t>(h / 8), 0x11);
  if (p11) {
    const auto bit = static_cast<std::uint8_t>(1 << (h % 8));
    // DPStateChangedFlag (Table 8-96) latches on entry into a steady state.
    if (s == dp_state::deactivated || s == dp_state::initialized || s == dp_state::activated) {
      (*p11)[up(134)] |= bit;
    }
    if (s == dp_state::init) (*p11)[up(235)] &= static_cast<std::uint8_t>(~bit);  // DPInitPending
  }
  next_due_.reset();
}

std::optional<cmis_module::time_point> cmis_module::next_event(time_point) {
  // The earliest transition that will happen, whether due now or later; nullopt when nothing
  // will happen without a host action.
  std::optional<time_point> best;
  auto take = [&](time_point t) {
    if (!best || t < *best) best = t;
  };
  const time_point requested_at = std::max(state_since_, control_changed_at_);
  switch (state_) {
    case msm_state::mgmt_init:
      take(state_since_ + profile_.mgmt_init);
      break;
    case msm_state::low_pwr:
      if (!low_pwr_s()) take(requested_at);
      break;
    case msm_state::pwr_up:
      if (low_pwr_s()) {
        take(requested_at);
      } else if (faults_.stuck != stuck_state::module_pwr_up) {
        take(state_since_ + profile_.module_pwr_up);
      }
      break;
    case msm_state::ready:
      if (low_pwr_s() && all_dp_deactivated()) {
        time_point last = requested_at;
        for (int h = 0; h < profile_.host_lanes && h < max_lanes; ++h)
          last = std::max(last, dp_[static_cast<std::size_t>(h)].since);
        take(last);
      }
      break;
    case msm_state::pwr_dn:
      if (faults_.stuck != stuck_state::module_pwr_dn) take(state_since_ + profile_.module_pwr_dn);
      break;
    case msm_state::fault:
      break;
  }
  if (faults_.module_fault_at && !fault_applied_) take(created_ + *faults_.module_fault_at);
  for (int b = 0; b < max_banks; ++b) {
    if (apply_[static_cast<std::size_t>(b)].active) take(apply_[static_cast<std::size_t>(b)].at);
  }
  for (int h = 0; h < profile_.host_lanes && h < max_lanes; ++h) {
    const auto& l = dp_[static_cast<std::size_t>(h)];
    const bool deinit = dp_deinit_s(h);
    const time_point t_cond = std::max(l.since, cond_since_);
    switch (l.state) {
      case dp_state::deactivated:
        if (!deinit) take(t_cond);
        break;
      case dp_state::init:
        if (deinit) {
          take(t_cond);
        } else if (faults_.stuck != stuck_state::dp_init) {
          take(l.since + profile_.dp_init);
        }
        break;
      case dp_state::initialized:
        take(t_cond);  // on to DPTxTurnOn, or to DPDeinit
        break;
      case dp_state::tx_turn_on:
        if (deinit) {
          take(t_cond);
        } else if (faults_.stuck != stuck_state::dp_tx_turn_on) {
          take(l.since + profile_.tx_turn_on);
        }
        break;
      case dp_state::activated:
        if (deinit) take(t_cond);
        break;
      case dp_state::tx_turn_off:
        take(l.since + profile_.tx_turn_off);
        break;
      case dp_state::deinit:
        if (faults_.stuck != stuck_state::dp_deinit) take(l.since + profile_.dp_deinit);
        break;
    }
  }
  return best;
}

void cmis_module::advance(time_point now) {
  if (!powered_) return;  // no Vcc: nothing runs (set_powered restarts the clocks)
  const depth_guard evaluating(depth_);
  for (int guard = 0; guard < 100000; ++guard) {
    if (next_due_ && *next_due_ > now) return;
    const auto te = next_event(now);
    if (!te) {
      next_due_ = time_point::max();
      return;
    }
    if (*te > now) {
      next_due_ = *te;
      return;
    }
    const time_point t = *te;
    next_due_.reset();
    if (any_checker()) settle_prbs(t);

    // Apply every transition due at exactly t, module first (its state gates the data paths).
    if (faults_.module_fault_at && !fault_applied_ && created_ + *faults_.module_fault_at == t) {
      fault_applied_ = true;
      lower_[lower::fault_cause] = faults_.module_fault_cause;
      enter(msm_state::fault, t);
      continue;
    }
    const time_point requested_at = std::max(state_since_, control_changed_at_);
    bool moved = false;
    switch (state_) {
      case msm_state::mgmt_init:
        if (state_since_ + profile_.mgmt_init == t) {
          enter(msm_state::low_pwr, t);
          moved = true;
        }
        break;
      case msm_state::low_pwr:
        if (!low_pwr_s() && requested_at == t) {
          enter(msm_state::pwr_up, t);
          moved = true;
        }
        break;
      case msm_state::pwr_up:
        if (low_pwr_s() && requested_at == t) {
          enter(msm_state::pwr_dn, t);
          moved = true;
        } else if (!low_pwr_s() && faults_.stuck != stuck_state::module_pwr_up &&
                   state_since_ + profile_.module_pwr_up == t) {
          enter(msm_state::ready, t);
          moved = true;
        }
        break;
      case msm_state::ready:
        if (low_pwr_s() && all_dp_deactivated()) {
          enter(msm_state::pwr_dn, t);
          moved = true;
        }
        break;
      case msm_state::pwr_dn:
        if (state_since_ + profile_.module_pwr_dn == t) {
          enter(msm_state::low_pwr, t);
          moved = true;
        }
        break;
      case msm_state::fault:
        break;
    }
    if (moved) continue;
    for (int b = 0; b < max_banks; ++b) {
      auto& a = apply_[static_cast<std::size_t>(b)];
      if (a.active && a.at == t) complete_apply(b, t);
    }
    for (int h = 0; h < profile_.host_lanes && h < max_lanes; ++h) {
      auto& l = dp_[static_cast<std::size_t>(h)];
      const bool deinit = dp_deinit_s(h);
      const time_point t_cond = std::max(l.since, cond_since_);
      switch (l.state) {
        case dp_state::deactivated:
          if (!deinit && t_cond == t) enter_dp(h, dp_state::init, t);
          break;
        case dp_state::init:
          if (deinit && t_cond == t) {
            enter_dp(h, dp_state::deinit, t);
          } else if (!deinit && faults_.stuck != stuck_state::dp_init &&
                     l.since + profile_.dp_init == t) {
            enter_dp(h, dp_state::initialized, t);
          }
          break;
        case dp_state::initialized:
          if (t_cond == t) enter_dp(h, deinit ? dp_state::deinit : dp_state::tx_turn_on, t);
          break;
        case dp_state::tx_turn_on:
          if (deinit && t_cond == t) {
            enter_dp(h, dp_state::tx_turn_off, t);
          } else if (!deinit && faults_.stuck != stuck_state::dp_tx_turn_on &&
                     l.since + profile_.tx_turn_on == t) {
            enter_dp(h, dp_state::activated, t);
          }
          break;
        case dp_state::activated:
          if (deinit && t_cond == t) enter_dp(h, dp_state::tx_turn_off, t);
          break;
        case dp_state::tx_turn_off:
          if (l.since + profile_.tx_turn_off == t) enter_dp(h, dp_state::initialized, t);
          break;
        case dp_state::deinit:
          if (faults_.stuck != stuck_state::dp_deinit && l.since + profile_.dp_deinit == t) {
            enter_dp(h, dp_state::deactivated, t);
          }
          break;
      }
    }
    // A data path entering DPDeactivated may let the module leave ModuleReady (LowPwrExS).
    conditions_changed(t);
  }
}

void cmis_module::complete_apply(int b, time_point at) {
  // ApplyDPInit / ApplyImmediate (10h:143/144, §6.3.3.x): validate the staged SCS0 of the lanes
  // in the mask, write ConfigStatus per lane (Table 8-101) and copy accepted lanes to the active
  // control set (11h:206-213), marking DPInitPending (11h:235).
  auto& a = apply_[static_cast<std::size_t>(b)];
  a.active = false;
  const auto bank = static_cast<std::uint8_t>(b);
  auto* p10 = page_ptr(bank, 0x10);
  auto* p11 = page_ptr(bank, 0x11);
  if (!p10 || !p11) return;
  const int lanes_in_bank = std::clamp(profile_.host_lanes - 8 * b, 0, 8);
  for (int i = 0; i < 8; ++i) {
    if (!(a.lanes >> i & 1)) continue;
    const std::uint8_t staged = (*p10)[up(145 + i)];
    const int app = staged >> 4;
    const int dpidx = (staged >> 1) & 7;
    std::uint8_t status = 1;  // ConfigSuccess
    if (i >= lanes_in_bank) {
      status = 4;  // ConfigRejectedInvalidDataPath: no such lane
    } else if (dp_[static_cast<std::size_t>(8 * b + i)].state != dp_state::deactivated) {
      status = 6;  // ConfigRejectedLanesInUse: the data path must be deactivated first
    } else if (app != 0) {
      if (app > static_cast<int>(profile_.applications.size())) {
        status = 3;  // ConfigRejectedInvalidAppSel
      } else {
        const auto& ad = profile_.applications[static_cast<std::size_t>(app - 1)];
        if (dpidx > i || i >= dpidx + ad.host_lanes || !(ad.host_lane_options >> dpidx & 1) ||
            dpidx + ad.host_lanes > lanes_in_bank) {
          status = 4;  // ConfigRejectedInvalidDataPath
        } else {
          for (int j = dpidx; j < dpidx + ad.host_lanes; ++j) {
            if (!(a.lanes >> j & 1)) {
              status = 7;  // ConfigRejectedPartialDataPath
            } else if ((*p10)[up(145 + j)] != staged && status == 1) {
              status = 4;
            }
          }
        }
      }
    }
    auto& cs = (*p11)[up(202 + i / 2)];
    cs = static_cast<std::uint8_t>((cs & (i % 2 ? 0x0F : 0xF0)) | status << (4 * (i % 2)));
    if (status == 1) {
      (*p11)[up(206 + i)] = staged;
      if (app != 0) (*p11)[up(235)] |= static_cast<std::uint8_t>(1 << i);
    }
  }
  conditions_changed(at);
}

// ---------------------------------------------------------------------------------------------
// Physics

double cmis_module::dissipation_for(msm_state s) const noexcept {
  switch (s) {
    case msm_state::ready:
      return profile_.ready_power_w;
    case msm_state::pwr_up:
    case msm_state::pwr_dn:
      return 0.5 * (profile_.ready_power_w + profile_.low_power_w);
    case msm_state::mgmt_init:
    case msm_state::low_pwr:
    case msm_state::fault:
      break;
  }
  return profile_.low_power_w;
}

double cmis_module::heat_w() const noexcept {
  return powered_ ? dissipation_for(state_) : 0.0;
}

double cmis_module::temperature_at(time_point at) const noexcept {
  const double steady = world_->ambient_c() + heat_w() * profile_.thermal_resistance_c_per_w;
  if (at <= thermal_t0_) return thermal_t0_c_;
  const double dt = std::chrono::duration<double>(at - thermal_t0_).count();
  return steady + (thermal_t0_c_ - steady) * std::exp(-dt / profile_.thermal_time_constant_s);
}

void cmis_module::settle_thermal(time_point at) {
  thermal_t0_c_ = temperature_at(at);
  thermal_t0_ = std::max(at, thermal_t0_);
}

int cmis_module::host_of_media(int m) const noexcept {
  if (profile_.media_lanes <= 0 || profile_.host_lanes <= 0) return 0;
  return m * profile_.host_lanes / profile_.media_lanes;
}

bool cmis_module::lane_dark(int m, time_point at) const noexcept {
  for (const auto& d : faults_.dark_lanes) {
    if (d.lane == m + 1 && at >= created_ + d.at) return true;
  }
  return false;
}

double cmis_module::aging_db(time_point at) const noexcept {
  if (faults_.laser_aging_db_per_khour == 0) return 0;
  return faults_.laser_aging_db_per_khour * seconds(at - created_) / 3.6e6;
}

bool cmis_module::lane_tx_enabled(int m, time_point at) const noexcept {
  if (state_ != msm_state::ready || m < 0 || m >= profile_.media_lanes || m >= max_lanes) {
    return false;
  }
  const int h = host_of_media(m);
  if (dp_[static_cast<std::size_t>(h)].state != dp_state::activated) return false;
  if (byte10(m, 130) >> (m % 8) & 1) return false;  // OutputDisableTx, bit per media lane
  return !lane_dark(m, at);
}

double cmis_module::lane_tx_power_mw(int m, time_point at) {
  if (!lane_tx_enabled(m, at)) return 0.0;
  const double t = temperature_at(at);
  const double offset = lane_offset_db_[static_cast<std::size_t>(m) % lane_offset_db_.size()] +
                        profile_.tx_power_tempco_db_per_c * (t - profile_.reference_temp_c) -
                        aging_db(at);
  if (profile_.laser_source.address > 0) {
    // CPO engine: the light comes from an ELSFP laser lane, less the engine's path loss.
    auto src = laser_source();
    if (!src) return 0.0;
    const int laser = m / std::max(1, profile_.laser_source.lanes_per_laser);
    const double in_mw = src->laser_output_mw(laser + 1);
    return in_mw * std::pow(10.0, (offset - profile_.laser_source.loss_db) / 10.0);
  }
  return std::pow(10.0, (profile_.tx_power_dbm + offset) / 10.0);
}

double cmis_module::lane_rx_power_mw(int m, time_point at) {
  if (media_link(m)) return media_arrival(m, at).rx_mw;
  return lane_tx_power_mw(m, at) * std::pow(10.0, -opts_.rx_loss_db / 10.0);
}

double cmis_module::media_ber(int m, time_point at) {
  if (media_link(m)) {
    double rx = 0;
    return optical_receive(m, at, rx).total_ber();
  }
  const double rx = lane_rx_power_mw(m, at);
  if (rx <= 0) return 0.5;
  const double sens = std::pow(10.0, profile_.rx_sensitivity_dbm / 10.0);
  double q = q_ref_ * rx / sens;
  const double hot = std::max(0.0, temperature_at(at) - profile_.reference_temp_c);
  q /= 1.0 + profile_.hot_q_penalty_per_c * hot;
  if (profile_.linear && profile_.host_ber > 0) {
    q = combine_q(q, q_host_ / (1.0 + profile_.hot_q_penalty_per_c * hot));
  }
  if (profile_.ber_floor > 0) q = combine_q(q, q_floor_);
  return ber_from_q(q);
}

double cmis_module::host_ber(int h, time_point at) const {
  if (host_link(h)) return graph_->host_input(this, h, at).total_ber();
  if (profile_.host_ber <= 0) return 0;
  const double hot = std::max(0.0, temperature_at(at) - profile_.reference_temp_c);
  return ber_from_q(q_host_ / (1.0 + profile_.hot_q_penalty_per_c * hot));
}

bool cmis_module::laser_lane_on(int l, time_point at) const noexcept {
  if (profile_.elsfp.lanes <= 0 || l < 0 || l >= profile_.elsfp.lanes) return false;
  if (state_ != msm_state::ready || lane_dark(l, at)) return false;
  const auto* a = page_ptr(0, 0x1A);
  if (!a || !((*a)[up(220)] >> l & 1)) return false;
  return at >= laser_enabled_at_[static_cast<std::size_t>(l)] + profile_.elsfp.ramp;
}

double cmis_module::laser_lane_mw(int l, time_point at) const noexcept {
  if (!laser_lane_on(l, at)) return 0.0;
  const auto* m = page_ptr(0, 0x1B);
  if (!m) return 0.0;
  const double set_mw = get_u16(&(*m)[up(144 + 2 * l)]) * 0.01;  // 10 uW units
  return set_mw * std::pow(10.0, -aging_db(at) / 10.0);
}

std::shared_ptr<cmis_module> cmis_module::laser_source() {
  if (auto p = source_.lock()) return p;
  const auto at = opts_.label.find('@');
  const std::string key =
      fmt::format("{}@0x{:02x}", opts_.label.substr(0, at), profile_.laser_source.address);
  std::shared_ptr<cmis_module> found;
  {
    std::lock_guard lock(registry_mu);
    auto it = registry().find({world_.get(), key});
    if (it != registry().end() && it->second != this) found = it->second->weak_from_this().lock();
  }
  if (!found || found->profile().elsfp.lanes <= 0) return nullptr;
  source_ = found;
  return found;
}

// ---------------------------------------------------------------------------------------------
// Links (link_graph.hpp)

void cmis_module::attach_links(std::shared_ptr<const link_graph> g) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  advance(now);
  if (any_checker()) settle_prbs(now);  // counted so far without links
  graph_ = std::move(g);
}

void cmis_module::settle_links(time_point now) {
  std::lock_guard lock(world_->coupling_mutex());
  if (depth_ > 0) return;  // already evaluating: it will count on its own
  advance(now);
  if (any_checker()) settle_prbs(now);
}

bool cmis_module::media_link(int m) const noexcept {
  return graph_ && graph_->media_linked(this, m);
}

bool cmis_module::host_link(int h) const noexcept {
  return graph_ && graph_->host_linked(this, h);
}

std::optional<int> cmis_module::generator_pattern(int side, int lane) const noexcept {
  // 13h:144 / 152 enables, 148-151 / 156-159 pattern nibbles (Table 8-117 ff.).
  const auto* p13 = page_ptr(static_cast<std::uint8_t>(lane / 8), 0x13);
  if (!p13 || lane < 0) return std::nullopt;
  const int i = lane % 8;
  const int enable = side == media_side ? 152 : 144, nibbles = side == media_side ? 156 : 148;
  const std::uint16_t mask =
      side == media_side ? profile_.media_generator_patterns : profile_.host_generator_patterns;
  if (!((*p13)[up(enable)] >> i & 1)) return std::nullopt;
  const int id = ((*p13)[up(nibbles + i / 2)] >> (4 * (i % 2))) & 0x0F;
  if (!(mask >> id & 1)) return std::nullopt;
  return id;
}

std::optional<int> cmis_module::checker_pattern(int side, int lane) const noexcept {
  // 13h:160 / 168 enables, 164-167 / 172-175 pattern nibbles.
  const auto* p13 = page_ptr(static_cast<std::uint8_t>(lane / 8), 0x13);
  if (!p13 || lane < 0) return std::nullopt;
  const int i = lane % 8;
  const int enable = side == media_side ? 168 : 160, nibbles = side == media_side ? 172 : 164;
  const std::uint16_t mask =
      side == media_side ? profile_.media_checker_patterns : profile_.host_checker_patterns;
  if (!((*p13)[up(enable)] >> i & 1)) return std::nullopt;
  const int id = ((*p13)[up(nibbles + i / 2)] >> (4 * (i % 2))) & 0x0F;
  if (!(mask >> id & 1)) return std::nullopt;
  return id;
}

double cmis_module::host_inv_q2(time_point at) const noexcept {
  if (profile_.host_ber <= 0) return 0;
  const double hot = std::max(0.0, temperature_at(at) - profile_.reference_temp_c);
  const double q = q_host_ / (1.0 + profile_.hot_q_penalty_per_c * hot);
  return q > 0 ? 1.0 / (q * q) : HUGE_VAL;
}

line_signal cmis_module::host_arrival(int h, time_point at) {
  if (host_link(h)) return graph_->host_input(this, h, at);
  // No link: the emulated host sends data through the profile's host channel.
  line_signal s;
  s.present = true;
  if (profile_.linear) s.inv_q2 = host_inv_q2(at);
  return s;
}

line_signal cmis_module::media_tx_signal(int m, time_point at) {
  line_signal s;
  s.present = true;
  const int hosts = profile_.host_lanes, medias = std::max(1, profile_.media_lanes);
  if (const auto gen = generator_pattern(media_side, m)) {
    s.pattern = static_cast<hilt::prbs_pattern>(*gen);
    if (profile_.linear) {
      // No DSP: the "generator" stands for the host SerDes driving the linear path, so the
      // light carries what the host input brings (or the profile's host channel).
      const line_signal h =
          host_link(host_of_media(m)) ? host_arrival(host_of_media(m), at) : line_signal{};
      if (h.present) {
        s.ber = h.ber;
        s.inv_q2 = h.inv_q2;
      } else {
        s.inv_q2 = host_inv_q2(at);
      }
    }
    return s;
  }
  // Data from the host lanes this media lane carries (a gearbox muxes several into one).
  const int first = hosts >= medias ? m * hosts / medias : host_of_media(m);
  const int count = hosts >= medias ? std::max(1, hosts / medias) : 1;
  bool all_present = true, same = true;
  std::optional<hilt::prbs_pattern> pattern;
  double ber = 0, inv = 0;
  for (int k = 0; k < count; ++k) {
    const line_signal h = host_arrival(first + k, at);
    if (!h.present) {
      all_present = false;
      break;
    }
    if (k == 0) {
      pattern = h.pattern;
    } else if (h.pattern != pattern) {
      same = false;
    }
    ber += profile_.linear ? h.ber : h.total_ber();
    inv += h.inv_q2;
  }
  if (!all_present) {
    // A DSP sends idles when its host input is gone; a linear module has nothing to modulate.
    s.present = !profile_.linear;
    return s;
  }
  if (same) s.pattern = pattern;
  if (profile_.linear) {
    s.ber = ber / count;
    s.inv_q2 = inv / count;
  } else {
    s.ber = std::min(0.5, ber / count);  // retimed: the host segment's errors are fixed now
  }
  return s;
}

optical_arrival cmis_module::media_arrival(int m, time_point at) {
  if (media_link(m)) return graph_->media_input(this, m, at);
  // Default loopback: the lane's own Tx through rx_loss.
  optical_arrival a;
  const double tx = lane_tx_power_mw(m, at);
  if (tx <= 0) return a;
  a.rx_mw = tx * std::pow(10.0, -opts_.rx_loss_db / 10.0);
  a.signal = media_tx_signal(m, at);
  return a;
}

line_signal cmis_module::optical_receive(int m, time_point at, double& rx_mw) {
  const optical_arrival a = media_arrival(m, at);
  rx_mw = a.rx_mw;
  if (!(rx_mw > 0) || !a.signal.present) return {};
  // This module's receiver: Q = Q(reference BER) x P_rx / P_sensitivity, less the hot penalty;
  // its noise adds to whatever linear noise the light carries, and so does the DSP floor.
  const double sens = std::pow(10.0, profile_.rx_sensitivity_dbm / 10.0);
  const double hot = std::max(0.0, temperature_at(at) - profile_.reference_temp_c);
  const double q = q_ref_ * rx_mw / sens / (1.0 + profile_.hot_q_penalty_per_c * hot);
  line_signal s = a.signal;
  s.inv_q2 += q > 0 ? 1.0 / (q * q) : HUGE_VAL;
  if (profile_.ber_floor > 0) s.inv_q2 += 1.0 / (q_floor_ * q_floor_);
  return s;
}

optical_emission cmis_module::media_output(int m, time_point at) {
  std::lock_guard lock(world_->coupling_mutex());
  if (depth_ == 0) advance(at);
  const depth_guard evaluating(depth_);
  optical_emission out;
  if (!powered_ || m < 0 || m >= profile_.media_lanes || m >= max_lanes) return out;
  const double tx = lane_tx_power_mw(m, at);
  if (!(tx > 0)) return out;
  out.tx_mw = tx;
  out.signal = media_tx_signal(m, at);
  return out;
}

line_signal cmis_module::host_output(int h, time_point at) {
  std::lock_guard lock(world_->coupling_mutex());
  if (depth_ == 0) advance(at);
  const depth_guard evaluating(depth_);
  line_signal s;
  if (!powered_ || state_ != msm_state::ready || h < 0 || h >= profile_.host_lanes ||
      h >= max_lanes || dp_[static_cast<std::size_t>(h)].state != dp_state::activated) {
    return s;
  }
  if (const auto gen = generator_pattern(host_side, h)) {
    s.present = true;
    s.pattern = static_cast<hilt::prbs_pattern>(*gen);
    return s;
  }
  // What the media receiver brings (a gearbox: the media lane this host lane is muxed into).
  const int medias = profile_.media_lanes, hosts = std::max(1, profile_.host_lanes);
  const int m = std::min(medias - 1, h * medias / hosts);
  if (m < 0) return s;
  double rx = 0;
  const line_signal r = optical_receive(m, at, rx);
  if (rx <= 0 || 10.0 * std::log10(rx) < profile_.rx_los_dbm || !r.present) return s;  // squelch
  return profile_.linear ? r : r.retimed();
}

// ---------------------------------------------------------------------------------------------
// PRBS (pages 13h/14h)

bool cmis_module::any_checker() const noexcept {
  if (!profile_.has_prbs()) return false;
  for (const auto& side : chk_) {
    for (const auto& c : side) {
      if (c.enabled) return true;
    }
  }
  return false;
}

std::chrono::nanoseconds cmis_module::gate_period(int bank) const noexcept {
  // 13h:177 bits 3-1 MeasurementTime (Table 8-122): ungated, 5, 10, 30, 60, 120, 300 s; the
  // custom time (111b) is treated as ungated.
  const auto* p13 = page_ptr(static_cast<std::uint8_t>(bank), 0x13);
  if (!p13) return nanoseconds{0};
  static constexpr int secs[8] = {0, 5, 10, 30, 60, 120, 300, 0};
  return std::chrono::seconds(secs[((*p13)[up(177)] >> 1) & 7]);
}

bool cmis_module::checker_signal(int side, int lane, time_point at, double& ber, double& rate) {
  const int b = lane / 8, i = lane % 8;
  const auto* p13 = page_ptr(static_cast<std::uint8_t>(b), 0x13);
  if (!p13) return false;
  auto nibble = [&](int base) {
    return static_cast<std::uint8_t>(((*p13)[up(base + i / 2)] >> (4 * (i % 2))) & 0x0F);
  };
  if (side == media_side && media_link(lane)) {
    // Linked: the checker locks on whatever pattern arrives through the link.
    const auto chk = checker_pattern(media_side, lane);
    if (!chk || state_ != msm_state::ready ||
        dp_[static_cast<std::size_t>(host_of_media(lane))].state != dp_state::activated) {
      return false;
    }
    double rx = 0;
    const line_signal s = optical_receive(lane, at, rx);
    if (rx <= 0 || 10.0 * std::log10(rx) < profile_.rx_los_dbm) return false;
    if (!s.present || !s.pattern || static_cast<int>(*s.pattern) != *chk) return false;
    ber = s.total_ber();
    rate = profile_.media_bit_rate;
  } else if (side == host_side && host_link(lane)) {
    // Linked: the checker locks on the pattern the ASIC lane sends.
    const auto chk = checker_pattern(host_side, lane);
    if (!chk || state_ != msm_state::ready || lane >= profile_.host_lanes ||
        dp_[static_cast<std::size_t>(lane)].state != dp_state::activated) {
      return false;
    }
    const line_signal s = graph_->host_input(this, lane, at);
    if (!s.present || !s.pattern || static_cast<int>(*s.pattern) != *chk) return false;
    ber = s.total_ber();
    rate = profile_.host_bit_rate;
  } else if (side == media_side) {
    // The fiber loops this lane's own media generator back to its checker.
    if (!((*p13)[up(152)] >> i & 1)) return false;
    const auto gen = nibble(156), chk = nibble(172);
    if (gen != chk || !(profile_.media_generator_patterns >> gen & 1) ||
        !(profile_.media_checker_patterns >> chk & 1)) {
      return false;
    }
    const double rx = lane_rx_power_mw(lane, at);
    if (rx <= 0 || 10.0 * std::log10(rx) < profile_.rx_los_dbm) return false;
    ber = media_ber(lane, at);
    rate = profile_.media_bit_rate;
  } else {
    // The emulated host echoes the module's host-side generator back into its host input.
    if (!((*p13)[up(144)] >> i & 1)) return false;
    const auto gen = nibble(148), chk = nibble(164);
    if (gen != chk || !(profile_.host_generator_patterns >> gen & 1) ||
        !(profile_.host_checker_patterns >> chk & 1)) {
      return false;
    }
    if (state_ != msm_state::ready || lane >= profile_.host_lanes ||
        dp_[static_cast<std::size_t>(lane)].state != dp_state::activated) {
      return false;
    }
    ber = host_ber(lane, at);
    rate = profile_.host_bit_rate;
  }
  return ber < 0.02;  // a checker cannot hold lock through more noise than this
}

void cmis_module::count(int side, int lane, time_point a, time_point b, double rate, double ber) {
  auto& c = chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(lane)];
  const int bank = lane / 8;
  auto add = [&](time_point from, time_point to) {
    if (to <= from) return;
    const auto n = static_cast<std::uint64_t>(rate * seconds(to - from));
    c.bits += n;
    c.errors += poisson(static_cast<double>(n) * ber, c.rng);
  };
  if (c.gate_done) return;
  const nanoseconds period = gate_period(bank);
  if (period.count() == 0) {
    add(a, b);
    return;
  }
  const time_point end = c.gate_start + period;
  if (b < end) {
    add(a, b);
    return;
  }
  add(a, end);
  c.gated_bits = c.bits;
  c.gated_errors = c.errors;
  c.gated_psl = c.sync_lost;
  // PatternCheckGatingComplete (14h:134 host, 135 media), latched until read.
  if (auto* p14 = page_ptr(static_cast<std::uint8_t>(bank), 0x14)) {
    (*p14)[up(134 + side)] |= static_cast<std::uint8_t>(1 << (lane % 8));
  }
  const auto* p13 = page_ptr(static_cast<std::uint8_t>(bank), 0x13);
  const bool auto_restart = p13 && ((*p13)[up(177)] & 0x10);
  if (!auto_restart) {
    c.gate_done = true;
    return;
  }
  // Only the last completed period and the running one matter: skip whole periods in O(1).
  const auto k = (b - end) / period;
  if (k >= 1) {
    c.bits = c.errors = 0;
    c.sync_lost = false;
    add(end + (k - 1) * period, end + k * period);
    c.gated_bits = c.bits;
    c.gated_errors = c.errors;
    c.gated_psl = false;
  }
  c.gate_start = end + k * period;
  c.bits = c.errors = 0;
  c.sync_lost = false;
  add(c.gate_start, b);
}

void cmis_module::settle_prbs(time_point t) {
  if (t <= prbs_t_) return;
  const depth_guard evaluating(depth_);
  for (int side = 0; side < 2; ++side) {
    for (int lane = 0; lane < max_lanes; ++lane) {
      auto& c = chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(lane)];
      if (!c.enabled || c.t >= t) continue;
      // Split the interval where a lane's laser dies, so light and darkness are counted apart.
      std::vector<time_point> cuts;
      if (side == media_side) {
        for (const auto& d : faults_.dark_lanes) {
          const time_point td = created_ + d.at;
          if (d.lane == lane + 1 && td > c.t && td < t) cuts.push_back(td);
        }
        std::sort(cuts.begin(), cuts.end());
      }
      cuts.push_back(t);
      time_point a = c.t;
      for (const time_point b : cuts) {
        double ber = 0.5, rate = 0;
        const bool ok = checker_signal(side, lane, a, ber, rate);
        if (ok) {
          c.locked = true;
          count(side, lane, a, b, rate, ber);
        } else {
          if (c.locked) c.sync_lost = true;
          c.locked = false;
          c.lol_latched = true;
        }
        a = b;
      }
      c.t = t;
    }
  }
  prbs_t_ = t;
}

void cmis_module::reset_checker(checker& c, time_point now) {
  c.bits = c.errors = 0;
  c.frozen_bits = c.frozen_errors = 0;
  c.gated_bits = c.gated_errors = 0;
  c.sync_lost = c.frozen_psl = c.gated_psl = false;
  c.gate_done = false;
  c.lol_latched = false;
  c.locked = false;
  c.t = now;
  c.gate_start = now;
}

void cmis_module::prbs_control_written(int b, int offset, std::uint8_t old_value, time_point now) {
  auto* p13 = page_ptr(static_cast<std::uint8_t>(b), 0x13);
  if (!p13) return;
  const std::uint8_t v = (*p13)[up(offset)];
  if (offset == 160 || offset == 168) {
    const int side = offset == 160 ? host_side : media_side;
    for (int i = 0; i < 8; ++i) {
      auto& c = chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(8 * b + i)];
      const bool on = v >> i & 1;
      if (on && !(old_value >> i & 1)) reset_checker(c, now);  // counters restart on enable
      c.enabled = on;
      if (!on) c.locked = false;
    }
  } else if (offset == 177) {
    // 177 bit 5 ResetErrorInformation (Table 8-122): 0->1 freezes the running statistics (and
    // publishes them as the gated results); 1->0 resets every counter of the bank.
    const bool was = old_value & 0x20, is = v & 0x20;
    for (int side = 0; side < 2; ++side) {
      for (int i = 0; i < 8; ++i) {
        auto& c = chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(8 * b + i)];
        if (!was && is) {
          c.frozen_bits = c.gated_bits = c.bits;
          c.frozen_errors = c.gated_errors = c.errors;
          c.frozen_psl = c.gated_psl = c.sync_lost;
        } else if (was && !is) {
          const bool en = c.enabled, lk = c.locked;
          reset_checker(c, now);
          c.enabled = en;
          c.locked = lk;
        } else if (((old_value ^ v) & 0x1E) != 0) {
          c.gate_start = now;  // a new measurement time or auto-restart starts a new gate
          c.gate_done = false;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reads

void cmis_module::latch_module_flags(time_point now) {
  // Temperature and Vcc warnings / alarms against page 02h (Table 8-9 byte 9: Vcc in bits 7-4,
  // temperature in bits 3-0; bit 0 high alarm, 1 low alarm, 2 high warning, 3 low warning).
  const auto* p02 = page_ptr(0, 0x02);
  if (!p02 || state_ == msm_state::mgmt_init) return;
  const long t = temp_code(temperature_at(now));
  std::uint64_t s = seed_ ^ static_cast<std::uint64_t>(now.count() / 100'000'000);
  const long v = vcc_code(profile_.vcc_v + (uniform01(s) * 2.0 - 1.0) * profile_.vcc_noise_v);
  lower_[9] |= static_cast<std::uint8_t>(threshold_bits(t, &(*p02)[up(128)], true) |
                                         threshold_bits(v, &(*p02)[up(136)], false) << 4);
}

void cmis_module::refresh_lower(std::uint8_t from, std::size_t n, time_point now) {
  if (static_image_) return;  // a loaded SFF image: its lower memory is served as it is
  if (intersects(from, n, lower::flags_first, lower::flags_last + 1) ||
      intersects(from, n, lower::state, lower::state + 1)) {
    latch_module_flags(now);
  }
  if (intersects(from, n, lower::state, lower::lane_summary + 4)) {
    // Lane flag summary per bank (Table 8-8): bit 0 page 11h, bit 2 page 14h.
    bool lane_pending = false;
    for (int b = 0; b < banks_ && b < 4; ++b) {
      std::uint8_t sum = 0;
      if (const auto* p11 = page_ptr(static_cast<std::uint8_t>(b), 0x11)) {
        for (int o = 134; o <= 153; ++o)
          sum = static_cast<std::uint8_t>(sum | ((*p11)[up(o)] ? 0x01 : 0));
      }
      if (const auto* p14 = page_ptr(static_cast<std::uint8_t>(b), 0x14)) {
        for (int o = 134; o <= 139; ++o)
          sum = static_cast<std::uint8_t>(sum | ((*p14)[up(o)] ? 0x04 : 0));
      }
      lower_[static_cast<std::size_t>(lower::lane_summary + b)] = sum;
      lane_pending |= sum != 0;
    }
    // IntL is asserted while any unmasked module flag or any lane flag is set (Table 8-6 bit 0).
    bool pending = lane_pending;
    for (int i = 0; i < 4; ++i) {
      pending |= (lower_[lower::flags_first + static_cast<std::size_t>(i)] &
                  ~lower_[lower::masks_first + static_cast<std::size_t>(i)]) != 0;
    }
    lower_[lower::state] =
        static_cast<std::uint8_t>(static_cast<int>(state_) << 1 | (pending ? 0 : 1));
  }
  if (intersects(from, n, lower::temperature, lower::vcc + 2)) {
    put_s16(&lower_[lower::temperature], temp_code(temperature_at(now)));
    // Vcc noise is a function of (seed, 100 ms time slot): a monitor updates a few times a second
    // and reads within a slot agree, however often the host polls.
    std::uint64_t s = seed_ ^ static_cast<std::uint64_t>(now.count() / 100'000'000);
    const double noise = (uniform01(s) * 2.0 - 1.0) * profile_.vcc_noise_v;
    put_u16(&lower_[lower::vcc], vcc_code(profile_.vcc_v + noise));
  }
}

void cmis_module::refresh_page11(int b, time_point now) {
  page_bytes* p11 = page_ptr(static_cast<std::uint8_t>(b), 0x11);
  const page_bytes* p02 = page_ptr(0, 0x02);
  if (!p11 || !p02) return;
  auto& pg = *p11;
  // DPStateHostLane (Table 8-94), nibble per host lane; 0 for lanes the module does not have.
  for (int i = 0; i < 8; ++i) {
    const int h = 8 * b + i;
    const std::uint8_t code =
        h < profile_.host_lanes ? static_cast<std::uint8_t>(dp_[static_cast<std::size_t>(h)].state)
                                : 0;
    auto& byte = pg[up(128 + i / 2)];
    byte = static_cast<std::uint8_t>((byte & (i % 2 ? 0x0F : 0xF0)) | code << (4 * (i % 2)));
  }
  const bool ready = state_ == msm_state::ready;
  const double temp = temperature_at(now);
  std::uint8_t rx_status = 0, tx_status = 0;
  for (int k = 0; k < 8; ++k) {
    const int m = 8 * b + k;
    double tx_mw = 0, bias_ma = 0, rx_mw = 0;
    const bool exists = m < profile_.media_lanes;
    const bool on = exists && lane_tx_enabled(m, now);
    if (on) {
      tx_mw = lane_tx_power_mw(m, now);
      bias_ma = std::max(0.0, profile_.tx_bias_ma + profile_.tx_bias_tempco_ma_per_c *
                                                        (temp - profile_.reference_temp_c));
      tx_status |= static_cast<std::uint8_t>(1 << k);
    }
    if (exists) {
      rx_mw = media_link(m) ? lane_rx_power_mw(m, now)
                            : tx_mw * std::pow(10.0, -opts_.rx_loss_db / 10.0);  // own Tx looped
    }
    const bool rx_light = rx_mw > 0 && 10.0 * std::log10(rx_mw) >= profile_.rx_los_dbm;
    if (rx_light && dp_[static_cast<std::size_t>(host_of_media(m))].state == dp_state::activated) {
      rx_status |= static_cast<std::uint8_t>(1 << k);
    }
    const long tx_code = power_code_mw(tx_mw), bias_code = bias_code_ma(bias_ma),
               rx_code = power_code_mw(rx_mw);
    put_u16(&pg[up(154 + 2 * k)], tx_code);
    put_u16(&pg[up(170 + 2 * k)], bias_code);
    put_u16(&pg[up(186 + 2 * k)], rx_code);
    if (!exists || !ready) continue;
    // Lane flags (Table 8-96 ff.), latched until read; thresholds from page 02h as stored.
    const auto bit = static_cast<std::uint8_t>(1 << k);
    const bool tx_wanted =
        dp_[static_cast<std::size_t>(host_of_media(m))].state == dp_state::activated &&
        !(byte10(m, 130) >> k & 1);
    if (tx_wanted && lane_dark(m, now)) pg[up(135)] |= bit;  // TxFault: the laser died
    if (!rx_light) pg[up(147)] |= bit;                       // RxLOS
    if (on) {
      const int tb = threshold_bits(tx_code, &(*p02)[up(176)], false);
      const int bb = threshold_bits(bias_code, &(*p02)[up(184)], false);
      for (int f = 0; f < 4; ++f) {
        if (tb >> f & 1) pg[up(139 + f)] |= bit;
        if (bb >> f & 1) pg[up(143 + f)] |= bit;
      }
    }
    const int rb = threshold_bits(rx_code, &(*p02)[up(192)], false);
    for (int f = 0; f < 4; ++f) {
      if (rb >> f & 1) pg[up(149 + f)] |= bit;
    }
  }
  const auto changed = static_cast<std::uint8_t>(pg[up(132)] ^ rx_status);
  pg[up(153)] |= changed;   // OutputStatusRx changed flag
  pg[up(132)] = rx_status;  // OutputStatusRx
  pg[up(133)] = tx_status;  // OutputStatusTx
}

void cmis_module::refresh_page14(int b, time_point now) {
  page_bytes* p14 = page_ptr(static_cast<std::uint8_t>(b), 0x14);
  const page_bytes* p13 = page_ptr(static_cast<std::uint8_t>(b), 0x13);
  if (!p14 || !p13) return;
  if (any_checker()) settle_prbs(now);
  auto& pg = *p14;
  // Checker loss-of-lock flags (14h:138 host, 139 media; Table 8-131): latched, and set while a
  // checker is enabled and not in lock.
  for (int side = 0; side < 2; ++side) {
    std::uint8_t v = 0;
    for (int i = 0; i < 8; ++i) {
      auto& c = chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(8 * b + i)];
      if (c.enabled && (c.lol_latched || !c.locked)) v |= static_cast<std::uint8_t>(1 << i);
      if (c.enabled && !c.locked) c.lol_latched = true;  // a condition that persists re-latches
    }
    pg[up(138 + side)] = v;
  }
  const bool frozen = (*p13)[up(177)] & 0x20;
  const std::uint8_t sel = pg[up(128)];
  std::fill(pg.begin() + up(192), pg.end(), 0);
  auto stats = [&](const checker& c, bool gated, std::uint64_t& bits, std::uint64_t& errors) {
    if (gated) {
      bits = c.gated_bits;
      errors = c.gated_errors;
      return c.gated_psl;
    }
    if (frozen) {
      bits = c.frozen_bits;
      errors = c.frozen_errors;
      return c.frozen_psl;
    }
    bits = c.bits;
    errors = c.errors;
    return c.sync_lost;
  };
  const bool gated = sel >= 0x11;
  const int s = sel & 0x0F;
  if (s == 1) {
    // BER per lane in F16: host 192-207, media 208-223 (Table 8-139).
    for (int side = 0; side < 2; ++side) {
      for (int i = 0; i < 8; ++i) {
        const auto& c = chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(8 * b + i)];
        std::uint64_t bits = 0, errors = 0;
        stats(c, gated, bits, errors);
        const std::uint16_t f =
            bits ? f16_encode(static_cast<double>(errors) / static_cast<double>(bits)) : 0;
        pg[up(192 + 16 * side + 2 * i)] = static_cast<std::uint8_t>(f >> 8);
        pg[up(193 + 16 * side + 2 * i)] = static_cast<std::uint8_t>(f);
      }
    }
  } else if (s >= 2 && s <= 5) {
    // Error and bit counters, U64 little endian, 4 lanes per selector; the LSB of the bit count
    // is the pattern-sync-loss indicator (Table 8-139).
    const int side = s <= 3 ? host_side : media_side;
    const int first = (s % 2 == 0) ? 0 : 4;
    for (int k = 0; k < 4; ++k) {
      const auto& c =
          chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(8 * b + first + k)];
      std::uint64_t bits = 0, errors = 0;
      const bool psl = stats(c, gated, bits, errors);
      put_le64(&pg[up(192 + 16 * k)], errors);
      put_le64(&pg[up(200 + 16 * k)], (bits & ~std::uint64_t{1}) | (psl ? 1 : 0));
    }
  }
}

void cmis_module::refresh_vdm_values(time_point now) {
  page_bytes* p24 = page_ptr(0, 0x24);
  const page_bytes* p20 = page_ptr(0, 0x20);
  if (!p24 || !p20) return;
  if (vdm_frozen_) {
    *p24 = vdm_frozen_values_;
    return;
  }
  // Pre-FEC BER "current value": errors over the last whole second of harness time, drawn from
  // the link BER (seeded by the second), so a polling host sees a stable value within a second.
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(now);
  for (int slot = 0; slot < 64; ++slot) {
    const std::uint8_t type = (*p20)[up(129 + 2 * slot)];
    if (type != 15 && type != 16) continue;
    const int lane = (*p20)[up(128 + 2 * slot)] & 0x0F;
    double ber = 0, rate = 0;
    if (type == 15) {
      if (media_link(lane) ? lane_rx_power_mw(lane, now) > 0 : lane_tx_enabled(lane, now)) {
        ber = media_ber(lane, now);
        rate = profile_.media_bit_rate;
      }
    } else if (state_ == msm_state::ready && lane < profile_.host_lanes &&
               dp_[static_cast<std::size_t>(lane)].state == dp_state::activated) {
      ber = host_ber(lane, now);
      rate = profile_.host_bit_rate;
    }
    double value = 0;
    if (rate > 0) {
      std::uint64_t rng = seed_ ^ (static_cast<std::uint64_t>(second.count()) * 0x100000001B3ull) ^
                          static_cast<std::uint64_t>(slot + 1);
      value = static_cast<double>(poisson(rate * ber, rng)) / rate;
    }
    const std::uint16_t f = f16_encode(value);
    (*p24)[up(128 + 2 * slot)] = static_cast<std::uint8_t>(f >> 8);
    (*p24)[up(129 + 2 * slot)] = static_cast<std::uint8_t>(f);
  }
}

void cmis_module::refresh_elsfp(time_point now) {
  page_bytes* a = page_ptr(0, 0x1A);
  page_bytes* m = page_ptr(0, 0x1B);
  if (!a || !m) return;
  std::uint16_t states = 0;
  for (int l = 0; l < profile_.elsfp.lanes; ++l) {
    const bool enabled = (*a)[up(220)] >> l & 1;
    const bool on = laser_lane_on(l, now);
    const bool ramping = !on && enabled && state_ == msm_state::ready && !lane_dark(l, now);
    states = static_cast<std::uint16_t>(states | (on ? 2 : ramping ? 1 : 0) << (2 * l));
    const double mw = laser_lane_mw(l, now);
    // APC holds power by raising the bias as the laser ages.
    const double bias =
        on ? get_u16(&(*m)[up(128 + 2 * l)]) * 0.1 * std::pow(10.0, aging_db(now) / 10.0) : 0.0;
    put_u16(&(*m)[up(184 + 2 * l)], elsfp_bias_code_ma(bias));
    put_u16(&(*m)[up(200 + 2 * l)], elsfp_power_code_mw(mw));
    if (enabled && state_ == msm_state::ready && lane_dark(l, now)) {
      (*a)[up(166 + l / 8)] |= static_cast<std::uint8_t>(1 << (l % 8));  // lane fault flag
      (*a)[up(165)] |= 0x04;                                             // lane summary fault
    }
  }
  (*a)[up(221)] = static_cast<std::uint8_t>(states & 0xFF);
  (*a)[up(222)] = static_cast<std::uint8_t>(states >> 8);
}

void cmis_module::fill_garbage(std::span<std::uint8_t> out, std::uint8_t page,
                               std::uint8_t offset) {
  std::uint64_t s = seed_ ^ (std::uint64_t{page} << 40) ^ (++garbage_reads_ << 8) ^ offset;
  for (auto& b : out)
    b = static_cast<std::uint8_t>(splitmix64(s));
}

// ---------------------------------------------------------------------------------------------
// The wire

void cmis_module::write_byte(std::uint8_t offset, std::uint8_t value, time_point now) {
  if (offset < 128 && static_image_) {
    // SFF-8636 image: Tx_Disable (86), power control (93) and PageSelect (127) are writable.
    if (offset == 86 || offset == 93 || offset == lower::bank_select ||
        offset == lower::page_select) {
      lower_[offset] = value;
    }
    return;
  }
  if (offset < 128) {
    switch (offset) {
      case lower::controls:
        if (value & software_reset) {
          // Self-clearing: the module resets and re-runs MgmtInit (§6.3.2.3).
          reset_volatile(now);
          settle_thermal(now);
          state_ = msm_state::mgmt_init;
          state_since_ = now;
          control_changed_at_ = now;
          conditions_changed(now);
          return;
        }
        lower_[offset] = value;
        control_changed_at_ = now;
        conditions_changed(now);
        return;
      case lower::bank_select:
      case lower::page_select:
        lower_[offset] = value;
        return;
      default:
        if (offset >= lower::masks_first && offset <= lower::masks_last) lower_[offset] = value;
        // Password entry (118-125) is write-only and not modelled; every other byte is read-only.
        return;
    }
  }
  const std::uint8_t page = lower_[lower::page_select];
  const std::uint8_t bank = page < 0x10 ? 0 : lower_[lower::bank_select];
  page_bytes* pg = page_ptr(bank, page);
  if (!pg) return;
  auto& byte = (*pg)[up(offset)];
  switch (page) {
    case 0x10: {
      // Lane and data path controls (Table 8-78 ff.).
      if (offset == 143 || offset == 144) {
        // ApplyDPInit / ApplyImmediate (write-only triggers): ConfigStatus InProgress until the
        // module has processed the staged control set.
        auto* p11 = page_ptr(bank, 0x11);
        auto& a = apply_[bank];
        for (int i = 0; i < 8 && p11; ++i) {
          if (!(value >> i & 1)) continue;
          auto& cs = (*p11)[up(202 + i / 2)];
          cs = static_cast<std::uint8_t>((cs & (i % 2 ? 0x0F : 0xF0)) | 12 << (4 * (i % 2)));
        }
        a.active = value != 0;
        a.at = now + profile_.config_apply;
        a.lanes = value;
        next_due_.reset();
        return;
      }
      byte = value;
      if (offset == 128 || offset == 130) conditions_changed(now);
      return;
    }
    case 0x13: {
      if (offset < 144 || offset > 183) return;  // capabilities are read-only
      // A side whose generator / checker the module does not advertise keeps its enables at 0.
      if ((offset == 144 && !profile_.host_generator_patterns) ||
          (offset == 152 && !profile_.media_generator_patterns) ||
          (offset == 160 && !profile_.host_checker_patterns) ||
          (offset == 168 && !profile_.media_checker_patterns)) {
        value = 0;
      }
      if (offset == 144 || offset == 152 || offset == 160 || offset == 168) {
        const int lanes_here = std::clamp(
            (offset == 144 || offset == 160 ? profile_.host_lanes : profile_.media_lanes) -
                8 * bank,
            0, 8);
        value = static_cast<std::uint8_t>(value & ((1u << lanes_here) - 1));
      }
      const std::uint8_t old = byte;
      byte = value;
      prbs_control_written(bank, offset, old, now);
      return;
    }
    case 0x14:
      if (offset == 128) {
        // DiagnosticsSelector (Table 8-137): unsupported selectors read back as 00h.
        const bool ok = value <= 0x05 || (value >= 0x11 && value <= 0x15);
        byte = ok ? value : 0;
      }
      return;
    case 0x2F:
      if (offset == 144) {
        // VDM freeze handshake (Table 8-186): FreezeRequest 144.7 -> FreezeDone 145.7; clearing
        // it -> UnfreezeDone 145.6.
        const bool was = byte & 0x80, is = value & 0x80;
        byte = value;
        auto& status = (*pg)[up(145)];
        if (!was && is) {
          refresh_vdm_values(now);
          if (const auto* p24 = page_ptr(0, 0x24)) vdm_frozen_values_ = *p24;
          vdm_frozen_ = true;
          status = 0x80;
        } else if (was && !is) {
          vdm_frozen_ = false;
          status = 0x40;
        }
      }
      return;
    case 0x1A:
      if (offset == 220) {
        // ELSFP LaneEnable: a newly enabled lane ramps up.
        for (int l = 0; l < 8; ++l) {
          if ((value >> l & 1) && !(byte >> l & 1)) {
            laser_enabled_at_[static_cast<std::size_t>(l)] = now;
          }
        }
        byte = static_cast<std::uint8_t>(value & ((1u << profile_.elsfp.lanes) - 1));
      }
      return;
    case 0x1B:
      if (offset >= 128 && offset < 160) byte = value;  // bias / power set points
      return;
    default:
      return;  // read-only
  }
}

std::error_code cmis_module::do_write(std::span<const std::uint8_t> bytes, time_point now) {
  const std::uint8_t ptr = bytes[0];
  const auto data = bytes.subspan(1);
  if (data.size() > 8) return make_error_code(errc::nack);  // §5.2.2.2: at most 8 data bytes
  const std::size_t end = std::size_t{ptr} + data.size();
  if ((ptr < 128 && end > 128) || end > 256) return make_error_code(errc::nack);
  if (ptr >= 128 && !upper_accessible()) return make_error_code(errc::nack);
  if (!data.empty() && any_checker()) settle_prbs(now);  // count up to the change
  for (std::size_t i = 0; i < data.size(); ++i) {
    write_byte(static_cast<std::uint8_t>(ptr + i), data[i], now);
    if (state_ == msm_state::mgmt_init) break;  // a software reset ends the access
  }
  pointer_ = static_cast<std::uint8_t>(end == 256 ? 128 : end);
  advance(now);  // control changes take effect at once
  return {};
}

std::error_code cmis_module::do_read(std::span<std::uint8_t> out, time_point now) {
  const std::uint8_t ptr = pointer_;
  const std::size_t n = out.size();
  const std::size_t end = std::size_t{ptr} + n;
  if ((ptr < 128 && end > 128) || end > 256) return make_error_code(errc::nack);
  if (ptr < 128) {
    refresh_lower(ptr, n, now);
    std::memcpy(out.data(), &lower_[ptr], n);
    // Module flags are clear-on-read (Table 8-9).
    for (std::size_t i = static_image_ ? end : std::max<std::size_t>(ptr, lower::flags_first);
         i < std::min<std::size_t>(end, lower::flags_last + 1); ++i) {
      lower_[i] = 0;
    }
  } else {
    if (!upper_accessible()) return make_error_code(errc::nack);
    const std::uint8_t page = lower_[lower::page_select];
    const std::uint8_t bank = page < 0x10 ? 0 : lower_[lower::bank_select];
    if (faults_.garbage_page == page) {
      fill_garbage(out, page, ptr);
    } else {
      page_bytes* pg = page_ptr(bank, page);
      switch (page) {
        case 0x11:
          refresh_page11(bank, now);
          break;
        case 0x14:
          refresh_page14(bank, now);
          break;
        case 0x24:
          refresh_vdm_values(now);
          break;
        case 0x1A:
        case 0x1B:
          refresh_elsfp(now);
          break;
        default:
          break;
      }
      std::memcpy(out.data(), &(*pg)[up(ptr)], n);
      // Latched flags are clear-on-read: lane flags 11h:134-153 (Table 8-96 ff.), diagnostics
      // flags 14h:134-139 (Table 8-131), ELSFP lane flags 1Ah:165-177.
      auto clear = [&](int lo, int hi) {
        for (std::size_t i = std::max<std::size_t>(ptr, static_cast<std::size_t>(lo));
             i < std::min<std::size_t>(end, static_cast<std::size_t>(hi) + 1); ++i) {
          (*pg)[up(static_cast<int>(i))] = 0;
        }
      };
      if (page == 0x11) clear(134, 153);
      if (page == 0x14) {
        if (intersects(ptr, n, 138, 140)) {
          for (int side = 0; side < 2; ++side) {
            if (!intersects(ptr, n, static_cast<std::size_t>(138 + side),
                            static_cast<std::size_t>(139 + side))) {
              continue;
            }
            for (int i = 0; i < 8; ++i) {
              auto& c =
                  chk_[static_cast<std::size_t>(side)][static_cast<std::size_t>(8 * bank + i)];
              c.lol_latched = c.enabled && !c.locked;
            }
          }
        }
        clear(134, 137);
      }
      if (page == 0x1A) clear(165, 177);
    }
  }
  pointer_ = static_cast<std::uint8_t>(end == 256 ? 128 : end);
  return {};
}

std::error_code cmis_module::on_write(std::span<const std::uint8_t> bytes) {
  return on_transfer(bytes, {});
}

std::error_code cmis_module::on_read(std::span<std::uint8_t> out) {
  return on_transfer({}, out);
}

std::error_code cmis_module::on_transfer(std::span<const std::uint8_t> write,
                                         std::span<std::uint8_t> read) {
  std::lock_guard lock(world_->coupling_mutex());
  // Without Vcc nothing on the module answers its address.
  if (!powered_) return make_error_code(errc::nack);
  const time_point now = world_->now();
  // Fault injection: a hung module controller acknowledges nothing from silent_at on.
  if (faults_.silent_at && now >= created_ + *faults_.silent_at) {
    return make_error_code(errc::nack);
  }
  advance(now);
  // The management interface is not up during MgmtInit: nothing is acknowledged.
  if (state_ == msm_state::mgmt_init) return make_error_code(errc::nack);
  // A control write may change what this module sends or hears: everything linked counts up to
  // now under the old conditions first (link_graph.hpp).
  if (graph_ && write.size() > 1) graph_->settle(now);
  if (!write.empty()) {
    if (auto ec = do_write(write, now)) return ec;
  }
  if (!read.empty()) {
    if (state_ == msm_state::mgmt_init) return make_error_code(errc::nack);
    return do_read(read, now);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Observation and control outside the wire

msm_state cmis_module::state() {
  std::lock_guard lock(world_->coupling_mutex());
  advance(world_->now());
  return state_;
}

dp_state cmis_module::data_path_state(int host_lane) {
  std::lock_guard lock(world_->coupling_mutex());
  advance(world_->now());
  if (host_lane < 1 || host_lane > max_lanes) return dp_state::deactivated;
  return dp_[static_cast<std::size_t>(host_lane - 1)].state;
}

bool cmis_module::lasers_on() {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  advance(now);
  for (int l = 0; l < profile_.elsfp.lanes; ++l) {
    if (laser_lane_on(l, now)) return true;
  }
  for (int m = 0; m < profile_.media_lanes && profile_.elsfp.lanes == 0; ++m) {
    if (lane_tx_enabled(m, now)) return true;
  }
  return false;
}

double cmis_module::case_temperature_c() {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  advance(now);
  return temperature_at(now);
}

double cmis_module::dissipation_w() {
  std::lock_guard lock(world_->coupling_mutex());
  advance(world_->now());
  return heat_w();
}

double cmis_module::link_ber(int lane, bool media) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  advance(now);
  if (lane < 1 || lane > max_lanes) return 0.5;
  return media ? media_ber(lane - 1, now) : host_ber(lane - 1, now);
}

double cmis_module::laser_output_mw(int lane) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  advance(now);
  return laser_lane_mw(lane - 1, now);
}

void cmis_module::set_lpmode_pin(bool asserted) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  advance(now);
  if (graph_) graph_->settle(now);
  if (any_checker()) settle_prbs(now);
  lpmode_pin_ = asserted;
  control_changed_at_ = now;
  conditions_changed(now);
  advance(now);
}

void cmis_module::set_powered(bool on) {
  std::lock_guard lock(world_->coupling_mutex());
  if (on == powered_) return;
  const auto now = world_->now();
  if (graph_) graph_->settle(now);
  if (!on) {
    // Vcc removed: everything due so far happened, then the module stops where it is.
    advance(now);
    if (any_checker()) settle_prbs(now);
    settle_thermal(now);  // from here the case cools toward ambient (heat_w() is 0)
    powered_ = false;
    lose_power(now);
    return;
  }
  // Vcc back: a power-on reset (CMIS 5.x §6.3.2, ResetS = VccReset ...): MgmtInit from now,
  // then ModuleLowPwr, and on as LowPwrS says — the same path as a cold boot.
  settle_thermal(now);
  powered_ = true;
  state_ = msm_state::mgmt_init;
  state_since_ = now;
  control_changed_at_ = now;
  for (auto& l : dp_)
    l.since = now;
  for (auto& t : laser_enabled_at_)
    t = now;
  prbs_t_ = now;
  cond_since_ = now;
  conditions_changed(now);
}

bool cmis_module::powered() {
  std::lock_guard lock(world_->coupling_mutex());
  return powered_;
}

void cmis_module::lose_power(time_point now) {
  // Everything volatile is gone: the memory map returns to what the module holds in non-volatile
  // memory (rebuilt from the profile, or the loaded image with its volatile bytes at defaults),
  // every control and flag to its power-on value, the state machines to their start.
  if (!image_loaded_) {
    build_memory_map();
    reset_volatile(now);
  } else {
    if (!static_image_) reset_volatile(now);
    lower_[lower::bank_select] = 0;
    lower_[lower::page_select] = 0;
    pointer_ = 0;
  }
  for (auto& side : chk_) {
    for (auto& c : side) {
      reset_checker(c, now);
      c.enabled = false;
    }
  }
  for (auto& l : dp_) {
    l.state = dp_state::deactivated;
    l.since = now;
  }
  apply_ = {};
  vdm_frozen_ = false;
  state_ = msm_state::mgmt_init;
  state_since_ = now;
  control_changed_at_ = now;
  next_due_.reset();
}

std::string cmis_module::describe() {
  std::lock_guard lock(world_->coupling_mutex());
  const auto now = world_->now();
  if (!powered_) {
    return fmt::format("{} state=Unpowered lasers=off pn={} sn={}", opts_.label,
                       profile_.part_number, profile_.serial);
  }
  advance(now);
  bool on = false;
  for (int l = 0; l < profile_.elsfp.lanes; ++l)
    on |= laser_lane_on(l, now);
  for (int m = 0; m < profile_.media_lanes && profile_.elsfp.lanes == 0; ++m)
    on |= lane_tx_enabled(m, now);
  if (profile_.elsfp.lanes > 0) {
    const auto* a = page_ptr(0, 0x1A);
    return fmt::format("{} state={} lasers={} laser_enable=0x{:02x} pn={} sn={}", opts_.label,
                       to_string(state_), on ? "on" : "off", a ? (*a)[up(220)] : 0,
                       profile_.part_number, profile_.serial);
  }
  const auto* p10 = page_ptr(0, 0x10);
  return fmt::format("{} state={} lasers={} tx_disable=0x{:02x} pn={} sn={}", opts_.label,
                     to_string(state_), on ? "on" : "off", p10 ? (*p10)[up(130)] : 0,
                     profile_.part_number, profile_.serial);
}

bool cmis_module::poke(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                       std::span<const std::uint8_t> bytes, bool fix_checksums) {
  std::lock_guard lock(world_->coupling_mutex());
  const std::size_t end = std::size_t{offset} + bytes.size();
  next_due_.reset();
  if (offset < 128) {
    if (end > 128) return false;
    std::memcpy(&lower_[offset], bytes.data(), bytes.size());
    return true;
  }
  if (end > 256) return false;
  page_bytes* pg = page_ptr(bank, page);
  if (!pg) return false;
  std::memcpy(&(*pg)[up(offset)], bytes.data(), bytes.size());
  if (fix_checksums) fix_checksum(page);
  return true;
}

bool cmis_module::peek(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                       std::span<std::uint8_t> out) {
  std::lock_guard lock(world_->coupling_mutex());
  const std::size_t end = std::size_t{offset} + out.size();
  if (offset < 128) {
    if (end > 128) return false;
    std::memcpy(out.data(), &lower_[offset], out.size());
    return true;
  }
  if (end > 256) return false;
  page_bytes* pg = page_ptr(bank, page);
  if (!pg) return false;
  std::memcpy(out.data(), &(*pg)[up(offset)], out.size());
  return true;
}

void cmis_module::load_image(std::span<const std::uint8_t> image256) {
  std::lock_guard lock(world_->coupling_mutex());
  if (image256.size() < 256) return;
  std::memcpy(lower_.data(), image256.data(), 128);
  pages_.clear();
  for (auto& b : page_index_)
    b.fill(-1);
  auto& p00 = add_page(0, 0x00);
  std::memcpy(p00.data(), image256.data() + 128, 128);
  // An SFF-8636 / SFF-8472 image is served as it is (no CMIS lower-memory semantics); for it
  // only page 00h exists whatever byte 2 says.
  static const std::uint8_t cmis_ids[] = {0x18, 0x19, 0x1B, 0x1E, 0x1F, 0x20,
                                          0x21, 0x22, 0x23, 0x24, 0x25};
  static_image_ =
      std::find(std::begin(cmis_ids), std::end(cmis_ids), lower_[0]) == std::end(cmis_ids);
  image_loaded_ = true;
  flat_ = static_image_ || (lower_[lower::characteristics] & 0x80) != 0;  // MemoryModel (8-5)
  lower_[lower::bank_select] = 0;
  lower_[lower::page_select] = 0;
  pointer_ = 0;
  page10_default_.clear();
  for (auto& side : chk_) {
    for (auto& c : side)
      c.enabled = false;
  }
  // Without pages 10h/11h the data paths have no configuration: they fall back to
  // DPDeactivated (no light), as the image's module would be to this emulator.
  for (auto& l : dp_)
    l.state = dp_state::deactivated;
  apply_ = {};
  next_due_.reset();
}

}  // namespace hilt::emu
