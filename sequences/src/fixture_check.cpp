#include "hilt/seq/fixture_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace hilt::seq {

namespace {

constexpr int max_slot = 100000;

std::string describe_fixture(const hilt::fixture& fx) {
  return fmt::format("fixture '{}' ({})", fx.name, fx.path);
}

std::string dut_list(const hilt::fixture& fx) {
  std::vector<std::string> out;
  for (const auto& d : fx.duts)
    out.push_back(fmt::format("{} (slot {})", d.name, d.slot));
  return out.empty() ? std::string("none") : join(out);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// The `duts:` of a loaded sequence, re-read from its text with its resolved parameters (the
// loaded form keeps only what the runner needs). Errors are collected in `ctx`.
std::optional<dut_selection> stored_selection(const hilt::sequence& seq, parse_context& ctx,
                                              const std::string& text) {
  std::map<std::string, parameter> params;
  for (const auto& [name, value] : seq.parameters) {
    parameter p;
    p.name = name;
    p.value = value;
    p.has_value = true;
    params.emplace(name, std::move(p));
  }
  ctx.set_parameters(std::move(params));
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) return dut_selection{};
    for (const auto& kv : root) {
      if (kv.first.IsScalar() && kv.first.Scalar() == "duts") {
        return read_dut_selection(ctx, kv.second);
      }
    }
  } catch (const YAML::Exception&) {
    // The loader reports syntax errors; a sequence that loaded has none.
  }
  return dut_selection{};
}

struct dut_check {
  std::vector<config_error> errors;
  std::vector<hilt::fixture::dut_entry> selected;
};

dut_check check_duts(const hilt::sequence& seq, const hilt::fixture& fx) {
  dut_check out;
  std::string_view body = seq.text;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  const std::string text = protect_references(body);
  parse_context ctx(seq.path, text);
  auto sel = stored_selection(seq, ctx, text);
  if (sel && sel->entries.empty()) {
    out.selected = fx.duts;
  } else if (sel) {
    std::set<int> slots;
    std::vector<std::string> names;
    for (const auto& d : fx.duts)
      names.push_back(d.name);
    for (const auto& e : sel->entries) {
      const hilt::fixture::dut_entry* hit = nullptr;
      for (const auto& d : fx.duts) {
        if (e.slot ? d.slot == *e.slot : d.name == e.text) hit = &d;
      }
      if (hit != nullptr) {
        slots.insert(hit->slot);
        continue;
      }
      if (e.slot) {
        ctx.error(e.node, fmt::format("duts: no DUT in slot {} in {}; its DUTs: {}", *e.slot,
                                      describe_fixture(fx), dut_list(fx)));
      } else {
        const std::string near = nearest(e.text, names);
        ctx.error(e.node,
                  fmt::format(
                      "duts: no DUT named '{}' in {}{}; its DUTs: {}", e.text, describe_fixture(fx),
                      near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                      dut_list(fx)));
      }
    }
    for (const auto& d : fx.duts) {
      if (slots.contains(d.slot)) out.selected.push_back(d);
    }
  }
  if (sel && fx.duts.empty()) {
    ctx.error_in_file(fmt::format("{} defines no DUTs, so the sequence has nothing to run on",
                                  describe_fixture(fx)));
  }
  out.errors = ctx.errors();
  return out;
}

void check_devices(const std::vector<step_node>& nodes, const hilt::fixture& fx,
                   std::set<std::string>& seen, std::vector<config_error>& errors) {
  for (const auto& n : nodes) {
    if (const auto* user = dynamic_cast<const needs_devices*>(n.impl.get())) {
      for (const auto& need : user->required_devices()) {
        if (fx.find_device(need.name) != nullptr) continue;
        // A loop's body is expanded once per point: one message per place in the file.
        if (!seen.insert(need.where + '\x1f' + need.name).second) continue;
        std::vector<std::string> devices;
        for (const auto& d : fx.devices)
          devices.push_back(d.name);
        const std::string near = nearest(need.name, devices);
        errors.emplace_back(
            need.where,
            fmt::format("device: step '{}' needs device '{}' (to {}), which {} does not have{}; "
                        "its devices: {}",
                        n.type, need.name, need.purpose, describe_fixture(fx),
                        near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                        devices.empty() ? std::string("none") : join(devices)));
      }
    }
    check_devices(n.children, fx, seen, errors);
  }
}

