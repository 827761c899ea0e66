// The CMIS part of decode_eeprom(): OIF-CMIS 3.0-5.x lower memory and pages 00h, 01h, 02h, 10h,
// 11h (every bank), 13h/14h (PRBS), VDM 20h-2Fh and ELSFP 1Ah/1Bh — whichever the image holds.
#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "decode_util.hpp"
#include "hilt/cmis/codes.hpp"
#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/fields.hpp"

namespace hilt::cmis::detail {

namespace {

std::string pattern_list(std::uint16_t mask) {
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (!(mask >> i & 1)) continue;
    if (!out.empty()) out += ", ";
    out += prbs_pattern_name(static_cast<std::uint8_t>(i));
  }
  return out.empty() ? "none" : out;
}

std::string duration_text(std::uint8_t code) {
  if (code >= 13) return fmt::format(">= 3000000 (code {})", code);
  return fmt::format("{} (code {})", decode_duration(code).count(), code);
}

std::string lanes_text(std::uint8_t mask) {
  return fmt::format("0x{:02x}", mask);
}

// Lane count of a bank: the highest host (or media) lane any application can occupy, from the
// lane-assignment options (bit i = first lane i+1) and lane counts; at most 8.
int lanes_used(const std::vector<report_application>& apps, bool media) {
  int hi = 0;
  for (const auto& a : apps) {
    const int count = media ? a.media_lanes : a.host_lanes;
    std::uint8_t opts = media ? a.media_lane_options.value_or(0x01) : a.host_lane_options;
    if (!opts) opts = 0x01;
    const int first = 7 - std::countl_zero(opts);  // highest allowed first lane, 0-based
    hi = std::max(hi, first + count);
  }
  return std::clamp(hi, 0, 8);
}

void decode_vdm(const eeprom_image& img, module_report& r) {
  const auto p2f = img.upper({0, 0x2F});
  if (p2f.empty()) return;
  const int groups = (up(p2f, 128) & 0x03) + 1;
  add_detail(r, "vdm_groups", std::to_string(groups));
  for (int g = 0; g < groups; ++g) {
    const auto desc = img.upper({0, static_cast<std::uint8_t>(0x20 + g)});
    const auto vals = img.upper({0, static_cast<std::uint8_t>(0x24 + g)});
    if (desc.empty() || vals.empty()) continue;
    for (int slot = 0; slot < 64; ++slot) {
      const std::uint8_t d0 = desc[static_cast<std::size_t>(2 * slot)];
      const std::uint8_t type = desc[static_cast<std::size_t>(2 * slot + 1)];
      if (type == 0) continue;
      hilt::side side = hilt::side::none;
      const char* name = vdm_observable_name(type, side);
      const std::uint8_t* v = &vals[static_cast<std::size_t>(2 * slot)];
      const int lane = (d0 & 0x0F) + 1;
      if (!name) {
        r.diagnostics.push_back(
            {fmt::format("vdm_type_{}", type), lane, side, static_cast<double>(be_u16(v)), "raw"});
      } else if (type >= 9 && type <= 26) {
        r.diagnostics.push_back({name, lane, side, decode_f16(v), ""});
      } else if (type == 4) {
        r.diagnostics.push_back({name, lane, side, be_s16(v) / 256.0, "C"});
      } else if (type >= 5 && type <= 8) {
        r.diagnostics.push_back({name, lane, side, be_u16(v) / 256.0, "dB"});
      } else {
        r.diagnostics.push_back({name, lane, side, static_cast<double>(be_u16(v)), "raw"});
      }
    }
  }
}

void decode_prbs(const eeprom_image& img, module_report& r, int banks) {
  const auto p13 = img.upper({0, 0x13});
  if (p13.empty()) return;
  auto mask16 = [&](int off) {
    return static_cast<std::uint16_t>(up(p13, off) | up(p13, off + 1) << 8);  // little endian
  };
  add_detail(r, "prbs_host_generator_patterns", pattern_list(mask16(132)));
  add_detail(r, "prbs_media_generator_patterns", pattern_list(mask16(134)));
  add_detail(r, "prbs_host_checker_patterns", pattern_list(mask16(136)));
  add_detail(r, "prbs_media_checker_patterns", pattern_list(mask16(138)));
  for (int b = 0; b < banks; ++b) {
    const auto bank = static_cast<std::uint8_t>(b);
    const auto c = img.upper({bank, 0x13});
    const std::string sfx = b ? fmt::format("_bank{}", b) : std::string();
    if (!c.empty()) {
      add_detail(r, "prbs_host_generator_enable" + sfx, lanes_text(up(c, 144)));
      add_detail(r, "prbs_media_generator_enable" + sfx, lanes_text(up(c, 152)));
      add_detail(r, "prbs_host_checker_enable" + sfx, lanes_text(up(c, 160)));
      add_detail(r, "prbs_media_checker_enable" + sfx, lanes_text(up(c, 168)));
      if (b == 0) {
        const std::uint8_t g = up(c, 177);
        static constexpr const char* times[8] = {"ungated", "5 s",   "10 s",  "30 s",
                                                 "60 s",    "120 s", "300 s", "custom"};
        add_detail(r, "prbs_gating", times[(g >> 1) & 7]);
      }
    }
    const auto d = img.upper({bank, 0x14});
    if (d.empty()) continue;
    for (int l = 0; l < 8; ++l) {
      const int lane = b * 8 + l + 1;
      if (up(d, 138) >> l & 1)
        r.flags.push_back(fmt::format("prbs_host_checker_lol lane {}", lane));
      if (up(d, 139) >> l & 1) {
        r.flags.push_back(fmt::format("prbs_media_checker_lol lane {}", lane));
      }
    }
    const std::uint8_t sel = up(d, 128);
    add_detail(r, "diagnostics_selector" + sfx, fmt::format("0x{:02x}", sel));
    if (sel == 0x01 || sel == 0x11) {
      const char* name = sel == 0x01 ? "prbs_ber" : "prbs_ber_gated";
      for (int l = 0; l < 8; ++l) {
        const int lane = b * 8 + l + 1;
        if (up(c, 160) >> l & 1) {
          r.diagnostics.push_back({name, lane, hilt::side::host,
                                   decode_f16(up(d, 192 + 2 * l), up(d, 193 + 2 * l)), ""});
        }
        if (up(c, 168) >> l & 1) {
          r.diagnostics.push_back({name, lane, hilt::side::media,
                                   decode_f16(up(d, 208 + 2 * l), up(d, 209 + 2 * l)), ""});
        }
      }
    } else if ((sel >= 0x02 && sel <= 0x05) || (sel >= 0x12 && sel <= 0x15)) {
      const int s = sel & 0x0F;
      const hilt::side side = s <= 3 ? hilt::side::host : hilt::side::media;
      const int first = (s % 2 == 0) ? 0 : 4;  // 02h/04h lanes 1-4, 03h/05h lanes 5-8
      for (int k = 0; k < 4; ++k) {
        auto le64 = [&](int off) {
          std::uint64_t v = 0;
          for (int i = 7; i >= 0; --i)
            v = v << 8 | up(d, off + i);
          return v;
        };
        const std::uint64_t errors = le64(192 + 16 * k);
        const std::uint64_t bits = le64(200 + 16 * k);
        const int lane = b * 8 + first + k + 1;
        r.diagnostics.push_back({"prbs_errors", lane, side, static_cast<double>(errors), ""});
        r.diagnostics.push_back({"prbs_bits", lane, side, static_cast<double>(bits), ""});
      }
    }
  }
}

void decode_elsfp(const eeprom_image& img, module_report& r) {
  const auto a = img.upper({0, 0x1A});
  const auto m = img.upper({0, 0x1B});
  if (a.empty()) return;
  const int lanes = std::min(8, up(a, 140) >> 1);
  add_detail(r, "laser_lanes", std::to_string(lanes));
  add_detail(r, "laser_control_mode",
             (up(a, 140) & 1) ? "APC (constant power)" : "ACC (constant current)");
  add_detail(r, "laser_lane_enable", lanes_text(up(a, 220)));
  static constexpr const char* states[4] = {"off", "ramping", "on", "reserved"};
  const std::uint16_t st = static_cast<std::uint16_t>(up(a, 221) | up(a, 222) << 8);
  std::string s;
  for (int l = 0; l < lanes; ++l) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{}:{}", l + 1, states[(st >> (2 * l)) & 3]);
  }
  add_detail(r, "laser_lane_state", s);
  for (int l = 0; l < lanes; ++l) {
    const int k = 166 + l / 8;
    if (up(a, k) >> (l % 8) & 1) r.flags.push_back(fmt::format("laser_fault lane {}", l + 1));
    if (up(a, 174 + l / 8) >> (l % 8) & 1) {
      r.flags.push_back(fmt::format("laser_warning lane {}", l + 1));
    }
  }
  r.thresholds.push_back(thresholds_from(up_span(a, 141, 8), "laser_bias", "mA",
                                         [](const std::uint8_t* p) { return be_u16(p) * 0.1; }));
  r.thresholds.push_back(
      thresholds_from(up_span(a, 149, 8), "laser_power", "dBm",
                      [](const std::uint8_t* p) { return dbm(be_u16(p) * 0.01); }));
  if (m.empty()) return;
  for (int l = 0; l < lanes; ++l) {
    r.diagnostics.push_back({"laser_bias", l + 1, hilt::side::media,
                             round_to(u16(up_span(m, 184 + 2 * l, 2)) * 0.1, 0.1), "mA"});
    r.diagnostics.push_back({"laser_power", l + 1, hilt::side::media,
                             dbm(u16(up_span(m, 200 + 2 * l, 2)) * 0.01), "dBm"});
  }
}

}  // namespace

