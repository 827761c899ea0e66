#include "ber/ber.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "ber/ber_stats.hpp"
#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {

constexpr int max_lane = 32;
using std::chrono::duration_cast;
using dsec = std::chrono::duration<double>;

// One end of a PRBS test: the DUT's module (on `side`), the module at the far end of its fiber
// (media side), or the switch-ASIC ports linked to its host lanes.
struct asic_port_end {
  switch_asic* asic = nullptr;
  int port = 0;
  std::map<int, int> dut_lane;  // ASIC lane -> DUT host lane (fixture links:)
};
struct prbs_end {
  ber_step::end_kind kind = ber_step::end_kind::module;
  managed_module* module = nullptr;  // module and far_module ends
  hilt::side side = side::media;     // module ends (a far module is always media)
  lane_mask lanes = 0;               // module ends: the lanes to drive
  std::vector<asic_port_end> ports;  // asic ends

  hilt::device& dev() const {
    return ports.empty() ? static_cast<hilt::device&>(*module) : *ports.front().asic;
  }
  std::string name() const {
    switch (kind) {
      case ber_step::end_kind::module:
        return fmt::format("{} {}", module->name(), to_string(side));
      case ber_step::end_kind::far_module:
        return fmt::format("{} media (far end)", module->name());
      case ber_step::end_kind::asic:
      case ber_step::end_kind::far_asic: {
        std::vector<std::string> p;
        for (const auto& e : ports)
          p.push_back(fmt::format("{}/{}", e.asic->name(), e.port));
        return join(p);
      }
    }
    return {};
  }
};

bool is_asic(const prbs_end& e) {
  return !e.ports.empty();
}

bool same_module_end(const prbs_end& a, const prbs_end& b) {
  return !is_asic(a) && !is_asic(b) && a.module == b.module && a.side == b.side;
}

bool same_ports(const prbs_end& a, const prbs_end& b) {
  if (a.ports.size() != b.ports.size()) return false;
  for (std::size_t i = 0; i < a.ports.size(); ++i) {
    if (a.ports[i].asic != b.ports[i].asic || a.ports[i].port != b.ports[i].port) return false;
  }
  return true;
}

// Switches generator and checker on (or off). Where one device is both ends it is configured
// once with both functions, so enabling the checker does not stop the generator.
task<std::error_code> enable_ends(const prbs_end& gen, const prbs_end& chk, prbs_pattern p,
                                  bool on) {
  if (same_module_end(gen, chk)) {
    co_return co_await chk.module->async_prbs_configure(chk.side, chk.lanes | gen.lanes, p, on, on);
  }
  if (is_asic(gen) && is_asic(chk) && same_ports(gen, chk)) {
    for (const auto& e : chk.ports) {
      if (auto ec = co_await e.asic->async_prbs_configure(
              e.port, on ? prbs_config::enable_tx_rx : prbs_config::disable, p)) {
        co_return ec;
      }
    }
    co_return std::error_code{};
  }
  // Generator first on the way up (the checker locks on what arrives), checker first on the way
  // down.
  for (int pass = 0; pass < 2; ++pass) {
    const bool generator_now = on ? pass == 0 : pass == 1;
    const prbs_end& e = generator_now ? gen : chk;
    if (is_asic(e)) {
      const prbs_config cfg = !on             ? prbs_config::disable
                              : generator_now ? prbs_config::enable_tx
                                              : prbs_config::enable_rx;
      for (const auto& port : e.ports) {
        if (auto ec = co_await port.asic->async_prbs_configure(port.port, cfg, p)) co_return ec;
      }
    } else if (auto ec = co_await e.module->async_prbs_configure(
                   e.side, e.lanes, p, generator_now && on, !generator_now && on)) {
      co_return ec;
    }
  }
  co_return std::error_code{};
}

// The checker's lanes, numbered as the results are stored: module and far-module lanes as they
// are, ASIC lanes as the DUT host lanes they are linked to.
task<result<std::vector<prbs_lane_status>>> read_checker(const prbs_end& chk) {
  if (!is_asic(chk)) {
    co_return co_await chk.module->async_prbs_read(chk.side);
  }
  std::vector<prbs_lane_status> out;
  for (const auto& e : chk.ports) {
    auto r = co_await e.asic->async_prbs_read(e.port);
    if (!r) co_return failure(r.error());
    for (auto st : r.value()) {
      auto it = e.dut_lane.find(st.lane);
      if (it == e.dut_lane.end()) continue;
      st.lane = it->second;
      st.side = side::host;
      out.push_back(st);
    }
  }
  co_return out;
}

