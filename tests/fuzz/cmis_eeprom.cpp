// libFuzzer target: the module EEPROM decoders (drivers/cmis/include/hilt/cmis/{eeprom,fields,
// sff8636,sff8472}.hpp) on arbitrary bytes.
//
// The input is an EEPROM image file exactly as `hilt eeprom decode FILE` reads it (optoe linear
// layout; the seeds are `hilt eeprom dump` images of the emulated modules and synthetic SFF-8636 /
// SFF-8472 images from make_eeprom_seeds.py). Each run:
//  - decode_eeprom(image): a report or a one-line error, never a crash; a report must be
//    printable as `hilt eeprom decode --json` prints it (nlohmann::json::dump() throws on a
//    string that is not UTF-8), and every page is either present or missing, never both;
//  - the same on the image cut down to whole 128-byte halves (decode_eeprom refuses a ragged
//    length, which would otherwise stop most mutations at the door);
//  - the field decoders on slices of the image (applications, ASCII, date code, OUI, F16 both
//    ways, SFF-8472 diagnostics with either calibration, SFF-8636 power class, code tables).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "fuzz_util.hpp"
#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/fields.hpp"
#include "hilt/cmis/page_map.hpp"
#include "hilt/cmis/sff8472.hpp"
#include "hilt/cmis/sff8636.hpp"

namespace cmis = hilt::cmis;

