#include "power/power.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <set>

#include "ber/ber.hpp"
#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {

constexpr std::array<std::string_view, 3> state_names{"low_power", "high_power", "prbs"};
constexpr double cmis_low_power_max_w = 1.5;  // CMIS 5.x: a module in ModuleLowPwr draws <= 1.5 W

// "psu1/2" -> {psu1, 2}.
std::optional<power_step::feed> parse_feed(std::string_view t) {
  const auto slash = t.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  int ch = 0;
  const auto digits = t.substr(slash + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ch);
  if (ec != std::errc{} || p != digits.data() + digits.size() || ch < 1 || ch > 64) {
    return std::nullopt;
  }
  return power_step::feed{std::string(t.substr(0, slash)), ch};
}

std::shared_ptr<const step> parse_power(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  power_step::config cfg;
  if (const auto* e = spec.options.find("states")) {
    if (auto items = read_list(ctx, e->value, "states", "module states")) {
      cfg.states.clear();
      std::set<std::string> seen;
      for (const auto& it : *items) {
        auto pos = std::find(state_names.begin(), state_names.end(), it.text);
        if (pos == state_names.end()) {
          ctx.error(it.node, fmt::format("states: unknown state '{}'; known states: low_power, "
                                         "high_power, prbs",
                                         it.text));
        } else if (!seen.insert(it.text).second) {
          ctx.error(it.node, fmt::format("states: '{}' is listed twice", it.text));
        } else {
          cfg.states.push_back(static_cast<power_step::state>(pos - state_names.begin()));
        }
      }
    }
  }
  const auto* sup = spec.options.find("supply");
  if (sup != nullptr) {
    cfg.supply_where = ctx.where(sup->value);
    if (sup->value.IsMap()) {
      yaml_map feeds(ctx, sup->value, "supply");
      for (const auto& f : feeds.entries()) {
        int slot = 0;
        auto [p, ec] = std::from_chars(f.key.data(), f.key.data() + f.key.size(), slot);
        if (ec != std::errc{} || p != f.key.data() + f.key.size() || slot < 1) {
          ctx.error(f.key_node, fmt::format("supply: expected a DUT slot number (1, 2, ...) as "
                                            "key, got '{}'",
                                            f.key));
          continue;
        }
        auto t = ctx.read_text(f.value, "supply");
        if (!t) continue;
        auto fd = parse_feed(*t);
        if (!fd) {
          ctx.error(f.value, fmt::format("supply: expected SUPPLY/CHANNEL like 'psu1/2' for slot "
                                         "{}, got '{}'",
                                         slot, *t));
          continue;
        }
        cfg.per_slot[slot] = *fd;
      }
      if (spec.options.has("channel")) {
        ctx.error(spec.options.find("channel")->key_node,
                  "channel: goes with 'supply: NAME'; a per-slot supply mapping names each "
                  "channel itself (SUPPLY/CHANNEL)");
      }
    } else if (auto t = ctx.read_text(sup->value, "supply")) {
      if (t->empty()) {
        ctx.error(sup->value, "supply: expected the name of a fixture power supply");
      } else {
        cfg.supply = power_step::feed{*t, 1};
      }
    }
  }
  if (const auto* e = spec.options.find("channel"); e != nullptr && cfg.supply) {
    if (auto n =
            ctx.read_integer(e->value, "channel", 1, 64, "the power supply's output channel")) {
      cfg.supply->channel = static_cast<int>(*n);
    }
  } else if (e != nullptr && sup == nullptr) {
    ctx.error(e->key_node, "channel: applies to 'supply:' (the channel feeding the DUT)");
  }
  if (const auto* e = spec.options.find("rail")) {
    cfg.rail_where = ctx.where(e->value);
    if (auto t = ctx.read_text(e->value, "rail")) {
      if (t->empty()) ctx.error(e->value, "rail: expected the name of a fixture power monitor");
      cfg.rail = *t;
    }
  }
  if (const auto* e = spec.options.find("settle")) {
    if (auto d = ctx.read_duration(e->value, "settle", /*allow_zero=*/true)) cfg.settle = *d;
  }
  static constexpr std::array dims{dimension::power};
  if (auto choice = read_limit_choice(ctx, spec, dims, "the DUT power")) {
    cfg.limit = std::move(*choice);
  }
  if (ctx.error_count() != errors_before) return nullptr;
  return std::make_shared<power_step>(std::move(cfg));
}

struct reading {
  std::optional<double> volts, amps, watts;      // supply
  std::optional<double> rail_v, rail_i, rail_p;  // rail
};

}  // namespace

std::string_view to_string(power_step::state s) noexcept {
  return state_names[static_cast<std::size_t>(s)];
}

std::optional<double> power_class_max_w(int c) noexcept {
  static constexpr std::array<double, 7> max{1.5, 3.5, 7.0, 8.0, 10.0, 12.0, 14.0};
  if (c < 1 || c > 7) return std::nullopt;
  return max[static_cast<std::size_t>(c - 1)];
}