std::string patterns_text() {
  static constexpr std::array all{
      prbs_pattern::prbs31q, prbs_pattern::prbs31, prbs_pattern::prbs23q, prbs_pattern::prbs23,
      prbs_pattern::prbs15q, prbs_pattern::prbs15, prbs_pattern::prbs13q, prbs_pattern::prbs13,
      prbs_pattern::prbs9q,  prbs_pattern::prbs9,  prbs_pattern::prbs7q,  prbs_pattern::prbs7,
      prbs_pattern::ssprq};
  std::vector<std::string> names;
  for (auto p : all)
    names.emplace_back(to_string(p));
  return join(names);
}

}  // namespace

int media_lane_count(const identity* id) {
  if (id == nullptr) return 0;
  auto it = id->extra.find("applications");
  if (it == id->extra.end()) return 0;
  int best = 0;
  const std::string& s = it->second;
  for (std::size_t x = s.find('x'); x != std::string::npos; x = s.find('x', x + 1)) {
    int v = 0;
    const char* b = s.data() + x + 1;
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc{} && p != b) best = std::max(best, v);
  }
  return best;
}

namespace {

std::string lanes_text(const std::vector<int>& lanes) {
  std::vector<std::string> out;
  for (int l : lanes)
    out.push_back(std::to_string(l));
  return join(out);
}

std::shared_ptr<const step> parse_ber(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  ber_step::config cfg;
  cfg.where = ctx.where(spec.node);
  if (const auto* e = spec.options.find("pattern")) {
    if (auto t = ctx.read_text(e->value, "pattern")) {
      if (auto p = parse_prbs_pattern(*t)) {
        cfg.pattern = *p;
      } else {
        ctx.error(e->value, fmt::format("pattern: unknown PRBS pattern '{}'; known: {}", *t,
                                        patterns_text()));
      }
    }
  }
  static constexpr std::array<std::string_view, 4> ends{"module", "asic", "far_module", "far_asic"};
  auto read_end = [&](std::string_view key, ber_step::end_kind& out) {
    if (const auto* e = spec.options.find(key)) {
      if (auto v = ctx.read_choice(e->value, key, ends)) {
        out = *v == "module"       ? ber_step::end_kind::module
              : *v == "asic"       ? ber_step::end_kind::asic
              : *v == "far_module" ? ber_step::end_kind::far_module
                                   : ber_step::end_kind::far_asic;
        (key == "generator" ? cfg.generator_where : cfg.checker_where) = ctx.where(e->value);
      }
    }
  };
  read_end("generator", cfg.generator);
  read_end("checker", cfg.checker);
  auto far = [](ber_step::end_kind k) {
    return k == ber_step::end_kind::far_module || k == ber_step::end_kind::far_asic;
  };
  if (far(cfg.generator) && far(cfg.checker)) {
    ctx.error(spec.options.find("checker")->value,
              "checker: with a far end as generator too, the test never passes through the DUT; "
              "one end must be the DUT's module ('module') or its ASIC ports ('asic')");
  }
  const bool module_end =
      cfg.generator == ber_step::end_kind::module || cfg.checker == ber_step::end_kind::module;
  if (const auto* e = spec.options.find("side")) {
    static constexpr std::array<std::string_view, 2> sides{"host", "media"};
    if (!module_end) {
      ctx.error(e->key_node,
                "side: chooses the side of the DUT module's generator or checker; "
                "this test uses neither (generator and checker are 'asic', "
                "'far_module' or 'far_asic')");
    } else if (auto v = ctx.read_choice(e->value, "side", sides)) {
      cfg.side = *v == "host" ? side::host : side::media;
    }
  }
  if (module_end && cfg.side == side::host && (far(cfg.generator) || far(cfg.checker))) {
    ctx.error(spec.options.find("side")->value,
              "side: host with a far end: the far module and its ASIC are reached through the "
              "fiber, so the DUT's end must be on its media side");
  }
  if (const auto* e = spec.options.find("lanes")) {
    if (auto lanes = parse_lanes(ctx, e->value, max_lane)) cfg.lanes = std::move(*lanes);
  }
  if (const auto* e = require_option(ctx, spec, "target", "the BER to demonstrate, like 1e-12")) {
    static constexpr std::array dims{dimension::none};
    if (auto q = ctx.read_quantity(e->value, "target", dims)) {
      if (!(q->value > 0 && q->value < 0.5)) {
        ctx.error(e->value,
                  fmt::format("target: a BER must be above 0 and below 0.5, got {:g}", q->value));
      } else {
        cfg.target = q->value;
      }
    }
  }
  if (const auto* e = spec.options.find("confidence")) {
    static constexpr std::array dims{dimension::percent, dimension::none};
    if (auto q = ctx.read_quantity(e->value, "confidence", dims)) {
      const double cl = q->dim == dimension::percent ? q->value / 100 : q->value;
      if (!(cl > 0 && cl < 1)) {
        ctx.error(e->value, fmt::format("confidence: expected a level above 0 and below 100 % "
                                        "(like 95 % or 0.95), got {:g}",
                                        cl));
      } else {
        cfg.confidence = cl;
      }
    }
  }
  auto read_time = [&](std::string_view key, clock::duration& out) {
    if (const auto* e = spec.options.find(key)) {
      if (auto d = ctx.read_duration(e->value, key, /*allow_zero=*/false)) out = *d;
    }
  };
  read_time("max_time", cfg.max_time);
  read_time("lock_timeout", cfg.lock_timeout);
  read_time("poll", cfg.poll);
  if (const auto* e = spec.options.find("judge")) {
    if (auto b = ctx.read_bool(e->value, "judge")) cfg.judge = *b;
  }
  if (cfg.generator_where.empty()) cfg.generator_where = cfg.where;
  if (cfg.checker_where.empty()) cfg.checker_where = cfg.where;
  if (ctx.error_count() != errors_before || cfg.target <= 0) return nullptr;
  return std::make_shared<ber_step>(std::move(cfg));
}

struct lane_result {
  bool seen = false;  // the checker reported the lane
  bool locked = false;
  bool lost = false;  // lost lock during the gate
  std::uint64_t base_bits = 0, base_errors = 0;
  std::uint64_t bits = 0, errors = 0;  // in the gate
  ber_stats::decision decision = ber_stats::decision::undecided;
};

}  // namespace

