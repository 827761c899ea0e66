#include "hilt/cmis/sff8472.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "decode_util.hpp"
#include "hilt/cmis/codes.hpp"
#include "hilt/cmis/fields.hpp"

namespace hilt::cmis::sff8472 {

using detail::add_detail;
using detail::at;
using detail::at_span;
using detail::dbm;
using detail::round_to;

std::string compliance_name(std::uint8_t b) {
  switch (b) {  // SFF-8472 Table 8-8
    case 0x00:
      return "unspecified";
    case 0x01:
      return "9.3";
    case 0x02:
      return "9.5";
    case 0x03:
      return "10.2";
    case 0x04:
      return "10.4";
    case 0x05:
      return "11.0";
    case 0x06:
      return "11.3";
    case 0x07:
      return "11.4";
    case 0x08:
      return "12.3";
    case 0x09:
      return "12.4";
    default:
      return fmt::format("reserved (0x{:02x})", b);
  }
}

namespace {

float be_float(std::span<const std::uint8_t> p) noexcept {
  if (p.size() < 4) return 0.0f;
  const std::uint32_t u =
      std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
  float f = 0;
  std::memcpy(&f, &u, sizeof f);
  return std::isfinite(f) ? f : 0.0f;
}
// Unsigned fixed point 8.8 slope (SFF-8472 §9.3).
double slope(std::span<const std::uint8_t> p) noexcept {
  return detail::u16(p) / 256.0;
}

constexpr const char* level_names[4] = {"high_alarm", "low_alarm", "high_warn", "low_warn"};

}  // namespace

diagnostics decode_diagnostics(std::span<const std::uint8_t> a2h, std::uint8_t diag) noexcept {
  diagnostics d;
  if (a2h.size() < 106) return d;
  const std::int16_t t = detail::s16(at_span(a2h, reg::temperature, 2));
  const std::uint16_t v = detail::u16(at_span(a2h, reg::vcc, 2));
  const std::uint16_t i = detail::u16(at_span(a2h, reg::tx_bias, 2));
  const std::uint16_t tx = detail::u16(at_span(a2h, reg::tx_power, 2));
  const std::uint16_t rx = detail::u16(at_span(a2h, reg::rx_power, 2));
  if ((diag & 0x10) && !(diag & 0x20)) {
    // Externally calibrated (A0h:92.4): value = slope * ADC + offset; Rx power is a 4th-order
    // polynomial with IEEE-754 coefficients Rx_PWR(4) .. Rx_PWR(0) at A2h:56-75.
    auto off = [&](int o) { return static_cast<double>(detail::s16(at_span(a2h, o, 2))); };
    d.tx_bias_ma = (slope(at_span(a2h, 76, 2)) * i + off(78)) * 2e-3;
    d.tx_power_mw = (slope(at_span(a2h, 80, 2)) * tx + off(82)) * 1e-4;
    d.temperature_c = (slope(at_span(a2h, 84, 2)) * t + off(86)) / 256.0;
    d.vcc_v = (slope(at_span(a2h, 88, 2)) * v + off(90)) * 100e-6;
    double rxp = 0;
    for (int k = 0; k < 5; ++k) {
      const double c = be_float(at_span(a2h, reg::rx_pwr_cal + 4 * k, 4));  // Rx_PWR(4-k)
      rxp += c * std::pow(static_cast<double>(rx), 4 - k);
    }
    d.rx_power_mw = std::max(0.0, rxp) * 1e-4;
  } else {
    d.temperature_c = t / 256.0;
    d.vcc_v = v * 100e-6;
    d.tx_bias_ma = i * 2e-3;
    d.tx_power_mw = tx * 1e-4;
    d.rx_power_mw = rx * 1e-4;
  }
  return d;
}

void decode(const eeprom_image& img, module_report& r) {
  const auto a0 = img.bytes().subspan(0, std::min<std::size_t>(256, img.size()));
  r.spec = mgmt_spec::sff8472;
  r.memory_model = "flat";
  r.spec_revision = compliance_name(at(a0, reg::compliance));
  r.vendor = decode_ascii(at_span(a0, reg::vendor_name, 16));
  r.vendor_oui = decode_oui(at_span(a0, reg::vendor_oui, 3));
  r.part_number = decode_ascii(at_span(a0, reg::part_number, 16));
  r.revision = decode_ascii(at_span(a0, reg::vendor_rev, 4));
  r.serial = decode_ascii(at_span(a0, reg::serial, 16));
  r.date_code_raw = decode_ascii(at_span(a0, reg::date_code, 8));
  r.date_code = decode_date_code(at_span(a0, reg::date_code, 8));
  r.connector_code = at(a0, reg::connector);
  r.connector = connector_name(*r.connector_code);
  add_detail(r, "extended_identifier", fmt::format("0x{:02x}", at(a0, reg::ext_identifier)));
  add_detail(r, "wavelength_nm", std::to_string(detail::u16(at_span(a0, reg::wavelength, 2))));

  // Power level (Table 8-3, A0h:64): bit 5 level 3 (2.0 W), else bit 1 level 2 (1.5 W), else
  // level 1 (1.0 W).
  const std::uint8_t opt = at(a0, reg::options);
  r.power_class = (opt & 0x20) ? 3 : (opt & 0x02) ? 2 : 1;
  r.max_power_w = *r.power_class == 3 ? 2.0 : *r.power_class == 2 ? 1.5 : 1.0;

  const std::uint8_t diag = at(a0, reg::diag_type);
  add_detail(r, "digital_diagnostics",
             !(diag & 0x40)  ? "not implemented"
             : (diag & 0x20) ? "internally calibrated"
             : (diag & 0x10) ? "externally calibrated"
                             : "implemented, calibration not declared");
  add_detail(r, "rx_power_type", (diag & 0x08) ? "average" : "OMA");

  detail::check_sum(r, at_span(a0, 0, 63), at(a0, reg::cc_base), "A0h byte 63", 0, 62);
  detail::check_sum(r, at_span(a0, 64, 31), at(a0, reg::cc_ext), "A0h byte 95", 64, 94);

  const auto a2 = img.upper(sff8472_a2h);
  if (a2.empty() || !(diag & 0x40)) {
    r.module_state = (diag & 0x40) ? "unknown (A2h missing)" : "unknown (no diagnostics)";
    return;
  }
  const std::uint8_t status = at(a2, reg::status);
  r.module_state = (status & 0x01) ? "DataNotReady" : "Ready";  // Data_Ready_Bar (Table 9-11)
  add_detail(r, "tx_disable",
             fmt::format("pin {}, soft {}", (status & 0x80) ? "on" : "off",
                         (status & 0x40) ? "on" : "off"));
  if (status & 0x04) r.flags.push_back("tx_fault");
  if (status & 0x02) r.flags.push_back("rx_los");

  const auto d = decode_diagnostics(a2, diag);
  r.monitors.push_back({"temperature", -1, side::none, round_to(d.temperature_c, 0.001), "C"});
  r.monitors.push_back({"vcc", -1, side::none, round_to(d.vcc_v, 1e-4), "V"});
  r.monitors.push_back({"tx_bias", 1, side::media, round_to(d.tx_bias_ma, 1e-3), "mA"});
  r.monitors.push_back({"tx_power", 1, side::media, dbm(d.tx_power_mw), "dBm"});
  r.monitors.push_back({"rx_power", 1, side::media, dbm(d.rx_power_mw), "dBm"});

  // Thresholds A2h:0-39 (HA, LA, HW, LW each), raw (internally calibrated) units.
  using detail::thresholds_from;
  r.thresholds.push_back(
      thresholds_from(at_span(a2, 0, 8), "temperature", "C",
                      [](const std::uint8_t* p) { return round_to(be_s16(p) / 256.0, 0.001); }));
  r.thresholds.push_back(thresholds_from(at_span(a2, 8, 8), "vcc", "V", [](const std::uint8_t* p) {
    return round_to(be_u16(p) * 100e-6, 1e-4);
  }));
  r.thresholds.push_back(
      thresholds_from(at_span(a2, 16, 8), "tx_bias", "mA",
                      [](const std::uint8_t* p) { return round_to(be_u16(p) * 2e-3, 1e-3); }));
  r.thresholds.push_back(
      thresholds_from(at_span(a2, 24, 8), "tx_power", "dBm",
                      [](const std::uint8_t* p) { return dbm(be_u16(p) * 1e-4); }));
  r.thresholds.push_back(
      thresholds_from(at_span(a2, 32, 8), "rx_power", "dBm",
                      [](const std::uint8_t* p) { return dbm(be_u16(p) * 1e-4); }));

  // Alarm (112-113) and warning (116-117) flags (Table 9-12): 112 bits 7-0 temp H/L, Vcc H/L,
  // bias H/L, Tx power H/L; 113 bits 7-6 Rx power H/L.
  if (at(a0, reg::enhanced_options) & 0x80) {
    static constexpr const char* names[5] = {"temperature", "vcc", "tx_bias", "tx_power",
                                             "rx_power"};
    for (int kind = 0; kind < 2; ++kind) {  // 0 alarms, 1 warnings
      const int base = kind == 0 ? reg::alarm_flags : reg::warning_flags;
      const std::uint16_t bits = static_cast<std::uint16_t>(at(a2, base) << 8 | at(a2, base + 1));
      for (int m = 0; m < 5; ++m) {
        const int hi_bit = 15 - 2 * m;
        if (bits >> hi_bit & 1)
          r.flags.push_back(fmt::format("{}_{}", names[m], level_names[2 * kind]));
        if (bits >> (hi_bit - 1) & 1) {
          r.flags.push_back(fmt::format("{}_{}", names[m], level_names[2 * kind + 1]));
        }
      }
    }
  }
  detail::check_sum(r, at_span(a2, 0, 95), at(a2, reg::cc_dmi), "A2h byte 95", 0, 94);
}

}  // namespace hilt::cmis::sff8472
