#include "hilt/seq/loader.hpp"

#include <fmt/format.h>

#include <filesystem>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/limit_sets.hpp"
#include "hilt/seq/parse.hpp"
#include "hilt/seq/step_registry.hpp"

namespace hilt::seq {

namespace {

constexpr int max_group_depth = 32;  // deeper is a mistake, and a hostile file must not recurse
// Loops expand at load time; past this many step nodes a sequence is a mistake (or hostile), and
// memory must stay bounded.
constexpr std::size_t max_expanded_steps = 100000;

struct loader {
  parse_context& ctx;
  const step_registry& registry;
  // The points of the loops around the step being parsed, outermost first: (variable, value).
  std::vector<std::pair<std::string, loop_plan::value>> points;
  std::size_t nodes = 0;  // step nodes made so far, loops expanded

  std::string type_list() const { return join(registry.names()); }

  std::optional<step_node> parse_step(const YAML::Node& item, bool in_station);
  std::vector<step_node> parse_steps(const YAML::Node& list, std::string_view what, bool required,
                                     bool in_station);
  std::vector<step_node> expand_loop(const loop_plan& plan, const YAML::Node& body,
                                     std::string_view what, bool station, const YAML::Node& at,
                                     std::string_view type);
  std::string point_json() const;
  void parse_parameters(const yaml_map& top, const load_options& opts);
};

std::string loader::point_json() const {
  if (points.empty()) return {};
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, v] : points) {
    if (v.number) {
      double d = 0;
      try {
        d = std::stod(v.text);
      } catch (const std::exception&) {
        j[name] = v.text;
        continue;
      }
      if (d == static_cast<double>(static_cast<long long>(d)) && std::abs(d) < 9e15) {
        j[name] = static_cast<long long>(d);
      } else {
        j[name] = d;
      }
    } else {
      j[name] = v.text;
    }
  }
  // error_handler_t::replace: a loop value need not be UTF-8 (a Latin-1 "25 \xB0C" in a sweep's
  // values); the default handler throws json::type_error 316 out of the loader, which ended
  // `hilt validate` / `hilt run` with an uncaught exception (found by tests/fuzz/sequence_loader).
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// "line 3, column 5" for a "file:3:5" of this file (messages about another place in it).
std::string line_column(const std::string& where) {
  const std::size_t col = where.rfind(':');
  const std::size_t line = col == std::string::npos ? col : where.rfind(':', col - 1);
  if (line == std::string::npos) return where;
  return fmt::format("line {}, column {}", where.substr(line + 1, col - line - 1),
                     where.substr(col + 1));
}

std::vector<step_node> loader::expand_loop(const loop_plan& plan, const YAML::Node& body,
                                           std::string_view what, bool station,
                                           const YAML::Node& at, std::string_view type) {
  std::vector<step_node> out;
  // One name, one meaning: a loop variable shadows neither a parameter nor an enclosing loop's.
  if (auto it = ctx.parameters().find(plan.variable); it != ctx.parameters().end()) {
    if (it->second.loop) {
      ctx.error(plan.variable_node,
                fmt::format("{}: '{}' is already the variable of an enclosing loop (named at {}); "
                            "give this one another name{}",
                            type, plan.variable, line_column(it->second.where),
                            type == "repeat" ? " with 'index:'" : ""));
    } else {
      ctx.error(plan.variable_node,
                fmt::format("{}: '{}' is already a parameter of the sequence (declared at {}); "
                            "give the loop variable another name",
                            type, plan.variable, line_column(it->second.where)));
    }
    return out;
  }
  const std::string var_where = ctx.where(plan.variable_node);
  for (const auto& v : plan.values) {
    const std::size_t errors_before = ctx.error_count();
    ctx.bind(plan.variable, v.text, var_where);
    points.emplace_back(plan.variable, v);
    step_node pass;
    pass.type = plan.point_type;
    pass.name = fmt::format("{}={}", plan.variable, v.text);
    pass.where = ctx.where(at);
    pass.station = station;
    pass.sweep_point_json = point_json();
    ++nodes;
    pass.children = parse_steps(body, what, /*required=*/true, station);
    points.pop_back();
    ctx.unbind(plan.variable);
    // A mistake in the body is the same mistake at every point: report it once.
    if (ctx.error_count() != errors_before) break;
    out.push_back(std::move(pass));
    if (nodes > max_expanded_steps) {
      ctx.error(at, fmt::format("{}: the sequence expands to more than {} steps (loops multiply "
                                "their bodies); use fewer points or split the sequence",
                                type, max_expanded_steps));
      break;
    }
  }
  return out;
}

std::vector<step_node> loader::parse_steps(const YAML::Node& list, std::string_view what,
                                           bool required, bool in_station) {
  std::vector<step_node> out;
  if (list.IsNull() || (list.IsSequence() && list.size() == 0)) {
    if (required) ctx.error(list, fmt::format("{}: expected at least one step", what));
    return out;
  }
  if (!list.IsSequence()) {
    ctx.error(list,
              fmt::format("{}: expected a list of steps (lines starting with '- step: "
                          "TYPE'), got {}",
                          what, list.IsMap() ? "a mapping" : "'" + display(list.Scalar()) + "'"));
    return out;
  }
  for (const auto& item : list) {
    if (auto n = parse_step(item, in_station)) out.push_back(std::move(*n));
  }
  return out;
}

std::optional<step_node> loader::parse_step(const YAML::Node& item, bool in_station) {
  const std::size_t errors_before = ctx.error_count();
  std::optional<yaml_map> keys;
  YAML::Node type_node;
  if (item.IsScalar()) {
    keys.emplace(ctx);  // "- identify": a step with no options
    type_node = item;
  } else if (item.IsMap()) {
    keys.emplace(ctx, item, "a step");
    const auto* t = keys->find("step");
    if (t == nullptr) {
      ctx.error(item, fmt::format("a step needs 'step: TYPE'; step types: {}", type_list()));
      return std::nullopt;
    }
    type_node = t->value;
  } else {
    ctx.error(item, fmt::format("expected a step ('step: TYPE' and its options, or just a step "
                                "type), got {}",
                                item.IsNull() ? "nothing" : "a list"));
    return std::nullopt;
  }

  step_node node;
  node.where = ctx.where(item);
  const step_type* type = nullptr;
  if (auto name = ctx.read_text(type_node, "step")) {
    type = registry.find(*name);
    if (type == nullptr) {
      const std::vector<std::string> names = registry.names();
      const std::string near = nearest(*name, names);
      ctx.error(type_node, fmt::format("unknown step type '{}'{}; step types: {}", *name,
                                       near.empty() ? std::string()
                                                    : fmt::format(" (did you mean '{}'?)", near),
                                       join(names)));
    }
  }

  std::vector<std::string> unknown;
  if (type != nullptr) {
    node.type = type->name;
    node.name = type->name;
    std::vector<std::string> accepted = type->options;
    if (!type->children_key.empty()) accepted.push_back(type->children_key);
    accepted.insert(accepted.end(), common_step_keys().begin(), common_step_keys().end());
    unknown = keys->reject_unknown(accepted, "option", fmt::format("for step '{}'", type->name),
                                   type->unknown_option_note);
  }

  // Common keys are checked even when the type is unknown: their mistakes are independent.
  if (const auto* e = keys->find("name")) {
    if (auto name = ctx.read_text(e->value, "name")) {
      if (name->empty()) {
        ctx.error(e->value, "name: expected a display name, got an empty text");
      } else {
        node.name = *name;
      }
    }
  }
  if (const auto* e = keys->find("timeout")) {
    node.timeout = ctx.read_duration(e->value, "timeout", /*allow_zero=*/false);
  }
  if (const auto* e = keys->find("retry")) {
    if (auto n = ctx.read_integer(e->value, "retry", 0, 100,
                                  "extra attempts after a failure or error")) {
      node.retries = static_cast<int>(*n);
    }
  }
  bool station = in_station;
  if (const auto* e = keys->find("station")) {
    if (auto b = ctx.read_bool(e->value, "station")) {
      if (*b && type != nullptr && type->needs_dut) {
        ctx.error(e->value, fmt::format("station: step '{}' needs a DUT, so it cannot run as a "
                                        "station step",
                                        type->name));
      }
      station = station || *b;
    }
  }
  if (type == nullptr) return std::nullopt;
  if (in_station && type->needs_dut) {
    ctx.error(type_node, fmt::format("step '{}' needs a DUT, so it cannot run inside a group with "
                                     "'station: true'",
                                     type->name));
  }
  node.station = station;
  node.sweep_point_json = point_json();  // the point of the loops around it, if any
  ++nodes;

  const step_spec spec{type->name, item, *keys, station, unknown, node.timeout};
  if (!type->children_key.empty()) {
    const auto* e = keys->find(type->children_key);
    std::optional<loop_plan> plan;
    if (type->plan) plan = type->plan(ctx, spec);
    if (e == nullptr) {
      if (!misspelt(unknown, type->children_key)) {
        ctx.error(item, fmt::format("step '{}' needs '{}:' (a list of steps)", type->name,
                                    type->children_key));
      }
    } else if (ctx.depth >= max_group_depth) {
      ctx.error(e->key_node,
                fmt::format("steps are nested more than {} groups deep", max_group_depth));
    } else if (type->plan) {
      if (plan) {
        ++ctx.depth;
        node.children = expand_loop(*plan, e->value, type->children_key, station, item, type->name);
        --ctx.depth;
      }
    } else {
      ++ctx.depth;
      node.children = parse_steps(e->value, type->children_key, /*required=*/true, station);
      --ctx.depth;
    }
  }

  if (type->parse) {
    node.impl = type->parse(ctx, spec);
    if (!node.impl && ctx.error_count() == errors_before) {
      ctx.error(item, fmt::format("step '{}' could not be parsed", type->name));  // parser bug
    }
  }
  // The step reads its own timeout: a timeout is its result (a failed condition), not an error.
  if (type->handles_timeout) node.timeout.reset();
  if (ctx.error_count() != errors_before) return std::nullopt;
  if (type->name == "identify") ctx.identified = true;  // limits by part number may follow
  return node;
}

void loader::parse_parameters(const yaml_map& top, const load_options& opts) {
  static const std::vector<std::string> param_keys{"default", "description"};
  std::map<std::string, parameter> params;
  std::map<std::string, YAML::Node> decl_keys;  // for messages about a declaration
  const auto* section = top.find("parameters");
  if (section != nullptr && !section->value.IsNull()) {
    yaml_map decls(ctx, section->value, "parameters");
    for (const auto& d : decls.entries()) {
      if (!is_parameter_name(d.key)) {
        ctx.error(d.key_node, fmt::format("parameter names are made of letters, digits and '_' "
                                          "and do not start with a digit, got '{}'",
                                          d.key));
        continue;
      }
      parameter p;
      p.name = d.key;
      p.where = ctx.where(d.key_node);
      YAML::Node value;
      if (d.value.IsMap()) {
        yaml_map m(ctx, d.value, fmt::format("parameter '{}'", d.key));
        m.reject_unknown(param_keys, "key", fmt::format("in parameter '{}'", d.key));
        if (const auto* e = m.find("default")) value = e->value;
        if (const auto* e = m.find("description")) {
          if (auto t = ctx.read_text(e->value, "description")) p.description = *t;
        }
      } else if (!d.value.IsNull()) {
        value = d.value;  // shorthand "name: VALUE"
      }
      if (value.IsDefined() && !value.IsNull()) {
        if (!value.IsScalar()) {
          ctx.error(value, fmt::format("default: expected a single value for parameter '{}', got "
                                       "{}",
                                       d.key, value.IsMap() ? "a mapping" : "a list"));
        } else if (display(value.Scalar()) != value.Scalar()) {
          ctx.error(value, fmt::format("default: a parameter's default cannot refer to another "
                                       "parameter, got '{}'",
                                       display(value.Scalar())));
          p.has_value = true;  // reported; do not also say it has no default
        } else {
          p.value = value.Scalar();
          p.has_value = true;
        }
      }
      decl_keys.emplace(p.name, d.key_node);
      params.emplace(p.name, std::move(p));
    }
  }

  std::vector<std::string> declared;
  for (const auto& [name, p] : params)
    declared.push_back(name);
  for (const auto& [name, value] : opts.overrides) {
    auto it = params.find(name);
    if (it != params.end()) {
      it->second.value = value;
      it->second.overridden = true;
      it->second.has_value = true;
      continue;
    }
    std::string msg = fmt::format("--set {}={}: ", name, value);
    if (declared.empty()) {
      msg += fmt::format("this sequence declares no parameters, so '{}' cannot be set", name);
    } else {
      const std::string near = nearest(name, declared);
      msg += fmt::format("the sequence declares no parameter '{}'{}; declared parameters: {}", name,
                         near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                         join(declared));
    }
    if (section != nullptr) {
      ctx.error(section->key_node, msg);
    } else {
      ctx.error_in_file(msg);
    }
  }
  for (const auto& [name, p] : params) {
    if (p.has_value) continue;
    ctx.error(decl_keys.at(name),
              fmt::format("parameter '{}' has no default, so it must be given with --set {}=VALUE",
                          name, name));
  }
  ctx.set_parameters(std::move(params));
}

struct analysis {
  hilt::sequence seq;
  std::vector<config_error> errors;
};

// Where byte `offset` of `text` is, as a YAML mark.
YAML::Mark mark_at(std::string_view text, std::size_t offset) {
  YAML::Mark m;
  m.pos = static_cast<int>(offset);
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.column = 0;
    } else if (text[i] != '\r') {
      ++m.column;
    }
  }
  return m;
}

