// libFuzzer target: the sequence loader (hilt/seq/loader.hpp) on arbitrary text.
//
// Input layout (every part optional, all of it still a YAML document to the loader):
//   #set NAME=VALUE            leading lines: --set overrides (load_options::overrides)
//   <sequence text>
//   #%limits                   a line of its own: the rest is the limit-set file fuzz-limits.yaml
//   <limit-set text>           (a sequence names it with `limits: fuzz-limits.yaml`)
//
// Limit-set files: the loader opens them with hilt::read_text_file(), relative to the sequence's
// folder or absolute. This target defines its own hilt::read_text_file (a link seam: the static
// hilt_sequences library binds to the executable's definition before libhilt's), which serves
// two files from memory — limits.yaml (fixed, valid) and fuzz-limits.yaml (from the input) — and
// "cannot read" for every other path, so no input can make the fuzzer open /dev/zero or the like.
// LLVMFuzzerInitialize checks that the seam is in effect.
//
// Expected outcome for bad input: a list of config_error (check_sequence_text) or one thrown by
// load_sequence_text. Anything else — another exception type, a crash, a sanitizer report, a
// hang, a leak — is a bug. Invariants: load_sequence_text succeeds when check_sequence_text
// finds nothing, and the sequence has main steps; every error names a file.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/seq/loader.hpp"

namespace {

constexpr const char* folder = "/fuzz-seq";  // the sequence's folder; nothing on disk
constexpr const char* seq_file = "/fuzz-seq/fuzz.yaml";

// A valid limit set the seeds refer to as `limits: limits.yaml` (like library/limits/).
constexpr std::string_view fixed_limits = R"(limit_set: fuzz
parts:
  "EMU-DD-400G-*":
    power_up_time: { max: 5 s, marginal: 1 s }
    tx_bias: { min: 20 mA, max: 110 mA }
  "*":
    temperature: { min: 0 C, max: 70 C, marginal: 5 C }
    vcc: { nominal: 3.3 V, tolerance: 5 % }
    tx_power: { min: -5.4 dBm, max: 4 dBm, marginal: 0.5 dB }
    rx_power: { min: -9 dBm, max: 4 dBm, marginal: 0.5 dB }
    power_up_time: { max: 10 s }
)";

std::string fuzz_limits;  // the input's limit-set part
int seam_calls = 0;

}  // namespace

// The link seam (see the top of this file): replaces libhilt's hilt::read_text_file in this
// executable. Same contract: the bytes, or config_error "FILE: cannot read: <reason>".
std::string hilt::read_text_file(const std::filesystem::path& file) {
  ++seam_calls;
  const auto p = file.lexically_normal();
  if (p == std::filesystem::path(folder) / "limits.yaml") return std::string(fixed_limits);
  if (p == std::filesystem::path(folder) / "fuzz-limits.yaml") return fuzz_limits;
  if (p == std::filesystem::path(folder)) {
    throw hilt::config_error(file.string(), "cannot read: is a directory");
  }
  throw hilt::config_error(file.string(), "cannot read: No such file or directory");
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hilt::fuzz::quiet_logs();
  // The seam must be what the loader calls: a sequence naming limits.yaml loads (no such file
  // exists on disk) and the seam saw the call.
  const auto errors = hilt::seq::check_sequence_text(
      "sequence: seam\nlimits: limits.yaml\nsetup:\n  - step: identify\nmain:\n"
      "  - step: measure\n    monitor: vcc\n    limit_ref: vcc\n",
      seq_file);
  if (seam_calls != 1 || !errors.empty()) {
    hilt::fuzz::fail("hilt::read_text_file link seam not in effect (" + std::to_string(seam_calls) +
                     " calls, " + std::to_string(errors.size()) + " errors" +
                     (errors.empty() ? "" : ": " + std::string(errors[0].what())) +
                     "); the loader would open real files");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return -1;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  hilt::seq::load_options opts;
  std::string_view rest = in;
  while (rest.starts_with("#set ")) {
    const auto eol = rest.find('\n');
    const std::string_view line =
        rest.substr(5, eol == std::string_view::npos ? rest.npos : eol - 5);
    const auto eq = line.find('=');
    if (eq != std::string_view::npos) {
      opts.overrides[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 1);
  }
  fuzz_limits.clear();
  std::string_view sequence_part = in;
  if (const auto sep = in.find("\n#%limits\n"); sep != std::string_view::npos) {
    fuzz_limits = in.substr(sep + 10);
    sequence_part = in.substr(0, sep + 1);
  }
  const std::string text(sequence_part);  // with the #set lines: YAML comments
  const std::string file = seq_file;

  const auto errors = hilt::seq::check_sequence_text(text, file, opts);
  if (hilt::fuzz::print_enabled()) {
    std::fprintf(stderr, "%zu error(s)\n", errors.size());
    for (const auto& e : errors)
      std::fprintf(stderr, "  %s\n", e.what());
  }
  for (const auto& e : errors) {
    HILT_FUZZ_CHECK(std::string_view(e.what()).starts_with(folder),
                    std::string("error without its file: ") + e.what());
  }
  // load_sequence_text is the same analysis throwing its first error, so it only needs running
  // when check found nothing (it must then not throw): half the cost per input.
  if (errors.empty()) {
    try {
      const hilt::sequence seq = hilt::seq::load_sequence_text(text, file, opts);
      HILT_FUZZ_CHECK(!seq.main.empty(), "a sequence loaded without main steps");
    } catch (const hilt::config_error& e) {
      hilt::fuzz::fail(std::string("check found nothing, load threw: ") + e.what());
    }
  }
  return 0;
}
