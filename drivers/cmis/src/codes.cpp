#include "hilt/cmis/codes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace hilt::cmis {

namespace {

struct code_name {
  std::uint8_t code;
  const char* name;
};

template <std::size_t N>
const char* lookup(const code_name (&table)[N], std::uint8_t code) noexcept {
  for (const auto& e : table) {
    if (e.code == code) return e.name;
  }
  return nullptr;
}

// SFF-8024 Rev 4.13 Table 4-5 (host electrical interface IDs): the codes CMIS modules advertise
// in practice; others print as "unknown (0xNN)".
constexpr code_name host_ids[] = {
    {0x00, "Undefined"},
    {0x01, "1000BASE-CX"},
    {0x02, "XAUI"},
    {0x03, "XFI"},
    {0x04, "SFI"},
    {0x05, "25GAUI C2M"},
    {0x06, "XLAUI C2M"},
    {0x07, "XLPPI"},
    {0x08, "LAUI-2 C2M"},
    {0x09, "50GAUI-2 C2M"},
    {0x0A, "50GAUI-1 C2M"},
    {0x0B, "CAUI-4 C2M"},
    {0x0C, "100GAUI-4 C2M"},
    {0x0D, "100GAUI-2 C2M"},
    {0x0E, "200GAUI-8 C2M"},
    {0x0F, "200GAUI-4 C2M"},
    {0x10, "400GAUI-16 C2M"},
    {0x11, "400GAUI-8 C2M"},
    {0x13, "10GBASE-CX4"},
    {0x14, "25GBASE-CR CA-L"},
    {0x15, "25GBASE-CR CA-S"},
    {0x16, "25GBASE-CR CA-N"},
    {0x17, "40GBASE-CR4"},
    {0x18, "50GBASE-CR"},
    {0x19, "100GBASE-CR10"},
    {0x1A, "100GBASE-CR4"},
    {0x1B, "100GBASE-CR2"},
    {0x1C, "200GBASE-CR4"},
    {0x1D, "400G CR8"},
    {0x1E, "1000BASE-T"},
    {0x1F, "2.5GBASE-T"},
    {0x20, "5GBASE-T"},
    {0x21, "10GBASE-T"},
    {0x22, "25GBASE-T"},
    {0x23, "40GBASE-T"},
    {0x24, "50GBASE-T"},
    {0x25, "8GFC"},
    {0x26, "10GFC"},
    {0x27, "16GFC"},
    {0x28, "32GFC"},
    {0x29, "64GFC"},
    {0x2A, "128GFC"},
    {0x2B, "256GFC"},
    {0x41, "CAUI-4 C2M without FEC"},
    {0x42, "CAUI-4 C2M with RS(528,514) FEC"},
    {0x46, "100GBASE-CR1"},
    {0x47, "200GBASE-CR2"},
    {0x48, "400GBASE-CR4"},
    {0x49, "800G-ETC-CR8"},
    {0x4B, "100GAUI-1-S C2M"},
    {0x4C, "100GAUI-1-L C2M"},
    {0x4D, "200GAUI-2-S C2M"},
    {0x4E, "200GAUI-2-L C2M"},
    {0x4F, "400GAUI-4-S C2M"},
    {0x50, "400GAUI-4-L C2M"},
    {0x51, "800GAUI-8 S C2M"},
    {0x52, "800GAUI-8 L C2M"},
    {0x55, "1.6TAUI-16-S C2M"},
    {0x56, "1.6TAUI-16-L C2M"},
    {0x57, "800GBASE-CR4"},
    {0x58, "1.6TBASE-CR8"},
    {0x74, "CEI-112G-LINEAR-PAM4"},
    {0x80, "200GAUI-1 C2M"},
    {0x81, "400GAUI-2 C2M"},
    {0x82, "800GAUI-4 C2M"},
    {0x83, "1.6TAUI-8 C2M"},
    {0xFF, "End of list"},
};

// SFF-8024 Table 4-6: MMF media interface IDs.
constexpr code_name mmf_ids[] = {
    {0x00, "Undefined"},     {0x01, "10GBASE-SW"},   {0x02, "10GBASE-SR"},
    {0x03, "25GBASE-SR"},    {0x04, "40GBASE-SR4"},  {0x05, "40GE SWDM4"},
    {0x06, "40GE BiDi"},     {0x07, "50GBASE-SR"},   {0x08, "100GBASE-SR10"},
    {0x09, "100GBASE-SR4"},  {0x0A, "100GE SWDM4"},  {0x0B, "100GE BiDi"},
    {0x0C, "100GBASE-SR2"},  {0x0D, "100G-SR"},      {0x0E, "200GBASE-SR4"},
    {0x0F, "400GBASE-SR16"}, {0x10, "400GBASE-SR8"}, {0x11, "400G-SR4"},
    {0x12, "800G-SR8"},      {0x13, "8GFC-MM"},      {0x14, "10GFC-MM"},
    {0x15, "16GFC-MM"},      {0x16, "32GFC-MM"},     {0x17, "64GFC-MM"},
    {0x18, "128GFC-MM4"},    {0x19, "256GFC-MM4"},   {0x1A, "400GBASE-SR4.2"},
};

// SFF-8024 Table 4-7: SMF media interface IDs.
constexpr code_name smf_ids[] = {
    {0x00, "Undefined"},
    {0x01, "10GBASE-LW"},
    {0x02, "10GBASE-EW"},
    {0x03, "10G-ZW"},
    {0x04, "10GBASE-LR"},
    {0x05, "10GBASE-ER"},
    {0x06, "10G-ZR"},
    {0x07, "25GBASE-LR"},
    {0x08, "25GBASE-ER"},
    {0x09, "40GBASE-LR4"},
    {0x0A, "40GBASE-FR"},
    {0x0B, "50GBASE-FR"},
    {0x0C, "50GBASE-LR"},
    {0x0D, "100GBASE-LR4"},
    {0x0E, "100GBASE-ER4"},
    {0x0F, "100G PSM4"},
    {0x10, "100G CWDM4"},
    {0x11, "100G 4WDM-10"},
    {0x12, "100G 4WDM-20"},
    {0x13, "100G 4WDM-40"},
    {0x14, "100GBASE-DR"},
    {0x15, "100G-FR/100GBASE-FR1"},
    {0x16, "100G-LR/100GBASE-LR1"},
    {0x17, "200GBASE-DR4"},
    {0x18, "200GBASE-FR4"},
    {0x19, "200GBASE-LR4"},
    {0x1A, "400GBASE-FR8"},
    {0x1B, "400GBASE-LR8"},
    {0x1C, "400GBASE-DR4"},
    {0x1D, "400G-FR4/400GBASE-FR4"},
    {0x1E, "400G-LR4-10"},
    {0x3E, "400ZR DWDM amplified"},
    {0x3F, "400ZR unamplified"},
    {0x43, "400GBASE-LR4-6"},
    {0x46, "ZR400-OFEC-16QAM"},
    {0x47, "ZR300-OFEC-8QAM"},
    {0x48, "ZR200-OFEC-QPSK"},
    {0x49, "ZR100-OFEC-QPSK"},
    {0x55, "400GBASE-DR4-2"},
    {0x56, "800GBASE-DR8"},
    {0x57, "800GBASE-DR8-2"},
    {0x73, "200GBASE-DR1"},
    {0x75, "400GBASE-DR2"},
    {0x77, "800GBASE-DR4"},
    {0x7A, "800GBASE-FR4"},
    {0x7B, "800GBASE-LR4"},
    {0x7C, "800GBASE-LR1"},
    {0x7F, "1.6TBASE-DR8"},
};

// SFF-8024 Tables 4-8 (passive copper), 4-9 (active cable), 4-10 (BASE-T).
constexpr code_name copper_ids[] = {
    {0x00, "Undefined"}, {0x01, "Copper cable"}, {0xBF, "Passive loopback module"}};
constexpr code_name active_ids[] = {{0x00, "Undefined"},
                                    {0x01, "Active cable assembly with BER < 1e-12"},
                                    {0x02, "Active cable assembly with BER < 5e-5"},
                                    {0x03, "Active cable assembly with BER < 2.6e-4"},
                                    {0x04, "Active cable assembly with BER < 1e-6"},
                                    {0xBF, "Active loopback module"}};
constexpr code_name base_t_ids[] = {{0x00, "Undefined"}, {0x01, "1000BASE-T"}, {0x02, "2.5GBASE-T"},
                                    {0x03, "5GBASE-T"},  {0x04, "10GBASE-T"},  {0x05, "25GBASE-T"},
                                    {0x06, "40GBASE-T"}, {0x07, "50GBASE-T"}};

// SFF-8024 Table 4-3: connector types.
constexpr code_name connectors[] = {
    {0x00, "Unknown or unspecified"},
    {0x01, "SC"},
    {0x02, "FC Style 1 copper connector"},
    {0x03, "FC Style 2 copper connector"},
    {0x04, "BNC/TNC"},
    {0x05, "FC coax headers"},
    {0x06, "Fiberjack"},
    {0x07, "LC"},
    {0x08, "MT-RJ"},
    {0x09, "MU"},
    {0x0A, "SG"},
    {0x0B, "Optical pigtail"},
    {0x0C, "MPO 1x12"},
    {0x0D, "MPO 2x16"},
    {0x20, "HSSDC II"},
    {0x21, "Copper pigtail"},
    {0x22, "RJ45"},
    {0x23, "No separable connector"},
    {0x24, "MXC 2x16"},
    {0x25, "CS optical connector"},
    {0x26, "SN optical connector"},
    {0x27, "MPO 2x12"},
    {0x28, "MPO 1x16"},
};

// CMIS 5.x Table 8-40 MediaInterfaceTechnology (00h:212).
constexpr code_name technologies[] = {
    {0x00, "850 nm VCSEL"},
    {0x01, "1310 nm VCSEL"},
    {0x02, "1550 nm VCSEL"},
    {0x03, "1310 nm FP"},
    {0x04, "1310 nm DFB"},
    {0x05, "1550 nm DFB"},
    {0x06, "1310 nm EML"},
    {0x07, "1550 nm EML"},
    {0x08, "Others"},
    {0x09, "1490 nm DFB"},
    {0x0A, "Copper cable unequalized"},
    {0x0B, "Copper cable passive equalized"},
    {0x0C, "Copper cable, near and far end limiting active equalizers"},
    {0x0D, "Copper cable, far end limiting active equalizers"},
    {0x0E, "Copper cable, near end limiting active equalizers"},
    {0x0F, "Copper cable, linear active equalizers"},
    {0x10, "C-band tunable laser"},
    {0x11, "L-band tunable laser"},
};

std::string or_unknown(const char* name, std::uint8_t code, const char* what = "unknown") {
  return name ? std::string(name) : fmt::format("{} (0x{:02x})", what, code);
}

}  // namespace

