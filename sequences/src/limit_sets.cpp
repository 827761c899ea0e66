#include "hilt/seq/limit_sets.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "hilt/fixture.hpp"
#include "hilt/seq/limits.hpp"
#include "hilt/seq/step_registry.hpp"

namespace hilt::seq {

namespace {

constexpr std::string_view limits_prefix = "$\x01limits.";

std::string source_of(const limit_set_file& f, const limit_set_file::part& p,
                      const hilt::limit& l) {
  return fmt::format("{} (limit set {}, parts {})", l.source, f.name, p.pattern);
}

// Parses the text of a limit-set file; errors go to `ctx` (whose file is the limit-set file).
std::optional<limit_set_file> parse_limit_set(parse_context& ctx, const std::string& text) {
  static const std::vector<std::string> keys{"limit_set", "description", "parts"};
  limit_set_file out;
  out.path = ctx.file();
  // Parameters belong to sequences; a limit-set file is shared by many, so it takes none.
  if (const auto at = text.find("$\x01"); at != std::string::npos) {
    YAML::Mark m;
    m.pos = static_cast<int>(at);
    for (std::size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++m.line;
        m.column = 0;
      } else if (text[i] != '\r') {
        ++m.column;
      }
    }
    ctx.error(m,
              "a limit-set file takes no ${...} parameters (it is shared by sequences); write "
              "the values");
    return std::nullopt;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = load_all(text);  // not YAML::LoadAll: see parse.hpp
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, fmt::format("YAML syntax error: {}", e.msg));
    return std::nullopt;
  }
  if (docs.empty() || docs.front().IsNull()) {
    ctx.error_in_file(
        "the file holds no limit set; a limit-set file starts with 'limit_set: NAME'");
    return std::nullopt;
  }
  const YAML::Node root = docs.front();
  if (docs.size() > 1) {
    ctx.error(docs[1], "a limit-set file holds one YAML document; this '---' starts a second one");
  }
  try {
    if (!root.IsMap() || !root["limit_set"]) {
      ctx.error(root,
                "not a limit-set file: expected 'limit_set: NAME' and 'parts:' at the top level");
      return std::nullopt;
    }
    yaml_map top(ctx, root, "a limit-set file");
    top.reject_unknown(keys, "key", "at the top level of a limit-set file");
    if (auto name = ctx.read_text(top.find("limit_set")->value, "limit_set")) {
      if (name->empty()) {
        ctx.error(top.find("limit_set")->value,
                  "limit_set: expected the limit set's name, got an empty text");
      }
      out.name = *name;
    }
    if (const auto* d = top.find("description")) (void)ctx.read_text(d->value, "description");
    const auto* parts = top.find("parts");
    if (parts == nullptr) {
      ctx.error(root,
                "missing 'parts:', the part-number patterns and their limits "
                "('\"EMU-DD-*\": { tx_power: { min: -3 dBm } }')");
      return std::nullopt;
    }
    if (parts->value.IsMap() && parts->value.size() == 0) {
      ctx.error(parts->value, "parts: expected at least one part-number pattern, got none");
      return std::nullopt;
    }
    yaml_map patterns(ctx, parts->value, "parts");
    for (const auto& e : patterns.entries()) {
      limit_set_file::part p;
      p.pattern = e.key;
      p.where = ctx.where(e.key_node);
      if (p.pattern.empty()) {
        ctx.error(e.key_node,
                  "parts: a part-number pattern cannot be empty (use \"*\" for every "
                  "part)");
        continue;
      }
      if (e.value.IsMap() && e.value.size() == 0) {
        ctx.error(e.value, fmt::format("parts: pattern '{}' names no limits", p.pattern));
        continue;
      }
      yaml_map named(ctx, e.value, fmt::format("the limits of parts '{}'", p.pattern));
      for (const auto& l : named.entries()) {
        if (!is_parameter_name(l.key)) {
          ctx.error(l.key_node, fmt::format("limit names are made of letters, digits and '_' and "
                                            "do not start with a digit, got '{}'",
                                            l.key));
          continue;
        }
        if (auto lim = parse_limit(ctx, l.value, {})) p.limits.emplace_back(l.key, *lim);
      }
      out.parts.push_back(std::move(p));
    }
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, fmt::format("cannot read this YAML: {}", e.msg));
  }
  if (ctx.error_count() > 0) return std::nullopt;
  for (auto& p : out.parts) {
    for (auto& [name, l] : p.limits)
      l.source = source_of(out, p, l);
  }
  return out;
}

