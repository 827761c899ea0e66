#include "hilt/seq/parse.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include "hilt/step.hpp"

namespace hilt::seq {

namespace {

// The rewritten form of "${name}": same length, no flow indicators, and made of bytes that cannot
// appear raw in valid YAML (C0 controls), so it is never confused with text the user wrote.
constexpr char ref_open = '\x01';
constexpr char ref_close = '\x02';
constexpr std::string_view ref_start = "$\x01";

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// What a node is, for "got ..." in messages.
std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return fmt::format("'{}'", display(node.Scalar()));
}

std::string_view noun_for(dimension d) {
  switch (d) {
    case dimension::none:
      return "a plain number";
    case dimension::time:
      return "a time";
    case dimension::temperature:
      return "a temperature";
    case dimension::voltage:
      return "a voltage";
    case dimension::current:
      return "a current";
    case dimension::power:
      return "a power";
    case dimension::power_dbm:
      return "an optical power level";
    case dimension::ratio_db:
      return "a ratio";
    case dimension::frequency:
      return "a frequency";
    case dimension::bit_rate:
      return "a bit rate";
    case dimension::length:
      return "a length";
    case dimension::percent:
      return "a percentage";
  }
  return "a value";
}

// Optimal string alignment distance (Levenshtein plus adjacent transposition): "mian" -> "main"
// is one edit, which is the typo people make.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string protect_references(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] != '$' || out[i + 1] != '{') continue;
    if (i > 0 && out[i - 1] == '$') continue;  // "$${" is an escaped, literal "${"
    std::size_t j = i + 2;
    if (j >= out.size() || !is_name_start(out[j])) continue;  // malformed: reported on use
    for (;;) {
      while (j < out.size() && is_name_char(out[j]))
        ++j;
      // A dotted name (`limits.tx_power`): each part is a name.
      if (j + 1 < out.size() && out[j] == '.' && is_name_start(out[j + 1])) {
        ++j;
        continue;
      }
      break;
    }
    if (j >= out.size() || out[j] != '}') continue;
    out[i + 1] = ref_open;
    out[j] = ref_close;
    i = j;
  }
  return out;
}

std::string display(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ref_open && i > 0 && text[i - 1] == '$') {
      out += '{';
    } else if (text[i] == ref_close) {
      out += '}';
    } else {
      out += text[i];
    }
  }
  return out;
}