std::string host_interface_name(std::uint8_t id) {
  if (id >= 0xC0 && id <= 0xFE) return fmt::format("custom (0x{:02x})", id);
  return or_unknown(lookup(host_ids, id), id);
}

std::string media_interface_name(std::uint8_t media_type, std::uint8_t id) {
  if (id >= 0xC0 && id <= 0xFE && id != 0xBF) return fmt::format("custom (0x{:02x})", id);
  switch (media_type) {
    case 0x01:
      return or_unknown(lookup(mmf_ids, id), id);
    case 0x02:
      return or_unknown(lookup(smf_ids, id), id);
    case 0x03:
      return or_unknown(lookup(copper_ids, id), id);
    case 0x04:
      return or_unknown(lookup(active_ids, id), id);
    case 0x05:
      return or_unknown(lookup(base_t_ids, id), id);
    default:
      break;
  }
  return fmt::format("0x{:02x} (media type 0x{:02x})", id, media_type);
}

std::string connector_name(std::uint8_t id) {
  if (id >= 0x80) return fmt::format("vendor specific (0x{:02x})", id);
  return or_unknown(lookup(connectors, id), id, "reserved");
}

std::string media_technology_name(std::uint8_t id) {
  return or_unknown(lookup(technologies, id), id, "reserved");
}