void parse_document(loader& ld, const YAML::Node& root, const load_options& opts,
                    hilt::sequence& seq) {
  parse_context& ctx = ld.ctx;
  if (!root.IsDefined() || root.IsNull()) {
    ctx.error_in_file("the file holds no sequence; a sequence file starts with 'sequence: NAME'");
    return;
  }
  if (!root.IsMap()) {
    ctx.error(root, fmt::format("a sequence file is a mapping that starts with 'sequence: NAME', "
                                "got {}",
                                root.IsSequence() ? "a list" : "'" + display(root.Scalar()) + "'"));
    return;
  }
  yaml_map top(ctx, root, "a sequence file");
  const auto* name = top.find("sequence");
  if (name == nullptr && top.has("fixture")) {
    ctx.error(top.find("fixture")->key_node,
              "this is a fixture file (it has 'fixture:'), not a sequence; a sequence file starts "
              "with 'sequence: NAME'");
    return;
  }
  const auto unknown = top.reject_unknown(top_level_keys(), "key", "at the top level");
  if (name == nullptr && !misspelt(unknown, "sequence")) {
    ctx.error(root,
              "missing 'sequence: NAME' at the top level; it marks the file as a sequence "
              "and names it");
  }

  // Parameters first: every other value may refer to them.
  ld.parse_parameters(top, opts);
  for (const auto& [n, p] : ctx.parameters()) {
    if (p.has_value) seq.parameters.emplace(n, p.value);
  }

  if (name != nullptr) {
    if (auto t = ctx.read_text(name->value, "sequence")) {
      if (t->empty()) {
        ctx.error(name->value, "sequence: expected the sequence's name, got an empty text");
      } else {
        seq.name = *t;
      }
    }
  }
  if (const auto* e = top.find("description")) {
    if (auto t = ctx.read_text(e->value, "description")) seq.description = *t;
  }
  if (const auto* e = top.find("on_fail")) {
    static constexpr std::array<std::string_view, 3> policies{"stop_dut", "stop_all", "never"};
    if (auto p = ctx.read_choice(e->value, "on_fail", policies)) {
      seq.on_fail = *p == "stop_all" ? stop_policy::stop_all
                    : *p == "never"  ? stop_policy::never
                                     : stop_policy::stop_dut;
    }
  }
  if (const auto* e = top.find("limits")) {
    ctx.set_limits(load_limit_library(ctx, e->value, seq.path));
  }
  if (const auto* e = top.find("fixture")) {
    if (auto t = ctx.read_text(e->value, "fixture")) {
      if (t->empty()) {
        ctx.error(e->value,
                  "fixture: expected the path of the fixture this sequence is written "
                  "for, got an empty text");
      } else {
        std::filesystem::path f(*t);
        if (f.is_relative()) f = std::filesystem::path(seq.path).parent_path() / f;
        seq.fixture = f.lexically_normal().string();
      }
    }
  }
  if (const auto* e = top.find("duts")) {
    (void)read_dut_selection(ctx, e->value);  // matched against the fixture before a run
  }
  if (const auto* e = top.find("setup")) {
    seq.setup = ld.parse_steps(e->value, "setup", /*required=*/false, /*in_station=*/false);
  }
  if (const auto* e = top.find("main")) {
    seq.main = ld.parse_steps(e->value, "main", /*required=*/true, /*in_station=*/false);
  } else if (!misspelt(unknown, "main")) {
    ctx.error(root, "missing 'main:', the list of steps the sequence runs for each DUT");
  }
  if (const auto* e = top.find("cleanup")) {
    seq.cleanup = ld.parse_steps(e->value, "cleanup", /*required=*/false, /*in_station=*/false);
  }
}

