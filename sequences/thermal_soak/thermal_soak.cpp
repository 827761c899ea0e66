#include "thermal_soak/thermal_soak.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <set>

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
  int cycle = 0, segment = 0;
  double setpoint = 0;
  clock::time_point dwell_start{};
  clock::duration dwell{};
  std::string message;  // for failed: why
  int participants = 0;
  std::deque<asio::any_completion_handler<void()>> waiters;
  asio::any_io_executor executor;

  void announce(phase p) {
    now = p;
    ++generation;
    while (!waiters.empty()) {
      auto h = std::move(waiters.front());
      waiters.pop_front();
      asio::post(executor, [h = std::move(h)]() mutable { std::move(h)(); });
    }
  }
  task<void> async_changed() {
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [this](auto handler) { waiters.emplace_back(std::move(handler)); }, asio::use_awaitable);
  }
};

namespace {

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
  const clock::duration check =
      std::min<clock::duration>(std::chrono::minutes(1), cfg.stable_for / 5);
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
        c->announce(phase::stabilize);
        const auto deadline = clk->now() + cfg.stable_timeout;
        clock::duration stable{};
        for (;;) {
          auto t = co_await read();
          if (!t) co_return;
          stable = std::fabs(*t - target) <= cfg.stable_within ? stable + check : clock::duration{};
          if (stable >= cfg.stable_for) break;
          if (clk->now() >= deadline) {
            fail(fmt::format(
                "{}: not stable within ±{:g} C of {:g} C for {} after {} (at "
                "{:.1f} C)",
                describe_device(*chamber), cfg.stable_within, target,
                format_duration(cfg.stable_for), format_duration(cfg.stable_timeout), *t));
            co_return;
          }
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
    static const std::vector<std::string> keys{"within", "for", "timeout"};
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
  if (ctx.error_count() == errors_before) {
    bool dwell = false;
    for (const auto& s : cfg.profile) {
      if (!s.ramp_to && s.dwell >= cfg.interval) dwell = true;
    }
    if (!dwell) {
      ctx.error(spec.node, fmt::format("step 'thermal_soak' takes no samples: no dwell is as long "
                                       "as the interval ({})",
                                       format_duration(cfg.interval)));
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

long long thermal_soak_step::samples_per_reading() const noexcept {
  long long n = 0;
  for (const auto& s : config_.profile) {
    if (!s.ramp_to) n += s.dwell / config_.interval;
  }
  return n * config_.cycles;
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
    controller_ = ctl;
    ++ctl->participants;
    auto lock = co_await ctx.async_lock(c.chamber);
    asio::co_spawn(clk.context(), drive(ctl, c, chamber, &clk, std::move(lock)), asio::detached);
  } else {
    ++ctl->participants;
  }
  struct leave {
    soak_controller* c;
    ~leave() { --c->participants; }
  } leaving{ctl.get()};

  std::map<std::pair<std::string, int>, series> tracked;
  long long instants = 0;
  verdict overall = verdict::pass;
  std::string abort_msg;
  int seen = 0;
  while (abort_msg.empty()) {
    while (ctl->generation == seen)
      co_await ctl->async_changed();
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
                        : fmt::format(" to {:g} C", ctl->setpoint)));
    if (p != phase::dwell) continue;
    const auto start = ctl->dwell_start;
    const long long n = ctl->dwell / c.interval;
    const int gen = ctl->generation;
    ctx.progress(start + ctl->dwell, fmt::format("soak at {:g} C, cycle {} of {}", ctl->setpoint,
                                                 ctl->cycle, c.cycles));
    for (long long k = 0; k < n; ++k) {
      const clock::time_point at = start + k * c.interval;
      if (at < clk.now()) continue;  // joined late
      if (at > clk.now()) {
        const std::error_code ec = co_await clk.async_wait_until(at, asio::use_awaitable);
        if (ec) {
          co_return step_outcome{verdict::error, make_error_code(errc::cancelled),
                                 "thermal_soak: cancelled"};
        }
      }
      if (ctl->generation != gen && ctl->now == phase::failed) break;
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
      if (!abort_msg.empty()) break;
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
  ctx.record(
      measurement{"soak_samples", -1, side::none, static_cast<double>(instants), "", std::nullopt});
  if (!abort_msg.empty()) {
    ctx.event(severity::fault, "soak_abort", abort_msg);
    co_return step_outcome{verdict::fail, {}, abort_msg};
  }
  co_return step_outcome{
      overall, {}, fmt::format("{} sample instants over {} cycle(s)", instants, c.cycles)};
}

step_type thermal_soak_step_type() {
  return step_type{
      .name = "thermal_soak",
      .summary =
          "a chamber profile of ramps and dwells (cycles) with every DUT monitor sampled "
          "at an interval, limits over time and abort criteria",
      .options = {"chamber", "profile", "cycles", "interval", "stabilize", "abort", "limits",
                  "max_flaps", "max_drift"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_soak,
  };
}

}  // namespace hilt::seq
