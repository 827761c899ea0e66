#include "thermal_soak/thermal_soak.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <set>

#include "ber/ber.hpp"
#include "fec/fec.hpp"
#include "hilt/seq/limits.hpp"
#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {
using dsec = std::chrono::duration<double>;
using std::chrono::duration_cast;

bool in_db(std::string_view monitor) {
  return monitor == "tx_power" || monitor == "rx_power";
}

}  // namespace

// One per running soak: drives the chamber and tells the DUTs what phase it is in.
struct soak_controller {
  enum class phase { starting, ramp, stabilize, dwell, done, failed };
  phase now = phase::starting;
  int generation = 0;  // bumped at every phase change
  int tick = 0;        // bumped at every stabilisation check: DUTs read their temperature
  int cycle = 0, segment = 0;
  double setpoint = 0;
  clock::time_point dwell_start{};
  clock::duration dwell{};
  std::string message;  // for failed: why
  int participants = 0;
  // A list, not a deque: a cancelled waiter is erased from the middle, and a deque would
  // move-assign the handlers behind it (Asio 1.26's any_completion_handler must never be).
  std::list<asio::any_completion_handler<void()>> waiters;
  asio::any_io_executor executor;

  // DUT case temperatures during stabilisation (`stabilize: { dut: }`), by slot.
  struct dut_series {
    std::string name;
    std::deque<double> temps;  // the last `window` readings
    bool no_temperature = false;
  };
  std::map<int, dut_series> duts;
  std::size_t window = 0;

  void wake() {
    while (!waiters.empty()) {
      // Constructed in place on the queue; moved out only into a fresh object (Asio 1.26's
      // any_completion_handler must never be move-assigned).
      auto h = std::move(waiters.front());
      waiters.pop_front();
      // The wait is over: its cancellation handler points at the erased list node.
      if (auto slot = h.get_cancellation_slot(); slot.is_connected()) slot.clear();
      asio::post(executor, [h = std::move(h)]() mutable { std::move(h)(); });
    }
  }
  void announce(phase p) {
    now = p;
    ++generation;
    wake();
  }
  void tick_duts() {
    ++tick;
    wake();
  }
  // Completes at the next phase change or stabilisation tick, or early when the waiting step is
  // cancelled (the caller then sees step_cancelled()). Without the cancellation handler, a Ctrl-C
  // during a long stabilisation reached no operation and the DUT waited for the chamber.
  task<void> async_changed() {
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [this](auto handler) {
          waiters.emplace_back(std::move(handler));
          const auto it = std::prev(waiters.end());
          // The slot of the any_completion_handler, not of `handler`: the wrapper keeps its own
          // forwarding state in the handler's slot, and assigning there would destroy it.
          if (auto slot = it->get_cancellation_slot(); slot.is_connected()) {
            slot.assign([this, it](asio::cancellation_type t) {
              if (t == asio::cancellation_type::none) return;
              // Not slot.clear() here: we are running inside the slot's handler.
              auto h = std::move(*it);
              waiters.erase(it);
              asio::post(executor, [h = std::move(h)]() mutable { std::move(h)(); });
            });
          }
        },
        asio::use_awaitable);
  }
  void post_temperature(int slot, std::optional<double> t) {
    auto it = duts.find(slot);
    if (it == duts.end()) return;
    if (!t) {
      it->second.no_temperature = true;
      return;
    }
    it->second.temps.push_back(*t);
    while (it->second.temps.size() > window)
      it->second.temps.pop_front();
  }
  void clear_temperatures() {
    for (auto& [slot, d] : duts)
      d.temps.clear();
  }
  // Every DUT steady: its last `window` readings within `spread`. `why` names the one that moved
  // most (or one still short of readings).
  bool duts_steady(double spread, std::string* why) const {
    bool steady = true;
    double worst = -1;
    for (const auto& [slot, d] : duts) {
      if (d.no_temperature) continue;
      if (d.temps.size() < window) {
        steady = false;
        if (worst < 0 && why)
          *why = fmt::format("{} has {} of {} readings", d.name, d.temps.size(), window);
        continue;
      }
      const auto [lo, hi] = std::minmax_element(d.temps.begin(), d.temps.end());
      const double moved = *hi - *lo;
      if (moved > spread) {
        steady = false;
        if (moved > worst) {
          worst = moved;
          if (why) *why = fmt::format("{} moved {:.2f} C", d.name, moved);
        }
      }
    }
    return steady;
  }
};

