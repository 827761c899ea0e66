// Parsing helpers shared by the sequence loader and every step type.
//
// A parse_context collects every problem found in one sequence file as a located config_error
// ("file:line:col: message"), so that `hilt validate` can report all of them at once and
// `hilt run` can refuse with the first. Readers never throw on bad input: they record an error and
// return std::nullopt, and the caller carries on checking the rest of the file.
//
// Every scalar read through a parse_context gets ${name} parameter substitution; messages about a
// substituted value quote what was written as well as what it became.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/error.hpp"
#include "hilt/units.hpp"

namespace hilt::seq {

class limit_library;  // hilt/seq/limit_sets.hpp

// A declared parameter with its value after --set overrides.
struct parameter {
  std::string name;
  std::string value;        // as written: the default, or the --set value
  std::string description;  // from the declaration, for `hilt validate` / docs
  std::string where;        // file:line:col of the declaration
  bool overridden = false;  // the value came from --set
  bool has_value = false;   // false: declared without a default and not given with --set
  bool loop = false;        // a sweep or repeat variable, bound while its loop's body is parsed
};

class parse_context {
 public:
  // `file` is the name used in messages (the path as given). `text` is the exact text handed to
  // the YAML parser (see protect_references()); it is used to locate ${...} inside scalars.
  parse_context(std::string file, std::string text);

  const std::string& file() const noexcept { return file_; }
  std::string where(const YAML::Node& node) const;
  std::string where(const YAML::Mark& mark) const;

  // Records an error. Errors are reported sorted by position (errors without one first).
  void error(const YAML::Node& at, const std::string& message);
  void error(const YAML::Mark& at, const std::string& message);
  void error_in_file(const std::string& message);  // no line: about the file as a whole
  // An error located in another file (a limit-set file the sequence names), listed among this
  // file's errors at the position `at` (the reference to that file).
  void error_elsewhere(const YAML::Mark& at, const config_error& e);
  // An error identical to one already recorded (same place, same text) is dropped: a loop's body
  // is parsed once per point, and its mistakes are reported once.
  std::size_t error_count() const noexcept { return errors_.size(); }
  std::vector<config_error> errors() const;

  // Parameters, for ${name} substitution. Set by the loader before any step is parsed.
  void set_parameters(std::map<std::string, parameter> params) { params_ = std::move(params); }
  const std::map<std::string, parameter>& parameters() const noexcept { return params_; }

  // Loop variables: a sweep or repeat binds its variable to one value while the loader parses its
  // body for that point, so ${name} reads like a parameter there and is unknown elsewhere.
  // `where` is the variable's declaration (for messages about a clash).
  void bind(const std::string& name, const std::string& value, const std::string& where);
  void unbind(const std::string& name);

  // The limit sets the sequence's `limits:` key names (null when it names none). Steps take their
  // `limit_ref:` / `limit: ${limits.NAME}` candidates from here; see hilt/seq/limit_sets.hpp.
  void set_limits(std::shared_ptr<const limit_library> l) { limits_ = std::move(l); }
  const limit_library* limits() const noexcept { return limits_.get(); }

  // Readers. `what` names the value in messages, usually its key ("duration"). Each returns
  // std::nullopt after recording an error that says what was expected and what was found.

  // Any scalar, with ${name} substituted.
  std::optional<std::string> read_text(const YAML::Node& node, std::string_view what);
  // A quantity in one of `expected` dimensions ("5 min", "70 C"); empty `expected` accepts any
  // dimension including a plain number. The value is in the dimension's base unit.
  std::optional<hilt::quantity> read_quantity(const YAML::Node& node, std::string_view what,
                                              std::span<const dimension> expected);
  // A difference of the given dimension: "5 C" or "9 F" as a temperature *difference* (5), so the
  // Kelvin/Fahrenheit offsets do not apply. Used for tolerances and marginal bands.
  std::optional<hilt::quantity> read_difference(const YAML::Node& node, std::string_view what,
                                                std::span<const dimension> expected);
  // A time ("30 s", "5 min"); zero allowed only when `allow_zero`; never negative.
  std::optional<clock::duration> read_duration(const YAML::Node& node, std::string_view what,
                                               bool allow_zero);
  // A whole number in [min, max].
  std::optional<long long> read_integer(const YAML::Node& node, std::string_view what,
                                        long long min, long long max,
                                        std::string_view meaning = {});
  // true / false (also yes / no, on / off).
  std::optional<bool> read_bool(const YAML::Node& node, std::string_view what);
  // One of `accepted`.
  std::optional<std::string> read_choice(const YAML::Node& node, std::string_view what,
                                         std::span<const std::string_view> accepted);