namespace {
task<step_outcome> run_gate(step_context& ctx, const ber_step::config& c, const prbs_end& chk,
                            hilt::side store_side, const std::vector<int>& lanes,
                            const std::string& what, const std::string& pattern) {
  hilt::device* m = &chk.dev();
  auto& clk = ctx.clock();
  std::map<int, lane_result> res;
  for (int l : lanes)
    res[l] = {};

  // 1. Lock.
  const auto lock_deadline = clk.now() + c.lock_timeout;
  const clock::duration lock_poll =
      std::min<clock::duration>(std::chrono::milliseconds(100), c.lock_timeout);
  ctx.progress(lock_deadline, fmt::format("waiting for lock of {}", what));
  for (;;) {
    auto r = co_await read_checker(chk);
    if (!r) {
      co_return (device_failure(*m, fmt::format("read {}", what), r.error()));
    }
    bool all = true;
    for (auto& [l, lr] : res)
      lr.seen = lr.locked = false;
    for (const auto& s : r.value()) {
      auto it = res.find(s.lane);
      if (it == res.end()) continue;
      it->second.seen = true;
      it->second.locked = s.locked;
      it->second.base_bits = s.bits;
      it->second.base_errors = s.errors;
    }
    for (auto& [l, lr] : res)
      all = all && lr.locked;
    if (all) break;
    if (clk.now() >= lock_deadline) {
      std::vector<int> unlocked;
      for (auto& [l, lr] : res) {
        if (!lr.locked) unlocked.push_back(l);
        ctx.record(measurement{"prbs_lock", l, store_side, lr.locked ? 1.0 : 0.0, "",
                               limit{.cmp = limit::comparator::eq,
                                     .low = 1,
                                     .high = 1,
                                     .nominal = 1,
                                     .unit = "",
                                     .source = c.where}});
      }
      const std::string msg =
          fmt::format("{}: {}: no lock on lane(s) {} within {}", describe_device(*m), what,
                      lanes_text(unlocked), format_duration(c.lock_timeout));
      ctx.event(severity::alarm, "prbs_no_lock", msg);
      co_return (step_outcome{verdict::fail, {}, msg});
    }
    // A cancellation during the read reached no wait: see step_cancelled().
    std::error_code ec = make_error_code(errc::cancelled);
    if (!co_await step_cancelled()) ec = co_await clk.async_sleep(lock_poll, asio::use_awaitable);
    if (ec)
      co_return (step_outcome{verdict::error, make_error_code(errc::cancelled),
                              "ber: cancelled while waiting for lock"});
  }

  // 2. Gate: read until every lane is decided, lost, or the time is up.
  const auto gate_start = clk.now();
  const auto gate_end = gate_start + c.max_time;
  ctx.progress(gate_end,
               fmt::format("BER ≤ {:g} at {:g} % on {}", c.target, 100 * c.confidence, what));
  clock::duration next = c.poll;
  for (;;) {
    std::error_code ec = make_error_code(errc::cancelled);
    if (!co_await step_cancelled()) ec = co_await clk.async_sleep(next, asio::use_awaitable);
    if (ec)
      co_return (step_outcome{verdict::error, make_error_code(errc::cancelled),
                              "ber: cancelled during the gate"});
    auto r = co_await read_checker(chk);
    if (!r) {
      co_return (device_failure(*m, fmt::format("read {}", what), r.error()));
    }
    const auto now = clk.now();
    for (const auto& s : r.value()) {
      auto it = res.find(s.lane);
      if (it == res.end()) continue;
      lane_result& lr = it->second;
      if (lr.lost || lr.decision != ber_stats::decision::undecided) continue;
      lr.bits = s.bits >= lr.base_bits ? s.bits - lr.base_bits : 0;
      lr.errors = s.errors >= lr.base_errors ? s.errors - lr.base_errors : 0;
      if (s.lost_lock || !s.locked) {
        lr.lost = true;
        ctx.event(severity::alarm, "prbs_lock_lost",
                  fmt::format("{}: {} lane {} lost lock after {} in gate ({} bits, {} errors)",
                              describe_device(*m), what, s.lane, format_duration(now - gate_start),
                              lr.bits, lr.errors));
        continue;
      }
      lr.decision = ber_stats::decide(c.target, c.confidence, lr.bits, lr.errors);
    }
    // How long until the slowest undecided lane has enough bits.
    const double gated = dsec(now - gate_start).count();
    double wait_s = 0;
    bool open = false;
    for (auto& [l, lr] : res) {
      if (lr.lost || lr.decision != ber_stats::decision::undecided) continue;
      open = true;
      const double rate = gated > 0 ? static_cast<double>(lr.bits) / gated : 0;
      const double need = ber_stats::required_bits(c.target, c.confidence, lr.errors) -
                          static_cast<double>(lr.bits);
      wait_s = std::max(wait_s, rate > 0 ? need / rate : dsec(c.poll).count());
    }
    if (!open || now >= gate_end) break;
    wait_s = std::min(wait_s, std::max(gated, dsec(c.poll).count()));
    next = std::max(c.poll, duration_cast<clock::duration>(dsec(wait_s)));
    next = std::min(next, gate_end - now);
  }

  // 3. Results per lane.
  const double gate_s = dsec(clk.now() - gate_start).count();
  const limit ber_limit{
      .cmp = limit::comparator::le, .high = c.target, .unit = "", .source = c.where};
  const limit lock_limit{.cmp = limit::comparator::eq,
                         .low = 1,
                         .high = 1,
                         .nominal = 1,
                         .unit = "",
                         .source = c.where};
  verdict overall = verdict::pass;
  int proven = 0, violated = 0, lost = 0, open = 0;
  for (auto& [l, lr] : res) {
    ctx.ber_counts(l, store_side, lr.bits, lr.errors, gate_s, pattern);
    const double ber =
        lr.bits > 0 ? static_cast<double>(lr.errors) / static_cast<double>(lr.bits) : std::nan("");
    ctx.record(measurement{"ber", l, store_side, ber, "", std::nullopt});
    const double upper = ber_stats::upper_bound(lr.bits, lr.errors, c.confidence);
    overall = worst(
        overall, ctx.record(measurement{"ber_upper", l, store_side, upper, "",
                                        c.judge ? std::optional<limit>(ber_limit) : std::nullopt}));
    overall = worst(overall, ctx.record(measurement{"prbs_lock", l, store_side, lr.lost ? 0.0 : 1.0,
                                                    "", lock_limit}));
    if (lr.lost) {
      ++lost;
      overall = worst(overall, verdict::fail);
    } else if (lr.decision == ber_stats::decision::proven) {
      ++proven;
    } else if (lr.decision == ber_stats::decision::violated) {
      ++violated;
      if (c.judge) overall = worst(overall, verdict::fail);
    } else {
      ++open;
      if (c.judge) overall = worst(overall, verdict::fail);
    }
    ctx.log().debug("{}: {} lane {}: {} bits, {} errors, BER {:.3g}, upper {:.3g}",
                    describe_device(*m), what, l, lr.bits, lr.errors, ber, upper);
  }
  std::string msg = fmt::format("{}: BER ≤ {:g} at {:g} % proven on {} of {} lane(s) after {}",
                                what, c.target, 100 * c.confidence, proven, res.size(),
                                format_duration(duration_cast<clock::duration>(dsec(gate_s))));
  if (violated > 0) msg += fmt::format("; violated on {}", violated);
  if (lost > 0) msg += fmt::format("; lock lost on {}", lost);
  if (open > 0) msg += fmt::format("; not proven within max_time on {}", open);
  co_return step_outcome{overall, {}, msg};
}

}  // namespace