namespace {

// Where a phase is heading: a ramp to its segment's ramp_to (the controller's set point is still
// the one the ramp starts from when the phase is announced), anything else to the set point.
double phase_target(const thermal_soak_step::config& c, const soak_controller& ctl,
                    soak_controller::phase p) {
  if (p == soak_controller::phase::ramp && ctl.segment >= 1 &&
      static_cast<std::size_t>(ctl.segment) <= c.profile.size()) {
    if (const auto& to = c.profile[static_cast<std::size_t>(ctl.segment - 1)].ramp_to) return *to;
  }
  return ctl.setpoint;
}

std::string_view phase_name(soak_controller::phase p) {
  switch (p) {
    case soak_controller::phase::starting:
      return "starting";
    case soak_controller::phase::ramp:
      return "ramp";
    case soak_controller::phase::stabilize:
      return "stabilize";
    case soak_controller::phase::dwell:
      return "dwell";
    case soak_controller::phase::done:
      return "done";
    case soak_controller::phase::failed:
      return "failed";
  }
  return "?";
}

clock::duration check_period(const thermal_soak_step::config& cfg) {
  return std::min<clock::duration>(std::chrono::minutes(1), cfg.stable_for / 5);
}

// Drives the chamber through the profile. Holds the chamber's lock throughout.
task<void> drive(std::shared_ptr<soak_controller> c, thermal_soak_step::config cfg,
                 thermal_chamber* chamber, hilt::clock* clk, std::shared_ptr<void> lock) {
  using phase = soak_controller::phase;
  auto fail = [&](std::string why) {
    c->message = std::move(why);
    c->announce(phase::failed);
  };
  auto sleep = [&](clock::duration d) -> task<bool> {
    const std::error_code ec = co_await clk->async_sleep(d, asio::use_awaitable);
    co_return !ec && c->participants > 0;
  };
  auto set = [&](double sp) -> task<bool> {
    auto r = co_await chamber->async_set_setpoint(sp);
    if (!r) {
      fail(fmt::format("{}: set setpoint {:g} C failed: {}", describe_device(*chamber), sp,
                       r.error().message()));
      co_return false;
    }
    c->setpoint = sp;
    co_return true;
  };
  auto read = [&]() -> task<std::optional<double>> {
    auto r = co_await chamber->async_read_temperature();
    if (!r) {
      fail(fmt::format("{}: read temperature failed: {}", describe_device(*chamber),
                       r.error().message()));
      co_return std::nullopt;
    }
    if (cfg.abort_chamber_c && r.value() > *cfg.abort_chamber_c) {
      fail(fmt::format("{}: chamber at {:.1f} C, above the abort limit {:g} C",
                       describe_device(*chamber), r.value(), *cfg.abort_chamber_c));
      co_return std::nullopt;
    }
    co_return r.value();
  };
  {
    auto t = co_await read();
    if (!t) co_return;
    c->setpoint = *t;
  }
  const clock::duration check = check_period(cfg);
  const clock::duration ramp_step = std::chrono::minutes(1);
  for (c->cycle = 1; c->cycle <= cfg.cycles; ++c->cycle) {
    for (c->segment = 1; c->segment <= static_cast<int>(cfg.profile.size()); ++c->segment) {
      const auto& seg = cfg.profile[static_cast<std::size_t>(c->segment - 1)];
      if (seg.ramp_to) {
        c->announce(phase::ramp);
        const double target = *seg.ramp_to;
        if (seg.rate_c_per_s > 0) {
          const double step_c = seg.rate_c_per_s * dsec(ramp_step).count();
          double sp = c->setpoint;
          while (std::fabs(target - sp) > 1e-9) {
            sp = target > sp ? std::min(target, sp + step_c) : std::max(target, sp - step_c);
            if (!co_await set(sp)) co_return;
            if (!co_await sleep(ramp_step)) co_return;
          }
        } else if (!co_await set(target)) {
          co_return;
        }
        c->clear_temperatures();
        c->announce(phase::stabilize);
        const auto deadline = clk->now() + cfg.stable_timeout;
        clock::duration stable{};
        for (;;) {
          auto t = co_await read();
          if (!t) co_return;
          stable = std::fabs(*t - target) <= cfg.stable_within ? stable + check : clock::duration{};
          std::string dut_why;
          const bool duts_ok = !cfg.stable_dut || c->duts_steady(*cfg.stable_dut, &dut_why);
          if (stable >= cfg.stable_for && duts_ok) break;
          if (clk->now() >= deadline) {
            if (stable >= cfg.stable_for) {
              fail(fmt::format(
                  "{}: DUT case temperatures not steady within {:g} C over {} after {} (chamber "
                  "at {:.1f} C; {})",
                  describe_device(*chamber), *cfg.stable_dut, format_duration(cfg.stable_for),
                  format_duration(cfg.stable_timeout), *t, dut_why));
            } else {
              fail(fmt::format(
                  "{}: not stable within ±{:g} C of {:g} C for {} after {} (at "
                  "{:.1f} C)",
                  describe_device(*chamber), cfg.stable_within, target,
                  format_duration(cfg.stable_for), format_duration(cfg.stable_timeout), *t));
            }
            co_return;
          }
          if (cfg.stable_dut) c->tick_duts();
          if (!co_await sleep(check)) co_return;
        }
      } else {
        c->dwell_start = clk->now();
        c->dwell = seg.dwell;
        c->announce(phase::dwell);
        // Watch the chamber once per interval for the abort limit.
        const auto end = c->dwell_start + seg.dwell;
        while (clk->now() < end) {
          const auto d = std::min(cfg.interval, end - clk->now());
          if (!co_await sleep(d)) co_return;
          if (cfg.abort_chamber_c) {
            if (!(co_await read())) co_return;
          }
        }
      }
    }
  }
  c->announce(phase::done);
  (void)lock;
}

struct series {
  double first = 0, last = 0;
  double t_first = 0, t_last = 0;
  bool any = false;
  bool outside = false;
  int excursions = 0;
};

// ---- module flags -------------------------------------------------------------------------------

enum class flag_kind { alarm, warning, notice };
struct flag_info {
  std::string monitor;  // "temperature", "tx_power"; empty for a condition flag (rx_los)
  int lane = -1;        // -1: module-level
  flag_kind kind = flag_kind::warning;
};

flag_info classify_flag(std::string_view flag) {
  flag_info f;
  std::string_view base = flag;
  if (auto pos = flag.find(" lane "); pos != std::string_view::npos) {
    base = flag.substr(0, pos);
    const std::string_view num = flag.substr(pos + 6);
    int lane = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), lane);
    if (ec == std::errc{} && p != num.data()) f.lane = lane;
  }
  static constexpr std::array<std::pair<std::string_view, flag_kind>, 4> levels{{
      {"_high_alarm", flag_kind::alarm},
      {"_low_alarm", flag_kind::alarm},
      {"_high_warn", flag_kind::warning},
      {"_low_warn", flag_kind::warning},
  }};
  for (const auto& [suffix, kind] : levels) {
    if (base.ends_with(suffix)) {
      f.monitor = std::string(base.substr(0, base.size() - suffix.size()));
      f.kind = kind;
      return f;
    }
  }
  static constexpr std::array<std::string_view, 3> notices{
      "module_state_changed", "dp_state_changed", "output_status_rx_changed"};
  static constexpr std::array<std::string_view, 9> alarms{"tx_fault",
                                                          "tx_los",
                                                          "rx_los",
                                                          "tx_cdr_lol",
                                                          "rx_cdr_lol",
                                                          "tx_adaptive_eq_fail",
                                                          "module_firmware_error",
                                                          "datapath_firmware_error",
                                                          "abnormal_firmware_indication"};
  if (std::find(notices.begin(), notices.end(), base) != notices.end() || base.starts_with("cdb")) {
    f.kind = flag_kind::notice;
  } else if (std::find(alarms.begin(), alarms.end(), base) != alarms.end()) {
    f.kind = flag_kind::alarm;
  }
  return f;
}

struct flag_counts {
  int alarms = 0, warnings = 0;
};

