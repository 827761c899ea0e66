// Module EEPROM images in the Linux optoe linear layout, and their decoding.
//
// Layout (SONiC sonic_xcvr `CmisPage.linear_offset`, Linux optoe): lower memory at offsets
// 0-127; the upper half (bytes 128-255) of page P of bank K at (K * 256 + P) * 128 + 128 .. +255,
// with K = 0 for pages below 10h. So upper page 00h is 128-255, page 01h 256-383, page 11h
// 2304-2431, page 10h of bank 1 (256 + 16) * 128 + 128. SFF-8636 uses the same formula (bank 0);
// SFF-8472 keeps A0h at 0-255 and A2h at 256-511.
//
// decode_eeprom() turns such an image — a whole dump, or only lower memory and page 00h, as many
// real captures are — into a module_report: identity, power class, module state, media,
// applications, data path states, monitors, thresholds and flags of whatever pages the image
// holds, and the pages the module advertises that the image lacks ("missing"). It handles CMIS
// 3.0-5.x (paged and flat memory), SFF-8636 and SFF-8472. It is a pure function over bytes (no
// coroutines, no I/O): bounds-checked everywhere, so any input gives a report or a one-line
// error, never a crash (a libFuzzer target can drive it directly).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hilt/device.hpp"

namespace hilt::cmis {

// One upper page of the optoe layout.
struct page_id {
  std::uint8_t bank = 0;
  std::uint8_t page = 0;
  friend bool operator==(const page_id&, const page_id&) = default;
};
// "01h", "11h" (bank 0 of a banked page), "11h bank 1"; "A2h" for SFF-8472's second address.
std::string page_label(page_id p);
// SFF-8472's A2h (the 256 bytes at I2C address 0x51), stored at 256-511 of the image.
inline constexpr page_id sff8472_a2h{0xFF, 0xA2};
// Start of the upper half of (bank, page) in the optoe layout: (bank * 256 + page) * 128 + 128
// (256 for SFF-8472 A2h).
constexpr std::size_t page_linear_start(page_id p) noexcept {
  if (p == sff8472_a2h) return 256;
  const std::size_t bank = p.page < 0x10 ? 0 : p.bank;
  return (bank * 256 + p.page) * 128 + 128;
}
// Bytes the page occupies in the image: 128 (256 for A2h).
constexpr std::size_t page_linear_size(page_id p) noexcept {
  return p == sff8472_a2h ? 256 : 128;
}

// A read-only view of an optoe-layout image.
class eeprom_image {
 public:
  explicit eeprom_image(std::span<const std::uint8_t> bytes) noexcept : bytes_(bytes) {}

  std::size_t size() const noexcept { return bytes_.size(); }
  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  bool has_lower() const noexcept { return bytes_.size() >= 128; }
  // Lower memory (128 bytes), empty when the image is shorter.
  std::span<const std::uint8_t> lower() const noexcept;
  // The whole upper half of a page lies within the image.
  bool has_page(page_id p) const noexcept;
  // The upper half of a page (128 bytes, index 0 = byte 128; A2h: 256 bytes, index 0 = byte 0),
  // empty when absent.
  std::span<const std::uint8_t> upper(page_id p) const noexcept;
  // Byte `offset` (128-255) of a page; nullopt when the page is absent.
  std::optional<std::uint8_t> at(page_id p, int offset) const noexcept;