std::string_view dp_state_name(std::uint8_t code) noexcept {
  switch (code) {
    case 1:
      return "DPDeactivated";
    case 2:
      return "DPInit";
    case 3:
      return "DPDeinit";
    case 4:
      return "DPActivated";
    case 5:
      return "DPTxTurnOn";
    case 6:
      return "DPTxTurnOff";
    case 7:
      return "DPInitialized";
    default:
      return "reserved";
  }
}

std::string_view module_state_name(std::uint8_t code) noexcept {
  switch (code) {
    case 1:
      return "ModuleLowPwr";
    case 2:
      return "ModulePwrUp";
    case 3:
      return "ModuleReady";
    case 4:
      return "ModulePwrDn";
    case 5:
      return "ModuleFault";
    default:
      return "reserved or unknown";
  }
}

std::string module_fault_cause_name(std::uint8_t code) {
  switch (code) {
    case 0:
      return "No fault detected";
    case 1:
      return "TEC runaway";
    case 2:
      return "Data memory corrupted";
    case 3:
      return "Program memory corrupted";
    default:
      break;
  }
  if (code >= 32 && code <= 63) return fmt::format("custom fault (0x{:02x})", code);
  return fmt::format("reserved (0x{:02x})", code);
}

std::string_view config_status_name(std::uint8_t code) noexcept {
  switch (code) {
    case 0:
      return "ConfigUndefined";
    case 1:
      return "ConfigSuccess";
    case 2:
      return "ConfigRejected";
    case 3:
      return "ConfigRejectedInvalidAppSel";
    case 4:
      return "ConfigRejectedInvalidDataPath";
    case 5:
      return "ConfigRejectedInvalidSI";
    case 6:
      return "ConfigRejectedLanesInUse";
    case 7:
      return "ConfigRejectedPartialDataPath";
    case 12:
      return "ConfigInProgress";
    default:
      return code >= 13 ? "custom" : "reserved";
  }
}