void decode_cmis(const eeprom_image& img, module_report& r) {
  const auto lower = img.lower();
  const auto p00 = img.upper({0, 0x00});
  const auto p01 = img.upper({0, 0x01});
  const auto p02 = img.upper({0, 0x02});
  r.spec = mgmt_spec::cmis;
  const auto rev = decode_revision(at(lower, 1));
  r.spec_revision = fmt::format("{}.{}", rev.major, rev.minor);
  if (rev.major < 3 || rev.major > 5) {
    r.warnings.push_back(fmt::format(
        "CMIS revision {}.{} (00h byte 1 = 0x{:02x}) is outside 3.x-5.x; decoded as CMIS 5",
        rev.major, rev.minor, at(lower, 1)));
  }
  const bool flat = (at(lower, 2) & 0x80) != 0;
  r.memory_model = flat ? "flat" : "paged";

  // Identity (00h:129-199, Table 8-30 ff.).
  r.vendor = decode_ascii(up_span(p00, 129, 16));
  r.vendor_oui = decode_oui(up_span(p00, 145, 3));
  r.part_number = decode_ascii(up_span(p00, 148, 16));
  r.revision = decode_ascii(up_span(p00, 164, 2));
  r.serial = decode_ascii(up_span(p00, 166, 16));
  r.date_code_raw = decode_ascii(up_span(p00, 182, 8));
  r.date_code = decode_date_code(up_span(p00, 182, 8));
  r.clei = decode_ascii(up_span(p00, 190, 10));
  r.power_class = decode_power_class(up(p00, 200));
  r.max_power_w = decode_max_power_w(up(p00, 201));
  r.firmware = fmt::format("{}.{}", at(lower, 39), at(lower, 40));

  // Module state (00h:3, Table 8-6/8-7).
  const std::uint8_t state_byte = at(lower, 3);
  const auto code = static_cast<std::uint8_t>((state_byte >> 1) & 0x07);
  r.module_state_code = code;
  r.module_state = std::string(module_state_name(code));
  add_detail(r, "interrupt", (state_byte & 0x01) ? "not asserted" : "asserted");
  if (code == 5) add_detail(r, "module_fault_cause", module_fault_cause_name(at(lower, 41)));
  const std::uint8_t ctl = at(lower, 26);
  add_detail(r, "low_pwr_allow_request_hw", (ctl & 0x40) ? "on" : "off");
  add_detail(r, "low_pwr_request_sw", (ctl & 0x10) ? "on" : "off");
  if (const std::uint8_t fn = at(lower, 57); fn != 0 || r.identifier == 0x22) {
    add_detail(r, "module_function",
               fn == 1   ? "resource module"
               : fn == 0 ? "transmission module"
                         : fmt::format("0x{:02x}", fn));
  }

  // Media and connector.
  r.media_type_code = at(lower, 85);
  r.media_type = std::string(media_type_name(r.media_type_code));
  r.connector_code = up(p00, 203);
  r.connector = connector_name(*r.connector_code);
  const std::uint8_t tech = up(p00, 212);
  add_detail(r, "media_technology", media_technology_name(tech));
  if (const std::uint8_t len = up(p00, 202); len != 0) {
    static constexpr double mult[4] = {0.1, 1, 10, 100};
    add_detail(
        r, "cable_length_m",
        len == 0xFF ? std::string(">6300") : fmt::format("{:g}", (len & 0x3F) * mult[len >> 6]));
  }

  // Module flags (00h:8-11, Table 8-9).
  append_module_flags(r.flags, at(lower, 8), at(lower, 9), at(lower, 10), at(lower, 11));

  // Applications 1-8 (lower 86-117) and 9-15 (01h:223-250), media lane options 01h:176-190.
  {
    const auto first8 = at_span(lower, 86, 32);
    std::vector<std::uint8_t> all(first8.begin(), first8.end());
    if (!p01.empty()) {
      const auto more = up_span(p01, 223, 28);
      all.insert(all.end(), more.begin(), more.end());
    }
    int idx = 0;
    for (const auto& a : decode_applications(all)) {
      report_application ra;
      ra.appsel = ++idx;
      ra.host_id = a.host_interface;
      ra.media_id = a.media_interface;
      ra.host_name = host_interface_name(a.host_interface);
      ra.media_name = media_interface_name(r.media_type_code, a.media_interface);
      ra.host_lanes = a.host_lanes;
      ra.media_lanes = a.media_lanes;
      ra.host_lane_options = a.host_lane_options;
      if (!p01.empty() && idx <= 15) ra.media_lane_options = up(p01, 175 + idx);
      r.applications.push_back(ra);
    }
  }

  // Page 01h: advertising (Table 8-40 ff.).
  int banks = 1;
  std::uint8_t mon_module = 0x03, mon_lane = 0x07;
  if (!p01.empty()) {
    add_detail(r, "inactive_firmware", fmt::format("{}.{}", up(p01, 128), up(p01, 129)));
    add_detail(r, "hardware", fmt::format("{}.{}", up(p01, 130), up(p01, 131)));
    if (tech < 0x0A) {  // optical: wavelength and SMF reach (01h:132, 138-141)
      const std::uint8_t smf = up(p01, 132);
      if (smf)
        add_detail(r, "smf_length_km",
                   fmt::format("{:g}", (smf & 0x3F) * ((smf >> 6) ? 1.0 : 0.1)));
      add_detail(r, "wavelength_nm", fmt::format("{:.2f}", u16(up_span(p01, 138, 2)) * 0.05));
      add_detail(r, "wavelength_tolerance_nm",
                 fmt::format("{:.2f}", u16(up_span(p01, 140, 2)) * 0.05));
    }
    const std::uint8_t sp = up(p01, 142);
    banks = cmis_banks(sp);
    std::string pages = fmt::format("0x{:02x}: banks {}", sp, banks);
    if (sp & 0x04) pages += ", 03h";
    if (sp & 0x20) pages += ", 13h-14h";
    if (sp & 0x40) pages += ", VDM 20h-2Fh";
    if (sp & 0x80) pages += ", 16h-17h";
    add_detail(r, "supported_pages", pages);
    add_detail(r, "max_dp_init_ms", duration_text(up(p01, 144) & 0x0F));
    add_detail(r, "max_dp_deinit_ms", duration_text(up(p01, 144) >> 4));
    add_detail(r, "max_module_pwr_up_ms", duration_text(up(p01, 167) & 0x0F));
    add_detail(r, "max_module_pwr_dn_ms", duration_text(up(p01, 167) >> 4));
    add_detail(r, "max_tx_turn_on_ms", duration_text(up(p01, 168) & 0x0F));
    add_detail(r, "max_tx_turn_off_ms", duration_text(up(p01, 168) >> 4));
    add_detail(r, "operating_temperature_c",
               fmt::format("{} to {}", static_cast<std::int8_t>(up(p01, 147)),
                           static_cast<std::int8_t>(up(p01, 146))));
    add_detail(r, "rx_power_type", (up(p01, 151) & 0x10) ? "average" : "OMA");
    add_detail(r, "tx_disable_supported", (up(p01, 155) & 0x02) ? "yes" : "no");
    mon_module = up(p01, 159);
    mon_lane = up(p01, 160);
    check_sum(r, up_span(p01, 130, 125), up(p01, 255), "page 01h byte 255", 130, 254);
  }
  check_sum(r, up_span(p00, 128, 94), up(p00, 222), "page 00h byte 222", 128, 221);

  // Module monitors (00h:14-17, Table 8-10): when 01h:159 advertises them; without page 01h,
  // when the bytes are not blank.
  {
    const auto t = at_span(lower, 14, 2);
    const auto v = at_span(lower, 16, 2);
    const bool blank = p01.empty() && u16(t) == 0 && u16(v) == 0;
    if ((mon_module & 0x01) && !blank) {
      r.monitors.push_back({"temperature", -1, side::none, round_to(s16(t) / 256.0, 0.001), "C"});
    }
    if ((mon_module & 0x02) && !blank) {
      r.monitors.push_back({"vcc", -1, side::none, round_to(u16(v) * 100e-6, 1e-4), "V"});
    }
  }

  // Page 02h thresholds (Table 8-69).
  if (!p02.empty()) {
    r.thresholds.push_back(
        thresholds_from(up_span(p02, 128, 8), "temperature", "C",
                        [](const std::uint8_t* p) { return round_to(be_s16(p) / 256.0, 0.001); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p02, 136, 8), "vcc", "V",
                        [](const std::uint8_t* p) { return round_to(be_u16(p) * 100e-6, 1e-4); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p02, 176, 8), "tx_power", "dBm",
                        [](const std::uint8_t* p) { return dbm(be_u16(p) * 1e-4); }));
    r.thresholds.push_back(thresholds_from(
        up_span(p02, 184, 8), "tx_bias", "mA",
        [mon_lane](const std::uint8_t* p) { return round_to(decode_bias_ma(p, mon_lane), 1e-3); }));
    r.thresholds.push_back(
        thresholds_from(up_span(p02, 192, 8), "rx_power", "dBm",
                        [](const std::uint8_t* p) { return dbm(be_u16(p) * 1e-4); }));
    check_sum(r, up_span(p02, 128, 127), up(p02, 255), "page 02h byte 255", 128, 254);
  }

  // Pages 10h/11h per bank: data path states, configuration, lane monitors and flags.
  const int host_lanes = lanes_used(r.applications, false);
  const int media_lanes = lanes_used(r.applications, true);
  for (int b = 0; b < banks; ++b) {
    const auto bank = static_cast<std::uint8_t>(b);
    const auto p10 = img.upper({bank, 0x10});
    const auto p11 = img.upper({bank, 0x11});
    if (p11.empty() && p10.empty()) continue;
    const int nh = banks > 1 ? 8 : host_lanes;
    for (int l = 0; l < nh; ++l) {
      report_lane rl;
      rl.lane = b * 8 + l + 1;
      if (!p11.empty()) {
        const std::uint8_t st = (up(p11, 128 + l / 2) >> (4 * (l % 2))) & 0x0F;
        rl.dp_state = std::string(dp_state_name(st));
        const std::uint8_t cs = (up(p11, 202 + l / 2) >> (4 * (l % 2))) & 0x0F;
        rl.config_status = std::string(config_status_name(cs));
        rl.active_appsel = up(p11, 206 + l) >> 4;
      }
      if (!p10.empty()) {
        // OutputDisableTx is per media lane: shown on the host lane of the same number when
        // that media lane exists.
        if (l < (banks > 1 ? 8 : media_lanes)) rl.tx_disabled = (up(p10, 130) >> l & 1) != 0;
        rl.dp_deinit = (up(p10, 128) >> l & 1) != 0;
      }
      r.lanes.push_back(rl);
    }
    if (p11.empty()) continue;
    const int nm = banks > 1 ? std::max(media_lanes, 1) : media_lanes;
    for (int l = 0; l < nm; ++l) {
      const int lane = b * 8 + l + 1;
      if (mon_lane & 0x01) {
        const auto b2 = up_span(p11, 170 + 2 * l, 2);
        r.monitors.push_back({"tx_bias", lane, side::media,
                              round_to(decode_bias_ma(b2.data(), mon_lane), 1e-3), "mA"});
      }
      if (mon_lane & 0x02) {
        r.monitors.push_back(
            {"tx_power", lane, side::media, dbm(u16(up_span(p11, 154 + 2 * l, 2)) * 1e-4), "dBm"});
      }
      if (mon_lane & 0x04) {
        r.monitors.push_back(
            {"rx_power", lane, side::media, dbm(u16(up_span(p11, 186 + 2 * l, 2)) * 1e-4), "dBm"});
      }
    }
    // Lane flags (Table 8-96 ff.), bit per lane.
    append_lane_flags(r.flags, up_span(p11, 134, 20), b);
  }

  decode_prbs(img, r, banks);
  decode_vdm(img, r);
  if (r.identifier == 0x22) decode_elsfp(img, r);
}

}  // namespace hilt::cmis::detail