std::optional<limit_set_file> load_text(const std::string& path, std::string_view text,
                                        std::vector<config_error>& errors) {
  // yaml-cpp skips a UTF-8 byte order mark and counts positions after it; so do we.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::string protected_text = protect_references(text);
  parse_context ctx(path, protected_text);
  auto out = parse_limit_set(ctx, protected_text);
  for (auto& e : ctx.errors())
    errors.push_back(std::move(e));
  if (!errors.empty()) return std::nullopt;
  return out;
}

bool matches(const std::string& pattern, const std::string& part_number) {
  return ::fnmatch(pattern.c_str(), part_number.c_str(), 0) == 0;
}

}  // namespace

std::vector<limit_candidate> limit_library::candidates(std::string_view name) const {
  std::vector<limit_candidate> out;
  for (const auto& f : files) {
    for (const auto& p : f.parts) {
      for (const auto& [n, l] : p.limits) {
        if (n == name) out.push_back({p.pattern, l});
      }
    }
  }
  return out;
}

std::vector<std::string> limit_library::names() const {
  std::set<std::string> out;
  for (const auto& f : files) {
    for (const auto& p : f.parts) {
      for (const auto& [n, l] : p.limits)
        out.insert(n);
    }
  }
  return {out.begin(), out.end()};
}

std::optional<limit_set_file> load_limit_set(const std::filesystem::path& file,
                                             std::vector<config_error>& errors) {
  std::string text;
  try {
    text = read_text_file(file);
  } catch (const config_error& e) {
    errors.push_back(e);
    return std::nullopt;
  }
  return load_text(file.string(), text, errors);
}

std::vector<config_error> check_limit_set_file(const std::filesystem::path& file) {
  std::vector<config_error> errors;
  (void)load_limit_set(file, errors);
  return errors;
}

resolved_limit resolve_limit(const limit_choice& choice, const identity* dut) {
  if (choice.fixed) return {choice.fixed, {}};
  if (!choice.ref) return {};
  const limit_ref& r = *choice.ref;
  if (dut == nullptr || dut->part_number.empty()) {
    return {std::nullopt,
            fmt::format("limit '{}' ({}) is chosen by the DUT's part number, which is not known: "
                        "the DUT's identify step did not run or did not succeed",
                        r.name, r.where)};
  }
  for (const auto& c : r.candidates) {
    if (matches(c.pattern, dut->part_number)) return {c.limit, {}};
  }
  std::vector<std::string> patterns;
  for (const auto& c : r.candidates)
    patterns.push_back(c.pattern);
  return {std::nullopt,
          fmt::format("no limit '{}' ({}) for part number '{}' in the limit sets; the patterns "
                      "that define it: {}",
                      r.name, r.where, dut->part_number, join(patterns))};
}

std::optional<std::string> limit_reference(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  std::string_view raw = node.Scalar();
  if (!raw.starts_with(limits_prefix) || !raw.ends_with('\x02')) return std::nullopt;
  raw.remove_prefix(limits_prefix.size());
  raw.remove_suffix(1);
  if (raw.find('\x02') != std::string_view::npos) return std::nullopt;  // more than one reference
  return std::string(raw);
}