 private:
  std::span<const std::uint8_t> bytes_;
};

// Which management specification an image (or a module) follows, from its identifier (00h:0,
// SFF-8024 Table 4-1).
enum class mgmt_spec { unknown, cmis, sff8636, sff8472 };
mgmt_spec spec_of_identifier(std::uint8_t id) noexcept;
const char* to_string(mgmt_spec s) noexcept;

// The pages a module advertises beyond lower memory, in optoe order, judged from what the image
// already holds (a page that tells which pages exist must be read before the pages it names; the
// list grows as more of them are known):
//  - CMIS paged: 00h, 01h, 02h, then from 01h:142 (Table 8-47) 03h, 10h/11h per bank, 13h/14h per
//    bank (bit 5), 16h/17h per bank (bit 7), VDM 2Fh and 20h-2Dh per 2Fh:128 (bit 6); ELSFP
//    (identifier 22h) 1Ah and 1Bh. Without 01h: 00h, 01h, 02h, 10h, 11h (CMIS 5.x §8.1).
//    CMIS flat memory: 00h only.
//  - SFF-8636: 00h; unless flat (00h:2.2) 03h, and 01h / 02h as 00h:195 bits 6 / 7 say.
//  - SFF-8472: A2h when A0h:92.6 (digital diagnostics) is set.
std::vector<page_id> advertised_pages(const eeprom_image& img);

// ---- the decoded report ------------------------------------------------------------------------

struct report_application {
  int appsel = 0;  // 1-15: the AppSel code that selects it
  std::uint8_t host_id = 0, media_id = 0;
  std::string host_name, media_name;
  int host_lanes = 0, media_lanes = 0;
  std::uint8_t host_lane_options = 0;
  std::optional<std::uint8_t> media_lane_options;  // 01h:176-190, when page 01h is present
};

struct report_value {
  std::string name;  // "temperature", "vcc", "tx_bias", "tx_power", "rx_power", "pre_fec_ber", ...
  int lane = -1;     // 1-based (bank * 8 + lane); -1 module-level
  hilt::side side = hilt::side::none;
  double value = 0;
  std::string unit;  // "C", "V", "mA", "dBm", "mW", "" (ratios such as BER)
};

struct report_thresholds {
  std::string name;  // "temperature", "vcc", "tx_power", "tx_bias", "rx_power", ...
  std::string unit;
  double high_alarm = 0, low_alarm = 0, high_warn = 0, low_warn = 0;
};

struct report_lane {
  int lane = 0;                     // host lane, 1-based across banks
  std::string dp_state;             // CMIS 11h:128-131 (Table 8-94)
  std::string config_status;        // 11h:202-205
  int active_appsel = -1;           // 11h:206-213 bits 7-4; -1 unknown
  std::optional<bool> tx_disabled;  // 10h:130 (media lane of the same number)
  std::optional<bool> dp_deinit;    // 10h:128
};

struct module_report {
  mgmt_spec spec = mgmt_spec::unknown;
  std::string spec_revision;  // "5.0"; SFF-8636 "2.5-2.7"; SFF-8472 "12.3"
  std::uint8_t identifier = 0;
  std::string identifier_name;
  std::string memory_model;  // "paged" | "flat"
  std::string vendor, vendor_oui, part_number, revision, serial;
  std::string date_code_raw;  // the 8 ASCII bytes as stored (trailing spaces dropped)
  std::string date_code;      // "2025-01-15" (+ " lot LL"), or the raw text when not a date
  std::string clei;
  std::optional<int> power_class;
  std::optional<double> max_power_w;
  std::string module_state;  // "ModuleReady", "reserved or unknown", SFF-8636 "Ready", ...
  std::optional<std::uint8_t> module_state_code;  // CMIS 00h:3 bits 3-1
  std::string firmware;                           // active firmware "major.minor" (CMIS)
  std::uint8_t media_type_code = 0;
  std::string media_type;
  std::optional<std::uint8_t> connector_code;
  std::string connector;
  std::vector<report_application> applications;
  std::vector<report_lane> lanes;
  std::vector<report_value> monitors;
  std::vector<report_thresholds> thresholds;
  std::vector<std::string> flags;         // every latched flag that is set, by name
  std::vector<report_value> diagnostics;  // PRBS BER, VDM observables, ELSFP laser monitors
  // Everything else, in print order: (key, value), e.g. ("media_technology", "1310 nm EML").
  std::vector<std::pair<std::string, std::string>> details;
  std::vector<std::string> pages_present;  // "00h", "01h", "11h", "11h bank 1", "A2h"
  std::vector<std::string> pages_missing;  // advertised (or required) but not in the image
  std::vector<std::string> warnings;       // checksum mismatches, unusual encodings

  // The value of a detail, or "" when absent.
  std::string detail(std::string_view key) const;
};

// The outcome of decode_eeprom: a report, or why the bytes are not a module EEPROM image.
struct decode_result {
  std::optional<module_report> report;
  std::string error;  // one line, set when report is empty
};

// Decodes an optoe-layout image. Errors (report empty): an empty image; an image shorter than
// lower memory + page 00h (256 bytes) or not a whole number of 128-byte halves ("truncated");
// an identifier byte that is no SFF-8024 module identifier, or an upper page 00h that contradicts
// lower memory ("not a module EEPROM").
decode_result decode_eeprom(std::span<const std::uint8_t> bytes);

}  // namespace hilt::cmis
