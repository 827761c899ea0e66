#include "hilt/emu/profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "hilt/device.hpp"
#include "hilt/error.hpp"
#include "yaml_checked.hpp"

namespace hilt::emu {

using detail::as_bool;
using detail::as_int;
using detail::as_number;
using detail::as_quantity;
using detail::as_string;
using detail::checked_map;
using detail::fail_at;

namespace {

using std::chrono::nanoseconds;

// hilt::prbs_pattern enumerates the CMIS 5.x Table 8-115 pattern IDs in order.
static_assert(static_cast<int>(hilt::prbs_pattern::prbs31q) == 0);
static_assert(static_cast<int>(hilt::prbs_pattern::prbs7) == 11);
static_assert(static_cast<int>(hilt::prbs_pattern::ssprq) == 12);

// CMIS 5.x Table 8-49 upper bounds, in milliseconds, for codes 0..12; 13 means ">= 50 min".
constexpr double duration_bounds_ms[] = {1,    5,     10,    50,     100,    500,    1000,
                                         5000, 10000, 60000, 300000, 600000, 3000000};

nanoseconds to_ns(double seconds) {
  return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(seconds));
}

// ASCII fields are space padded (CMIS 5.x §8.3: vendor name, PN, SN are ASCII, padded with 20h).
std::string ascii_field(const YAML::Node& n, const std::string& src, const char* key,
                        std::size_t max_len) {
  std::string s = as_string(n, src, key);
  if (s.size() > max_len) {
    fail_at(
        src, n,
        fmt::format("'{}' is {} characters; the field holds at most {}", key, s.size(), max_len));
  }
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) {
      fail_at(src, n, fmt::format("'{}' must be printable ASCII", key));
    }
  }
  return s;
}

// "1.4" -> {1, 4}: a "major.minor" pair of bytes.
std::pair<std::uint8_t, std::uint8_t> version_pair(const YAML::Node& n, const std::string& src,
                                                   const char* key) {
  const std::string s = as_string(n, src, key);
  unsigned major = 0, minor = 0;
  char dot = 0;
  std::istringstream in(s);
  if (!(in >> major >> dot >> minor) || dot != '.' || !in.eof() || major > 255 || minor > 255) {
    fail_at(src, n, fmt::format("'{}' expects MAJOR.MINOR (each 0..255), got '{}'", key, s));
  }
  return {static_cast<std::uint8_t>(major), static_cast<std::uint8_t>(minor)};
}

threshold_set parse_thresholds(const YAML::Node& n, const std::string& src, const char* what,
                               hilt::dimension dim, double lo, double hi, threshold_set def) {
  checked_map m(n, src, fmt::format("thresholds.{}", what),
                {"high_alarm", "low_alarm", "high_warn", "low_warn"});
  auto one = [&](const char* key, double& out) {
    if (auto v = m.get(key); v.IsDefined()) out = as_quantity(v, src, key, dim, lo, hi);
  };
  one("high_alarm", def.high_alarm);
  one("low_alarm", def.low_alarm);
  one("high_warn", def.high_warn);
  one("low_warn", def.low_warn);
  if (!(def.low_alarm <= def.low_warn && def.low_warn <= def.high_warn &&
        def.high_warn <= def.high_alarm)) {
    fail_at(src, n,
            fmt::format("thresholds.{} must satisfy low_alarm <= low_warn <= high_warn <= "
                        "high_alarm",
                        what));
  }
  return def;
}

}  // namespace

std::uint8_t duration_code(nanoseconds d) noexcept {
  const double ms = std::chrono::duration<double, std::milli>(d).count();
  for (std::uint8_t code = 0; code < 13; ++code) {
    if (ms <= duration_bounds_ms[code]) return code;
  }
  return 13;
}

nanoseconds duration_code_bound(std::uint8_t code) noexcept {
  const double ms = duration_bounds_ms[code < 13 ? code : 12];
  return to_ns(ms / 1000.0);
}

