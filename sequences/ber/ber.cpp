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

// One end of a PRBS test (pattern source or checker). Both are the DUT's module today; another
// device (the far end of the link) would be a second prbs_end.
struct prbs_end {
  managed_module* module = nullptr;
};

// Generator and checker of one test.
struct prbs_link {
  prbs_end generator, checker;

  task<std::error_code> enable(hilt::side s, lane_mask lanes, prbs_pattern p, bool on) const {
    if (generator.module == checker.module) {
      co_return co_await checker.module->async_prbs_configure(s, lanes, p, on, on);
    }
    if (auto ec = co_await generator.module->async_prbs_configure(s, lanes, p, on, false)) {
      co_return ec;
    }
    co_return co_await checker.module->async_prbs_configure(s, lanes, p, false, on);
  }
};

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
  if (const auto* e = spec.options.find("side")) {
    static constexpr std::array<std::string_view, 2> sides{"host", "media"};
    if (auto v = ctx.read_choice(e->value, "side", sides)) {
      cfg.side = *v == "host" ? side::host : side::media;
    }
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
task<step_outcome> run_gate(step_context& ctx, const ber_step::config& c, managed_module* m,
                            const std::vector<int>& lanes, const std::string& what,
                            const std::string& pattern) {
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
    auto r = co_await m->async_prbs_read(c.side);
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
        ctx.record(measurement{"prbs_lock", l, c.side, lr.locked ? 1.0 : 0.0, "",
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
    auto r = co_await m->async_prbs_read(c.side);
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
    ctx.ber_counts(l, c.side, lr.bits, lr.errors, gate_s, pattern);
    const double ber =
        lr.bits > 0 ? static_cast<double>(lr.errors) / static_cast<double>(lr.bits) : std::nan("");
    ctx.record(measurement{"ber", l, c.side, ber, "", std::nullopt});
    const double upper = ber_stats::upper_bound(lr.bits, lr.errors, c.confidence);
    overall = worst(overall, ctx.record(measurement{"ber_upper", l, c.side, upper, "", ber_limit}));
    overall =
        worst(overall,
              ctx.record(measurement{"prbs_lock", l, c.side, lr.lost ? 0.0 : 1.0, "", lock_limit}));
    if (lr.lost) {
      ++lost;
      overall = worst(overall, verdict::fail);
    } else if (lr.decision == ber_stats::decision::proven) {
      ++proven;
    } else if (lr.decision == ber_stats::decision::violated) {
      ++violated;
      overall = worst(overall, verdict::fail);
    } else {
      ++open;
      overall = worst(overall, verdict::fail);
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
  const prbs_link link{{m}, {m}};

  // The lanes to test.
  std::vector<int> lanes = c.lanes;
  if (lanes.empty()) {
    int n = m->lane_count() > 0 ? m->lane_count() : 8;
    if (c.side == side::media) {
      if (int media = media_lane_count(ctx.dut_identity()); media > 0) n = media;
    }
    for (int l = 1; l <= std::min(n, max_lane); ++l)
      lanes.push_back(l);
  }
  lane_mask mask = 0;
  for (int l : lanes)
    mask |= lane_mask{1} << (l - 1);
  const std::string pattern(to_string(c.pattern));
  const std::string what =
      fmt::format("{} {} PRBS on lane(s) {}", to_string(c.side), pattern, lanes_text(lanes));

  const bool on = true, off = false;
  if (auto ec = co_await link.enable(c.side, mask, c.pattern, on)) {
    co_return device_failure(*m, fmt::format("enable {}", what), ec);
  }
  step_outcome out = co_await run_gate(ctx, c, m, lanes, what, pattern);
  // Generator and checker off again; a failure there is a device error of the step.
  if (auto ec = co_await link.enable(c.side, mask, c.pattern, off)) {
    ctx.event(
        severity::warning, "prbs_disable_failed",
        fmt::format("{}: could not switch off {}: {}", describe_device(*m), what, ec.message()),
        ec);
    if (out.verdict != verdict::error)
      co_return device_failure(*m, fmt::format("disable {}", what), ec);
  }
  co_return out;
}

step_type ber_step_type() {
  return step_type{
      .name = "ber",
      .summary =
          "bit error ratio per lane with PRBS, stopped once BER <= target is proven at a "
          "confidence level (Poisson) or clearly violated",
      .options = {"pattern", "side", "lanes", "target", "confidence", "max_time", "lock_timeout",
                  "poll"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_ber,
  };
}

}  // namespace hilt::seq