std::vector<device_need> power_step::required_devices() const {
  std::vector<device_need> out;
  if (config_.supply) out.push_back({config_.supply->supply, config_.supply_where, "power"});
  std::set<std::string> named;
  for (const auto& [slot, f] : config_.per_slot) {
    if (named.insert(f.supply).second) out.push_back({f.supply, config_.supply_where, "power"});
  }
  if (!config_.rail.empty()) out.push_back({config_.rail, config_.rail_where, "power"});
  return out;
}

task<step_outcome> power_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("power");
  const config& c = config_;

  // What the module advertises.
  identity id;
  if (const identity* known = ctx.dut_identity()) {
    id = *known;
  } else {
    auto r = co_await m->async_identify();
    if (!r) co_return device_failure(*m, "identify", r.error());
    id = r.value();
  }
  std::optional<double> max_w;
  std::string max_source;
  int power_class = 0;
  if (auto it = id.extra.find("power_class"); it != id.extra.end()) {
    power_class = std::atoi(it->second.c_str());
  }
  if (auto it = id.extra.find("max_power_w"); it != id.extra.end()) {
    const double v = std::atof(it->second.c_str());
    if (v > 0) {
      max_w = v;
      max_source = fmt::format("{}: advertised max power {:g} W (power class {})",
                               describe_device(*m), v, power_class);
    }
  }
  if (!max_w) {
    if (auto cm = power_class_max_w(power_class)) {
      max_w = *cm;
      max_source =
          fmt::format("{}: power class {} (<= {:g} W)", describe_device(*m), power_class, *cm);
    }
  }
  if (max_w && power_class >= 1 && power_class <= 7 && *max_w > *power_class_max_w(power_class)) {
    ctx.event(
        severity::warning, "power_class_mismatch",
        fmt::format("{}: advertised max power {:g} W exceeds power class {} ({:g} W)",
                    describe_device(*m), *max_w, power_class, *power_class_max_w(power_class)));
  }
  const resolved_limit user = resolve_limit(c.limit, ctx.dut_identity());
  if (!user.error.empty()) {
    co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                           fmt::format("{}: {}", describe_device(*m), user.error)};
  }

  // The instruments.
  std::optional<feed> fd = c.supply;
  if (!c.per_slot.empty()) {
    auto it = c.per_slot.find(ctx.slot());
    if (it == c.per_slot.end()) {
      co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                             fmt::format("power: the supply mapping ({}) names no feed for slot {}",
                                         c.supply_where, ctx.slot())};
    }
    fd = it->second;
  }
  power_supply* supply = nullptr;
  if (fd) {
    device* d = ctx.find_device(fd->supply);
    supply = dynamic_cast<power_supply*>(d);
    if (supply == nullptr) {
      co_return step_outcome{
          verdict::error, make_error_code(d ? errc::invalid_argument : errc::device_not_found),
          d ? fmt::format("power: {} is a {}, not a power supply ({})", describe_device(*d),
                          to_string(d->kind()), c.supply_where)
            : fmt::format("power: no device '{}' on this bench ({})", fd->supply, c.supply_where)};
    }
  }
  power_monitor* rail = nullptr;
  if (!c.rail.empty()) {
    device* d = ctx.find_device(c.rail);
    rail = dynamic_cast<power_monitor*>(d);
    if (rail == nullptr) {
      co_return step_outcome{
          verdict::error, make_error_code(d ? errc::invalid_argument : errc::device_not_found),
          d ? fmt::format("power: {} is a {}, not a power monitor ({})", describe_device(*d),
                          to_string(d->kind()), c.rail_where)
            : fmt::format("power: no device '{}' on this bench ({})", c.rail, c.rail_where)};
    }
  }
  if (supply == nullptr && rail == nullptr) {
    // The module's own report: a monitor named "power" or "module_power".
    auto mons = co_await m->async_read_monitors();
    if (!mons) co_return device_failure(*m, "read monitors", mons.error());
    bool has = false;
    for (const auto& r : mons.value())
      has = has || r.name == "power" || r.name == "module_power";
    if (!has) {
      co_return step_outcome{
          verdict::error, make_error_code(errc::not_supported),
          fmt::format("{}: the module reports no power monitor (CMIS defines none); name the "
                      "supply feeding it ('supply:') or its PMBus rail ('rail:')",
                      describe_device(*m))};
    }
  }

  auto initial = co_await m->async_module_state();
  if (!initial) co_return device_failure(*m, "read module state", initial.error());

  const int media = media_lane_count(&id);
  const lane_mask all_media =
      media > 0 ? (lane_mask{1} << std::min(media, 31)) - 1 : lanes_to_mask({}, *m);
  bool prbs_on = false;
  verdict overall = verdict::pass;
  std::vector<std::string> summary;
  for (const state s : c.states) {
    const std::string sname(to_string(s));
    // Enter the state.
    if (s == state::low_power) {
      auto st = co_await m->async_set_low_power(true);
      if (!st) co_return device_failure(*m, "set low power", st.error());
    } else {
      auto st = co_await m->async_set_low_power(false);
      if (!st) co_return device_failure(*m, "release low power", st.error());
      if (auto ec = co_await m->async_power_up()) co_return device_failure(*m, "power up", ec);
    }
    if (s == state::prbs && !prbs_on) {
      if (auto ec = co_await m->async_prbs_configure(side::media, all_media, prbs_pattern::prbs31q,
                                                     true, true)) {
        co_return device_failure(*m, "enable media PRBS-31Q", ec);
      }
      prbs_on = true;
    } else if (s != state::prbs && prbs_on) {
      if (auto ec = co_await m->async_prbs_configure(side::media, all_media, prbs_pattern::prbs31q,
                                                     false, false)) {
        co_return device_failure(*m, "disable media PRBS", ec);
      }
      prbs_on = false;
    }
    if (c.settle.count() > 0) {
      ctx.progress(ctx.clock().now() + c.settle, fmt::format("power: settling in {}", sname));
      const auto settle = c.settle;
      (void)co_await ctx.clock().async_sleep(settle, asio::use_awaitable);
    }
    // Measure.
    reading rd;
    if (supply != nullptr) {
      auto guard = co_await ctx.async_lock(fd->supply);
      auto v = co_await supply->async_measure_voltage(fd->channel);
      if (!v) {
        co_return device_failure(*supply, fmt::format("measure voltage of channel {}", fd->channel),
                                 v.error());
      }
      auto i = co_await supply->async_measure_current(fd->channel);
      if (!i) {
        co_return device_failure(*supply, fmt::format("measure current of channel {}", fd->channel),
                                 i.error());
      }
      rd.volts = v.value();
      rd.amps = i.value();
      rd.watts = v.value() * i.value();
    }
    if (rail != nullptr) {
      auto r = co_await rail->async_read_rail();
      if (!r) co_return device_failure(*rail, "read rail", r.error());
      rd.rail_v = r.value().vout;
      rd.rail_i = r.value().iout;
      rd.rail_p = r.value().pout;
      if (!rd.rail_p && rd.rail_v && rd.rail_i) rd.rail_p = *rd.rail_v * *rd.rail_i;
    }
    auto rec = [&](const std::string& name, std::optional<double> v, const char* unit) {
      if (v) ctx.record(measurement{name + "." + sname, -1, side::none, *v, unit, std::nullopt});
    };
    rec("supply_voltage", rd.volts, "V");
    rec("supply_current", rd.amps, "A");
    rec("rail_vout", rd.rail_v, "V");
    rec("rail_iout", rd.rail_i, "A");
    rec("rail_pout", rd.rail_p, "W");
    const std::optional<double> p = rd.watts ? rd.watts : rd.rail_p;
    if (!p) {
      co_return step_outcome{verdict::error, make_error_code(errc::not_supported),
                             fmt::format("{}: rail {} reports no output power or V and I",
                                         describe_device(*m), c.rail)};
    }
    std::optional<limit> own;
    if (s == state::low_power) {
      own = limit{.cmp = limit::comparator::le,
                  .high = cmis_low_power_max_w,
                  .unit = "W",
                  .source = "CMIS 5.x: ModuleLowPwr draws at most 1.5 W"};
    } else if (max_w) {
      own = limit{.cmp = limit::comparator::le, .high = *max_w, .unit = "W", .source = max_source};
    }
    const verdict v = ctx.record(measurement{"power." + sname, -1, side::none, *p, "W", own});
    overall = worst(overall, v == verdict::info ? verdict::pass : v);
    if (user.limit && s != state::low_power) {
      overall = worst(overall, ctx.record(measurement{"power_limit." + sname, -1, side::none, *p,
                                                      "W", user.limit}));
    }
    summary.push_back(fmt::format("{} {:.3f} W{}", sname, *p,
                                  own ? fmt::format(" (max {:g} W)", *own->high) : ""));
  }
  // Leave the module as found.
  if (prbs_on) {
    if (auto ec = co_await m->async_prbs_configure(side::media, all_media, prbs_pattern::prbs31q,
                                                   false, false)) {
      co_return device_failure(*m, "disable media PRBS", ec);
    }
  }
  if (initial.value() == module_state::ready && !c.states.empty() &&
      c.states.back() == state::low_power) {
    auto st = co_await m->async_set_low_power(false);
    if (!st) co_return device_failure(*m, "release low power", st.error());
    if (auto ec = co_await m->async_power_up()) co_return device_failure(*m, "power up", ec);
  }
  co_return step_outcome{overall, {}, join(summary, "; ")};
}

step_type power_step_type() {
  return step_type{
      .name = "power",
      .summary =
          "DUT power draw per module state (supply V x I, PMBus rail), judged against the "
          "module's advertised maximum and power class",
      .options = {"states", "supply", "channel", "rail", "settle", "limit", "limit_ref"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_power,
  };
}

}  // namespace hilt::seq
