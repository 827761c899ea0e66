#include "set/set.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "hilt/seq/step_util.hpp"
#include "tx_disable/tx_disable.hpp"

namespace hilt::seq {

namespace {

constexpr int max_lane = 32;
constexpr int max_channel = 64;

// What hilt's device classes can set, by key: the one table the parser and the messages use.
struct settable {
  std::string_view key;
  std::string_view owner;  // "module", "chamber", "supply"
  dimension dim;           // none: on/off
};
constexpr settable settables[] = {
    {"low_power", "module", dimension::none},
    {"tx_disable", "module", dimension::none},
    {"setpoint", "chamber", dimension::temperature},
    {"voltage", "supply", dimension::voltage},
    {"current_limit", "supply", dimension::current},
    {"output", "supply", dimension::none},
    {"attenuation", "attenuator", dimension::ratio_db},
    {"wavelength", "attenuator", dimension::length},
    {"shutter", "attenuator", dimension::none},  // open | closed
    {"fec_mode", "link", dimension::none},       // none | rs528 | rs544
    {"tx_fir", "link", dimension::none},         // {pre1, main, post1}
};

const settable* find_settable(std::string_view key) {
  for (const auto& s : settables) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string_view owner_noun(std::string_view owner) {
  return owner == "module"       ? "the DUT's module"
         : owner == "link"       ? "the switch-ASIC lanes linked to the DUT"
         : owner == "chamber"    ? "a thermal chamber"
         : owner == "attenuator" ? "an optical attenuator"
                                 : "a power supply";
}

// Settings applied without 'device:': to the DUT's module, or to the ASIC lanes linked to it.
bool dut_owned(std::string_view owner) {
  return owner == "module" || owner == "link";
}

const std::string& can_set() {
  static const std::string text =
      "hilt's device interfaces can set: a DUT module's low_power and tx_disable (with lanes); "
      "the switch-ASIC lanes linked to the DUT (fixture 'links:'): fec_mode and tx_fir "
      "{pre1, main, post1}; with 'device: NAME', a thermal chamber's setpoint, a power supply's "
      "voltage, current_limit and output (with channel), and an optical attenuator's "
      "attenuation, wavelength and shutter (open/closed)";
  return text;
}

// Reads tx_fir: {pre1: -0.05, main: 0.8, post1: -0.15} (IEEE 802.3 normalised coefficients).
std::optional<tx_fir> read_taps(parse_context& ctx, const YAML::Node& node) {
  yaml_map m(ctx, node, "tx_fir");
  if (!m.valid()) return std::nullopt;
  static const std::vector<std::string> keys{"pre1", "main", "post1"};
  if (!m.reject_unknown(keys, "tap", "in tx_fir").empty()) return std::nullopt;
  tx_fir t{0, 0, 0};
  bool ok = true;
  for (const auto& k : keys) {
    const auto* e = m.find(k);
    if (e == nullptr) {
      ctx.error(node, fmt::format("tx_fir: needs '{}' (pre1, main and post1: IEEE 802.3 "
                                  "normalised coefficients, like pre1: -0.05, main: 0.8, "
                                  "post1: -0.15)",
                                  k));
      ok = false;
      continue;
    }
    static constexpr std::array dims{dimension::none};
    auto q = ctx.read_quantity(e->value, k, dims);
    if (!q) {
      ok = false;
      continue;
    }
    (k == "pre1" ? t.pre1 : k == "main" ? t.main : t.post1) = q->value;
  }
  if (!ok) return std::nullopt;
  if (t.pre1 > 0 || t.post1 > 0 || !(t.main > 0) ||
      std::abs(t.pre1) + t.main + std::abs(t.post1) > 1 + 1e-9) {
    ctx.error(node, fmt::format("tx_fir: pre1 {:g}, main {:g}, post1 {:g} are not a valid FIR: "
                                "expected pre1 <= 0, main > 0, post1 <= 0 and |pre1| + main + "
                                "|post1| <= 1",
                                t.pre1, t.main, t.post1));
    return std::nullopt;
  }
  return t;
}

std::string fmt_value(double v, dimension d) {
  return fmt::format("{:g} {}", v, base_unit(d));
}

std::shared_ptr<const step> parse_set(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  set_step::config cfg;
  cfg.where = ctx.where(spec.node);
  const auto* dev = spec.options.find("device");
  if (dev != nullptr) {
    if (auto name = ctx.read_text(dev->value, "device")) {
      if (name->empty()) {
        ctx.error(dev->value, "device: expected the name of a fixture device, got an empty text");
      } else {
        cfg.device = *name;
        cfg.device_where = ctx.where(dev->value);
      }
    }
  }
  std::string owner;  // of the first setting: every setting must be of the same device
  std::string first_key;
  for (const auto& e : spec.options.entries()) {
    const settable* s = find_settable(e.key);
    if (s == nullptr) continue;  // common keys, lanes, device, channel
    if (dev == nullptr && !dut_owned(s->owner)) {
      ctx.error(e.key_node,
                fmt::format("{}: is a setting of {}; name it with 'device: NAME' ({})", e.key,
                            owner_noun(s->owner),
                            s->key == "voltage" ? "a module's supply voltage is set on the "
                                                  "supply feeding it, not through the module"
                                                : "a fixture instrument"));
      continue;
    }
    if (dev != nullptr && dut_owned(s->owner)) {
      ctx.error(e.key_node, fmt::format("{}: is a setting of {}; it does not go with 'device:' "
                                        "(write it in a 'set' step of its own)",
                                        e.key, owner_noun(s->owner)));
      continue;
    }
    if (!owner.empty() && owner != s->owner) {
      ctx.error(e.key_node, fmt::format("{}: is a setting of {}, and '{}' one of {}: one device "
                                        "per 'set' step",
                                        e.key, owner_noun(s->owner), first_key, owner_noun(owner)));
      continue;
    }
    owner = s->owner;
    if (first_key.empty()) first_key = e.key;
    set_step::setting st;
    st.key = e.key;
    if (s->key == "shutter") {
      static constexpr std::array<std::string_view, 2> states{"open", "closed"};
      auto v = ctx.read_choice(e.value, e.key, states);
      if (!v) continue;
      st.flag = *v == "closed";
      st.written = *v;
    } else if (s->key == "fec_mode") {
      static constexpr std::array<std::string_view, 3> modes{"none", "rs528", "rs544"};
      auto v = ctx.read_choice(e.value, e.key, modes);
      if (!v) continue;
      st.fec = *parse_fec_mode(*v);
      st.written = *v;
    } else if (s->key == "tx_fir") {
      auto t = read_taps(ctx, e.value);
      if (!t) continue;
      st.taps = *t;
      st.written = fmt::format("pre1 {:g}, main {:g}, post1 {:g}", t->pre1, t->main, t->post1);
    } else if (s->dim == dimension::none) {
      auto b = ctx.read_bool(e.value, e.key);
      if (!b) continue;
      st.flag = *b;
      st.written = *b ? "on" : "off";
    } else {
      const dimension dims[] = {s->dim};
      auto q = ctx.read_quantity(e.value, e.key, dims);
      if (!q) continue;
      st.value = q->value;
      st.written = *ctx.read_text(e.value, e.key);
      if (s->key == "attenuation" && !(q->value >= 0)) {
        ctx.error(e.value, fmt::format("attenuation: expected 0 dB or more, got {}", st.written));
        continue;
      }
      if (s->key == "wavelength" && !(q->value >= 200e-9 && q->value <= 2000e-9)) {
        ctx.error(e.value, fmt::format("wavelength: expected an optical wavelength from 200 nm "
                                       "to 2000 nm, got {}",
                                       st.written));
        continue;
      }
    }
    cfg.settings.push_back(std::move(st));
  }
  if (const auto* e = spec.options.find("lanes")) {
    if (!spec.options.has("tx_disable")) {
      ctx.error(e->key_node, "lanes: applies to tx_disable (the lanes whose transmitters to set)");
    } else if (auto lanes = parse_lanes(ctx, e->value, max_lane)) {
      cfg.lanes = std::move(*lanes);
    }
  }
  if (const auto* e = spec.options.find("channel")) {
    if (owner != "supply") {
      ctx.error(e->key_node,
                "channel: applies to a power supply's voltage, current_limit and "
                "output");
    } else if (auto n = ctx.read_integer(e->value, "channel", 1, max_channel,
                                         "the power supply's output channel")) {
      cfg.channel = static_cast<int>(*n);
    }
  }
  if (ctx.error_count() == errors_before && cfg.settings.empty() && spec.unknown_keys.empty()) {
    ctx.error(spec.node, fmt::format("step 'set' needs something to set; {}", can_set()));
  }
  if (dev == nullptr && spec.station && !cfg.settings.empty()) {
    ctx.error(spec.node,
              "step 'set' without 'device:' sets the DUT's module or its ASIC lanes, which a "
              "station step does not have");
  }
  cfg.owner = owner;
  if (ctx.error_count() != errors_before || cfg.settings.empty()) return nullptr;
  return std::make_shared<set_step>(std::move(cfg));
}

}  // namespace

std::vector<device_need> set_step::required_devices() const {
  if (config_.device.empty()) return {};
  std::vector<std::string> keys;
  for (const auto& s : config_.settings)
    keys.push_back(s.key);
  device_need need{config_.device, config_.device_where, fmt::format("set {}", join(keys)), {}};
  // The device's class, and an attenuator's range, are known once it is open: checked before the
  // run touches anything (and by `hilt validate --fixture`).
  need.check = [cfg = config_](hilt::device& d) -> std::string {
    const std::string& first = cfg.settings.front().key;
    const std::string_view owner = find_settable(first)->owner;
    const bool fits = owner == "chamber"      ? dynamic_cast<thermal_chamber*>(&d) != nullptr
                      : owner == "attenuator" ? dynamic_cast<optical_attenuator*>(&d) != nullptr
                                              : dynamic_cast<power_supply*>(&d) != nullptr;
    if (!fits) {
      return fmt::format("device: '{}' is a {}; {} is a setting of {}", cfg.device,
                         to_string(d.kind()), first, owner_noun(owner));
    }
    if (auto* voa = dynamic_cast<optical_attenuator*>(&d)) {
      const auto r = voa->range();
      for (const auto& s : cfg.settings) {
        if (s.key == "attenuation" && !(s.value >= r.min_db && s.value <= r.max_db)) {
          return fmt::format(
              "attenuation: {} is outside the range of attenuator '{}' "
              "({:g} dB to {:g} dB)",
              s.written, cfg.device, r.min_db, r.max_db);
        }
      }
    }
    return {};
  };
  return {std::move(need)};
}

std::vector<link_need> set_step::required_links() const {
  if (config_.owner != "link") return {};
  return {{link_need::kind::asic, config_.where, "set fec_mode/tx_fir"}};
}

task<step_outcome> set_step::set_link(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("set");
  const auto links = ctx.links().electrical_of(m->name());
  if (links.empty()) {
    co_return step_outcome{
        verdict::error, make_error_code(errc::invalid_argument),
        fmt::format("set: {} is linked to no switch ASIC (fixture 'links:')", describe_device(*m))};
  }
  std::vector<std::string> done;
  for (const auto& s : config_.settings) {
    for (const auto* l : links) {
      auto* asic = dynamic_cast<switch_asic*>(ctx.find_device(l->asic));
      if (asic == nullptr) {
        co_return step_outcome{
            verdict::error, make_error_code(errc::device_not_found),
            fmt::format("set: switch ASIC '{}' ({}) is not open on this bench", l->asic, l->where)};
      }
      if (s.key == "fec_mode") {
        const std::string op = fmt::format("set port {} fec_mode {}", l->port, s.written);
        auto r = co_await asic->async_set_fec_mode(l->port, s.fec);
        if (!r) co_return device_failure(*asic, op, r.error());
        const std::string note = fmt::format("port {} fec_mode: requested {}, actual {}", l->port,
                                             s.written, to_string(r.value()));
        ctx.event(severity::info, "set", fmt::format("{}: {}", describe_device(*asic), note));
        done.push_back(note);
      } else {  // tx_fir, per linked lane
        for (int lane : l->asic_lanes) {
          const std::string op =
              fmt::format("set port {} lane {} tx_fir {}", l->port, lane, s.written);
          auto r = co_await asic->async_set_tx_fir(l->port, lane, s.taps);
          if (!r) co_return device_failure(*asic, op, r.error());
          ctx.event(severity::info, "set",
                    fmt::format("{}: port {} lane {} tx_fir: requested {}, actual pre1 {:g}, "
                                "main {:g}, post1 {:g}",
                                describe_device(*asic), l->port, lane, s.written, r.value().pre1,
                                r.value().main, r.value().post1));
        }
        done.push_back(fmt::format("port {} lane(s) {} tx_fir {}", l->port,
                                   describe_lanes(l->asic_lanes), s.written));
      }
    }
  }
  co_return step_outcome{verdict::pass, {}, join(done, "; ")};
}

task<step_outcome> set_step::set_module(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("set");
  std::vector<std::string> done;
  for (const auto& s : config_.settings) {
    if (s.key == "low_power") {
      const std::string op = fmt::format("set low_power {}", s.written);
      auto st = co_await m->async_set_low_power(s.flag);
      if (!st) co_return device_failure(*m, op, st.error());
      if (st.value() == module_state::fault) {
        co_return step_outcome{verdict::error, make_error_code(errc::device_fault),
                               fmt::format("{}: {}: the module is in {}", describe_device(*m), op,
                                           to_string(st.value()))};
      }
      done.push_back(
          fmt::format("low_power {} (module state {})", s.written, to_string(st.value())));
    } else {  // tx_disable
      auto out = co_await apply_tx_disable(ctx, config_.lanes, s.flag);
      if (out.verdict == verdict::error) co_return out;
      done.push_back(
          fmt::format("tx_disable {} on lane(s) {}", s.written, describe_lanes(config_.lanes)));
    }
  }
  const std::string msg = join(done, "; ");
  ctx.log().info("{}: set {}", describe_device(*m), msg);
  co_return step_outcome{verdict::pass, {}, msg};
}

task<step_outcome> set_step::set_device(step_context& ctx) const {
  device* d = ctx.find_device(config_.device);
  if (d == nullptr) {
    co_return step_outcome{verdict::error, make_error_code(errc::device_not_found),
                           fmt::format("set: no device '{}' on this bench ({})", config_.device,
                                       config_.device_where)};
  }
  auto* chamber = dynamic_cast<thermal_chamber*>(d);
  auto* supply = dynamic_cast<power_supply*>(d);
  auto* voa = dynamic_cast<optical_attenuator*>(d);
  const std::string_view owner = config_.owner;
  const bool for_chamber = owner == "chamber";
  if (for_chamber             ? chamber == nullptr
      : owner == "attenuator" ? voa == nullptr
                              : supply == nullptr) {
    co_return step_outcome{
        verdict::error, make_error_code(errc::invalid_argument),
        fmt::format("{}: is a {}; {} is a setting of {}", describe_device(*d), to_string(d->kind()),
                    config_.settings.front().key, owner_noun(owner))};
  }
  if (voa != nullptr) co_return co_await set_attenuator(ctx, *voa);
  // Two DUTs never drive one instrument at the same time.
  auto guard = co_await ctx.async_lock(config_.device);
  std::vector<std::string> done;
  for (const auto& s : config_.settings) {
    const std::string op =
        for_chamber ? fmt::format("set {} {}", s.key, s.written)
                    : fmt::format("set {} {} on channel {}", s.key, s.written, config_.channel);
    std::string note;
    if (s.key == "setpoint") {
      auto r = co_await chamber->async_set_setpoint(s.value);
      if (!r) co_return device_failure(*d, op, r.error());
      note = fmt::format("setpoint: requested {}, actual {}",
                         fmt_value(s.value, dimension::temperature),
                         fmt_value(r.value(), dimension::temperature));
    } else if (s.key == "voltage") {
      auto r = co_await supply->async_set_voltage(config_.channel, s.value);
      if (!r) co_return device_failure(*d, op, r.error());
      note = fmt::format("channel {} voltage: requested {}, actual {}", config_.channel,
                         fmt_value(s.value, dimension::voltage),
                         fmt_value(r.value(), dimension::voltage));
    } else if (s.key == "current_limit") {
      auto r = co_await supply->async_set_current_limit(config_.channel, s.value);
      if (!r) co_return device_failure(*d, op, r.error());
      note = fmt::format("channel {} current_limit: requested {}, actual {}", config_.channel,
                         fmt_value(s.value, dimension::current),
                         fmt_value(r.value(), dimension::current));
    } else {  // output
      const std::error_code ec = co_await supply->async_set_output(config_.channel, s.flag);
      if (ec) co_return device_failure(*d, op, ec);
      note = fmt::format("channel {} output {}", config_.channel, s.written);
    }
    ctx.event(severity::info, "set", fmt::format("{}: {}", describe_device(*d), note));
    done.push_back(std::move(note));
  }
  co_return step_outcome{verdict::pass, {}, join(done, "; ")};
}

task<step_outcome> set_step::set_attenuator(step_context& ctx, optical_attenuator& voa) const {
  auto guard = co_await ctx.async_lock(config_.device);
  std::vector<std::string> done;
  for (const auto& s : config_.settings) {
    const std::string op = fmt::format("set {} {}", s.key, s.written);
    std::string note;
    if (s.key == "attenuation") {
      auto r = co_await voa.async_set_attenuation(s.value);
      if (!r) co_return device_failure(voa, op, r.error());
      note = fmt::format("attenuation: requested {:g} dB, actual {:g} dB", s.value, r.value());
    } else if (s.key == "wavelength") {
      auto r = co_await voa.async_set_wavelength(s.value * 1e9);
      if (!r) co_return device_failure(voa, op, r.error());
      note = fmt::format("wavelength: requested {:g} nm, actual {:g} nm", s.value * 1e9, r.value());
    } else {  // shutter
      if (auto ec = co_await voa.async_set_shutter(s.flag)) co_return device_failure(voa, op, ec);
      note = fmt::format("shutter {}", s.written);
    }
    ctx.event(severity::info, "set", fmt::format("{}: {}", describe_device(voa), note));
    done.push_back(std::move(note));
  }
  co_return step_outcome{verdict::pass, {}, join(done, "; ")};
}

task<step_outcome> set_step::run(step_context& ctx) const {
  if (config_.owner == "link") co_return co_await set_link(ctx);
  if (config_.device.empty()) co_return co_await set_module(ctx);
  co_return co_await set_device(ctx);
}

step_type set_step_type() {
  return step_type{
      .name = "set",
      .summary =
          "set parameters of the DUT's module (low_power, tx_disable), of the ASIC lanes "
          "linked to it (fec_mode, tx_fir) or of a fixture instrument (device: NAME; setpoint, "
          "voltage, current_limit, output, attenuation, wavelength, shutter)",
      .options = {"low_power", "tx_disable", "lanes", "device", "setpoint", "voltage",
                  "current_limit", "output", "channel", "attenuation", "wavelength", "shutter",
                  "fec_mode", "tx_fir"},
      .needs_dut = false,
      .children_key = {},
      .parse = parse_set,
      .plan = nullptr,
      .handles_timeout = false,
      .unknown_option_note = "; " + can_set(),
  };
}

}  // namespace hilt::seq