namespace {

// Every string of a report into JSON and out again, the way `hilt eeprom decode --json` does.
void dump_as_json(const cmis::module_report& r) {
  nlohmann::json j;
  auto add = [&](const std::string& s) { j.push_back(s); };
  for (const auto* s :
       {&r.spec_revision, &r.identifier_name, &r.memory_model, &r.vendor, &r.vendor_oui,
        &r.part_number, &r.revision, &r.serial, &r.date_code_raw, &r.date_code, &r.clei,
        &r.module_state, &r.firmware, &r.media_type, &r.connector}) {
    add(*s);
  }
  for (const auto& a : r.applications) {
    add(a.host_name);
    add(a.media_name);
  }
  for (const auto& l : r.lanes) {
    add(l.dp_state);
    add(l.config_status);
  }
  for (const auto* v : {&r.monitors, &r.diagnostics}) {
    for (const auto& m : *v) {
      add(m.name);
      add(m.unit);
      j.push_back(m.value);
    }
  }
  for (const auto& t : r.thresholds) {
    add(t.name);
    add(t.unit);
    for (double d : {t.high_alarm, t.low_alarm, t.high_warn, t.low_warn})
      j.push_back(d);
  }
  for (const auto* v : {&r.flags, &r.pages_present, &r.pages_missing, &r.warnings}) {
    for (const auto& s : *v)
      add(s);
  }
  for (const auto& [k, v] : r.details) {
    add(k);
    add(v);
  }
  try {
    (void)j.dump(2);
  } catch (const nlohmann::json::exception& e) {
    hilt::fuzz::fail(std::string("report cannot be printed as JSON: ") + e.what());
  }
}

void decode_image(std::span<const std::uint8_t> bytes) {
  const cmis::decode_result d = cmis::decode_eeprom(bytes);
  if (!d.report) {
    HILT_FUZZ_CHECK(!d.error.empty() && d.error.find('\n') == std::string::npos,
                    "no report and no one-line error: '" + d.error + "'");
    return;
  }
  const auto& r = *d.report;
  HILT_FUZZ_CHECK(r.identifier == bytes[0], "identifier is not byte 0");
  for (const auto& p : r.pages_present) {
    for (const auto& m : r.pages_missing)
      HILT_FUZZ_CHECK(p != m, "page both present and missing: " + p);
  }
  dump_as_json(r);
}

void decode_fields(std::span<const std::uint8_t> b) {
  auto slice = [&](std::size_t off, std::size_t n) {
    return off + n <= b.size() ? b.subspan(off, n) : std::span<const std::uint8_t>{};
  };
  const std::uint8_t b0 = b.empty() ? 0 : b[0];
  const std::uint8_t b1 = b.size() > 1 ? b[1] : 0;

  (void)cmis::identifier_name(b0);
  (void)cmis::is_cmis_identifier(b0);
  (void)cmis::spec_of_identifier(b0);
  (void)cmis::decode_module_state(b0);
  (void)cmis::media_type_name(b0);
  (void)cmis::decode_duration(b0);
  (void)cmis::page_label({b0, b1});
  (void)cmis::sff8636::revision_name(b0);
  (void)cmis::sff8636::revision_short(b0);
  const auto pc = cmis::sff8636::decode_power_class(b0, b1);
  HILT_FUZZ_CHECK(pc.power_class >= 1 && pc.power_class <= 8, "SFF-8636 power class out of 1..8");
  (void)cmis::sff8472::compliance_name(b0);

  // Up to 32 bytes of application descriptors; shorter spans too.
  const auto apps = cmis::decode_applications(b.subspan(0, std::min<std::size_t>(32, b.size())));
  HILT_FUZZ_CHECK(apps.size() <= 8, "more than 8 application descriptors in 32 bytes");
  (void)cmis::decode_ascii(b.subspan(0, std::min<std::size_t>(64, b.size())));
  const std::string ascii = cmis::decode_ascii(b.subspan(0, std::min<std::size_t>(16, b.size())));
  HILT_FUZZ_CHECK(hilt::fuzz::valid_utf8(ascii), "decode_ascii gave non-UTF-8");
  if (auto s = slice(0, 8); !s.empty()) {
    HILT_FUZZ_CHECK(hilt::fuzz::valid_utf8(cmis::decode_date_code(s)),
                    "decode_date_code gave non-UTF-8");
  }
  if (auto s = slice(0, 3); !s.empty()) (void)cmis::decode_oui(s);
  (void)cmis::checksum(b);

  if (b.size() >= 2) {
    (void)cmis::decode_bias_ma(b.data(), b1);
    const double v = cmis::decode_f16(b.data());
    HILT_FUZZ_CHECK(std::isfinite(v) && v >= 0, "decode_f16 out of range");
    const std::uint16_t code = cmis::encode_f16(v);
    // encode(decode(x)) must decode to the same value (the code itself may differ: 1e-12 is
    // 10 x 1e-13 too).
    const double again = cmis::decode_f16(static_cast<std::uint8_t>(code >> 8),
                                          static_cast<std::uint8_t>(code & 0xFF));
    HILT_FUZZ_CHECK(again == v || std::fabs(again - v) <= 1e-12 * std::fabs(v),
                    "F16 round trip changed the value");
  }
  if (b.size() >= 8) {
    double d = 0;
    std::memcpy(&d, b.data(), sizeof d);
    (void)cmis::encode_f16(d);
    (void)cmis::mw_to_dbm_floor(d);
  }
  // SFF-8472 diagnostics on the image as A2h, with both calibrations.
  for (std::uint8_t diag : {std::uint8_t{0x60}, std::uint8_t{0x50}, b1}) {
    (void)cmis::sff8472::decode_diagnostics(b.subspan(0, std::min<std::size_t>(256, b.size())),
                                            diag);
  }
  // optoe addresses: the inverse of from_linear.
  if (b.size() >= 4) {
    std::uint32_t lin = 0;
    std::memcpy(&lin, b.data(), 4);
    lin %= (256u * 256u + 1u) * 128u;
    const auto loc = cmis::from_linear(lin);
    HILT_FUZZ_CHECK(cmis::linear_address(loc.bank, loc.page, loc.offset) == lin ||
                        (loc.page < 0x10 && loc.bank != 0),
                    "linear_address(from_linear(x)) != x");
  }
  const cmis::eeprom_image img(b);
  (void)cmis::advertised_pages(img);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hilt::fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  decode_image(bytes);
  if (const std::size_t whole = size / 128 * 128; whole != size && whole >= 256) {
    decode_image(bytes.first(whole));
  }
  decode_fields(bytes);
  return 0;
}
