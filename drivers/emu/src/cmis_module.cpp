#include "hilt/emu/cmis_module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "hilt/error.hpp"

namespace hilt::emu {

namespace {

// Byte addresses (OIF-CMIS 5.x §8). Kept here, independent of drivers/cmis, so that the emulator
// and the driver are two readings of the specification that must agree on the wire.
namespace lower {
constexpr std::uint8_t identifier = 0;  // Table 8-5
constexpr std::uint8_t revision = 1;
constexpr std::uint8_t characteristics = 2;  // bit 7 MemoryModel (1 = flat)
constexpr std::uint8_t state = 3;            // Table 8-6: bits 3-1 ModuleState, bit 0 IntDeasserted
constexpr std::uint8_t flags_first = 8;      // Table 8-9: module flags 8-11, clear-on-read
constexpr std::uint8_t flags_last = 11;
constexpr std::uint8_t temperature = 14;  // Table 8-10: S16, 1/256 degC
constexpr std::uint8_t vcc = 16;          // U16, 100 uV
constexpr std::uint8_t controls = 26;     // Table 8-11
constexpr std::uint8_t masks_first = 31;  // Table 8-12: masks for 8-13
constexpr std::uint8_t masks_last = 36;
constexpr std::uint8_t firmware = 39;  // active firmware major, minor
constexpr std::uint8_t password_first = 118;
constexpr std::uint8_t password_last = 125;
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

bool intersects(std::size_t from, std::size_t n, std::size_t lo, std::size_t hi_excl) {
  return from < hi_excl && from + n > lo;
}

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

cmis_module::cmis_module(std::shared_ptr<const world> w, module_profile profile,
                         cmis_module_options opts, std::uint64_t seed)
    : world_(std::move(w)), profile_(std::move(profile)), opts_(std::move(opts)), seed_(seed) {
  if (!opts_.serial.empty()) profile_.serial = opts_.serial;
  lpmode_pin_ = opts_.lpmode_pin;
  std::uint64_t rng = seed_;
  lane_offset_db_.resize(static_cast<std::size_t>(profile_.media_lanes));
  for (auto& o : lane_offset_db_)
    o = (uniform01(rng) * 2.0 - 1.0) * profile_.lane_spread_db;

  build_memory_map();
  const time_point now = world_->now();
  control_changed_at_ = now;
  state_since_ = now;
  thermal_t0_ = now;
  if (opts_.cold_boot) {
    state_ = msm_state::mgmt_init;
    thermal_t0_c_ = world_->ambient_c();
  } else {
    // Powered long before the run: the module sits in its steady state, with the
    // ModuleStateChangedFlag its power-on transitions latched still set (nobody read it yet).
    state_ = low_pwr_s() ? msm_state::low_pwr : msm_state::ready;
    lower_[lower::flags_first] |= module_state_changed;
    thermal_t0_c_ =
        world_->ambient_c() + dissipation_for(state_) * profile_.thermal_resistance_c_per_w;
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

void cmis_module::build_memory_map() {
  const module_profile& p = profile_;
  lower_.fill(0);
  pages_.clear();
  for (auto& b : page_index_)
    b.fill(-1);
  flat_ = false;

  lower_[lower::identifier] = p.identifier;
  lower_[lower::revision] = p.cmis_revision;
  lower_[lower::characteristics] = 0x00;  // paged memory, 400 kHz, no auto-commissioning
  lower_[lower::controls] = low_pwr_allow_request_hw;  // Table 8-11 default 40h
  lower_[lower::firmware] = p.firmware_major;
  lower_[lower::firmware + 1] = p.firmware_minor;
  lower_[lower::media_type] = p.media_type;

  auto& p00 = add_page(0, 0x00);
  auto& p01 = add_page(0, 0x01);
  auto& p02 = add_page(0, 0x02);
  auto& p10 = add_page(0, 0x10);
  auto& p11 = add_page(0, 0x11);

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
  p01[up(142)] = 0x00;  // no optional pages yet (03h, 13h-14h, VDM), bank 0 only (Table 8-47)
  p01[up(144)] = static_cast<std::uint8_t>(p.code_dp_deinit << 4 | p.code_dp_init);
  p01[up(146)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(p.temp_max_c)));
  p01[up(147)] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::lround(p.temp_min_c)));
  p01[up(151)] = 0x10;  // Rx power measured as average power
  p01[up(155)] = 0x02;  // TxDisable implemented
  p01[up(159)] = 0x03;  // temperature and Vcc monitors (Table 8-52)
  p01[up(160)] = 0x07;  // Tx bias, Tx power, Rx power monitors; bias multiplier 00b = x1
  p01[up(167)] = static_cast<std::uint8_t>(p.code_module_pwr_dn << 4 | p.code_module_pwr_up);
  p01[up(168)] = static_cast<std::uint8_t>(p.code_tx_turn_off << 4 | p.code_tx_turn_on);
  p01[up(251)] = 0x10;  // full-page (128-byte) READ supported (§5.2.2.1)