task<step_outcome> ber_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("ber");
  const config& c = config_;
  const std::string pattern(to_string(c.pattern));

  // The far module (the other end of the DUT's fiber) and the ASIC ports (linked to its host
  // lanes), when an end needs them.
  managed_module* far = nullptr;
  std::vector<int> far_lanes;  // the fiber's media lanes (empty: all)
  std::vector<asic_port_end> ports;
  std::vector<int> linked_host_lanes;
  auto need = [&](end_kind k) { return c.generator == k || c.checker == k; };
  if (need(end_kind::far_module) || need(end_kind::far_asic)) {
    for (const auto* o : ctx.links().optical_of(m->name())) {
      if (o->loopback()) continue;
      far = dynamic_cast<managed_module*>(ctx.find_device(o->a == m->name() ? o->b : o->a));
      far_lanes = o->media_lanes;
      break;
    }
    if (far == nullptr) {
      co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                             fmt::format("ber: {} has no module at the far end of a fiber "
                                         "(fixture 'links:'), or it is not open ({})",
                                         describe_device(*m), c.where)};
    }
  }
  // The ASIC ports linked to a module's host lanes, ASIC lanes mapped to its host lanes.
  auto gather = [&](const managed_module& mod, std::vector<asic_port_end>& out,
                    std::vector<int>& host_lanes) -> std::string {
    for (const auto* l : ctx.links().electrical_of(mod.name())) {
      auto* asic = dynamic_cast<switch_asic*>(ctx.find_device(l->asic));
      if (asic == nullptr) {
        return fmt::format("ber: switch ASIC '{}' ({}) is not open on this bench", l->asic,
                           l->where);
      }
      asic_port_end* e = nullptr;
      for (auto& p : out) {
        if (p.asic == asic && p.port == l->port) e = &p;
      }
      if (e == nullptr) e = &out.emplace_back(asic_port_end{asic, l->port, {}});
      for (std::size_t i = 0; i < l->host_lanes.size(); ++i) {
        e->dut_lane[l->asic_lanes[i]] = l->host_lanes[i];
        host_lanes.push_back(l->host_lanes[i]);
      }
    }
    if (out.empty()) {
      return fmt::format("ber: {} is linked to no switch ASIC (fixture 'links:'; {})",
                         describe_device(mod), c.where);
    }
    std::sort(host_lanes.begin(), host_lanes.end());
    return {};
  };
  if (need(end_kind::asic)) {
    if (auto err = gather(*m, ports, linked_host_lanes); !err.empty()) {
      co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument), err};
    }
  }
  std::vector<asic_port_end> far_ports;
  std::vector<int> far_host_lanes;
  if (need(end_kind::far_asic)) {
    if (auto err = gather(*far, far_ports, far_host_lanes); !err.empty()) {
      co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument), err};
    }
  }

  auto all_lanes = [&](managed_module& mod, hilt::side s) {
    int n = mod.lane_count() > 0 ? mod.lane_count() : 8;
    if (s == side::media && &mod == m) {
      if (int media = media_lane_count(ctx.dut_identity()); media > 0) n = media;
    }
    std::vector<int> out;
    for (int l = 1; l <= std::min(n, max_lane); ++l)
      out.push_back(l);
    return out;
  };
  auto mask_of = [](const std::vector<int>& lanes) {
    lane_mask mask = 0;
    for (int l : lanes)
      mask |= lane_mask{1} << (l - 1);
    return mask;
  };

  // The lanes results are stored for: the checker's, numbered as read_checker() numbers them.
  std::vector<int> lanes = c.lanes;
  hilt::side store_side = c.side;
  if (c.checker == end_kind::asic) {
    store_side = side::host;
    if (lanes.empty()) lanes = linked_host_lanes;
    for (int l : lanes) {
      if (std::find(linked_host_lanes.begin(), linked_host_lanes.end(), l) ==
          linked_host_lanes.end()) {
        co_return step_outcome{
            verdict::error, make_error_code(errc::invalid_argument),
            fmt::format("ber: host lane {} of {} is not linked to the ASIC "
                        "(linked: {}; {})",
                        l, describe_device(*m), lanes_text(linked_host_lanes), c.where)};
      }
    }
  } else if (c.checker == end_kind::far_asic) {
    store_side = side::host;
    if (lanes.empty()) lanes = far_host_lanes;
  } else if (c.checker == end_kind::far_module) {
    store_side = side::media;
    if (lanes.empty()) lanes = !far_lanes.empty() ? far_lanes : all_lanes(*m, side::media);
  } else if (lanes.empty()) {
    lanes = all_lanes(*m, c.side);
  }

  auto make_end = [&](end_kind k, bool checker) {
    prbs_end e;
    e.kind = k;
    if (k == end_kind::module) {
      e.module = m;
      e.side = c.side;
      // The DUT's own checker (or a generator feeding it) on the tested lanes; a module
      // generator feeding another checker drives every lane of its side.
      e.lanes =
          checker || c.checker == end_kind::module || c.checker == end_kind::far_module
              ? mask_of(lanes)
              : mask_of(c.side == side::host && !linked_host_lanes.empty() ? linked_host_lanes
                                                                           : all_lanes(*m, c.side));
    } else if (k == end_kind::far_module) {
      e.module = far;
      e.side = side::media;
      e.lanes = mask_of(checker || c.checker != end_kind::asic
                            ? lanes
                            : (!far_lanes.empty() ? far_lanes : all_lanes(*far, side::media)));
    } else {
      e.ports = k == end_kind::asic ? ports : far_ports;
    }
    return e;
  };
  const prbs_end gen = make_end(c.generator, false);
  const prbs_end chk = make_end(c.checker, true);
  const std::string what =
      c.generator == end_kind::module && c.checker == end_kind::module
          ? fmt::format("{} {} PRBS on lane(s) {}", to_string(c.side), pattern, lanes_text(lanes))
          : fmt::format("{} PRBS {} -> {} on {} lane(s) {}", pattern, gen.name(), chk.name(),
                        to_string(store_side), lanes_text(lanes));

  // A far module is another device of the bench: held for the test like any shared instrument.
  std::shared_ptr<void> far_guard;
  if (far != nullptr) far_guard = co_await ctx.async_lock(far->name());

  const bool on = true, off = false;
  if (auto ec = co_await enable_ends(gen, chk, c.pattern, on)) {
    co_return device_failure(gen.kind == chk.kind ? chk.dev() : gen.dev(),
                             fmt::format("enable {}", what), ec);
  }
  step_outcome out = co_await run_gate(ctx, c, chk, store_side, lanes, what, pattern);
  // Generator and checker off again; a failure there is a device error of the step.
  if (auto ec = co_await enable_ends(gen, chk, c.pattern, off)) {
    ctx.event(severity::warning, "prbs_disable_failed",
              fmt::format("{}: could not switch off {}: {}", describe_device(chk.dev()), what,
                          ec.message()),
              ec);
    if (out.verdict != verdict::error)
      co_return device_failure(chk.dev(), fmt::format("disable {}", what), ec);
  }
  co_return out;
}

std::vector<link_need> ber_step::required_links() const {
  std::vector<link_need> out;
  auto add = [&](end_kind k, const std::string& where) {
    if (k == end_kind::asic) out.push_back({link_need::kind::asic, where, "ber (asic end)"});
    if (k == end_kind::far_module || k == end_kind::far_asic)
      out.push_back({link_need::kind::far_module, where,
                     k == end_kind::far_module ? "ber (far_module end)" : "ber (far_asic end)"});
  };
  add(config_.generator, config_.generator_where);
  if (config_.checker != config_.generator) add(config_.checker, config_.checker_where);
  return out;
}

step_type ber_step_type() {
  return step_type{
      .name = "ber",
      .summary =
          "bit error ratio per lane with PRBS, stopped once BER <= target is proven at a "
          "confidence level (Poisson) or clearly violated",
      .options = {"pattern", "side", "lanes", "target", "confidence", "max_time", "lock_timeout",
                  "poll", "generator", "checker", "judge"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_ber,
  };
}

}  // namespace hilt::seq
