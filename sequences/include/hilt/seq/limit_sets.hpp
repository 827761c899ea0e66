// Limit sets: named limits kept in their own files and chosen per DUT by part number.
//
// A limit-set file (YAML) names itself and maps part-number patterns to named limits:
//
//   limit_set: bringup                   # required: marks the file and names the set
//   description: ...
//   parts:                               # part-number glob (fnmatch) -> named limits
//     "EMU-DD-400G-*":
//       tx_power: { min: -1 dBm, max: 4 dBm, marginal: 0.5 dB }
//       power_up_time: { max: 5 s }
//     "*":                               # a fallback for every other part
//       temperature: { max: 70 C }
//
// A sequence names its limit-set files with the top-level key `limits:` (one path or a list, each
// relative to the sequence's folder), and a step refers to a limit by name: `limit_ref: tx_power`
// or `limit: ${limits.tx_power}`. The part number is only known at run time (identify), so a step
// holds every candidate for the name, in priority order (files in the order given, patterns in
// file order), and picks for each DUT the first candidate whose pattern matches the DUT's part
// number (hilt::step_context::dut_identity()). A pattern without the name does not stop the
// search, so a "*" entry gives defaults that earlier patterns override one by one.
//
// Each candidate's limit::source is "file:line:col (limit set NAME, parts PATTERN)": the limit's
// place in the limit-set file, the set's name and the pattern that chose it. It is stored with
// every verdict judged against it.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/error.hpp"
#include "hilt/seq/parse.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"

namespace hilt::seq {

struct step_spec;

// One loaded limit-set file.
struct limit_set_file {
  struct part {
    std::string pattern;                                      // glob on the part number
    std::string where;                                        // file:line:col of the pattern
    std::vector<std::pair<std::string, hilt::limit>> limits;  // name -> limit, in file order
  };
  std::string path;  // as opened: the sequence's folder joined with the path as written
  std::string name;  // `limit_set: NAME`
  std::vector<part> parts;
};

// One candidate for a named limit: the limit a DUT whose part number matches `pattern` gets.
struct limit_candidate {
  std::string pattern;
  hilt::limit limit;  // source = "file:line:col (limit set NAME, parts PATTERN)"
};

// The limit-set files a sequence names, in the order it names them.
class limit_library {
 public:
  std::vector<limit_set_file> files;
  // False when a named file could not be loaded (already reported): an unknown limit name is then
  // not reported again, since it may be defined in that file.
  bool complete = true;

  // Every candidate for `name`, in priority order; empty when no file defines it.
  std::vector<limit_candidate> candidates(std::string_view name) const;
  // Every limit name any file defines, sorted.
  std::vector<std::string> names() const;
};

// Loads and checks a limit-set file. Errors (file:line:col in that file) are appended to `errors`;
// returns nullopt if there were any. A missing or unreadable file is "FILE: cannot read: reason".
std::optional<limit_set_file> load_limit_set(const std::filesystem::path& file,
                                             std::vector<config_error>& errors);
// Every problem of a limit-set file, for `hilt validate` (empty: valid).
std::vector<config_error> check_limit_set_file(const std::filesystem::path& file);

// A named limit as a step holds it.
struct limit_ref {
  std::string name;                         // "tx_power"
  std::string where;                        // file:line:col of the reference in the sequence
  std::vector<limit_candidate> candidates;  // priority order, at least one
};

// What a step is judged against: nothing, a limit written in the sequence, or a named limit from
// the limit sets, chosen per DUT.
struct limit_choice {
  std::optional<hilt::limit> fixed;
  std::shared_ptr<const limit_ref> ref;
  bool empty() const noexcept { return !fixed && !ref; }
};

// The limit for a DUT: the fixed one, or the first candidate whose pattern matches the DUT's part
// number. `error` is set (and `limit` empty) when a named limit cannot be chosen: the DUT is not
// identified, or no pattern that defines the name matches its part number.
struct resolved_limit {
  std::optional<hilt::limit> limit;
  std::string error;
};
resolved_limit resolve_limit(const limit_choice& choice, const identity* dut);

// Reads a step's `limit:` and `limit_ref:` options (both optional, not both). `limit:` is a limit
// mapping (hilt/seq/limits.hpp parse_limit) or exactly `${limits.NAME}`; `limit_ref: NAME` is the
// same as the latter. A named limit must exist in the sequence's limit sets, every candidate must
// be in one of the `expected` dimensions (empty: any), the step must not be a station step, and
// an identify step must run before it. `measured` names what the limit applies to in messages
// ("monitor 'tx_power'", "the power-up time"). Returns nullopt after reporting errors.
std::optional<limit_choice> read_limit_choice(parse_context& ctx, const step_spec& spec,
                                              std::span<const dimension> expected,
                                              std::string_view measured);

// The name in a `${limits.NAME}` value, if the node is exactly one such reference.
std::optional<std::string> limit_reference(const YAML::Node& node);

// Parses a sequence's `limits:` value (a path or a list of paths, relative to the folder of
// `sequence_file`) and loads each file. Errors in a limit-set file are reported at their own
// file:line:col, ordered at the reference; a missing file at the reference. Returns the library
// (possibly partial) to check steps against.
std::shared_ptr<const limit_library> load_limit_library(parse_context& ctx, const YAML::Node& node,
                                                        const std::string& sequence_file);

}  // namespace hilt::seq
