#include "hilt/cmis/fields.hpp"

#include <fmt/format.h>

#include <cmath>

namespace hilt::cmis {

std::string identifier_name(std::uint8_t id) {
  // SFF-8024 Rev 4.13 Table 4-1 (the module types a CMIS host meets; others print as unknown).
  switch (id) {
    case 0x01:
      return "GBIC";
    case 0x02:
      return "module soldered to motherboard";
    case 0x03:
      return "SFP/SFP+/SFP28";
    case 0x04:
      return "300 pin XBI";
    case 0x05:
      return "XENPAK";
    case 0x06:
      return "XFP";
    case 0x07:
      return "XFF";
    case 0x08:
      return "XFP-E";
    case 0x09:
      return "XPAK";
    case 0x0A:
      return "X2";
    case 0x0B:
      return "DWDM-SFP/SFP+";
    case 0x0C:
      return "QSFP";
    case 0x0D:
      return "QSFP+";
    case 0x0E:
      return "CXP";
    case 0x0F:
      return "Shielded Mini Multilane HD 4X";
    case 0x10:
      return "Shielded Mini Multilane HD 8X";
    case 0x11:
      return "QSFP28";
    case 0x12:
      return "CXP2";
    case 0x13:
      return "CDFP (style 1/2)";
    case 0x14:
      return "Shielded Mini Multilane HD 4X fanout";
    case 0x15:
      return "Shielded Mini Multilane HD 8X fanout";
    case 0x16:
      return "CDFP (style 3)";
    case 0x17:
      return "microQSFP";
    case 0x18:
      return "QSFP-DD";
    case 0x19:
      return "OSFP";
    case 0x1A:
      return "SFP-DD";
    case 0x1B:
      return "DSFP";
    case 0x1C:
      return "MiniLink x4";
    case 0x1D:
      return "MiniLink x8";
    case 0x1E:
      return "QSFP+ or later with CMIS";
    case 0x1F:
      return "SFP-DD with CMIS";
    case 0x20:
      return "SFP+ with CMIS";
    case 0x21:
      return "OSFP-XD with CMIS";
    case 0x22:
      return "OIF-ELSFP with CMIS";
    case 0x23:
      return "CDFP (x4 PCIe) with CMIS";
    case 0x24:
      return "CDFP (x8 PCIe) with CMIS";
    case 0x25:
      return "CDFP (x16 PCIe) with CMIS";
    default:
      break;
  }
  return fmt::format("unknown (0x{:02x})", id);
}

bool is_cmis_identifier(std::uint8_t id) noexcept {
  switch (id) {
    case 0x18:
    case 0x19:
    case 0x1B:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
      return true;
    default:
      return false;
  }
}

hilt::module_state decode_module_state(std::uint8_t b) noexcept {
  switch ((b >> 1) & 0x07) {
    case 1:
      return hilt::module_state::low_power;
    case 2:
      return hilt::module_state::powering_up;
    case 3:
      return hilt::module_state::ready;
    case 4:
      return hilt::module_state::powering_down;
    case 5:
      return hilt::module_state::fault;
    default:
      return hilt::module_state::unknown;  // 000b, 110b, 111b are reserved
  }
}

std::string_view media_type_name(std::uint8_t b) noexcept {
  switch (b) {  // SFF-8024 Table 4-2 ... CMIS 5.x Table 8-23 MediaType
    case 0x00:
      return "undefined";
    case 0x01:
      return "MMF";
    case 0x02:
      return "SMF";
    case 0x03:
      return "passive copper";
    case 0x04:
      return "active cable";
    case 0x05:
      return "BASE-T";
    default:
      return b >= 0x40 && b <= 0x8F ? "custom" : "reserved";
  }
}

std::chrono::milliseconds decode_duration(std::uint8_t code) noexcept {
  // CMIS 5.x Table 8-49: the code says "less than" this bound.
  static constexpr std::int64_t bounds_ms[] = {1,    5,     10,    50,     100,    500,    1000,
                                               5000, 10000, 60000, 300000, 600000, 3000000};
  return std::chrono::milliseconds(bounds_ms[code < 13 ? code : 12]);
}

std::vector<application> decode_applications(std::span<const std::uint8_t> bytes) {
  std::vector<application> out;
  for (std::size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    if (bytes[i] == 0xFF) break;  // end of the list (Table 8-25)
    application a;
    a.host_interface = bytes[i];
    a.media_interface = bytes[i + 1];
    a.host_lanes = bytes[i + 2] >> 4;
    a.media_lanes = bytes[i + 2] & 0x0F;
    a.host_lane_options = bytes[i + 3];
    if (a.host_interface == 0x00) break;  // unused slot: some modules leave zeros, not FFh
    out.push_back(a);
  }
  return out;
}

std::string decode_ascii(std::span<const std::uint8_t> bytes) {
  std::string s;
  s.reserve(bytes.size());
  for (auto b : bytes)
    s.push_back(b >= 0x20 && b <= 0x7E ? static_cast<char>(b) : (b ? '?' : ' '));
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

std::string decode_date_code(std::span<const std::uint8_t> bytes) {
  const std::string raw = decode_ascii(bytes);
  auto digit = [&](std::size_t i) { return i < raw.size() && raw[i] >= '0' && raw[i] <= '9'; };
  for (std::size_t i = 0; i < 6; ++i) {
    if (!digit(i)) return raw;
  }
  const int month = (raw[2] - '0') * 10 + (raw[3] - '0');
  const int day = (raw[4] - '0') * 10 + (raw[5] - '0');
  if (month < 1 || month > 12 || day < 1 || day > 31) return raw;  // e.g. a YYYYMMDD quirk
  std::string out = fmt::format("20{}-{}-{}", raw.substr(0, 2), raw.substr(2, 2), raw.substr(4, 2));
  if (raw.size() > 6) out += fmt::format(" lot {}", raw.substr(6));
  return out;
}

std::string decode_oui(std::span<const std::uint8_t> b) {
  if (b.size() < 3) return {};
  return fmt::format("{:02x}-{:02x}-{:02x}", b[0], b[1], b[2]);
}

std::uint8_t checksum(std::span<const std::uint8_t> bytes) noexcept {
  unsigned sum = 0;
  for (auto b : bytes)
    sum += b;
  return static_cast<std::uint8_t>(sum & 0xFF);
}

double decode_bias_ma(const std::uint8_t* p, std::uint8_t monitors_lane_byte) noexcept {
  // 2 uA LSB times the TxBiasCurrentScalingFactor (Table 8-53: 00b x1, 01b x2, 10b x4).
  const int code = (monitors_lane_byte >> 3) & 0x03;
  const double mult = code == 1 ? 2.0 : code == 2 ? 4.0 : 1.0;
  return be_u16(p) * 2e-3 * mult;
}

double mw_to_dbm_floor(double mw) noexcept {
  return mw >= 1e-4 ? 10.0 * std::log10(mw) : -40.0;
}

double decode_f16(std::uint8_t first, std::uint8_t second) noexcept {
  const int s = first >> 3;
  const int m = (first & 0x07) << 8 | second;
  return m * std::pow(10.0, s - 24);
}

std::uint16_t encode_f16(double value) noexcept {
  if (!(value >= 5e-25)) return 0;  // also NaN and negatives
  for (int s = 0; s < 32; ++s) {
    const double m = std::round(value / std::pow(10.0, s - 24));
    if (m <= 2047) return static_cast<std::uint16_t>(s << 11 | static_cast<int>(m));
  }
  return 0xFFFF;
}

}  // namespace hilt::cmis
