#include "hilt/cmis/eeprom.hpp"

#include <fmt/format.h>

#include "decode_util.hpp"
#include "hilt/cmis/fields.hpp"
#include "hilt/cmis/sff8472.hpp"
#include "hilt/cmis/sff8636.hpp"

namespace hilt::cmis {

std::string page_label(page_id p) {
  if (p == sff8472_a2h) return "A2h";
  if (p.page >= 0x10 && p.bank != 0) return fmt::format("{:02X}h bank {}", p.page, p.bank);
  return fmt::format("{:02X}h", p.page);
}

std::span<const std::uint8_t> eeprom_image::lower() const noexcept {
  return bytes_.size() >= 128 ? bytes_.subspan(0, 128) : std::span<const std::uint8_t>();
}

bool eeprom_image::has_page(page_id p) const noexcept {
  return page_linear_start(p) + page_linear_size(p) <= bytes_.size();
}

std::span<const std::uint8_t> eeprom_image::upper(page_id p) const noexcept {
  if (!has_page(p)) return {};
  return bytes_.subspan(page_linear_start(p), page_linear_size(p));
}

std::optional<std::uint8_t> eeprom_image::at(page_id p, int offset) const noexcept {
  const auto u = upper(p);
  if (u.empty() || offset < 128 || offset > 255) return std::nullopt;
  return u[static_cast<std::size_t>(offset - 128)];
}

mgmt_spec spec_of_identifier(std::uint8_t id) noexcept {
  if (is_cmis_identifier(id)) return mgmt_spec::cmis;
  switch (id) {  // SFF-8024 Table 4-1
    case 0x02:   // module soldered to motherboard (SFF-8472 A0h layout)
    case 0x03:   // SFP/SFP+/SFP28
    case 0x0B:   // DWDM-SFP/SFP+
      return mgmt_spec::sff8472;
    case 0x0C:  // QSFP (INF-8438)
    case 0x0D:  // QSFP+ (SFF-8436 / SFF-8636)
    case 0x11:  // QSFP28 (SFF-8636)
      return mgmt_spec::sff8636;
    default:
      return mgmt_spec::unknown;
  }
}

const char* to_string(mgmt_spec s) noexcept {
  switch (s) {
    case mgmt_spec::cmis:
      return "CMIS";
    case mgmt_spec::sff8636:
      return "SFF-8636";
    case mgmt_spec::sff8472:
      return "SFF-8472";
    case mgmt_spec::unknown:
      break;
  }
  return "unknown";
}

std::vector<page_id> advertised_pages(const eeprom_image& img) {
  std::vector<page_id> out;
  const auto lower = img.lower();
  if (lower.empty()) return out;
  const std::uint8_t id = lower[0];
  switch (spec_of_identifier(id)) {
    case mgmt_spec::cmis: {
      out.push_back({0, 0x00});
      if (lower[2] & 0x80) return out;  // flat memory: lower + page 00h (Table 8-5)
      out.push_back({0, 0x01});
      out.push_back({0, 0x02});
      const bool elsfp = id == 0x22;  // OIF-ELSFP: pages 1Ah/1Bh instead of lane pages 10h-14h
      const auto sp = img.at({0, 0x01}, 142);
      if (!sp) {
        // Page 01h not known: the pages every paged CMIS module has (§8.1).
        if (!elsfp) {
          out.push_back({0, 0x10});
          out.push_back({0, 0x11});
        }
        break;
      }
      const int banks = detail::cmis_banks(*sp);
      if (*sp & 0x04) out.push_back({0, 0x03});
      if (elsfp) {
        out.push_back({0, 0x1A});
        out.push_back({0, 0x1B});
      }
      // Banked pages, bank by bank in optoe order (bank 0 first, then bank 1, ...).
      for (int b = 0; b < banks; ++b) {
        const auto bank = static_cast<std::uint8_t>(b);
        if (!elsfp) {
          out.push_back({bank, 0x10});
          out.push_back({bank, 0x11});
        }
        if (*sp & 0x20) {  // diagnostic pages 13h-14h
          out.push_back({bank, 0x13});
          out.push_back({bank, 0x14});
        }
        if (*sp & 0x80) {  // network path pages 16h-17h
          out.push_back({bank, 0x16});
          out.push_back({bank, 0x17});
        }
        if (b == 0 && (*sp & 0x40)) {
          // VDM (bank 0): 2Fh:128 bits 1-0 = groups - 1; group g has descriptors 20h+g, values
          // 24h+g, thresholds 28h+g; flags 2Ch and masks 2Dh (Table 8-186).
          const auto groups = img.at({0, 0x2F}, 128);
          const int n = groups ? (*groups & 0x03) + 1 : 1;
          for (int g = 0; g < n; ++g)
            out.push_back({0, static_cast<std::uint8_t>(0x20 + g)});
          for (int g = 0; g < n; ++g)
            out.push_back({0, static_cast<std::uint8_t>(0x24 + g)});
          for (int g = 0; g < n; ++g)
            out.push_back({0, static_cast<std::uint8_t>(0x28 + g)});
          out.push_back({0, 0x2C});
          out.push_back({0, 0x2D});
          out.push_back({0, 0x2F});
        }
      }
      break;
    }
    case mgmt_spec::sff8636: {
      out.push_back({0, 0x00});
      if (lower[2] & 0x04) break;  // Flat_mem: page 00h only (Table 6-2)
      const auto opt = img.at({0, 0x00}, 195);
      if (opt && (*opt & 0x40)) out.push_back({0, 0x01});  // Table 6-22
      if (opt && (*opt & 0x80)) out.push_back({0, 0x02});
      out.push_back({0, 0x03});
      break;
    }
    case mgmt_spec::sff8472:
      if (img.size() >= 256 && (img.bytes()[92] & 0x40)) out.push_back(sff8472_a2h);
      break;
    case mgmt_spec::unknown:
      break;
  }
  // A page named twice (VDM 2Fh in bank loops) is listed once, at its first position.
  std::vector<page_id> unique;
  for (const auto& p : out) {
    bool seen = false;
    for (const auto& q : unique)
      seen = seen || q == p;
    if (!seen) unique.push_back(p);
  }
  return unique;
}

std::string module_report::detail(std::string_view key) const {
  for (const auto& [k, v] : details) {
    if (k == key) return v;
  }
  return {};
}

decode_result decode_eeprom(std::span<const std::uint8_t> bytes) {
  decode_result out;
  const std::size_t n = bytes.size();
  if (n == 0) {
    out.error =
        "empty file: a module EEPROM dump holds at least lower memory and upper page 00h "
        "(256 bytes, optoe layout)";
    return out;
  }
  // The identifier first: a file that is not a module image is named as such whatever its size.
  const std::uint8_t id = bytes[0];
  const mgmt_spec spec = spec_of_identifier(id);
  if (spec == mgmt_spec::unknown) {
    out.error = id >= 0x01 && id <= 0x25
                    ? fmt::format(
                          "byte 0 (SFF-8024 identifier) is 0x{:02x} ({}), a module type whose "
                          "management interface this decoder does not read (CMIS, SFF-8636 and "
                          "SFF-8472 only)",
                          id, identifier_name(id))
                    : fmt::format(
                          "not a module EEPROM: byte 0 (SFF-8024 identifier) is 0x{:02x}, which "
                          "names no module type",
                          id);
    return out;
  }
  if (n < 256) {
    out.error = fmt::format(
        "truncated: {} bytes; a module EEPROM dump holds at least lower memory and upper page "
        "00h (256 bytes, optoe layout)",
        n);
    return out;
  }
  if (n % 128 != 0) {
    out.error = fmt::format(
        "truncated: {} bytes is not a whole number of 128-byte pages (the last page has {} of "
        "128 bytes)",
        n, n % 128);
    return out;
  }
  if (spec == mgmt_spec::cmis || spec == mgmt_spec::sff8636) {
    // Upper page 00h repeats the identifier at 128 and carries a checksum (CMIS 00h:222,
    // SFF-8636 00h:191): a file where both disagree with lower memory is not a module dump.
    const std::uint8_t copy = bytes[128];
    const bool cmis = spec == mgmt_spec::cmis;
    const std::size_t last = cmis ? 221 : 190;
    const std::uint8_t stored = bytes[cmis ? 222 : 191];
    const bool sum_ok = checksum(bytes.subspan(128, last - 128 + 1)) == stored;
    if (copy != id && !sum_ok) {
      out.error = fmt::format(
          "not a module EEPROM: byte 0 says identifier 0x{:02x} ({}), but upper page 00h "
          "byte 128 is 0x{:02x} and its checksum at byte {} does not match",
          id, identifier_name(id), copy, cmis ? 222 : 191);
      return out;
    }
  } else {
    // SFF-8472 A0h: the vendor name is ASCII or the base checksum (63) holds.
    const bool sum_ok = checksum(bytes.subspan(0, 63)) == bytes[63];
    bool ascii = true;
    for (std::size_t i = 20; i < 36; ++i)
      ascii = ascii && (bytes[i] == 0 || (bytes[i] >= 0x20 && bytes[i] <= 0x7E));
    if (!sum_ok && !ascii) {
      out.error = fmt::format(
          "not a module EEPROM: byte 0 says identifier 0x{:02x} ({}), but the vendor name "
          "(A0h bytes 20-35) is not ASCII and the checksum at A0h byte 63 does not match",
          id, identifier_name(id));
      return out;
    }
  }

  const eeprom_image img(bytes);
  module_report r;
  r.identifier = id;
  r.identifier_name = identifier_name(id);
  switch (spec) {
    case mgmt_spec::cmis:
      detail::decode_cmis(img, r);
      break;
    case mgmt_spec::sff8636:
      sff8636::decode(img, r);
      break;
    case mgmt_spec::sff8472:
      sff8472::decode(img, r);
      break;
    case mgmt_spec::unknown:
      break;
  }
  for (const auto& p : advertised_pages(img)) {
    (img.has_page(p) ? r.pages_present : r.pages_missing).push_back(page_label(p));
  }
  out.report = std::move(r);
  return out;
}

}  // namespace hilt::cmis