// One event per flag set now that was not set at the previous read; one per flag that went away.
void flag_events(step_context& ctx, const std::vector<std::string>& now_set,
                 std::set<std::string>& previous, const std::vector<monitor_reading>& readings,
                 flag_counts& counts) {
  std::set<std::string> current;
  for (const auto& flag : now_set) {
    const flag_info f = classify_flag(flag);
    if (f.kind == flag_kind::notice) continue;
    current.insert(flag);
    if (previous.contains(flag)) continue;
    std::string msg = fmt::format("{} raised", flag);
    if (!f.monitor.empty()) {
      for (const auto& rd : readings) {
        if (rd.name == f.monitor && rd.lane == f.lane) {
          msg += f.lane >= 0
                     ? fmt::format(" ({} lane {} = {:.4g} {})", rd.name, rd.lane, rd.value, rd.unit)
                     : fmt::format(" ({} = {:.4g} {})", rd.name, rd.value, rd.unit);
          break;
        }
      }
    }
    if (f.kind == flag_kind::alarm) {
      ++counts.alarms;
      ctx.event(severity::alarm, "module_alarm", msg);
    } else {
      ++counts.warnings;
      ctx.event(severity::warning, "module_warning", msg);
    }
  }
  for (const auto& flag : previous) {
    if (!current.contains(flag)) {
      ctx.event(severity::info, "module_flag_cleared", fmt::format("{} cleared", flag));
    }
  }
  previous = std::move(current);
}

// ---- periodic BER -------------------------------------------------------------------------------

struct ber_plan {
  std::vector<int> lanes;
  lane_mask mask = 0;
  std::string pattern;  // "PRBS-31Q"
  std::string what;     // "media PRBS-31Q PRBS on lane(s) 1, 2, 3, 4"
};

struct ber_run {
  enum class state { idle, locking, gating };
  struct lane {
    bool locked = false;
    std::uint64_t base_bits = 0, base_errors = 0;
  };
  state st = state::idle;
  clock::time_point next{}, lock_deadline{}, gate_start{};
  std::map<int, lane> lanes;
  int checks = 0, failed = 0;
};

clock::duration lock_poll(const thermal_soak_step::ber_check& b) {
  return std::min<clock::duration>(std::chrono::milliseconds(100), b.lock_timeout);
}

limit lock_limit(const thermal_soak_step::ber_check& b) {
  return limit{.cmp = limit::comparator::eq,
               .low = 1,
               .high = 1,
               .nominal = 1,
               .unit = "",
               .source = b.where};
}

task<std::optional<step_outcome>> ber_disable(step_context& ctx,
                                              const thermal_soak_step::ber_check& b,
                                              managed_module& m, const ber_plan& plan,
                                              ber_run& run) {
  run.st = ber_run::state::idle;
  const bool off = false;
  if (auto ec = co_await m.async_prbs_configure(b.side, plan.mask, b.pattern, off, off)) {
    ctx.event(
        severity::warning, "prbs_disable_failed",
        fmt::format("{}: could not switch off {}: {}", describe_device(m), plan.what, ec.message()),
        ec);
    co_return device_failure(m, fmt::format("disable {}", plan.what), ec);
  }
  co_return std::nullopt;
}

// Moves a periodic PRBS check on by one action (enable, poll for lock, end the gate). Returns an
// outcome only when a device error ends the step.
task<std::optional<step_outcome>> ber_advance(step_context& ctx,
                                              const thermal_soak_step::ber_check& b,
                                              managed_module& m, const ber_plan& plan, ber_run& run,
                                              verdict& overall) {
  auto& clk = ctx.clock();
  if (run.st == ber_run::state::idle) {
    const bool on = true;
    if (auto ec = co_await m.async_prbs_configure(b.side, plan.mask, b.pattern, on, on)) {
      co_return device_failure(m, fmt::format("enable {}", plan.what), ec);
    }
    run.lanes.clear();
    for (int l : plan.lanes)
      run.lanes[l] = {};
    run.st = ber_run::state::locking;
    run.lock_deadline = clk.now() + b.lock_timeout;
    run.next = clk.now() + lock_poll(b);
    co_return std::nullopt;
  }
  auto r = co_await m.async_prbs_read(b.side);
  if (!r) co_return device_failure(m, fmt::format("read {}", plan.what), r.error());
  const auto now = clk.now();
  if (run.st == ber_run::state::locking) {
    for (auto& [l, ln] : run.lanes)
      ln.locked = false;
    for (const auto& s : r.value()) {
      auto it = run.lanes.find(s.lane);
      if (it == run.lanes.end()) continue;
      it->second.locked = s.locked;
      it->second.base_bits = s.bits;
      it->second.base_errors = s.errors;
    }
    bool all = true;
    for (const auto& [l, ln] : run.lanes)
      all = all && ln.locked;
    if (all) {
      run.st = ber_run::state::gating;
      run.gate_start = now;
      run.next = now + b.gate;
      co_return std::nullopt;
    }
    if (now < run.lock_deadline) {
      run.next = now + lock_poll(b);
      co_return std::nullopt;
    }
    std::vector<int> unlocked;
    for (const auto& [l, ln] : run.lanes) {
      if (!ln.locked) unlocked.push_back(l);
      overall = worst(overall, ctx.record(measurement{"prbs_lock", l, b.side, ln.locked ? 1.0 : 0.0,
                                                      "", lock_limit(b)}));
    }
    ++run.checks;
    ++run.failed;
    overall = worst(overall, verdict::fail);
    ctx.event(severity::alarm, "prbs_no_lock",
              fmt::format("{}: soak BER check {}: {}: no lock on lane(s) {} within {}",
                          describe_device(m), run.checks, plan.what, describe_lanes(unlocked),
                          format_duration(b.lock_timeout)));
    co_return co_await ber_disable(ctx, b, m, plan, run);
  }
  // End of the gate.
  const double gate_s = dsec(now - run.gate_start).count();
  ++run.checks;
  bool failed = false;
  const std::optional<limit> ber_limit =
      b.max ? std::optional<limit>(limit{
                  .cmp = limit::comparator::le, .high = *b.max, .unit = "", .source = b.where})
            : std::nullopt;
  std::set<int> seen;
  for (const auto& s : r.value()) {
    auto it = run.lanes.find(s.lane);
    if (it == run.lanes.end() || !seen.insert(s.lane).second) continue;
    const auto& ln = it->second;
    const std::uint64_t bits = s.bits >= ln.base_bits ? s.bits - ln.base_bits : 0;
    const std::uint64_t errors = s.errors >= ln.base_errors ? s.errors - ln.base_errors : 0;
    const bool lost = s.lost_lock || !s.locked;
    ctx.ber_counts(s.lane, b.side, bits, errors, gate_s, plan.pattern);
    const double ber = bits > 0 ? static_cast<double>(errors) / static_cast<double>(bits)
                                : std::numeric_limits<double>::quiet_NaN();
    const verdict vb = ctx.record(measurement{"ber", s.lane, b.side, ber, "", ber_limit});
    const verdict vl =
        ctx.record(measurement{"prbs_lock", s.lane, b.side, lost ? 0.0 : 1.0, "", lock_limit(b)});
    overall = worst(overall, worst(vb, vl));
    if (vb == verdict::fail || vl == verdict::fail) failed = true;
    if (lost) {
      ctx.event(severity::alarm, "prbs_lock_lost",
                fmt::format("{}: soak BER check {}: {} lane {} lost lock during the {} gate ({} "
                            "bits, {} errors)",
                            describe_device(m), run.checks, plan.what, s.lane,
                            format_duration(b.gate), bits, errors));
    }
  }
  for (const auto& [l, ln] : run.lanes) {
    if (seen.contains(l)) continue;  // the checker stopped reporting the lane: no lock
    failed = true;
    overall =
        worst(overall, ctx.record(measurement{"prbs_lock", l, b.side, 0.0, "", lock_limit(b)}));
    ctx.event(severity::alarm, "prbs_lock_lost",
              fmt::format("{}: soak BER check {}: {} lane {} not reported at the end of the gate",
                          describe_device(m), run.checks, plan.what, l));
  }
  if (failed) ++run.failed;
  ctx.log().debug("{}: soak BER check {} ({}) done after {}", describe_device(m), run.checks,
                  plan.what, format_duration(now - run.gate_start));
  co_return co_await ber_disable(ctx, b, m, plan, run);
}