analysis analyse(const std::string& original, const std::string& file, const load_options& opts) {
  analysis out;
  out.seq.path = file;
  out.seq.text = original;

  // yaml-cpp skips a UTF-8 byte order mark and counts positions after it; so do we.
  std::string_view body = original;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  const std::string text = protect_references(body);
  parse_context ctx(file, text);
  loader ld{ctx, opts.steps != nullptr ? *opts.steps : builtin_steps()};

  // The rewritten ${...} form uses these bytes, which valid YAML cannot contain raw anyway.
  if (const auto bad = body.find_first_of("\x01\x02"); bad != std::string_view::npos) {
    ctx.error(mark_at(body, bad),
              fmt::format("control character 0x{:02x} is not allowed in a YAML file",
                          static_cast<int>(body[bad])));
    out.errors = ctx.errors();
    return out;
  }

  std::vector<YAML::Node> docs;
  try {
    docs = load_all(text);  // not YAML::LoadAll: see parse.hpp
  } catch (const YAML::Exception& e) {
    ctx.error(e.mark, fmt::format("YAML syntax error: {}", e.msg));
    out.errors = ctx.errors();
    return out;
  }
  if (docs.size() > 1) {
    ctx.error(docs[1], "a sequence file holds one YAML document; this '---' starts a second one");
  }
  try {
    parse_document(ld, docs.empty() ? YAML::Node() : docs.front(), opts, out.seq);
  } catch (const YAML::Exception& e) {
    // Not expected (every access checks the node type first); kept so bad input never crashes.
    ctx.error(e.mark, fmt::format("cannot read this YAML: {}", e.msg));
  }
  out.errors = ctx.errors();
  return out;
}