  // Page 02h: thresholds (Table 8-69).
  put_thresholds(p02, 128, p.temperature_thresholds, temp_code, true);
  put_thresholds(p02, 136, p.vcc_thresholds, vcc_code, false);
  put_thresholds(p02, 176, p.tx_power_thresholds, power_code_dbm, false);
  put_thresholds(p02, 184, p.tx_bias_thresholds, bias_code_ma, false);
  put_thresholds(p02, 192, p.rx_power_thresholds, power_code_dbm, false);

  // Page 10h: data path configuration of application 1 on the first host lanes (SCS0,
  // Table 8-81: AppSel bits 7-4, DPID bits 3-1 = first lane of the data path, 0-based).
  const int lanes_used = p.applications.empty() ? 0 : p.applications.front().host_lanes;
  for (int h = 0; h < lanes_used; ++h)
    p10[up(145 + h)] = 0x10;
  // Page 11h: configuration accepted (ConfigStatus 1 = Success, nibble per lane) and the active
  // control set mirrors SCS0 (Table 8-98, 8-99).
  for (int h = 0; h < lanes_used; ++h) {
    p11[up(202 + h / 2)] |= static_cast<std::uint8_t>(0x1 << (4 * (h % 2)));
    p11[up(206 + h)] = p10[up(145 + h)];
  }
  page10_default_ = p10;