// ---- parsing ------------------------------------------------------------------------------------

std::optional<double> parse_rate(std::string_view t, std::string* why) {
  double per_s = 0;
  std::string_view num;
  if (t.ends_with("/min")) {
    per_s = 60;
    num = t.substr(0, t.size() - 4);
  } else if (t.ends_with("/h")) {
    per_s = 3600;
    num = t.substr(0, t.size() - 2);
  } else if (t.ends_with("/s")) {
    per_s = 1;
    num = t.substr(0, t.size() - 2);
  } else {
    *why = "no '/min', '/h' or '/s'";
    return std::nullopt;
  }
  auto q = parse_quantity(num, why);
  if (!q) return std::nullopt;
  if (q->dim != dimension::temperature && q->dim != dimension::none) {
    *why = fmt::format("'{}' is not a temperature", num);
    return std::nullopt;
  }
  // A temperature difference: the offset of K/F does not apply; C is what people write here.
  double v = q->value;
  if (q->dim == dimension::temperature && num.find('C') == std::string_view::npos) {
    *why = "write the rate in C (like '2 C/min')";
    return std::nullopt;
  }
  if (!(v > 0)) {
    *why = "a rate must be above 0";
    return std::nullopt;
  }
  return v / per_s;
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

constexpr int max_ber_lane = 32;

// `ber: { every: 24 h, gate: 10 s, pattern: PRBS31Q, side: media, lanes: all, max: 2.4e-4,
// lock_timeout: 10 s }`.
std::optional<thermal_soak_step::ber_check> parse_ber_check(parse_context& ctx,
                                                            const yaml_map::entry& e) {
  const std::size_t errors_before = ctx.error_count();
  thermal_soak_step::ber_check b;
  b.where = ctx.where(e.value);
  yaml_map m(ctx, e.value, "ber");
  if (!m.valid()) return std::nullopt;
  static const std::vector<std::string> keys{"every", "gate", "pattern",     "side",
                                             "lanes", "max",  "lock_timeout"};
  const auto unknown = m.reject_unknown(keys, "key", "in 'ber'");
  if (const auto* v = m.find("every")) {
    if (auto d = ctx.read_duration(v->value, "every", /*allow_zero=*/false)) b.every = *d;
  } else if (!misspelt(unknown, "every")) {
    ctx.error(e.value, "ber: needs 'every:' (the time between two checks in a dwell, like 24 h)");
  }
  if (const auto* v = m.find("gate")) {
    if (auto d = ctx.read_duration(v->value, "gate", false)) b.gate = *d;
  }
  if (const auto* v = m.find("lock_timeout")) {
    if (auto d = ctx.read_duration(v->value, "lock_timeout", false)) b.lock_timeout = *d;
  }
  if (const auto* v = m.find("pattern")) {
    if (auto t = ctx.read_text(v->value, "pattern")) {
      if (auto p = parse_prbs_pattern(*t)) {
        b.pattern = *p;
      } else {
        ctx.error(v->value, fmt::format("pattern: unknown PRBS pattern '{}'; known: {}", *t,
                                        patterns_text()));
      }
    }
  }
  if (const auto* v = m.find("side")) {
    static constexpr std::array<std::string_view, 2> sides{"host", "media"};
    if (auto s = ctx.read_choice(v->value, "side", sides)) {
      b.side = *s == "host" ? side::host : side::media;
    }
  }
  if (const auto* v = m.find("lanes")) {
    if (auto lanes = parse_lanes(ctx, v->value, max_ber_lane)) b.lanes = std::move(*lanes);
  }
  if (const auto* v = m.find("max")) {
    static constexpr std::array dims{dimension::none};
    if (auto q = ctx.read_quantity(v->value, "max", dims)) {
      if (!(q->value > 0 && q->value < 0.5)) {
        ctx.error(v->value,
                  fmt::format("max: a BER must be above 0 and below 0.5, got {:g}", q->value));
      } else {
        b.max = q->value;
      }
    }
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  if (b.every <= b.lock_timeout + b.gate) {
    ctx.error(m.find("every")->value,
              fmt::format("every: a check takes up to lock_timeout + gate ({} + {}), so checks "
                          "must be further apart than that, got {}",
                          format_duration(b.lock_timeout), format_duration(b.gate),
                          format_duration(b.every)));
    return std::nullopt;
  }
  return b;
}

std::shared_ptr<const step> parse_soak(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  thermal_soak_step::config cfg;
  cfg.where = ctx.where(spec.node);
  static constexpr std::array temp{dimension::temperature};
  if (const auto* e = require_option(ctx, spec, "chamber", "the fixture's thermal chamber")) {
    if (auto t = ctx.read_text(e->value, "chamber")) {
      if (t->empty()) ctx.error(e->value, "chamber: expected the name of a fixture chamber");
      cfg.chamber = *t;
      cfg.chamber_where = ctx.where(e->value);
    }
  }
  if (const auto* e = require_option(ctx, spec, "profile",
                                     "a list of { ramp_to: 85 C, rate: 2 C/min } and "
                                     "{ dwell: 1000 h }")) {
    if (!e->value.IsSequence() || e->value.size() == 0) {
      ctx.error(e->value,
                "profile: expected a non-empty list of { ramp_to: T, rate: R } and "
                "{ dwell: D }");
    } else {
      for (const auto& item : e->value) {
        yaml_map m(ctx, item, "a profile segment");
        if (!m.valid()) continue;
        static const std::vector<std::string> keys{"ramp_to", "rate", "dwell"};
        if (!m.reject_unknown(keys, "key", "in a profile segment").empty()) continue;
        thermal_soak_step::segment seg;
        const auto* rt = m.find("ramp_to");
        const auto* dw = m.find("dwell");
        if ((rt == nullptr) == (dw == nullptr)) {
          ctx.error(item,
                    "profile: each segment is either { ramp_to: T[, rate: R] } or "
                    "{ dwell: D }");
          continue;
        }
        if (rt != nullptr) {
          if (auto q = ctx.read_quantity(rt->value, "ramp_to", temp)) seg.ramp_to = q->value;
          if (const auto* r = m.find("rate")) {
            if (auto t = ctx.read_text(r->value, "rate")) {
              std::string why;
              if (auto v = parse_rate(*t, &why)) {
                seg.rate_c_per_s = *v;
              } else {
                ctx.error(r->value, fmt::format("rate: expected a ramp rate like '2 C/min' or "
                                                "'60 C/h', got '{}' ({})",
                                                *t, why));
              }
            }
          }
        } else {
          if (m.has("rate")) {
            ctx.error(m.find("rate")->key_node, "rate: goes with 'ramp_to:', not with 'dwell:'");
          }
          if (auto d = ctx.read_duration(dw->value, "dwell", /*allow_zero=*/false)) {
            seg.dwell = *d;
          }
        }
        cfg.profile.push_back(seg);
      }
    }
  }
  if (const auto* e = spec.options.find("cycles")) {
    if (auto n = ctx.read_integer(e->value, "cycles", 1, 100000, "how often the profile runs")) {
      cfg.cycles = static_cast<int>(*n);
    }
  }
  if (const auto* e = spec.options.find("interval")) {
    if (auto d = ctx.read_duration(e->value, "interval", /*allow_zero=*/false)) cfg.interval = *d;
  }
  if (const auto* e = spec.options.find("stabilize")) {
    yaml_map m(ctx, e->value, "stabilize");
    static const std::vector<std::string> keys{"within", "for", "timeout", "dut"};
    m.reject_unknown(keys, "key", "in 'stabilize'");
    if (const auto* w = m.find("within")) {
      if (auto q = ctx.read_difference(w->value, "within", temp)) cfg.stable_within = q->value;
    }
    if (const auto* f = m.find("for")) {
      if (auto d = ctx.read_duration(f->value, "for", /*allow_zero=*/false)) cfg.stable_for = *d;
    }
    if (const auto* t = m.find("timeout")) {
      if (auto d = ctx.read_duration(t->value, "timeout", false)) cfg.stable_timeout = *d;
    }
    if (const auto* d = m.find("dut")) {
      if (auto q = ctx.read_difference(d->value, "dut", temp)) {
        if (!(q->value > 0)) {
          ctx.error(d->value,
                    fmt::format("dut: expected the largest change of a DUT's case temperature "
                                "over 'for' (a temperature difference above 0, like 2 C), got "
                                "{:g} C",
                                q->value));
        } else {
          cfg.stable_dut = q->value;
        }
      }
    }
  }
  if (const auto* e = spec.options.find("abort")) {
    yaml_map m(ctx, e->value, "abort");
    static const std::vector<std::string> keys{"temperature", "chamber"};
    m.reject_unknown(keys, "key", "in 'abort'");
    if (const auto* t = m.find("temperature")) {
      if (auto q = ctx.read_quantity(t->value, "temperature", temp)) cfg.abort_dut_c = q->value;
    }
    if (const auto* t = m.find("chamber")) {
      if (auto q = ctx.read_quantity(t->value, "chamber", temp)) cfg.abort_chamber_c = q->value;
    }
  }
  auto monitor_of = [&](const yaml_map::entry& en, std::string_view key) -> const monitor_info* {
    const monitor_info* info = find_monitor(en.key);
    if (info == nullptr) {
      std::vector<std::string> names;
      for (const auto& mi : known_monitors())
        names.emplace_back(mi.name);
      ctx.error(en.key_node, fmt::format("{}: unknown monitor '{}'; known monitors: {}", key,
                                         en.key, join(names)));
    }
    return info;
  };
  if (const auto* e = spec.options.find("limits")) {
    yaml_map m(ctx, e->value, "limits");
    for (const auto& en : m.entries()) {
      const monitor_info* info = monitor_of(en, "limits");
      if (info == nullptr) continue;
      if (auto l = parse_limit(ctx, en.value, info->dimensions)) cfg.limits[en.key] = *l;
    }
  }
  if (const auto* e = spec.options.find("max_flaps")) {
    if (auto n = ctx.read_integer(e->value, "max_flaps", 0, 1000000,
                                  "limit excursions allowed per monitor and lane")) {
      cfg.max_flaps = static_cast<int>(*n);
    }
  }
  if (const auto* e = spec.options.find("max_drift")) {
    yaml_map m(ctx, e->value, "max_drift");
    for (const auto& en : m.entries()) {
      const monitor_info* info = monitor_of(en, "max_drift");
      if (info == nullptr) continue;
      static constexpr std::array db{dimension::ratio_db};
      auto q = in_db(en.key) ? ctx.read_difference(en.value, en.key, db)
                             : ctx.read_difference(en.value, en.key, info->dimensions.first(1));
      if (q) cfg.max_drift[en.key] = q->value;
    }
  }
  if (const auto* e = spec.options.find("flags")) {
    if (auto b = ctx.read_bool(e->value, "flags")) cfg.flags = *b;
  }
  const yaml_map::entry* ber_entry = spec.options.find("ber");
  if (ber_entry != nullptr) cfg.ber = parse_ber_check(ctx, *ber_entry);
  if (const auto* e = spec.options.find("max_post_fec_errors")) {
    if (auto n = ctx.read_integer(e->value, "max_post_fec_errors", 0, 1'000'000'000'000LL,
                                  "uncorrectable codewords allowed in any window")) {
      cfg.max_post_fec_errors = static_cast<std::uint64_t>(*n);
      cfg.post_fec_where = ctx.where(e->value);
    }
  }
  if (const auto* e = spec.options.find("post_fec_window")) {
    if (!spec.options.has("max_post_fec_errors")) {
      ctx.error(e->key_node,
                "post_fec_window: applies to max_post_fec_errors, which this step "
                "does not set");
    } else if (auto d = ctx.read_duration(e->value, "post_fec_window", /*allow_zero=*/false)) {
      cfg.post_fec_window = *d;
    }
  }
  if (ctx.error_count() == errors_before) {
    bool dwell = false;
    clock::duration longest{};
    for (const auto& s : cfg.profile) {
      if (!s.ramp_to && s.dwell >= cfg.interval) dwell = true;
      if (!s.ramp_to) longest = std::max(longest, s.dwell);
    }
    if (!dwell) {
      ctx.error(spec.node, fmt::format("step 'thermal_soak' takes no samples: no dwell is as long "
                                       "as the interval ({})",
                                       format_duration(cfg.interval)));
    } else if (cfg.ber && longest < cfg.ber->lock_timeout + cfg.ber->gate) {
      ctx.error(ber_entry->value,
                fmt::format("ber: no dwell holds a check: one takes up to lock_timeout + gate "
                            "({} + {}), the longest dwell is {}",
                            format_duration(cfg.ber->lock_timeout), format_duration(cfg.ber->gate),
                            format_duration(longest)));
    }
  }
  if (ctx.error_count() != errors_before) return nullptr;
  return std::make_shared<thermal_soak_step>(std::move(cfg));
}

}  // namespace

thermal_soak_step::thermal_soak_step(config c) : config_(std::move(c)) {}
thermal_soak_step::~thermal_soak_step() = default;

std::vector<device_need> thermal_soak_step::required_devices() const {
  return {{config_.chamber, config_.chamber_where, "thermal_soak"}};
}

std::vector<link_need> thermal_soak_step::required_links() const {
  if (!config_.max_post_fec_errors) return {};
  return {{link_need::kind::asic, config_.post_fec_where, "thermal_soak max_post_fec_errors"}};
}

namespace {
// Post-FEC tracking of one DUT through a soak.
struct post_fec_track {
  std::vector<linked_port> ports;
  std::vector<fec_counters> first, last;
  std::deque<std::pair<clock::time_point, std::uint64_t>> history;  // (sample, cumulative)
  std::uint64_t max_window = 0;
  std::uint64_t codewords = 0;
  bool wrapped = false;
};

// Reads the ports' counters at a sample instant; stores the samples and raises events.
task<std::optional<step_outcome>> post_fec_sample(step_context& ctx, const managed_module& m,
                                                  const thermal_soak_step::config& c,
                                                  post_fec_track& pf) {
  std::vector<fec_counters> now;
  for (const auto& p : pf.ports) {
    auto r = co_await p.asic->async_read_fec(p.port);
    if (!r) co_return device_failure(*p.asic, fmt::format("read port {} FEC", p.port), r.error());
    now.push_back(std::move(r.value()));
  }
  const auto t = ctx.clock().now();
  if (pf.first.empty()) {
    pf.first = now;
    pf.last = now;
    pf.history.emplace_back(t, 0);
    ctx.sample("fec_uncorrectable", "", -1, 0);
    co_return std::nullopt;
  }
  fec_window total, step;
  for (std::size_t i = 0; i < now.size(); ++i) {
    const std::string name = fmt::format("{}/{}", pf.ports[i].asic->name(), pf.ports[i].port);
    add_window(total, pf.first[i], now[i], name);
    add_window(step, pf.last[i], now[i], name);
  }
  if (step.wrapped && !pf.wrapped) {
    ctx.event(severity::alarm, "counter_wrapped",
              fmt::format("{}: FEC counter(s) went backwards (wrapped): {}; post-FEC counts from "
                          "here on are not trustworthy",
                          describe_device(m), join(step.wrapped_counters)));
  }
  pf.wrapped = pf.wrapped || step.wrapped;
  pf.last = now;
  pf.codewords = total.codewords;
  const std::uint64_t cum = total.uncorrectable;
  ctx.sample("fec_uncorrectable", "", -1, static_cast<double>(cum));
  if (step.codewords > 0) ctx.sample("pre_fec_ber", "", -1, step.pre_fec_ber());
  if (step.uncorrectable > 0) {
    ctx.event(severity::alarm, "post_fec_errors",
              fmt::format("{}: {} uncorrectable codeword(s) since the previous sample ({} in the "
                          "soak)",
                          describe_device(m), step.uncorrectable, cum));
  }
  // The window ending now starts at the last sample at least post_fec_window ago.
  while (pf.history.size() > 1 && pf.history[1].first <= t - c.post_fec_window)
    pf.history.pop_front();
  const std::uint64_t base = pf.history.front().second;
  pf.max_window = std::max(pf.max_window, cum >= base ? cum - base : 0);
  pf.history.emplace_back(t, cum);
  co_return std::nullopt;
}
}  // namespace

long long thermal_soak_step::samples_per_reading() const noexcept {
  long long n = 0;
  for (const auto& s : config_.profile) {
    if (!s.ramp_to) n += s.dwell / config_.interval;
  }
  return n * config_.cycles;
}

long long thermal_soak_step::ber_checks() const noexcept {
  if (!config_.ber) return 0;
  const auto& b = *config_.ber;
  const auto span = b.lock_timeout + b.gate;
  long long n = 0;
  for (const auto& s : config_.profile) {
    if (!s.ramp_to && s.dwell >= span) n += (s.dwell - span) / b.every + 1;
  }
  return n * config_.cycles;
}

clock::duration thermal_soak_step::stabilize_check() const noexcept {
  return check_period(config_);
}

task<step_outcome> thermal_soak_step::run(step_context& ctx) const {
  using phase = soak_controller::phase;
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("thermal_soak");
  const config& c = config_;
  auto& clk = ctx.clock();

  // Join the soak, or start it.
  std::shared_ptr<soak_controller> ctl = controller_;
  if (!ctl || ctl->now == phase::done || ctl->now == phase::failed) {
    device* d = ctx.find_device(c.chamber);
    auto* chamber = dynamic_cast<thermal_chamber*>(d);
    if (chamber == nullptr) {
      co_return step_outcome{
          verdict::error, make_error_code(d ? errc::invalid_argument : errc::device_not_found),
          d ? fmt::format("thermal_soak: {} is a {}, not a thermal chamber ({})",
                          describe_device(*d), to_string(d->kind()), c.chamber_where)
            : fmt::format("thermal_soak: no device '{}' on this bench ({})", c.chamber,
                          c.chamber_where)};
    }
    ctl = std::make_shared<soak_controller>();
    ctl->executor = clk.context().get_executor();
    const clock::duration check = check_period(c);
    ctl->window = static_cast<std::size_t>((c.stable_for + check - clock::duration{1}) / check) + 1;
    controller_ = ctl;
    ++ctl->participants;
    ctl->duts[ctx.slot()] = {ctx.dut_name(), {}, false};
    auto lock = co_await ctx.async_lock(c.chamber);
    asio::co_spawn(clk.context(), drive(ctl, c, chamber, &clk, std::move(lock)), asio::detached);
  } else {
    ++ctl->participants;
    ctl->duts[ctx.slot()] = {ctx.dut_name(), {}, false};
  }
  struct leave {
    soak_controller* c;
    int slot;
    ~leave() {
      --c->participants;
      c->duts.erase(slot);
    }
  } leaving{ctl.get(), ctx.slot()};

  // Module flags.
  // Module flags: read at every sample while the driver has a flags read (not_supported: said
  // once, then not asked again).
  bool read_flags = c.flags;
  std::set<std::string> flags_set;
  flag_counts flags_raised;

  // Periodic BER: the lanes, as the ber step chooses them.
  ber_plan plan;
  if (c.ber) {
    plan.lanes = c.ber->lanes;
    if (plan.lanes.empty()) {
      int n = m->lane_count() > 0 ? m->lane_count() : 8;
      if (c.ber->side == side::media) {
        if (int media = media_lane_count(ctx.dut_identity()); media > 0) n = media;
      }
      for (int l = 1; l <= std::min(n, max_ber_lane); ++l)
        plan.lanes.push_back(l);
    }
    for (int l : plan.lanes)
      plan.mask |= lane_mask{1} << (l - 1);
    plan.pattern = std::string(to_string(c.ber->pattern));
    plan.what = fmt::format("{} {} PRBS on lane(s) {}", to_string(c.ber->side), plan.pattern,
                            describe_lanes(plan.lanes));
  }
  ber_run bers;

  post_fec_track pf;
  if (c.max_post_fec_errors) {
    std::string error;
    pf.ports = linked_ports(ctx, *m, error);
    if (pf.ports.empty()) {
      co_return step_outcome{
          verdict::error, make_error_code(errc::invalid_argument),
          fmt::format("thermal_soak: max_post_fec_errors: {} ({})", error, c.post_fec_where)};
    }
  }

  std::map<std::pair<std::string, int>, series> tracked;
  long long instants = 0;
  verdict overall = verdict::pass;
  std::string abort_msg;
  int seen = 0, seen_tick = ctl->tick;
  const step_outcome cancelled{verdict::error, make_error_code(errc::cancelled),
                               "thermal_soak: cancelled"};
  while (abort_msg.empty()) {
    // Wait for the next phase; meanwhile read the case temperature at each stabilisation check.
    while (ctl->generation == seen) {
      if (ctl->tick != seen_tick) {
        seen_tick = ctl->tick;
        if (c.stable_dut && ctl->now == phase::stabilize) {
          auto r = co_await m->async_read_monitors();
          if (!r) co_return device_failure(*m, "read monitors", r.error());
          std::optional<double> t;
          for (const auto& rd : r.value()) {
            if (rd.name != "temperature") continue;
            if (auto q = reading_to_base(rd.value, rd.unit)) t = q->value;
            break;
          }
          ctl->post_temperature(ctx.slot(), t);
        }
        continue;
      }
      if (co_await step_cancelled()) co_return cancelled;
      co_await ctl->async_changed();
      if (co_await step_cancelled()) co_return cancelled;
    }
    seen = ctl->generation;
    const phase p = ctl->now;
    if (p == phase::done) break;
    if (p == phase::failed) {
      ctx.event(severity::fault, "soak_abort", ctl->message);
      co_return step_outcome{verdict::fail, {}, fmt::format("soak aborted: {}", ctl->message)};
    }
    ctx.event(
        severity::info, "soak_phase",
        fmt::format("cycle {} of {}, segment {}: {}{}", ctl->cycle, c.cycles, ctl->segment,
                    phase_name(p),
                    p == phase::dwell
                        ? fmt::format(" {} at {:g} C", format_duration(ctl->dwell), ctl->setpoint)
                        : fmt::format(" to {:g} C", phase_target(c, *ctl, p))));
    if (p != phase::dwell) continue;
    const auto start = ctl->dwell_start;
    const auto end = start + ctl->dwell;
    const long long n = ctl->dwell / c.interval;
    const int gen = ctl->generation;
    ctx.progress(
        end, fmt::format("soak at {:g} C, cycle {} of {}", ctl->setpoint, ctl->cycle, c.cycles));
    // Instants already past when this DUT arrives (it joined late) are not taken; later ones are,
    // even when a PRBS counter read makes one a few ms late.
    long long k = 0;
    while (k < n && start + k * c.interval < clk.now())
      ++k;
    long long j = 0;  // next BER check
    if (c.ber) {
      while (start + j * c.ber->every < clk.now())
        ++j;
    }
    constexpr auto never = clock::time_point::max();
    bool chamber_failed = false;
    for (;;) {
      const clock::time_point t_sample = k < n ? clock::time_point(start + k * c.interval) : never;
      clock::time_point t_ber = never;
      if (c.ber) {
        if (bers.st != ber_run::state::idle) {
          t_ber = bers.next;
        } else if (const auto at = start + j * c.ber->every;
                   at + c.ber->lock_timeout + c.ber->gate <= end) {
          t_ber = at;
        }
      }
      const clock::time_point at = std::min(t_sample, t_ber);
      if (at == never) break;
      if (at > clk.now()) {
        // A cancellation that came during the last sample's reads (or while this DUT's wake-up
        // was queued) reached no wait: see step_cancelled().
        if (ctx.stop_requested() || co_await step_cancelled()) co_return cancelled;
        const std::error_code ec = co_await clk.async_wait_until(at, asio::use_awaitable);
        // Also ask the runner: after the module's flags read the wait above was seen not to be
        // cancelled by Ctrl-C (the DUT then ran the soak to its end); see the closing notes.
        if (ec || ctx.stop_requested()) co_return cancelled;
      }
      if (ctl->generation != gen && ctl->now == phase::failed) {
        chamber_failed = true;
        break;
      }
      if (at != t_sample) {
        if (bers.st == ber_run::state::idle) ++j;
        auto o = co_await ber_advance(ctx, *c.ber, *m, plan, bers, overall);
        if (o) co_return std::move(*o);
        continue;
      }
      ++k;
      auto r = co_await m->async_read_monitors();
      if (!r) co_return device_failure(*m, "read monitors", r.error());
      ++instants;
      const double t = clk.now_seconds();
      for (const auto& rd : r.value()) {
        auto q = reading_to_base(rd.value, rd.unit);
        if (!q) continue;
        double v = q->value;
        std::string_view unit = base_unit(q->dim);
        if (in_db(rd.name) && q->dim == dimension::power) {
          v = 10 * std::log10(std::max(v, 1e-12) / 1e-3);
          unit = "dBm";
        }
        ctx.sample(rd.name, unit, rd.lane, v);
        if (c.abort_dut_c && rd.name == "temperature" && v > *c.abort_dut_c) {
          abort_msg = fmt::format("{}: module temperature {:.1f} C above the abort limit {:g} C",
                                  describe_device(*m), v, *c.abort_dut_c);
        }
        auto lim = c.limits.find(rd.name);
        const bool drift = c.max_drift.contains(rd.name);
        if (lim == c.limits.end() && !drift) continue;
        series& s = tracked[{rd.name, rd.lane}];
        if (!s.any) {
          s.first = v;
          s.t_first = t;
          s.any = true;
        }
        s.last = v;
        s.t_last = t;
        if (lim != c.limits.end()) {
          const verdict jv = judge(lim->second, v);
          const bool out = jv == verdict::fail;
          if (out && !s.outside) {
            ++s.excursions;
            ctx.event(severity::alarm, "soak_limit_excursion",
                      fmt::format("{} lane {} = {:.4g} {} outside its limit ({})", rd.name, rd.lane,
                                  v, unit, lim->second.source));
          } else if (!out && s.outside) {
            ctx.event(severity::info, "soak_limit_recovered",
                      fmt::format("{} lane {} = {:.4g} {} back within its limit", rd.name, rd.lane,
                                  v, unit));
          }
          s.outside = out;
        }
      }
      if (!pf.ports.empty()) {
        auto o = co_await post_fec_sample(ctx, *m, c, pf);
        if (o) co_return std::move(*o);
      }
      if (read_flags) {
        auto f = co_await m->async_read_flags();
        if (!f && f.error() == make_error_code(errc::not_supported)) {
          ctx.event(severity::info, "module_flags_unavailable",
                    fmt::format("{}: module flags not read: driver '{}' has no flags read",
                                describe_device(*m), m->driver_name()));
          read_flags = false;
        } else if (!f) {
          co_return device_failure(*m, "read flags", f.error());
        } else {
          flag_events(ctx, f.value(), flags_set, r.value(), flags_raised);
        }
      }
      if (!abort_msg.empty()) break;
    }
    if (bers.st != ber_run::state::idle) {
      // The soak stops in the middle of a check: switch the PRBS off again (best effort: the
      // abort is what the step reports).
      (void)co_await ber_disable(ctx, *c.ber, *m, plan, bers);
    }
    if (chamber_failed) {
      ctx.event(severity::fault, "soak_abort", ctl->message);
      co_return step_outcome{verdict::fail, {}, fmt::format("soak aborted: {}", ctl->message)};
    }
  }

  // Limits over time.
  for (const auto& [key, s] : tracked) {
    const auto& [name, lane] = key;
    if (c.limits.contains(name)) {
      const limit l{
          .cmp = limit::comparator::le, .high = c.max_flaps, .unit = "", .source = c.where};
      overall = worst(overall, ctx.record(measurement{"excursions." + name, lane, side::none,
                                                      static_cast<double>(s.excursions), "", l}));
    }
    if (auto d = c.max_drift.find(name); d != c.max_drift.end()) {
      const double hours = (s.t_last - s.t_first) / 3600.0;
      const double per_h = hours > 0 ? std::fabs(s.last - s.first) / hours : 0;
      const limit l{
          .cmp = limit::comparator::le,
          .high = d->second,
          .unit = in_db(name) ? "dB" : std::string(base_unit(find_monitor(name)->dimensions[0])),
          .source = c.where};
      overall = worst(overall, ctx.record(measurement{"drift_per_h." + name, lane, side::none,
                                                      per_h, l.unit + "/h", l}));
    }
  }
  if (c.max_post_fec_errors && !pf.ports.empty()) {
    const limit l{.cmp = limit::comparator::le,
                  .high = static_cast<double>(*c.max_post_fec_errors),
                  .unit = "",
                  .source = c.post_fec_where};
    overall = worst(overall, ctx.record(measurement{"post_fec_errors_max_window", -1, side::host,
                                                    static_cast<double>(pf.max_window), "", l}));
    if (pf.wrapped) overall = worst(overall, verdict::fail);
    if (pf.codewords == 0 && instants > 1) {
      ctx.event(severity::alarm, "fec_no_codewords",
                fmt::format("{}: the linked ASIC port(s) counted no FEC codeword during the soak "
                            "(FEC off, or no signal): zero post-FEC errors proves nothing",
                            describe_device(*m)));
      overall = worst(overall, verdict::fail);
    }
  }
  ctx.record(
      measurement{"soak_samples", -1, side::none, static_cast<double>(instants), "", std::nullopt});
  if (!abort_msg.empty()) {
    ctx.event(severity::fault, "soak_abort", abort_msg);
    co_return step_outcome{verdict::fail, {}, abort_msg};
  }
  std::string msg = fmt::format("{} sample instants over {} cycle(s)", instants, c.cycles);
  if (c.ber) msg += fmt::format("; {} BER check(s), {} failed", bers.checks, bers.failed);
  if (flags_raised.alarms + flags_raised.warnings > 0) {
    msg += fmt::format("; module flags raised: {} alarm(s), {} warning(s)", flags_raised.alarms,
                       flags_raised.warnings);
  }
  co_return step_outcome{overall, {}, msg};
}

step_type thermal_soak_step_type() {
  return step_type{
      .name = "thermal_soak",
      .summary =
          "a chamber profile of ramps and dwells (cycles) with every DUT monitor sampled "
          "at an interval, limits over time, module flags as events, periodic BER checks and "
          "abort criteria",
      .options = {"chamber", "profile", "cycles", "interval", "stabilize", "abort", "limits",
                  "max_flaps", "max_drift", "flags", "ber", "max_post_fec_errors",
                  "post_fec_window"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_soak,
  };
}

}  // namespace hilt::seq
