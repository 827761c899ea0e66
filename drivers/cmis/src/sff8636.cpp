#include "hilt/cmis/sff8636.hpp"

#include <fmt/format.h>

#include "decode_util.hpp"
#include "hilt/cmis/codes.hpp"
#include "hilt/cmis/fields.hpp"

namespace hilt::cmis::sff8636 {

using detail::add_detail;
using detail::at;
using detail::at_span;
using detail::dbm;
using detail::round_to;
using detail::up;
using detail::up_span;

std::string revision_name(std::uint8_t b) {
  switch (b) {  // SFF-8636 Table 6-3
    case 0x00:
      return "revision not specified";
    case 0x01:
      return "SFF-8436 Rev 4.8 or earlier";
    case 0x02:
      return "SFF-8436 Rev 4.8 or earlier, except bytes 186-189";
    case 0x03:
      return "SFF-8636 Rev 1.3 or earlier";
    case 0x04:
      return "SFF-8636 Rev 1.4";
    case 0x05:
      return "SFF-8636 Rev 1.5";
    case 0x06:
      return "SFF-8636 Rev 2.0";
    case 0x07:
      return "SFF-8636 Rev 2.5, 2.6 and 2.7";
    case 0x08:
      return "SFF-8636 Rev 2.8, 2.9 and 2.10";
    default:
      return fmt::format("reserved (0x{:02x})", b);
  }
}

std::string revision_short(std::uint8_t b) {
  switch (b) {
    case 0x00:
      return "unspecified";
    case 0x01:
    case 0x02:
      return "SFF-8436 4.8";
    case 0x03:
      return "1.3";
    case 0x04:
      return "1.4";
    case 0x05:
      return "1.5";
    case 0x06:
      return "2.0";
    case 0x07:
      return "2.5-2.7";
    case 0x08:
      return "2.8-2.10";
    default:
      return fmt::format("0x{:02x}", b);
  }
}

power_class_info decode_power_class(std::uint8_t ext, std::uint8_t byte107) noexcept {
  // Table 6-16: bit 5 class 8 (max in byte 107), bits 1-0 classes 5-7, else bits 7-6 classes 1-4.
  static constexpr double low[4] = {1.5, 2.0, 2.5, 3.5};
  static constexpr double high[4] = {0, 4.0, 4.5, 5.0};
  if (ext & 0x20) return {8, byte107 * 0.1};
  if (ext & 0x03) return {4 + (ext & 0x03), high[ext & 0x03]};
  return {1 + (ext >> 6), low[ext >> 6]};
}

namespace {

constexpr const char* level_names[4] = {"high_alarm", "low_alarm", "high_warn", "low_warn"};

// A flag nibble (bit 3 HA, 2 LA, 1 HW, 0 LW) for `what` on `lane` (-1 module).
void nibble_flags(module_report& r, std::uint8_t nibble, const std::string& what, int lane) {
  for (int i = 0; i < 4; ++i) {
    if (nibble >> (3 - i) & 1) {
      r.flags.push_back(lane < 0 ? fmt::format("{}_{}", what, level_names[i])
                                 : fmt::format("{}_{} lane {}", what, level_names[i], lane));
    }
  }
}

}  // namespace

void decode(const eeprom_image& img, module_report& r) {
  const auto lower = img.lower();
  const auto p00 = img.upper({0, 0x00});
  r.spec = mgmt_spec::sff8636;
  const std::uint8_t rev = at(lower, reg::revision);
  r.spec_revision = revision_short(rev);
  add_detail(r, "revision_compliance", revision_name(rev));
  const std::uint8_t status = at(lower, reg::status);
  r.memory_model = (status & 0x04) ? "flat" : "paged";  // Flat_mem (Table 6-2)

  r.vendor = decode_ascii(up_span(p00, reg::vendor_name, 16));
  r.vendor_oui = decode_oui(up_span(p00, reg::vendor_oui, 3));
  r.part_number = decode_ascii(up_span(p00, reg::part_number, 16));
  r.revision = decode_ascii(up_span(p00, reg::vendor_rev, 2));
  r.serial = decode_ascii(up_span(p00, reg::serial, 16));
  r.date_code_raw = decode_ascii(up_span(p00, reg::date_code, 8));
  r.date_code = decode_date_code(up_span(p00, reg::date_code, 8));

  const auto pc = decode_power_class(up(p00, reg::ext_identifier), at(lower, reg::max_power));
  r.power_class = pc.power_class;
  r.max_power_w = pc.max_power_w;

  // SFF-8636 has no module state machine: Data_Not_Ready (00h:2.0) says whether the monitors and
  // flags are valid; low power follows Power_override / Power_set (00h:93 bits 0-1) or the
  // LPMode pin.
  r.module_state = (status & 0x01) ? "DataNotReady" : "Ready";
  const std::uint8_t pwr = at(lower, reg::power_control);
  add_detail(r, "low_power",
             (pwr & 0x01) ? ((pwr & 0x02) ? "requested by software (93.0 = 1, 93.1 = 1)"
                                          : "released by software (93.0 = 1, 93.1 = 0)")
                          : "follows the LPMode pin (93.0 = 0)");
  add_detail(r, "interrupt", (status & 0x02) ? "not asserted" : "asserted");

  r.connector_code = up(p00, reg::connector);
  r.connector = connector_name(*r.connector_code);
  add_detail(r, "nominal_bit_rate", fmt::format("{} Mb/s", up(p00, reg::nominal_rate) * 100));
  add_detail(r, "extended_compliance", fmt::format("0x{:02x}", up(p00, reg::ext_compliance)));
  const std::uint8_t tech = up(p00, reg::device_technology);
  const bool copper = (tech >> 4) >= 0x0A;  // Table 6-19: codes 1010b-1111b are copper
  if (!copper) {
    add_detail(r, "wavelength_nm",
               fmt::format("{:.2f}", detail::u16(up_span(p00, reg::wavelength, 2)) / 20.0));
  }
  if (const auto km = up(p00, reg::smf_length)) add_detail(r, "smf_length_km", std::to_string(km));
  add_detail(r, "device_technology", fmt::format("0x{:02x}", tech));

  const std::uint8_t diag = up(p00, reg::diag_type);
  add_detail(r, "rx_power_type", (diag & 0x08) ? "average" : "OMA");
  add_detail(r, "tx_disable", fmt::format("0x{:x}", at(lower, reg::tx_disable) & 0x0F));

  // Monitors (lower memory, Table 6-7/6-8): temperature, Vcc; per lane Rx power, Tx bias and,
  // when 00h:220.2 says it is measured, Tx power.
  const auto t = at_span(lower, reg::temperature, 2);
  const auto v = at_span(lower, reg::vcc, 2);
  r.monitors.push_back(
      {"temperature", -1, side::none, round_to(detail::s16(t) / 256.0, 0.001), "C"});
  r.monitors.push_back({"vcc", -1, side::none, round_to(detail::u16(v) * 100e-6, 1e-4), "V"});
  for (int l = 0; l < lanes; ++l) {
    const int k = 2 * l;
    r.monitors.push_back({"tx_bias", l + 1, side::media,
                          round_to(detail::u16(at_span(lower, reg::tx_bias + k, 2)) * 2e-3, 1e-3),
                          "mA"});
    if (diag & 0x04) {
      r.monitors.push_back({"tx_power", l + 1, side::media,
                            dbm(detail::u16(at_span(lower, reg::tx_power + k, 2)) * 1e-4), "dBm"});
    }
    r.monitors.push_back({"rx_power", l + 1, side::media,
                          dbm(detail::u16(at_span(lower, reg::rx_power + k, 2)) * 1e-4), "dBm"});
  }

  // Flags (Table 6-4 ff.): LOS, Tx fault, LOL, temperature/Vcc and per-lane warnings/alarms.
  const std::uint8_t los = at(lower, reg::los);
  const std::uint8_t fault = at(lower, reg::tx_fault);
  const std::uint8_t lol = at(lower, reg::lol);
  for (int l = 0; l < lanes; ++l) {
    if (los >> (4 + l) & 1) r.flags.push_back(fmt::format("tx_los lane {}", l + 1));
    if (los >> l & 1) r.flags.push_back(fmt::format("rx_los lane {}", l + 1));
    if (fault >> l & 1) r.flags.push_back(fmt::format("tx_fault lane {}", l + 1));
    if (lol >> (4 + l) & 1) r.flags.push_back(fmt::format("tx_cdr_lol lane {}", l + 1));
    if (lol >> l & 1) r.flags.push_back(fmt::format("rx_cdr_lol lane {}", l + 1));
  }
  nibble_flags(r, at(lower, reg::temp_flags) >> 4, "temperature", -1);
  nibble_flags(r, at(lower, reg::vcc_flags) >> 4, "vcc", -1);
  for (int l = 0; l < lanes; ++l) {
    const int byte = l / 2;
    const int shift = (l % 2) ? 0 : 4;  // lane 1 in bits 7-4, lane 2 in bits 3-0
    nibble_flags(r, (at(lower, reg::rx_power_flags + byte) >> shift) & 0x0F, "rx_power", l + 1);
    nibble_flags(r, (at(lower, reg::tx_bias_flags + byte) >> shift) & 0x0F, "tx_bias", l + 1);
    nibble_flags(r, (at(lower, reg::tx_power_flags + byte) >> shift) & 0x0F, "tx_power", l + 1);
  }

  // Page 03h thresholds (Table 6-27).
  if (const auto p03 = img.upper({0, 0x03}); !p03.empty()) {
    using detail::thresholds_from;
    r.thresholds.push_back(
        thresholds_from(up_span(p03, reg::temp_thresholds, 8), "temperature", "C",
                        [](const std::uint8_t* p) { return round_to(be_s16(p) / 256.0, 0.001); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p03, reg::vcc_thresholds, 8), "vcc", "V",
                        [](const std::uint8_t* p) { return round_to(be_u16(p) * 100e-6, 1e-4); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p03, reg::tx_power_thresholds, 8), "tx_power", "dBm",
                        [](const std::uint8_t* p) { return dbm(be_u16(p) * 1e-4); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p03, reg::tx_bias_thresholds, 8), "tx_bias", "mA",
                        [](const std::uint8_t* p) { return round_to(be_u16(p) * 2e-3, 1e-3); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p03, reg::rx_power_thresholds, 8), "rx_power", "dBm",
                        [](const std::uint8_t* p) { return dbm(be_u16(p) * 1e-4); }));
  }

  // CC_BASE (00h:191 over 128-190) and CC_EXT (00h:223 over 192-222).
  detail::check_sum(r, up_span(p00, 128, 63), up(p00, reg::cc_base), "page 00h byte 191", 128, 190);
  detail::check_sum(r, up_span(p00, 192, 31), up(p00, reg::cc_ext), "page 00h byte 223", 192, 222);
}

}  // namespace hilt::cmis::sff8636