  fix_checksum(0x00);
  fix_checksum(0x01);
  fix_checksum(0x02);
}

void cmis_module::reset_volatile() {
  // SoftwareReset (00h:26.3) returns every control to its default (CMIS 5.x §6.3.2.3).
  lower_[lower::controls] = low_pwr_allow_request_hw;
  for (int i = lower::flags_first; i <= lower::flags_last; ++i)
    lower_[static_cast<std::size_t>(i)] = 0;
  for (int i = lower::masks_first; i <= lower::masks_last; ++i)
    lower_[static_cast<std::size_t>(i)] = 0;
  lower_[lower::bank_select] = 0;
  lower_[lower::page_select] = 0;
  if (auto* p10 = page_ptr(0, 0x10)) *p10 = page10_default_;
  pointer_ = 0;
}

bool cmis_module::upper_accessible() noexcept {
  const std::uint8_t page = lower_[lower::page_select];
  if (flat_) return page == 0x00;
  return page_ptr(lower_[lower::bank_select], page) != nullptr;
}

// ---------------------------------------------------------------------------------------------
// Module State Machine and physics

bool cmis_module::low_pwr_s() const noexcept {
  // CMIS 5.x §6.3.2.4: LowPwrS = LowPwrRequestSW OR (LowPwrAllowRequestHW AND LowPwrRequestHW).
  const std::uint8_t c = lower_[lower::controls];
  return (c & low_pwr_request_sw) || ((c & low_pwr_allow_request_hw) && lpmode_pin_);
}

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

double cmis_module::temperature_at(time_point at) const noexcept {
  const double steady =
      world_->ambient_c() + dissipation_for(state_) * profile_.thermal_resistance_c_per_w;
  if (at <= thermal_t0_) return thermal_t0_c_;
  const double dt = std::chrono::duration<double>(at - thermal_t0_).count();
  return steady + (thermal_t0_c_ - steady) * std::exp(-dt / profile_.thermal_time_constant_s);
}

void cmis_module::settle_thermal(time_point at) {
  thermal_t0_c_ = temperature_at(at);
  thermal_t0_ = std::max(at, thermal_t0_);
}

void cmis_module::enter(msm_state s, time_point at) {
  settle_thermal(at);  // the dissipation changes with the state
  state_ = s;
  state_since_ = at;
  lower_[lower::flags_first] |= module_state_changed;  // Table 8-9, latched until read
}

void cmis_module::advance(time_point now) {
  // Each iteration takes at most one transition; a chain (PwrDn -> LowPwr -> PwrUp) takes a few.
  for (int guard = 0; guard < 8; ++guard) {
    const time_point requested_at = std::max(state_since_, control_changed_at_);
    switch (state_) {
      case msm_state::mgmt_init: {
        const time_point t = state_since_ + profile_.mgmt_init;
        if (now < t) return;
        enter(msm_state::low_pwr, t);
        continue;
      }
      case msm_state::low_pwr:
        if (low_pwr_s()) return;
        enter(msm_state::pwr_up, requested_at);
        continue;
      case msm_state::pwr_up: {
        if (low_pwr_s()) {
          enter(msm_state::pwr_dn, requested_at);
          continue;
        }
        const time_point t = state_since_ + profile_.module_pwr_up;
        if (now < t) return;
        enter(msm_state::ready, t);
        continue;
      }
      case msm_state::ready:
        // LowPwrExS: all data paths are deactivated along with the module in this slice.
        if (!low_pwr_s()) return;
        enter(msm_state::pwr_dn, requested_at);
        continue;
      case msm_state::pwr_dn: {
        const time_point t = state_since_ + profile_.module_pwr_dn;
        if (now < t) return;
        enter(msm_state::low_pwr, t);
        continue;
      }
      case msm_state::fault:
        return;
    }
  }
}

bool cmis_module::lane_tx_enabled(int media_lane) const noexcept {
  if (state_ != msm_state::ready || media_lane < 0 || media_lane >= profile_.media_lanes) {
    return false;
  }
  const page_bytes* p10 = page_ptr(0, 0x10);
  if (!p10) return false;
  const std::uint8_t tx_disable = (*p10)[up(130)];  // OutputDisableTx, bit per lane
  const std::uint8_t dp_deinit = (*p10)[up(128)];   // DPDeinit, bit per host lane
  const int host_lane = media_lane * profile_.host_lanes / profile_.media_lanes;
  return !(tx_disable >> media_lane & 1) && !(dp_deinit >> host_lane & 1);
}

double cmis_module::lane_tx_power_mw(int media_lane, double temp_c) const noexcept {
  if (!lane_tx_enabled(media_lane)) return 0.0;
  const double dbm = profile_.tx_power_dbm + lane_offset_db_[static_cast<std::size_t>(media_lane)] +
                     profile_.tx_power_tempco_db_per_c * (temp_c - profile_.reference_temp_c);
  return std::pow(10.0, dbm / 10.0);
}

void cmis_module::refresh_lower(std::uint8_t from, std::size_t n, time_point now) {
  if (intersects(from, n, lower::state, lower::state + 1)) {
    // IntL is asserted while any unmasked module flag is set (Table 8-6 bit 0, Table 8-12).
    bool pending = false;
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

void cmis_module::refresh_page11(time_point now) {
  page_bytes* p11 = page_ptr(0, 0x11);
  const page_bytes* p10 = page_ptr(0, 0x10);
  if (!p11 || !p10) return;
  auto& pg = *p11;
  // DPStateHostLane (Table 8-94), nibble per host lane: DPActivated (4) while the module is
  // ModuleReady and the lane's DPDeinit bit is clear, else DPDeactivated (1). Per-lane Tx disable
  // does not change the data path state; it shows in OutputStatusTx and the monitors.
  std::uint8_t rx_status = 0, tx_status = 0;
  for (int h = 0; h < 8; ++h) {
    const bool configured = (*p10)[up(145 + h)] >> 4 != 0;
    const bool active = configured && h < profile_.host_lanes && state_ == msm_state::ready &&
                        !((*p10)[up(128)] >> h & 1);
    const std::uint8_t code = configured && h < profile_.host_lanes ? (active ? 4 : 1) : 0;
    auto& b = pg[up(128 + h / 2)];
    b = static_cast<std::uint8_t>((b & (h % 2 ? 0x0F : 0xF0)) | code << (4 * (h % 2)));
    const int m = h * profile_.media_lanes / profile_.host_lanes;
    if (active && lane_tx_enabled(m)) rx_status |= static_cast<std::uint8_t>(1 << h);
  }
  const double temp = temperature_at(now);
  const double rx_loss = std::pow(10.0, -opts_.rx_loss_db / 10.0);
  for (int m = 0; m < 8; ++m) {
    double tx_mw = 0, bias_ma = 0;
    if (m < profile_.media_lanes && lane_tx_enabled(m)) {
      tx_mw = lane_tx_power_mw(m, temp);
      bias_ma = std::max(0.0, profile_.tx_bias_ma + profile_.tx_bias_tempco_ma_per_c *
                                                        (temp - profile_.reference_temp_c));
      tx_status |= static_cast<std::uint8_t>(1 << m);
    }
    put_u16(&pg[up(154 + 2 * m)], power_code_mw(tx_mw));
    put_u16(&pg[up(170 + 2 * m)], bias_code_ma(bias_ma));
    put_u16(&pg[up(186 + 2 * m)], power_code_mw(tx_mw * rx_loss));  // loopback of own Tx
  }
  pg[up(132)] = rx_status;  // OutputStatusRx
  pg[up(133)] = tx_status;  // OutputStatusTx
}

// ---------------------------------------------------------------------------------------------
// The wire

void cmis_module::write_byte(std::uint8_t offset, std::uint8_t value, time_point now) {
  if (offset < 128) {
    switch (offset) {
      case lower::controls:
        if (value & software_reset) {
          // Self-clearing: the module resets and re-runs MgmtInit (§6.3.2.3).
          reset_volatile();
          settle_thermal(now);
          state_ = msm_state::mgmt_init;
          state_since_ = now;
          control_changed_at_ = now;
          return;
        }
        lower_[offset] = value;
        control_changed_at_ = now;
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
  // Upper memory: only page 10h (lane and data path controls, Table 8-78 ff.) is writable here.
  if (lower_[lower::page_select] != 0x10) return;
  page_bytes* pg = page_ptr(lower_[lower::bank_select], 0x10);
  if (!pg) return;
  if (offset == 143 || offset == 144) return;  // ApplyDPInit / ApplyImmediate: not modelled yet
  (*pg)[up(offset)] = value;
}

std::error_code cmis_module::do_write(std::span<const std::uint8_t> bytes, time_point now) {
  const std::uint8_t ptr = bytes[0];
  const auto data = bytes.subspan(1);
  if (data.size() > 8) return make_error_code(errc::nack);  // §5.2.2.2: at most 8 data bytes
  const std::size_t end = std::size_t{ptr} + data.size();
  if ((ptr < 128 && end > 128) || end > 256) return make_error_code(errc::nack);
  if (ptr >= 128 && !upper_accessible()) return make_error_code(errc::nack);
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
    for (std::size_t i = std::max<std::size_t>(ptr, lower::flags_first);
         i < std::min<std::size_t>(end, lower::flags_last + 1); ++i) {
      lower_[i] = 0;
    }
  } else {
    if (!upper_accessible()) return make_error_code(errc::nack);
    const std::uint8_t page = lower_[lower::page_select];
    page_bytes* pg = page_ptr(lower_[lower::bank_select], page);
    if (page == 0x11) refresh_page11(now);
    std::memcpy(out.data(), &(*pg)[up(ptr)], n);
    if (page == 0x11) {
      // Lane flags 11h:134-153 are clear-on-read (Table 8-96 ff.).
      for (std::size_t i = std::max<std::size_t>(ptr, 134); i < std::min<std::size_t>(end, 154);
           ++i) {
        (*pg)[up(static_cast<int>(i))] = 0;
      }
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
  std::lock_guard lock(mu_);
  const time_point now = world_->now();
  advance(now);
  // The management interface is not up during MgmtInit: nothing is acknowledged.
  if (state_ == msm_state::mgmt_init) return make_error_code(errc::nack);
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
  std::lock_guard lock(mu_);
  advance(world_->now());
  return state_;
}

bool cmis_module::lasers_on() {
  std::lock_guard lock(mu_);
  advance(world_->now());
  for (int m = 0; m < profile_.media_lanes; ++m) {
    if (lane_tx_enabled(m)) return true;
  }
  return false;
}

double cmis_module::case_temperature_c() {
  std::lock_guard lock(mu_);
  const auto now = world_->now();
  advance(now);
  return temperature_at(now);
}

double cmis_module::dissipation_w() {
  std::lock_guard lock(mu_);
  advance(world_->now());
  return dissipation_for(state_);
}

void cmis_module::set_lpmode_pin(bool asserted) {
  std::lock_guard lock(mu_);
  const auto now = world_->now();
  advance(now);
  lpmode_pin_ = asserted;
  control_changed_at_ = now;
  advance(now);
}

std::string cmis_module::describe() {
  std::lock_guard lock(mu_);
  advance(world_->now());
  bool on = false;
  for (int m = 0; m < profile_.media_lanes; ++m)
    on |= lane_tx_enabled(m);
  const auto* p10 = page_ptr(0, 0x10);
  return fmt::format("{} state={} lasers={} tx_disable=0x{:02x} pn={} sn={}", opts_.label,
                     to_string(state_), on ? "on" : "off", p10 ? (*p10)[up(130)] : 0,
                     profile_.part_number, profile_.serial);
}

bool cmis_module::poke(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                       std::span<const std::uint8_t> bytes, bool fix_checksums) {
  std::lock_guard lock(mu_);
  const std::size_t end = std::size_t{offset} + bytes.size();
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
  std::lock_guard lock(mu_);
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
  std::lock_guard lock(mu_);
  if (image256.size() < 256) return;
  std::memcpy(lower_.data(), image256.data(), 128);
  pages_.clear();
  for (auto& b : page_index_)
    b.fill(-1);
  auto& p00 = add_page(0, 0x00);
  std::memcpy(p00.data(), image256.data() + 128, 128);
  flat_ = (lower_[lower::characteristics] & 0x80) != 0;  // MemoryModel (Table 8-5)
  lower_[lower::bank_select] = 0;
  lower_[lower::page_select] = 0;
  pointer_ = 0;
}

}  // namespace hilt::emu