namespace {
constexpr const char* pattern_names[16] = {
    "PRBS-31Q", "PRBS-31", "PRBS-23Q", "PRBS-23", "PRBS-15Q", "PRBS-15",  "PRBS-13Q", "PRBS-13",
    "PRBS-9Q",  "PRBS-9",  "PRBS-7Q",  "PRBS-7",  "SSPRQ",    "reserved", "custom",   "user"};
}

std::string_view prbs_pattern_name(std::uint8_t id) noexcept {
  return pattern_names[id & 0x0F];
}

int prbs_pattern_id(std::string_view name) noexcept {
  auto norm = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '-' || c == '_' || c == ' ') continue;
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out;
  };
  const std::string n = norm(name);
  for (int i = 0; i <= 12; ++i) {
    if (norm(pattern_names[i]) == n) return i;
  }
  return -1;
}

void append_module_flags(std::vector<std::string>& out, std::uint8_t b8, std::uint8_t b9,
                         std::uint8_t b10, std::uint8_t b11) {
  static constexpr const char* names8[8] = {"module_state_changed",
                                            "module_firmware_error",
                                            "datapath_firmware_error",
                                            "abnormal_firmware_indication",
                                            nullptr,
                                            nullptr,
                                            "cdb1_command_complete",
                                            "cdb2_command_complete"};
  for (int i = 0; i < 8; ++i) {
    if ((b8 >> i & 1) && names8[i]) out.emplace_back(names8[i]);
  }
  // Nibbles: bit 0 high alarm, 1 low alarm, 2 high warning, 3 low warning.
  static constexpr const char* levels[4] = {"high_alarm", "low_alarm", "high_warn", "low_warn"};
  auto nibble = [&](int v, const char* what) {
    for (int i = 0; i < 4; ++i) {
      if (v >> i & 1) out.push_back(fmt::format("{}_{}", what, levels[i]));
    }
  };
  nibble(b9 & 0x0F, "temperature");
  nibble(b9 >> 4, "vcc");
  nibble(b10 & 0x0F, "aux1");
  nibble(b10 >> 4, "aux2");
  nibble(b11 & 0x0F, "aux3");
  nibble(b11 >> 4, "custom");
}

void append_lane_flags(std::vector<std::string>& out, std::span<const std::uint8_t> bytes,
                       int bank) {
  static constexpr const char* names[20] = {"dp_state_changed",
                                            "tx_fault",
                                            "tx_los",
                                            "tx_cdr_lol",
                                            "tx_adaptive_eq_fail",
                                            "tx_power_high_alarm",
                                            "tx_power_low_alarm",
                                            "tx_power_high_warn",
                                            "tx_power_low_warn",
                                            "tx_bias_high_alarm",
                                            "tx_bias_low_alarm",
                                            "tx_bias_high_warn",
                                            "tx_bias_low_warn",
                                            "rx_los",
                                            "rx_cdr_lol",
                                            "rx_power_high_alarm",
                                            "rx_power_low_alarm",
                                            "rx_power_high_warn",
                                            "rx_power_low_warn",
                                            "output_status_rx_changed"};
  for (std::size_t f = 0; f < 20 && f < bytes.size(); ++f) {
    for (int l = 0; l < 8; ++l) {
      if (bytes[f] >> l & 1) out.push_back(fmt::format("{} lane {}", names[f], bank * 8 + l + 1));
    }
  }
}

const char* vdm_observable_name(std::uint8_t type, hilt::side& side) noexcept {
  // VDM observable types (CMIS 5.x Table 8-174; SONiC codes VDM_TYPE). Odd pre-FEC types are
  // media input, even are host input.
  side = hilt::side::none;
  switch (type) {
    case 1:
      return "laser_age";
    case 2:
      return "tec_current";
    case 3:
      return "laser_frequency_error";
    case 4:
      return "laser_temperature";
    case 5:
      side = hilt::side::media;
      return "esnr";
    case 6:
      side = hilt::side::host;
      return "esnr";
    case 7:
      side = hilt::side::media;
      return "pam4_ltp";
    case 8:
      side = hilt::side::host;
      return "pam4_ltp";
    default:
      break;
  }
  if (type >= 9 && type <= 16) {
    side = (type % 2) ? hilt::side::media : hilt::side::host;
    static constexpr const char* names[4] = {"pre_fec_ber_min", "pre_fec_ber_max",
                                             "pre_fec_ber_avg", "pre_fec_ber_current"};
    return names[(type - 9) / 2];
  }
  if (type >= 17 && type <= 24) {
    side = (type % 2) ? hilt::side::media : hilt::side::host;
    static constexpr const char* names[4] = {"errored_frames_min", "errored_frames_max",
                                             "errored_frames_avg", "errored_frames_current"};
    return names[(type - 17) / 2];
  }
  return nullptr;
}

}  // namespace hilt::cmis