// Reads the whole file; on failure returns nullopt and the errno text.
std::optional<std::string> read_file(const std::filesystem::path& file, std::string& why) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  std::array<char, 65536> buf;
  for (;;) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    text.append(buf.data(), n);
    if (n < buf.size()) break;
  }
  if (std::ferror(f.get())) {  // a directory opens but does not read (EISDIR)
    why = std::strerror(errno);
    return std::nullopt;
  }
  return text;
}

analysis analyse_file(const std::filesystem::path& file, const load_options& opts) {
  std::string why;
  auto text = read_file(file, why);
  if (!text) {
    analysis out;
    out.errors.emplace_back(file.string(), fmt::format("cannot read: {}", why));
    return out;
  }
  return analyse(*text, file.string(), opts);
}

}  // namespace

const std::vector<std::string>& top_level_keys() {
  static const std::vector<std::string> keys{"sequence", "description", "parameters", "limits",
                                             "fixture",  "duts",        "on_fail",    "setup",
                                             "main",     "cleanup"};
  return keys;
}

hilt::sequence load_sequence(const std::filesystem::path& file, const load_options& opts) {
  auto a = analyse_file(file, opts);
  if (!a.errors.empty()) throw a.errors.front();
  return std::move(a.seq);
}

std::vector<config_error> check_sequence(const std::filesystem::path& file,
                                         const load_options& opts) {
  return analyse_file(file, opts).errors;
}

hilt::sequence load_sequence_text(const std::string& text, const std::string& file,
                                  const load_options& opts) {
  auto a = analyse(text, file, opts);
  if (!a.errors.empty()) throw a.errors.front();
  return std::move(a.seq);
}

std::vector<config_error> check_sequence_text(const std::string& text, const std::string& file,
                                              const load_options& opts) {
  return analyse(text, file, opts).errors;
}

}  // namespace hilt::seq