  // Depth of nested groups, so that a hostile file cannot overflow the stack.
  int depth = 0;
  // True once an `identify` step comes before the step being parsed, in the order the runner runs
  // them (setup, main, cleanup): limits chosen by part number need the DUT identified first.
  bool identified = false;

 private:
  struct located {
    int line;  // 0 when the error has no position
    int column;
    std::size_t order;
    config_error error;
  };
  void add(int line, int column, config_error e);
  std::optional<std::string> substitute(const YAML::Node& node, const std::string& raw);
  YAML::Mark locate(const YAML::Mark& start, std::string_view needle, std::size_t nth) const;
  // " (written as '${settle}' ...)" for messages about a substituted value, else "".
  std::string origin(const YAML::Node& node) const;

  std::string file_;
  std::string text_;
  std::map<std::string, parameter> params_;
  std::shared_ptr<const limit_library> limits_;
  std::vector<located> errors_;
  std::set<std::string> reported_;  // what() of every error in errors_
};

// A YAML mapping's entries in file order. Construction reports (to the context) a node that is not
// a mapping, keys that are not plain scalars and duplicated keys (yaml-cpp 0.7 silently keeps
// both); `find` then sees the first occurrence.
class yaml_map {
 public:
  struct entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };

  // `what` describes the mapping in messages: "the sequence", "step 'wait'", "a limit".
  yaml_map(parse_context& ctx, const YAML::Node& node, std::string_view what);
  // An empty mapping (a step written as just its type: "- identify").
  explicit yaml_map(parse_context& ctx) : ctx_(&ctx), valid_(true) {}

  bool valid() const noexcept { return valid_; }
  const std::vector<entry>& entries() const noexcept { return entries_; }
  const entry* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Reports every key not in `accepted` and returns them:
  //   "unknown <noun> '<key>' <place> (did you mean '<near>'?); accepted: a, b, c<tail>"
  std::vector<std::string> reject_unknown(std::span<const std::string> accepted,
                                          std::string_view noun, std::string_view place,
                                          std::string_view tail = {}) const;

 private:
  parse_context* ctx_;
  bool valid_ = false;
  std::vector<entry> entries_;
};

// "a time (s, ms, ...)" / "a power (W, mW, ...) or an optical power level (dBm)".
std::string describe_expected(std::span<const dimension> expected);

// The closest of `candidates` to `word` when it is a plausible typo, else "".
std::string nearest(std::string_view word, std::span<const std::string> candidates);

// True when one of `unknown` (keys already reported as unknown) looks like a misspelling of
// `wanted`: then "missing 'wanted'" would only repeat that error, less clearly.
bool misspelt(std::span<const std::string> unknown, std::string_view wanted);

// True for a parameter or loop-variable name: letters, digits and '_', not starting with a digit.
bool is_parameter_name(std::string_view s);

// The items of a list option: a YAML list of scalars, or one scalar holding a comma-separated list
// after ${name} substitution (so that `--set corners="25 C, 85 C"` can give a whole list). Each
// item is trimmed text with the node it came from. Reports a non-scalar item, an empty item and an
// empty list; returns nullopt after any error.
struct list_item {
  std::string text;
  YAML::Node node;
};
std::optional<std::vector<list_item>> read_list(parse_context& ctx, const YAML::Node& node,
                                                std::string_view what,
                                                std::string_view expected_items);

// "a, b, c".
std::string join(std::span<const std::string> items, std::string_view separator = ", ");

// ${name} references are rewritten before YAML parsing into a same-length form that YAML accepts
// inside flow collections (`{ max: ${t_max} }` is otherwise a syntax error, since '{' and '}' are
// flow indicators); byte offsets, and therefore every line:column, stay exact. `display` turns
// rewritten text back into what the user wrote, for messages. Dotted names (`${limits.tx_power}`,
// a limit from the limit sets) are rewritten the same way.
std::string protect_references(std::string_view text);
std::string display(std::string_view text);

// YAML::LoadAll that always returns: yaml-cpp 0.7 (Debian 12) loops forever on some malformed
// input, appending a null document per turn until memory runs out (see parse.cpp). Throws
// YAML::ParserException at the place it cannot get past instead.
std::vector<YAML::Node> load_all(const std::string& text);

}  // namespace hilt::seq