bool is_parameter_name(std::string_view s) {
  if (s.empty() || !is_name_start(s[0])) return false;
  for (char c : s) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

std::string join(std::span<const std::string> items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string nearest(std::string_view word, std::span<const std::string> candidates) {
  std::string best;
  std::size_t best_distance = 3;  // more than two edits is not a typo
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance && d < std::max<std::size_t>(word.size(), 2)) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

bool misspelt(std::span<const std::string> unknown, std::string_view wanted) {
  const std::string w(wanted);
  for (const auto& key : unknown) {
    if (nearest(key, std::span<const std::string>(&w, 1)) == w) return true;
  }
  return false;
}

std::string describe_expected(std::span<const dimension> expected) {
  if (expected.empty()) return "a number or a quantity";
  std::string out;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (i > 0) out += i + 1 == expected.size() ? " or " : ", ";
    out += noun_for(expected[i]);
    if (expected[i] != dimension::none) out += fmt::format(" ({})", accepted_units(expected[i]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// parse_context

parse_context::parse_context(std::string file, std::string text)
    : file_(std::move(file)), text_(std::move(text)) {}

std::string parse_context::where(const YAML::Node& node) const {
  return hilt::where(file_, node);
}
std::string parse_context::where(const YAML::Mark& mark) const {
  return hilt::where(file_, mark);
}

void parse_context::error(const YAML::Node& at, const std::string& message) {
  error(at.Mark(), message);
}

void parse_context::error(const YAML::Mark& at, const std::string& message) {
  if (at.is_null()) {
    error_in_file(message);
    return;
  }
  add(at.line + 1, at.column + 1, config_error(where(at), display(message)));
}

void parse_context::error_in_file(const std::string& message) {
  add(0, 0, config_error(file_, display(message)));
}

void parse_context::error_elsewhere(const YAML::Mark& at, const config_error& e) {
  if (at.is_null()) {
    add(0, 0, e);
  } else {
    add(at.line + 1, at.column + 1, e);
  }
}

void parse_context::add(int line, int column, config_error e) {
  // The message carries its place: "file:line:col: message". Said already: drop it.
  if (!reported_.insert(e.what()).second) return;
  errors_.push_back({line, column, errors_.size(), std::move(e)});
}

void parse_context::bind(const std::string& name, const std::string& value,
                         const std::string& where) {
  parameter p;
  p.name = name;
  p.value = value;
  p.where = where;
  p.has_value = true;
  p.loop = true;
  params_[name] = std::move(p);
}

void parse_context::unbind(const std::string& name) {
  params_.erase(name);
}

std::vector<config_error> parse_context::errors() const {
  std::vector<located> sorted = errors_;
  std::sort(sorted.begin(), sorted.end(), [](const located& a, const located& b) {
    return std::tie(a.line, a.column, a.order) < std::tie(b.line, b.column, b.order);
  });
  std::vector<config_error> out;
  out.reserve(sorted.size());
  for (auto& e : sorted)
    out.push_back(std::move(e.error));
  return out;
}

YAML::Mark parse_context::locate(const YAML::Mark& start, std::string_view needle,
                                 std::size_t nth) const {
  if (start.is_null() || start.pos < 0) return start;
  std::size_t at = static_cast<std::size_t>(start.pos);
  for (std::size_t k = 0;; ++k) {
    at = text_.find(needle, at);
    if (at == std::string::npos) return start;
    if (k == nth) break;
    at += needle.size();
  }
  // Walk from the node's own mark, so the result agrees with yaml-cpp's line/column counting.
  YAML::Mark m = start;
  for (std::size_t i = static_cast<std::size_t>(start.pos); i < at; ++i) {
    if (text_[i] == '\n') {
      ++m.line;
      m.column = 0;
    } else if (text_[i] != '\r') {
      ++m.column;
    }
  }
  m.pos = static_cast<int>(at);
  return m;
}

std::optional<std::string> parse_context::substitute(const YAML::Node& node,
                                                     const std::string& raw) {
  if (raw.find('$') == std::string::npos) return raw;
  std::string out;
  bool ok = true;
  std::size_t refs_seen = 0;    // "$\x01" occurrences so far, to locate the next one
  std::size_t braces_seen = 0;  // raw "${" occurrences so far (escaped ones included)
  for (std::size_t i = 0; i < raw.size();) {
    if (raw.compare(i, ref_start.size(), ref_start) == 0) {
      const std::size_t close = raw.find(ref_close, i);
      const std::string name = raw.substr(i + 2, close - i - 2);
      auto it = params_.find(name);
      if (name.starts_with("limits.")) {
        error(locate(node.Mark(), ref_start, refs_seen),
              fmt::format("'${{{}}}' is a limit from the limit sets, not text: it can only be the "
                          "whole value of 'limit:' (limit: ${{{}}}), or write limit_ref: {}",
                          name, name, name.substr(7)));
        ok = false;
      } else if (it == params_.end()) {
        std::vector<std::string> declared, loops;
        for (const auto& [n, p] : params_)
          (p.loop ? loops : declared).push_back(n);
        std::vector<std::string> all = declared;
        all.insert(all.end(), loops.begin(), loops.end());
        std::string msg = fmt::format("unknown parameter '${{{}}}'", name);
        if (all.empty()) {
          msg += ": this sequence declares no parameters (declare it under 'parameters:')";
        } else {
          const std::string near = nearest(name, all);
          if (!near.empty()) msg += fmt::format(" (did you mean '${{{}}}'?)", near);
          if (!declared.empty()) msg += fmt::format("; declared parameters: {}", join(declared));
          if (!loops.empty()) msg += fmt::format("; loop variables here: {}", join(loops));
        }
        error(locate(node.Mark(), ref_start, refs_seen), msg);
        ok = false;
      } else if (!it->second.has_value) {
        ok = false;  // already reported at the declaration: it has no default and no --set
      } else {
        out += it->second.value;
      }
      ++refs_seen;
      i = close + 1;
    } else if (raw.compare(i, 3, "$${") == 0) {
      out += "${";  // escaped
      ++braces_seen;
      i += 3;
    } else if (raw.compare(i, 2, "${") == 0) {
      const std::size_t end = raw.find('}', i);
      const std::string shown =
          end == std::string::npos ? raw.substr(i, 12) : raw.substr(i, end - i + 1);
      error(locate(node.Mark(), "${", braces_seen),
            fmt::format("malformed parameter reference '{}': write ${{name}}, the name made of "
                        "letters, digits and '_' (write $${{ for a literal ${{)",
                        shown));
      ok = false;
      ++braces_seen;
      i += 2;
    } else {
      out += raw[i++];
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::string parse_context::origin(const YAML::Node& node) const {
  if (!node.IsScalar()) return {};
  const std::string& raw = node.Scalar();
  if (raw.find(ref_start) == std::string::npos) return {};
  std::vector<std::string> from_set;
  for (std::size_t i = raw.find(ref_start); i != std::string::npos;
       i = raw.find(ref_start, i + 2)) {
    const std::size_t close = raw.find(ref_close, i);
    auto it = params_.find(raw.substr(i + 2, close - i - 2));
    if (it != params_.end() && it->second.overridden) from_set.push_back(it->first);
  }
  std::string out = fmt::format(" (written as '{}'", display(raw));
  if (!from_set.empty()) out += fmt::format("; {} given with --set", join(from_set));
  return out + ")";
}

std::optional<std::string> parse_context::read_text(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) {
    error(node, fmt::format("{}: expected a single value, got {}", what, describe_node(node)));
    return std::nullopt;
  }
  return substitute(node, node.Scalar());
}

std::optional<hilt::quantity> parse_context::read_quantity(const YAML::Node& node,
                                                           std::string_view what,
                                                           std::span<const dimension> expected) {
  const std::string phrase = describe_expected(expected);
  if (!node.IsScalar()) {
    error(node, fmt::format("{}: expected {}, got {}", what, phrase, describe_node(node)));
    return std::nullopt;
  }
  auto s = substitute(node, node.Scalar());
  if (!s) return std::nullopt;
  std::string why;
  auto q = parse_quantity(*s, &why);
  if (!q) {
    if (why.starts_with("unknown unit")) {
      error(node, fmt::format("{}: expected {}: {}{}", what, phrase, why, origin(node)));
    } else {
      error(node, fmt::format("{}: expected {}, got '{}'{}", what, phrase, *s, origin(node)));
    }
    return std::nullopt;
  }
  if (!expected.empty() && std::find(expected.begin(), expected.end(), q->dim) == expected.end()) {
    if (q->dim == dimension::none) {
      error(node, fmt::format("{}: expected {}, got '{}' with no unit{}", what, phrase, *s,
                              origin(node)));
    } else {
      error(node, fmt::format("{}: expected {}, got {} '{}'{}", what, phrase, to_string(q->dim), *s,
                              origin(node)));
    }
    return std::nullopt;
  }
  return q;
}

std::optional<hilt::quantity> parse_context::read_difference(const YAML::Node& node,
                                                             std::string_view what,
                                                             std::span<const dimension> expected) {
  auto q = read_quantity(node, what, expected);
  if (!q) return std::nullopt;
  // Subtract the unit's offset (K and F): a difference of 9 F is 5 C, not -12.8 C.
  const std::string s = *substitute(node, node.Scalar());
  std::string_view rest = trim(s);
  if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
  double ignored = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ignored);
  const std::string_view unit = trim(std::string_view(p, rest.data() + rest.size() - p));
  if (ec == std::errc{} && !unit.empty()) {
    if (auto zero = parse_quantity(fmt::format("0 {}", unit))) q->value -= zero->value;
  }
  return q;
}

std::optional<clock::duration> parse_context::read_duration(const YAML::Node& node,
                                                            std::string_view what,
                                                            bool allow_zero) {
  static constexpr dimension time[] = {dimension::time};
  auto q = read_quantity(node, what, time);
  if (!q) return std::nullopt;
  const std::string written = display(node.Scalar());
  if (q->value < 0) {
    error(node, fmt::format("{}: expected a time that is not negative, got '{}'", what, written));
    return std::nullopt;
  }
  if (q->value == 0 && !allow_zero) {
    error(node, fmt::format("{}: expected a time greater than zero, got '{}'", what, written));
    return std::nullopt;
  }
  // clock::duration is 64-bit nanoseconds (about 292 years); refuse anything near that.
  constexpr double max_seconds = 1e9;
  if (q->value > max_seconds) {
    error(node, fmt::format("{}: '{}' is longer than the longest time hilt accepts (1e9 s, about "
                            "31 years)",
                            what, written));
    return std::nullopt;
  }
  return clock::duration(static_cast<clock::duration::rep>(std::llround(q->value * 1e9)));
}

std::optional<long long> parse_context::read_integer(const YAML::Node& node, std::string_view what,
                                                     long long min, long long max,
                                                     std::string_view meaning) {
  const std::string suffix = meaning.empty() ? std::string() : fmt::format(" ({})", meaning);
  const std::string phrase = fmt::format("a whole number from {} to {}{}", min, max, suffix);
  if (!node.IsScalar()) {
    error(node, fmt::format("{}: expected {}, got {}", what, phrase, describe_node(node)));
    return std::nullopt;
  }
  auto s = substitute(node, node.Scalar());
  if (!s) return std::nullopt;
  const std::string_view t = trim(*s);
  long long v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || p != t.data() + t.size() || t.empty() || v < min || v > max) {
    error(node, fmt::format("{}: expected {}, got '{}'{}", what, phrase, *s, origin(node)));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> parse_context::read_bool(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) {
    error(node, fmt::format("{}: expected true or false, got {}", what, describe_node(node)));
    return std::nullopt;
  }
  auto s = substitute(node, node.Scalar());
  if (!s) return std::nullopt;
  static const std::set<std::string, std::less<>> yes{"true", "True", "TRUE", "yes", "Yes", "on"};
  static const std::set<std::string, std::less<>> no{"false", "False", "FALSE", "no", "No", "off"};
  if (yes.contains(*s)) return true;
  if (no.contains(*s)) return false;
  error(node, fmt::format("{}: expected true or false, got '{}'{}", what, *s, origin(node)));
  return std::nullopt;
}

std::optional<std::string> parse_context::read_choice(const YAML::Node& node, std::string_view what,
                                                      std::span<const std::string_view> accepted) {
  std::vector<std::string> names(accepted.begin(), accepted.end());
  if (!node.IsScalar()) {
    error(node,
          fmt::format("{}: expected one of {}, got {}", what, join(names), describe_node(node)));
    return std::nullopt;
  }
  auto s = substitute(node, node.Scalar());
  if (!s) return std::nullopt;
  if (std::find(names.begin(), names.end(), *s) != names.end()) return s;
  const std::string near = nearest(*s, names);
  error(node, fmt::format("{}: expected one of {}, got '{}'{}{}", what, join(names), *s,
                          near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                          origin(node)));
  return std::nullopt;
}

std::optional<std::vector<list_item>> read_list(parse_context& ctx, const YAML::Node& node,
                                                std::string_view what,
                                                std::string_view expected_items) {
  std::vector<list_item> out;
  bool ok = true;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        ctx.error(item, fmt::format("{}: expected {}, got {}", what, expected_items,
                                    describe_node(item)));
        ok = false;
        continue;
      }
      auto t = ctx.read_text(item, what);
      if (!t) {
        ok = false;
        continue;
      }
      const std::string_view v = trim(*t);
      if (v.empty()) {
        ctx.error(item, fmt::format("{}: expected {}, got an empty value", what, expected_items));
        ok = false;
        continue;
      }
      out.push_back({std::string(v), item});
    }
  } else if (node.IsScalar()) {
    auto t = ctx.read_text(node, what);
    if (!t) return std::nullopt;
    if (trim(*t).empty()) {
      ctx.error(node, fmt::format("{}: expected {}, got an empty value", what, expected_items));
      return std::nullopt;
    }
    std::string_view rest = *t;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::string_view v = trim(rest.substr(0, comma));
      if (v.empty()) {
        ctx.error(node, fmt::format("{}: expected {} separated by commas, got '{}' with an empty "
                                    "item",
                                    what, expected_items, *t));
        return std::nullopt;
      }
      out.push_back({std::string(v), node});
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else {
    ctx.error(node, fmt::format("{}: expected a list of {}, got {}", what, expected_items,
                                describe_node(node)));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  if (out.empty()) {
    ctx.error(node, fmt::format("{}: expected at least one of {}, got an empty list", what,
                                expected_items));
    return std::nullopt;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// yaml_map

yaml_map::yaml_map(parse_context& ctx, const YAML::Node& node, std::string_view what) : ctx_(&ctx) {
  if (!node.IsMap()) {
    ctx.error(node,
              fmt::format("{} must be a mapping of KEY: VALUE, got {}", what, describe_node(node)));
    return;
  }
  valid_ = true;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      ctx.error(kv.first, fmt::format("keys in {} must be plain names, got {}", what,
                                      describe_node(kv.first)));
      continue;
    }
    const std::string key = kv.first.Scalar();
    if (const entry* first = find(key)) {
      const YAML::Mark m = first->key_node.Mark();
      ctx.error(kv.first, fmt::format("duplicate key '{}' in {} (first given at line {}, column "
                                      "{})",
                                      key, what, m.line + 1, m.column + 1));
      continue;
    }
    entries_.push_back({key, kv.first, kv.second});
  }
}

const yaml_map::entry* yaml_map::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::vector<std::string> yaml_map::reject_unknown(std::span<const std::string> accepted,
                                                  std::string_view noun, std::string_view place,
                                                  std::string_view tail) const {
  std::vector<std::string> unknown;
  for (const auto& e : entries_) {
    if (std::find(accepted.begin(), accepted.end(), e.key) != accepted.end()) continue;
    unknown.push_back(e.key);
    const std::string near = nearest(e.key, accepted);
    ctx_->error(
        e.key_node,
        fmt::format("unknown {} '{}' {}{}; accepted: {}{}", noun, e.key, place,
                    near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                    accepted.empty() ? std::string("none") : join(accepted), tail));
  }
  return unknown;
}

namespace {
// Sees where each document starts, and nothing else.
struct document_starts final : YAML::EventHandler {
  YAML::Mark last;
  std::size_t count = 0;
  void OnDocumentStart(const YAML::Mark& m) override {
    last = m;
    ++count;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};
}  // namespace

std::vector<YAML::Node> load_all(const std::string& text) {
  // yaml-cpp 0.7's parser can get stuck on a token no rule consumes ("&a?,\x10", found by
  // tests/fuzz/sequence_loader): every HandleNextDocument() then reports another empty document
  // starting at the same place, and YAML::LoadAll appends a null node per turn until memory runs
  // out (jbeder/yaml-cpp#1319, fixed upstream after 0.7). So walk the documents first without
  // building nodes and stop at one that starts where the previous one did; LoadAll is only run on
  // text where that walk ended.
  std::istringstream in(text);
  YAML::Parser parser(in);
  document_starts starts;
  for (;;) {
    const std::size_t before = starts.count;
    const YAML::Mark previous = starts.last;
    if (!parser.HandleNextDocument(starts)) break;
    if (before > 0 && starts.last.pos == previous.pos) {
      throw YAML::ParserException(starts.last, "cannot make sense of the text from here");
    }
  }
  return YAML::LoadAll(text);
}

}  // namespace hilt::seq