std::optional<limit_choice> read_limit_choice(parse_context& ctx, const step_spec& spec,
                                              std::span<const dimension> expected,
                                              std::string_view measured) {
  const auto* lim = spec.options.find("limit");
  const auto* ref = spec.options.find("limit_ref");
  if (lim != nullptr && ref != nullptr) {
    ctx.error(ref->key_node, "limit_ref: give either 'limit:' or 'limit_ref:', not both");
    return std::nullopt;
  }
  limit_choice out;
  auto named = [&](const std::string& name, const YAML::Node& at, std::string_view key) -> bool {
    const std::size_t before = ctx.error_count();
    if (spec.station) {
      ctx.error(at, fmt::format("{}: a station step has no DUT, so limit '{}' cannot be chosen by "
                                "part number",
                                key, name));
      return false;
    }
    const limit_library* lib = ctx.limits();
    if (lib == nullptr) {
      ctx.error(at, fmt::format("{}: limit '{}' would come from a limit set, but this sequence "
                                "names no limit-set files (add 'limits: FILE' at the top level)",
                                key, name));
      return false;
    }
    auto cands = lib->candidates(name);
    if (cands.empty()) {
      if (!lib->complete) return false;  // a limit-set file failed to load: already reported
      const auto names = lib->names();
      const std::string near = nearest(name, names);
      ctx.error(
          at, fmt::format("{}: no limit '{}' in the limit sets{}; limits defined: {}", key, name,
                          near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                          names.empty() ? std::string("none") : join(names)));
      return false;
    }
    if (!expected.empty()) {
      for (const auto& c : cands) {
        const dimension d = limit_dimension(c.limit);
        if (std::find(expected.begin(), expected.end(), d) != expected.end()) continue;
        const dimension is[] = {d};
        ctx.error(at,
                  fmt::format("{}: limit '{}' at {} is {}; {} needs {}", key, name, c.limit.source,
                              describe_expected(is), measured, describe_expected(expected)));
      }
    }
    if (!ctx.identified) {
      ctx.error(at, fmt::format("{}: limit '{}' is chosen by the DUT's part number, so an "
                                "'identify' step must run before this step (in setup, or earlier "
                                "in main)",
                                key, name));
    }
    if (ctx.error_count() != before) return false;
    auto r = std::make_shared<limit_ref>();
    r->name = name;
    r->where = ctx.where(at);
    r->candidates = std::move(cands);
    out.ref = std::move(r);
    return true;
  };
  if (lim != nullptr) {
    if (auto name = limit_reference(lim->value)) {
      if (!named(*name, lim->value, "limit")) return std::nullopt;
    } else {
      auto l = parse_limit(ctx, lim->value, expected);
      if (!l) return std::nullopt;
      out.fixed = std::move(*l);
    }
  }
  if (ref != nullptr) {
    auto name = ctx.read_text(ref->value, "limit_ref");
    if (!name) return std::nullopt;
    if (!is_parameter_name(*name)) {
      ctx.error(ref->value, fmt::format("limit_ref: expected the name of a limit in the limit "
                                        "sets (letters, digits and '_'), got '{}'",
                                        *name));
      return std::nullopt;
    }
    if (!named(*name, ref->value, "limit_ref")) return std::nullopt;
  }
  return out;
}

std::shared_ptr<const limit_library> load_limit_library(parse_context& ctx, const YAML::Node& node,
                                                        const std::string& sequence_file) {
  auto lib = std::make_shared<limit_library>();
  auto items = read_list(ctx, node, "limits", "limit-set file paths");
  if (!items) {
    lib->complete = false;
    return lib;
  }
  const std::filesystem::path folder = std::filesystem::path(sequence_file).parent_path();
  for (const auto& item : *items) {
    const std::filesystem::path written(item.text);
    const std::filesystem::path file =
        written.is_absolute() || folder.empty() ? written : (folder / written).lexically_normal();
    std::string text;
    try {
      text = read_text_file(file);
    } catch (const config_error& e) {
      // "cannot read: No such file or directory"
      ctx.error(item.node, fmt::format("limits: limit-set file '{}' (relative to the sequence's "
                                       "folder): {}",
                                       item.text, e.message()));
      lib->complete = false;
      continue;
    }
    std::vector<config_error> errors;
    auto f = load_text(file.string(), text, errors);
    for (const auto& e : errors)
      ctx.error_elsewhere(item.node.Mark(), e);
    if (!f) {
      lib->complete = false;
      continue;
    }
    lib->files.push_back(std::move(*f));
  }
  return lib;
}

}  // namespace hilt::seq
