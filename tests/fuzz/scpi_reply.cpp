// libFuzzer target: parsing what a SCPI instrument sends back (drivers/scpi_psu/include/hilt/
// scpi_psu/scpi.hpp, the supply driver's use of it, and harness/include/hilt/transport/
// tcp_line.hpp), plus the emulated supply's own command parser that produces those replies.
//
// The input is one reply as it arrives on the wire (tcp_line hands the driver one line of at most
// 4096 bytes, terminator removed; the seeds are real replies: numbers in NR1/NR2/NR3, ON/OFF,
// SYST:ERR? entries, *IDN? strings). Each run:
//  - parse_number / parse_bool / parse_error / parse_idn: total (nullopt, never a crash or an
//    exception); a number parsed is finite and below the 9.9E37 overrange marker; an error's text
//    and the *IDN? fields are printable ASCII;
//  - model matching as ensure_model() does it (std::regex on "manufacturer,model") for both
//    shipped models;
//  - format_value(v) reads back as v (parse_number), for v taken from the input bytes too;
//  - printable(): printable ASCII, bounded; expand() of the input as a command template;
//    tcp_target::parse() (config_error only) and its str() read back the same;
//  - the input, split at '\n' / ';', as program messages to the emulated Keysight and R&S
//    supplies: every answer must parse the way the driver reads it, and the error queue reply
//    must parse as an error entry.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/error.hpp"
#include "hilt/scpi_psu/model.hpp"
#include "hilt/scpi_psu/scpi.hpp"
#include "hilt/transport/tcp_line.hpp"

namespace scpi = hilt::scpi;

namespace {

const std::vector<hilt::scpi_psu::psu_model>& models() {
  static const std::vector<hilt::scpi_psu::psu_model> m{
      hilt::scpi_psu::load_named_model("keysight-e36xx"),
      hilt::scpi_psu::load_named_model("rs-ngp")};
  return m;
}

bool printable_ascii(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

void number_round_trip(double v) {
  if (!std::isfinite(v) || std::fabs(v) >= 9.9e37) return;
  const std::string text = scpi::format_value(v);
  const auto back = scpi::parse_number(text);
  HILT_FUZZ_CHECK(back.has_value(), "format_value(" + text + ") does not parse back");
  HILT_FUZZ_CHECK(*back == v, "format_value(" + text + ") parses back as another number");
}

void parse_reply(std::string_view reply) {
  if (const auto v = scpi::parse_number(reply)) {
    HILT_FUZZ_CHECK(std::isfinite(*v), "parse_number gave a non-finite value");
    HILT_FUZZ_CHECK(*v < 9.9e37, "parse_number let the 9.9E37 overrange marker through");
    number_round_trip(*v);
  }
  (void)scpi::parse_bool(reply);
  if (const auto e = scpi::parse_error(reply)) {
    HILT_FUZZ_CHECK(printable_ascii(e->text), "parse_error text is not printable ASCII");
  }
  if (const auto idn = scpi::parse_idn(reply)) {
    for (const auto& f : *idn)
      HILT_FUZZ_CHECK(printable_ascii(f), "*IDN? field is not printable ASCII");
    HILT_FUZZ_CHECK(!(*idn)[0].empty() && !(*idn)[1].empty(),
                    "*IDN? without manufacturer or model");
    const std::string key = (*idn)[0] + "," + (*idn)[1];
    for (const auto& m : models())
      (void)m.matches(key);
  }
  const std::string p = hilt::printable(reply, 80);
  HILT_FUZZ_CHECK(printable_ascii(p), "printable() gave a non-printable byte");
  HILT_FUZZ_CHECK(p.size() <= 80 * 4 + 3, "printable() longer than its bound");
  (void)scpi::expand(reply, 2, 3.3);
  try {
    const auto t = hilt::tcp_target::parse(reply, 5025);
    const auto again = hilt::tcp_target::parse(t.str(), 5025);
    HILT_FUZZ_CHECK(again.host == t.host && again.port == t.port,
                    "tcp_target::parse(str()) is not the same target: " + t.str());
  } catch (const hilt::config_error&) {
  }
}

// What the driver does with each kind of answer (supply.cpp): numbers from queries that end in
// a numeric query, ON/OFF/0/1 from OUTP?, the error entry from SYST:ERR?, the identity from *IDN?.
void emulate(std::string_view in) {
  for (const auto& model : models()) {
    hilt::emu::scpi_psu_emulator emu(model);
    std::size_t pos = 0;
    int messages = 0;
    while (pos <= in.size() && messages++ < 32) {
      const auto eol = in.find('\n', pos);
      const std::string_view msg =
          in.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
      if (const auto reply = emu.handle(msg)) {
        HILT_FUZZ_CHECK(printable_ascii(*reply), "emulator reply is not printable ASCII");
        parse_reply(*reply);
      }
      if (eol == std::string_view::npos) break;
      pos = eol + 1;
    }
    const auto err = emu.handle("SYST:ERR?");
    HILT_FUZZ_CHECK(err && scpi::parse_error(*err).has_value(),
                    "the emulator's SYST:ERR? reply does not parse: " + err.value_or("(none)"));
    const auto idn = emu.handle("*IDN?");
    HILT_FUZZ_CHECK(idn && scpi::parse_idn(*idn).has_value(),
                    "the emulator's *IDN? reply does not parse: " + idn.value_or("(none)"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hilt::fuzz::quiet_logs();
  (void)models();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return -1;  // tcp_line's max_line: a longer reply never reaches a parser
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  parse_reply(in);
  if (size >= sizeof(double)) {
    double v = 0;
    std::memcpy(&v, data, sizeof v);
    number_round_trip(v);
  }
  emulate(in);
  return 0;
}