void check_links(const std::vector<step_node>& nodes, const hilt::fixture& fx,
                 const std::vector<hilt::fixture::dut_entry>& duts, std::set<std::string>& seen,
                 std::vector<config_error>& errors) {
  for (const auto& n : nodes) {
    if (const auto* user = dynamic_cast<const needs_links*>(n.impl.get())) {
      for (const auto& need : user->required_links()) {
        for (const auto& d : duts) {
          bool ok = false;
          if (need.what == link_need::kind::asic) {
            ok = !fx.links.electrical_of(d.module).empty();
          } else {
            for (const auto* o : fx.links.optical_of(d.module))
              ok = ok || !o->loopback();
          }
          if (ok || !seen.insert(need.where + '\x1f' + d.module).second) continue;
          errors.emplace_back(
              need.where,
              need.what == link_need::kind::asic
                  ? fmt::format("{} needs DUT {} (module '{}') linked to a switch ASIC, and {} "
                                "has no 'links:' entry with 'module: {}' and 'asic:'",
                                need.purpose, d.name, d.module, describe_fixture(fx), d.module)
                  : fmt::format("{} needs DUT {} (module '{}') on a fiber to another module, and "
                                "{} has no 'links:' entry with 'fiber:' naming '{}'",
                                need.purpose, d.name, d.module, describe_fixture(fx), d.module));
        }
      }
    }
    check_links(n.children, fx, duts, seen, errors);
  }
}

void check_on_bench(const std::vector<step_node>& nodes, hilt::bench& b,
                    std::set<std::string>& seen, std::vector<config_error>& errors) {
  for (const auto& n : nodes) {
    if (const auto* user = dynamic_cast<const needs_devices*>(n.impl.get())) {
      for (const auto& need : user->required_devices()) {
        if (!need.check) continue;
        hilt::device* d = b.find(need.name);
        if (d == nullptr) continue;  // not opened: the run reports it when the step runs
        std::string problem = need.check(*d);
        if (problem.empty() || !seen.insert(need.where + '\x1f' + problem).second) continue;
        errors.emplace_back(need.where, problem);
      }
    }
    check_on_bench(n.children, b, seen, errors);
  }
}

}  // namespace

std::optional<dut_selection> read_dut_selection(parse_context& ctx, const YAML::Node& node) {
  dut_selection out;
  if (node.IsScalar()) {
    auto t = ctx.read_text(node, "duts");
    if (!t) return std::nullopt;
    if (*t == "all") return out;
  }
  auto items = read_list(ctx, node, "duts", "'all', slot numbers or DUT names");
  if (!items) return std::nullopt;
  bool ok = true;
  std::set<std::string> seen;
  for (const auto& item : *items) {
    dut_selection::entry e{item.text, std::nullopt, item.node};
    if (item.text == "all") {
      ctx.error(item.node,
                "duts: 'all' selects every DUT; it cannot be combined with slots or "
                "names");
      ok = false;
      continue;
    }
    if (all_digits(item.text)) {
      int v = 0;
      auto [p, ec] = std::from_chars(item.text.data(), item.text.data() + item.text.size(), v);
      if (ec != std::errc{} || v < 1 || v > max_slot) {
        ctx.error(item.node, fmt::format("duts: expected a slot number from 1 to {}, got '{}'",
                                         max_slot, item.text));
        ok = false;
        continue;
      }
      e.slot = v;
    }
    const std::string key = e.slot ? fmt::format("slot {}", *e.slot) : item.text;
    if (!seen.insert(key).second) {
      ctx.error(item.node,
                fmt::format("duts: {} is selected twice", e.slot ? key : "'" + key + "'"));
      ok = false;
      continue;
    }
    out.entries.push_back(std::move(e));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::vector<config_error> check_sequence_against_fixture(const hilt::sequence& seq,
                                                         const hilt::fixture& fx) {
  auto duts = check_duts(seq, fx);
  std::vector<config_error> errors = duts.errors;
  std::set<std::string> seen, seen_links;
  for (const auto* section : {&seq.setup, &seq.main, &seq.cleanup}) {
    check_devices(*section, fx, seen, errors);
    check_links(*section, fx, duts.selected, seen_links, errors);
  }
  return errors;
}

std::vector<config_error> check_sequence_against_bench(const hilt::sequence& seq,
                                                       hilt::bench& bench) {
  std::vector<config_error> errors;
  std::set<std::string> seen;
  for (const auto* section : {&seq.setup, &seq.main, &seq.cleanup})
    check_on_bench(*section, bench, seen, errors);
  return errors;
}

std::vector<hilt::fixture::dut_entry> select_duts(const hilt::sequence& seq,
                                                  const hilt::fixture& fx) {
  auto c = check_duts(seq, fx);
  if (!c.errors.empty()) throw c.errors.front();
  return std::move(c.selected);
}

}  // namespace hilt::seq