module_profile parse_profile(const YAML::Node& root, const std::string& src) {
  module_profile p;
  p.source = src;
  checked_map m(root, src, "profile",
                {"identifier",
                 "cmis_revision",
                 "vendor",
                 "firmware",
                 "hardware",
                 "lanes",
                 "media_type",
                 "connector",
                 "media_technology",
                 "wavelength",
                 "wavelength_tolerance",
                 "smf_length",
                 "power",
                 "applications",
                 "timing",
                 "thermal",
                 "electrical",
                 "optics",
                 "thresholds",
                 "prbs",
                 "link",
                 "vdm",
                 "elsfp",
                 "laser_source",
                 "faults"});

  p.identifier =
      static_cast<std::uint8_t>(as_int(m.require("identifier"), src, "identifier", 0, 255));
  {
    auto n = m.require("cmis_revision");
    auto [major, minor] = version_pair(n, src, "cmis_revision");
    if (major > 15 || minor > 15) fail_at(src, n, "'cmis_revision' digits must be 0..15");
    p.cmis_revision = static_cast<std::uint8_t>(major << 4 | minor);
  }

  {
    checked_map v(m.require("vendor"), src, "vendor",
                  {"name", "oui", "part_number", "revision", "serial", "date_code", "clei"});
    p.vendor_name = ascii_field(v.require("name"), src, "name", 16);
    {
      auto n = v.require("oui");
      const std::string s = as_string(n, src, "oui");
      unsigned b[3];
      char s1 = 0, s2 = 0;
      std::istringstream in(s);
      in >> std::hex >> b[0] >> s1 >> b[1] >> s2 >> b[2];
      if (!in || !in.eof() || (s1 != ':' && s1 != '-') || s1 != s2 || b[0] > 255 || b[1] > 255 ||
          b[2] > 255) {
        fail_at(src, n, fmt::format("'oui' expects three hex bytes like 00:11:22, got '{}'", s));
      }
      for (int i = 0; i < 3; ++i)
        p.vendor_oui[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(b[i]);
    }
    p.part_number = ascii_field(v.require("part_number"), src, "part_number", 16);
    p.revision = ascii_field(v.require("revision"), src, "revision", 2);
    p.serial = ascii_field(v.require("serial"), src, "serial", 16);
    {
      auto n = v.require("date_code");
      p.date_code = ascii_field(n, src, "date_code", 8);
      if (p.date_code.size() < 6) {
        fail_at(src, n, "'date_code' expects YYMMDD plus an optional 2-character lot code");
      }
      for (std::size_t i = 0; i < 6; ++i) {
        if (p.date_code[i] < '0' || p.date_code[i] > '9') {
          fail_at(src, n, "'date_code' expects YYMMDD plus an optional 2-character lot code");
        }
      }
    }
    if (auto n = v.get("clei"); n.IsDefined()) p.clei = ascii_field(n, src, "clei", 10);
  }
  {
    auto [a, b] = version_pair(m.require("firmware"), src, "firmware");
    p.firmware_major = a;
    p.firmware_minor = b;
  }
  if (auto n = m.get("hardware"); n.IsDefined()) {
    auto [a, b] = version_pair(n, src, "hardware");
    p.hardware_major = a;
    p.hardware_minor = b;
  }

  const YAML::Node elsfp_node = m.get("elsfp");
  if (elsfp_node.IsDefined()) {
    // An ELSFP has laser lanes and no data paths (OIF-CMIS-ELSFP): lanes and applications are
    // optional.
    checked_map e(elsfp_node, src, "elsfp",
                  {"lanes", "power", "bias", "ramp", "control", "thresholds"});
    p.elsfp.lanes = static_cast<int>(as_int(e.require("lanes"), src, "lanes", 1, 8));
    if (auto n = e.get("power"); n.IsDefined()) {
      // 1Bh:200+ is U16 in 10 uW: at most 655 mW = 28.1 dBm.
      p.elsfp.power_dbm = as_quantity(n, src, "power", hilt::dimension::power_dbm, -10, 28);
    }
    if (auto n = e.get("bias"); n.IsDefined()) {
      // 1Bh:184+ is U16 in 100 uA: at most 6.5 A.
      p.elsfp.bias_ma = as_quantity(n, src, "bias", hilt::dimension::current, 0, 6.5) * 1e3;
    }
    if (auto n = e.get("ramp"); n.IsDefined()) {
      p.elsfp.ramp = to_ns(as_quantity(n, src, "ramp", hilt::dimension::time, 0, 60));
    }
    if (auto n = e.get("control"); n.IsDefined()) {
      const std::string c = as_string(n, src, "control");
      if (c != "apc" && c != "acc") fail_at(src, n, "'control' expects apc or acc");
      p.elsfp.apc = c == "apc";
    }
    if (auto tn = e.get("thresholds"); tn.IsDefined()) {
      checked_map th(tn, src, "elsfp.thresholds", {"power", "bias"});
      if (auto n = th.get("power"); n.IsDefined()) {
        p.elsfp.power_thresholds = parse_thresholds(n, src, "power", hilt::dimension::power_dbm,
                                                    -10, 28, p.elsfp.power_thresholds);
      }
      if (auto n = th.get("bias"); n.IsDefined()) {
        const auto& d = p.elsfp.bias_thresholds;
        auto t = parse_thresholds(
            n, src, "bias", hilt::dimension::current, 0, 6.5,
            {d.high_alarm / 1e3, d.low_alarm / 1e3, d.high_warn / 1e3, d.low_warn / 1e3});
        p.elsfp.bias_thresholds = {t.high_alarm * 1e3, t.low_alarm * 1e3, t.high_warn * 1e3,
                                   t.low_warn * 1e3};
      }
    }
  }
  if (auto ln = m.get("lanes"); ln.IsDefined() || !elsfp_node.IsDefined()) {
    checked_map l(m.require("lanes"), src, "lanes", {"host", "media"});
    // More than 8 lanes use banks of 8 (CMIS 5.x §8.1, 01h:142 bits 1-0): up to 4 banks.
    p.host_lanes = static_cast<int>(as_int(l.require("host"), src, "host", 1, 32));
    p.media_lanes = static_cast<int>(as_int(l.require("media"), src, "media", 1, 32));
  } else {
    p.host_lanes = 0;
    p.media_lanes = p.elsfp.lanes;
  }
  p.media_type =
      static_cast<std::uint8_t>(as_int(m.require("media_type"), src, "media_type", 0, 255));
  if (auto n = m.get("connector"); n.IsDefined()) {
    p.connector = static_cast<std::uint8_t>(as_int(n, src, "connector", 0, 255));
  }
  if (auto n = m.get("media_technology"); n.IsDefined()) {
    p.media_technology = static_cast<std::uint8_t>(as_int(n, src, "media_technology", 0, 255));
  }
  if (auto n = m.get("wavelength"); n.IsDefined()) {
    // 01h:138-139 is U16 in 0.05 nm units: at most 3276.75 nm.
    p.wavelength_nm =
        as_quantity(n, src, "wavelength", hilt::dimension::length, 0, 3276.75e-9) * 1e9;
  }
  if (auto n = m.get("wavelength_tolerance"); n.IsDefined()) {
    p.wavelength_tolerance_nm =
        as_quantity(n, src, "wavelength_tolerance", hilt::dimension::length, 0, 3276.75e-9) * 1e9;
  }
  if (auto n = m.get("smf_length"); n.IsDefined()) {
    // 01h:132: base 0..63 times 0.1 km or 1 km (CMIS 5.x Table 8-44): at most 63 km.
    p.smf_length_km = as_quantity(n, src, "smf_length", hilt::dimension::length, 0, 63e3) / 1e3;
  }

  {
    auto pn = m.require("power");
    checked_map pw(pn, src, "power", {"class", "max", "ready", "low_power"});
    p.power_class = static_cast<int>(as_int(pw.require("class"), src, "class", 1, 8));
    // 00h:201 is U8 in 0.25 W units.
    p.max_power_w = as_quantity(pw.require("max"), src, "max", hilt::dimension::power, 0.25, 63.75);
    auto rn = pw.require("ready");
    p.ready_power_w = as_quantity(rn, src, "ready", hilt::dimension::power, 0, 63.75);
    // ModuleLowPwr draws at most 1.5 W (QSFP-DD / OSFP hardware specifications).
    p.low_power_w =
        as_quantity(pw.require("low_power"), src, "low_power", hilt::dimension::power, 0, 1.5);
    if (p.ready_power_w > p.max_power_w) {
      fail_at(src, rn,
              fmt::format("'ready' ({} W) exceeds 'max' ({} W)", p.ready_power_w, p.max_power_w));
    }
    if (p.ready_power_w < p.low_power_w) {
      fail_at(src, rn, "'ready' must not be below 'low_power'");
    }
  }

  {
    auto an = elsfp_node.IsDefined() ? m.get("applications") : m.require("applications");
    if (an.IsDefined() &&
        (!an.IsSequence() || (an.size() == 0 && !elsfp_node.IsDefined()) || an.size() > 15)) {
      fail_at(src, an, "'applications' expects a list of 1 to 15 application descriptors");
    }
    if (an.IsDefined())
      for (const auto& a : an) {
        checked_map d(a, src, "application",
                      {"host", "media", "host_lanes", "media_lanes", "host_lane_options",
                       "media_lane_options"});
        app_descriptor ad;
        ad.host_interface =
            static_cast<std::uint8_t>(as_int(d.require("host"), src, "host", 0, 254));
        ad.media_interface =
            static_cast<std::uint8_t>(as_int(d.require("media"), src, "media", 0, 255));
        auto hl = d.require("host_lanes");
        ad.host_lanes = static_cast<int>(as_int(hl, src, "host_lanes", 1, 8));
        auto ml = d.require("media_lanes");
        ad.media_lanes = static_cast<int>(as_int(ml, src, "media_lanes", 1, 8));
        if (auto n = d.get("host_lane_options"); n.IsDefined()) {
          ad.host_lane_options =
              static_cast<std::uint8_t>(as_int(n, src, "host_lane_options", 1, 255));
        }
        if (auto n = d.get("media_lane_options"); n.IsDefined()) {
          ad.media_lane_options =
              static_cast<std::uint8_t>(as_int(n, src, "media_lane_options", 1, 255));
        }
        if (ad.host_lanes > std::min(8, p.host_lanes)) {
          fail_at(src, hl,
                  fmt::format("'host_lanes' {} exceeds the module's {} host lanes", ad.host_lanes,
                              std::min(8, p.host_lanes)));
        }
        if (ad.media_lanes > std::min(8, p.media_lanes)) {
          fail_at(src, ml,
                  fmt::format("'media_lanes' {} exceeds the module's {} media lanes",
                              ad.media_lanes, std::min(8, p.media_lanes)));
        }
        p.applications.push_back(ad);
      }
  }

  {
    auto tn = m.require("timing");
    checked_map t(
        tn, src, "timing",
        {"mgmt_init", "max_module_pwr_up", "module_pwr_up", "max_module_pwr_dn", "module_pwr_dn",
         "max_dp_init", "max_dp_deinit", "max_tx_turn_on", "max_tx_turn_off", "dp_init",
         "dp_deinit", "tx_turn_on", "tx_turn_off", "config_apply"});
    auto dur = [&](const char* key, double lo, double hi) {
      return as_quantity(t.require(key), src, key, hilt::dimension::time, lo, hi);
    };
    auto opt_dur = [&](const char* key, double lo, double hi, double def) {
      auto n = t.get(key);
      return n.IsDefined() ? as_quantity(n, src, key, hilt::dimension::time, lo, hi) : def;
    };
    constexpr double hour = 3600;
    const double max_up = dur("max_module_pwr_up", 0, hour);
    const double max_dn = dur("max_module_pwr_dn", 0, hour);
    p.code_module_pwr_up = duration_code(to_ns(max_up));
    p.code_module_pwr_dn = duration_code(to_ns(max_dn));
    const double max_init = dur("max_dp_init", 0, hour);
    const double max_deinit = dur("max_dp_deinit", 0, hour);
    const double max_on = dur("max_tx_turn_on", 0, hour);
    const double max_off = dur("max_tx_turn_off", 0, hour);
    p.code_dp_init = duration_code(to_ns(max_init));
    p.code_dp_deinit = duration_code(to_ns(max_deinit));
    p.code_tx_turn_on = duration_code(to_ns(max_on));
    p.code_tx_turn_off = duration_code(to_ns(max_off));
    p.dp_init = to_ns(opt_dur("dp_init", 0, hour, max_init / 2));
    p.dp_deinit = to_ns(opt_dur("dp_deinit", 0, hour, max_deinit / 2));
    p.tx_turn_on = to_ns(opt_dur("tx_turn_on", 0, hour, max_on / 2));
    p.tx_turn_off = to_ns(opt_dur("tx_turn_off", 0, hour, max_off / 2));
    p.config_apply = to_ns(opt_dur("config_apply", 0, 60, 0.001));
    // By default the emulated module takes half of what it advertises (a well-behaved module);
    // a profile may make it take longer than advertised to exercise host timeouts.
    p.module_pwr_up = to_ns(opt_dur("module_pwr_up", 0, hour, max_up / 2));
    p.module_pwr_dn = to_ns(opt_dur("module_pwr_dn", 0, hour, max_dn / 2));
    // tMgmtInit is at most 2 s (CMIS 5.x Table 10-2); longer is allowed to test host timeouts.
    p.mgmt_init = to_ns(opt_dur("mgmt_init", 0, 60, 0.05));
  }

  if (auto tn = m.get("thermal"); tn.IsDefined()) {
    checked_map t(tn, src, "thermal",
                  {"resistance_c_per_w", "time_constant", "max_operating", "min_operating"});
    if (auto n = t.get("resistance_c_per_w"); n.IsDefined()) {
      p.thermal_resistance_c_per_w = as_number(n, src, "resistance_c_per_w", 0, 100);
    }
    if (auto n = t.get("time_constant"); n.IsDefined()) {
      p.thermal_time_constant_s =
          as_quantity(n, src, "time_constant", hilt::dimension::time, 0.001, 86400);
    }
    // 01h:146/147 are S8 degrees C.
    if (auto n = t.get("max_operating"); n.IsDefined()) {
      p.temp_max_c = as_quantity(n, src, "max_operating", hilt::dimension::temperature, -128, 127);
    }
    if (auto n = t.get("min_operating"); n.IsDefined()) {
      p.temp_min_c = as_quantity(n, src, "min_operating", hilt::dimension::temperature, -128, 127);
    }
    if (p.temp_min_c > p.temp_max_c) fail_at(src, tn, "'min_operating' exceeds 'max_operating'");
  }

  if (auto vn = m.get("electrical"); vn.IsDefined()) {
    checked_map e(vn, src, "electrical", {"vcc", "vcc_noise"});
    // 00h:16-17 is U16 in 100 uV units: at most 6.5535 V.
    if (auto n = e.get("vcc"); n.IsDefined()) {
      p.vcc_v = as_quantity(n, src, "vcc", hilt::dimension::voltage, 0, 6.5);
    }
    if (auto n = e.get("vcc_noise"); n.IsDefined()) {
      p.vcc_noise_v = as_quantity(n, src, "vcc_noise", hilt::dimension::voltage, 0, 0.5);
    }
  }

  if (auto on = m.get("optics"); on.IsDefined()) {
    checked_map o(on, src, "optics",
                  {"tx_power", "tx_power_tempco_db_per_c", "tx_bias", "tx_bias_tempco_ma_per_c",
                   "reference_temperature", "lane_spread", "rx_los"});
    // 11h:154+ is U16 in 0.1 uW: at most 6.5535 mW = 8.16 dBm.
    if (auto n = o.get("tx_power"); n.IsDefined()) {
      p.tx_power_dbm = as_quantity(n, src, "tx_power", hilt::dimension::power_dbm, -40, 8.1);
    }
    if (auto n = o.get("tx_power_tempco_db_per_c"); n.IsDefined()) {
      p.tx_power_tempco_db_per_c = as_number(n, src, "tx_power_tempco_db_per_c", -1, 1);
    }
    // 11h:170+ is U16 in 2 uA: at most 131 mA.
    if (auto n = o.get("tx_bias"); n.IsDefined()) {
      p.tx_bias_ma = as_quantity(n, src, "tx_bias", hilt::dimension::current, 0, 0.131) * 1e3;
    }
    if (auto n = o.get("tx_bias_tempco_ma_per_c"); n.IsDefined()) {
      p.tx_bias_tempco_ma_per_c = as_number(n, src, "tx_bias_tempco_ma_per_c", -5, 5);
    }
    if (auto n = o.get("reference_temperature"); n.IsDefined()) {
      p.reference_temp_c =
          as_quantity(n, src, "reference_temperature", hilt::dimension::temperature, -40, 125);
    }
    if (auto n = o.get("lane_spread"); n.IsDefined()) {
      p.lane_spread_db = as_quantity(n, src, "lane_spread", hilt::dimension::ratio_db, 0, 3);
    }
    if (auto n = o.get("rx_los"); n.IsDefined()) {
      p.rx_los_dbm = as_quantity(n, src, "rx_los", hilt::dimension::power_dbm, -40, 0);
    }
  }

  if (auto thn = m.get("thresholds"); thn.IsDefined()) {
    checked_map th(thn, src, "thresholds",
                   {"temperature", "vcc", "tx_power", "tx_bias", "rx_power"});
    using hilt::dimension;
    if (auto n = th.get("temperature"); n.IsDefined()) {
      p.temperature_thresholds = parse_thresholds(n, src, "temperature", dimension::temperature,
                                                  -128, 127.99, p.temperature_thresholds);
    }
    if (auto n = th.get("vcc"); n.IsDefined()) {
      p.vcc_thresholds =
          parse_thresholds(n, src, "vcc", dimension::voltage, 0, 6.5535, p.vcc_thresholds);
    }
    if (auto n = th.get("tx_power"); n.IsDefined()) {
      p.tx_power_thresholds = parse_thresholds(n, src, "tx_power", dimension::power_dbm, -40, 8.16,
                                               p.tx_power_thresholds);
    }
    if (auto n = th.get("tx_bias"); n.IsDefined()) {
      p.tx_bias_thresholds = parse_thresholds(
          n, src, "tx_bias", dimension::current, 0, 0.131,
          {p.tx_bias_thresholds.high_alarm / 1e3, p.tx_bias_thresholds.low_alarm / 1e3,
           p.tx_bias_thresholds.high_warn / 1e3, p.tx_bias_thresholds.low_warn / 1e3});
      auto& t = p.tx_bias_thresholds;  // stored in mA
      t = {t.high_alarm * 1e3, t.low_alarm * 1e3, t.high_warn * 1e3, t.low_warn * 1e3};
    }
    if (auto n = th.get("rx_power"); n.IsDefined()) {
      p.rx_power_thresholds = parse_thresholds(n, src, "rx_power", dimension::power_dbm, -40, 8.16,
                                               p.rx_power_thresholds);
    }
  }

  if (auto pn = m.get("prbs"); pn.IsDefined()) {
    checked_map pr(pn, src, "prbs",
                   {"host_generator", "host_checker", "media_generator", "media_checker"});
    auto patterns = [&](const char* key) -> std::uint16_t {
      auto n = pr.get(key);
      if (!n.IsDefined()) return 0;
      if (!n.IsSequence()) fail_at(src, n, fmt::format("'{}' expects a list of patterns", key));
      std::uint16_t mask = 0;
      for (const auto& e : n) {
        const std::string name = as_string(e, src, key);
        const auto id = hilt::parse_prbs_pattern(name);
        if (!id) {
          fail_at(src, e,
                  fmt::format("unknown PRBS pattern '{}' in '{}'; expected one of PRBS-31Q, "
                              "PRBS-31, PRBS-23Q, PRBS-23, PRBS-15Q, PRBS-15, PRBS-13Q, PRBS-13, "
                              "PRBS-9Q, PRBS-9, PRBS-7Q, PRBS-7, SSPRQ",
                              name, key));
        }
        mask = static_cast<std::uint16_t>(mask | 1u << static_cast<int>(*id));
      }
      return mask;
    };
    p.host_generator_patterns = patterns("host_generator");
    p.host_checker_patterns = patterns("host_checker");
    p.media_generator_patterns = patterns("media_generator");
    p.media_checker_patterns = patterns("media_checker");
  }

  if (auto ln = m.get("link"); ln.IsDefined()) {
    checked_map l(ln, src, "link",
                  {"media_bit_rate", "host_bit_rate", "sensitivity", "reference_ber", "host_ber",
                   "ber_floor", "hot_penalty", "linear"});
    if (auto n = l.get("media_bit_rate"); n.IsDefined()) {
      p.media_bit_rate =
          as_quantity(n, src, "media_bit_rate", hilt::dimension::bit_rate, 1e6, 1e12);
    }
    if (auto n = l.get("host_bit_rate"); n.IsDefined()) {
      p.host_bit_rate = as_quantity(n, src, "host_bit_rate", hilt::dimension::bit_rate, 1e6, 1e12);
    }
    if (auto n = l.get("sensitivity"); n.IsDefined()) {
      p.rx_sensitivity_dbm =
          as_quantity(n, src, "sensitivity", hilt::dimension::power_dbm, -40, 10);
    }
    if (auto n = l.get("reference_ber"); n.IsDefined()) {
      p.reference_ber = as_number(n, src, "reference_ber", 1e-15, 0.1);
    }
    if (auto n = l.get("host_ber"); n.IsDefined()) {
      p.host_ber = as_number(n, src, "host_ber", 0, 0.1);
    }
    if (auto n = l.get("ber_floor"); n.IsDefined()) {
      p.ber_floor = as_number(n, src, "ber_floor", 0, 0.1);
    }
    if (auto n = l.get("ber_floor"); n.IsDefined()) {
      p.ber_floor = as_number(n, src, "ber_floor", 0, 0.1);
    }
    if (auto n = l.get("hot_penalty"); n.IsDefined()) {
      p.hot_q_penalty_per_c = as_number(n, src, "hot_penalty", 0, 0.2);
    }
    if (auto n = l.get("linear"); n.IsDefined()) p.linear = as_bool(n, src, "linear");
  }
  if (auto n = m.get("vdm"); n.IsDefined()) p.vdm = as_bool(n, src, "vdm");

  if (auto ln = m.get("laser_source"); ln.IsDefined()) {
    checked_map l(ln, src, "laser_source", {"address", "lanes_per_laser", "loss"});
    p.laser_source.address =
        static_cast<int>(as_int(l.require("address"), src, "address", 0x03, 0x77));
    if (auto n = l.get("lanes_per_laser"); n.IsDefined()) {
      p.laser_source.lanes_per_laser = static_cast<int>(as_int(n, src, "lanes_per_laser", 1, 32));
    }
    if (auto n = l.get("loss"); n.IsDefined()) {
      p.laser_source.loss_db = as_quantity(n, src, "loss", hilt::dimension::ratio_db, 0, 40);
    }
    if (p.elsfp.lanes > 0) fail_at(src, ln, "an ELSFP ('elsfp') cannot have a 'laser_source'");
  }
  if (p.elsfp.lanes > 0 && p.identifier != 0x22) {
    fail_at(src, elsfp_node, "'elsfp' requires identifier 0x22 (OIF-ELSFP, SFF-8024 Table 4-1)");
  }
  if (auto fn = m.get("faults"); fn.IsDefined()) p.faults = parse_module_faults(fn, src);

  return p;
}

module_faults parse_module_faults(const YAML::Node& node, const std::string& src, module_faults f,
                                  std::initializer_list<const char*> ignore) {
  std::vector<const char*> keys = {"stuck_state", "garbage_page", "laser_aging_db_per_khour",
                                   "lane_dark",   "module_fault", "silent_at"};
  keys.insert(keys.end(), ignore.begin(), ignore.end());
  if (!node.IsMap()) fail_at(src, node, "expected a mapping for faults");
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node k = it->first;
    const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
    bool known = false;
    for (const char* a : keys)
      known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : keys)
        list += (list.empty() ? "" : ", ") + std::string(a);
      fail_at(src, k, fmt::format("unknown key '{}' in faults; expected one of: {}", key, list));
    }
  }
  if (auto n = node["stuck_state"]; n.IsDefined()) {
    const std::string s = as_string(n, src, "stuck_state");
    if (s == "ModulePwrUp") {
      f.stuck = stuck_state::module_pwr_up;
    } else if (s == "ModulePwrDn") {
      f.stuck = stuck_state::module_pwr_dn;
    } else if (s == "DPInit") {
      f.stuck = stuck_state::dp_init;
    } else if (s == "DPDeinit") {
      f.stuck = stuck_state::dp_deinit;
    } else if (s == "DPTxTurnOn") {
      f.stuck = stuck_state::dp_tx_turn_on;
    } else {
      fail_at(src, n,
              fmt::format("'stuck_state' expects ModulePwrUp, ModulePwrDn, DPInit, DPDeinit or "
                          "DPTxTurnOn, got '{}'",
                          s));
    }
  }
  if (auto n = node["garbage_page"]; n.IsDefined()) {
    f.garbage_page = static_cast<int>(as_int(n, src, "garbage_page", 0, 255));
  }
  if (auto n = node["laser_aging_db_per_khour"]; n.IsDefined()) {
    f.laser_aging_db_per_khour = as_number(n, src, "laser_aging_db_per_khour", 0, 100);
  }
  if (auto n = node["lane_dark"]; n.IsDefined()) {
    auto one = [&](const YAML::Node& e) {
      checked_map d(e, src, "lane_dark", {"lane", "at"});
      module_faults::dark_lane dl;
      dl.lane = static_cast<int>(as_int(d.require("lane"), src, "lane", 1, 32));
      dl.at = to_ns(as_quantity(d.require("at"), src, "at", hilt::dimension::time, 0, 1e8));
      f.dark_lanes.push_back(dl);
    };
    if (n.IsSequence()) {
      for (const auto& e : n)
        one(e);
    } else {
      one(n);
    }
  }
  if (auto n = node["silent_at"]; n.IsDefined()) {
    f.silent_at = to_ns(as_quantity(n, src, "silent_at", hilt::dimension::time, 0, 1e8));
  }
  if (auto n = node["module_fault"]; n.IsDefined()) {
    checked_map d(n, src, "module_fault", {"at", "cause"});
    f.module_fault_at =
        to_ns(as_quantity(d.require("at"), src, "at", hilt::dimension::time, 0, 1e8));
    if (auto c = d.get("cause"); c.IsDefined()) {
      f.module_fault_cause = static_cast<std::uint8_t>(as_int(c, src, "cause", 0, 255));
    }
  }
  return f;
}

module_profile load_profile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw hilt::config_error(path, "cannot open profile");
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    throw hilt::config_error(fmt::format("{}:{}:{}", path, e.mark.line + 1, e.mark.column + 1),
                             e.msg);
  }
  return parse_profile(root, path);
}

}  // namespace hilt::emu
