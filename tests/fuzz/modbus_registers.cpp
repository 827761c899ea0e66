// libFuzzer target: our side of Modbus (drivers/modbus_chamber/include/hilt/modbus_chamber/
// register_map.hpp). libmodbus parses the frames (MBAP header, function code, byte count) and
// hands the driver a block of 16-bit registers; what is ours is the register-map YAML loader and
// the decoding of those blocks: scaling, signed 16/32-bit values, word order, strings, alarm bits.
//
// Input layout:
//   <register map YAML>        empty: the shipped watlow-f4t map
//   #%raw                      a line of its own; the rest are register values, big-endian
//   <bytes>                    16-bit words, as they arrive on the wire
// Each run:
//  - the map text through YAML::Load + parse_map, as load_map() does: config_error (or YAML's
//    syntax error, which load_map turns into one) for bad input, nothing else; a map that loads
//    has the required registers, no two registers overlap, none runs past 65535, and at_address()
//    finds each register at each of its addresses;
//  - every register of the map (or watlow-f4t's) decoded from the raw block at its offset, as
//    the chamber driver does after a read: a numeric value is finite and encode() gives back the
//    very registers it came from (both word orders); a string is printable ASCII; the alarm word
//    named by alarm_bits as the driver names it.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "hilt/error.hpp"
#include "hilt/modbus_chamber/register_map.hpp"

namespace mc = hilt::modbus_chamber;

namespace {

const mc::register_map& shipped_map() {
  static const mc::register_map m = mc::load_named_map("watlow-f4t");
  return m;
}

std::optional<mc::register_map> load(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return std::nullopt;  // load_map(): "YAML syntax error" config_error
  }
  try {
    return mc::parse_map(root, "fuzz-map.yaml");
  } catch (const hilt::config_error& e) {
    HILT_FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz-map.yaml"),
                    std::string("error without its file: ") + e.what());
    return std::nullopt;
  }
}

void check_map(const mc::register_map& m) {
  for (const char* name : mc::required_registers)
    HILT_FUZZ_CHECK(m.find(name) != nullptr, std::string("map without required register ") + name);
  for (const auto& [name, r] : m.registers) {
    HILT_FUZZ_CHECK(r.count >= 1 && r.address + r.count <= 65536,
                    "register outside 0..65535: " + name);
    HILT_FUZZ_CHECK(r.scale != 0 && std::isfinite(r.scale), "register with scale 0: " + name);
    for (unsigned a = r.address; a < r.address + r.count; ++a) {
      const auto* at = m.at_address(static_cast<std::uint16_t>(a));
      HILT_FUZZ_CHECK(at != nullptr && at->name == name, "at_address does not find " + name);
    }
  }
}

void decode_all(const mc::register_map& m, std::span<const std::uint16_t> raw) {
  if (raw.empty()) return;
  for (const auto& [name, r] : m.registers) {
    // The block as the driver reads it: r.count registers (the fuzz block wraps around).
    std::vector<std::uint16_t> block(r.count);
    for (std::size_t i = 0; i < block.size(); ++i)
      block[i] = raw[(r.address + i) % raw.size()];
    if (r.type == mc::reg_type::string) {
      const std::string s = mc::decode_string(block);
      HILT_FUZZ_CHECK(s.size() <= 2u * r.count, "decode_string longer than its registers");
      for (char c : s)
        HILT_FUZZ_CHECK(c >= 0x20 && c < 0x7F, "decode_string gave a non-printable byte");
      (void)mc::encode_string(s, r.count);
      continue;
    }
    HILT_FUZZ_CHECK(
        !mc::decode(r, std::span<const std::uint16_t>(block).first(block.size() - 1), true),
        "decode of a short block gave a value: " + name);
    for (bool high_first : {true, false}) {
      const auto v = mc::decode(r, block, high_first);
      HILT_FUZZ_CHECK(v.has_value(), "decode of a whole block gave nothing: " + name);
      HILT_FUZZ_CHECK(std::isfinite(*v), "decode gave a non-finite value: " + name);
      const auto back = mc::encode(r, *v, high_first);
      HILT_FUZZ_CHECK(back.has_value() && *back == block,
                      "encode(decode(raw)) is not raw for register " + name);
    }
  }
  // The alarm word as chamber.cpp reads it: every bit set is a named alarm or "bitN".
  if (const auto* a = m.find("alarms")) {
    const std::uint16_t bits = raw[a->address % raw.size()];
    for (int b = 0; b < 16; ++b) {
      if (!(bits & (1u << b))) continue;
      HILT_FUZZ_CHECK(b >= 0 && b < 16, "alarm bit out of range");
      (void)m.alarm_bits.count(b);
    }
    for (const auto& [bit, name] : m.alarm_bits)
      HILT_FUZZ_CHECK(bit >= 0 && bit < 16, "alarm_bits names bit " + std::to_string(bit));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hilt::fuzz::quiet_logs();
  (void)shipped_map();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return -1;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view text = in, bytes;
  if (const auto sep = in.find("#%raw\n"); sep != std::string_view::npos) {
    text = in.substr(0, sep);
    bytes = in.substr(sep + 6);
  }
  std::optional<mc::register_map> fuzzed;
  if (!text.empty()) {
    fuzzed = load(std::string(text));
    if (fuzzed) check_map(*fuzzed);
  }
  std::vector<std::uint16_t> raw(bytes.size() / 2);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    raw[i] = static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[2 * i]) << 8 |
                                        static_cast<unsigned char>(bytes[2 * i + 1]));
  }
  decode_all(fuzzed ? *fuzzed : shipped_map(), raw);
  // Values the driver writes: set points and ramp rates from the bytes, through every numeric
  // register: encode refuses what does not fit, and what it accepts decodes to the rounded value.
  if (bytes.size() >= sizeof(double)) {
    double v = 0;
    std::memcpy(&v, bytes.data(), sizeof v);
    for (const auto& [name, r] : (fuzzed ? *fuzzed : shipped_map()).registers) {
      if (r.type == mc::reg_type::string) continue;
      if (const auto enc = mc::encode(r, v, true)) {
        HILT_FUZZ_CHECK(enc->size() == r.count,
                        "encode gave the wrong number of registers: " + name);
        const auto dec = mc::decode(r, *enc, true);
        HILT_FUZZ_CHECK(dec && std::fabs(*dec * r.scale - std::round(v * r.scale)) <= 0.5,
                        "decode(encode(v)) is not v for register " + name);
      }
    }
  }
  return 0;
}
