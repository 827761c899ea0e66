#include "set/set.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

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
    {"low_power", "module", dimension::none},        {"tx_disable", "module", dimension::none},
    {"setpoint", "chamber", dimension::temperature}, {"voltage", "supply", dimension::voltage},
    {"current_limit", "supply", dimension::current}, {"output", "supply", dimension::none},
};

const settable* find_settable(std::string_view key) {
  for (const auto& s : settables) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string_view owner_noun(std::string_view owner) {
  return owner == "module"    ? "the DUT's module"
         : owner == "chamber" ? "a thermal chamber"
                              : "a power supply";
}

const std::string& can_set() {
  static const std::string text =
      "hilt's device interfaces can set: a DUT module's low_power and tx_disable (with lanes); "
      "with 'device: NAME', a thermal chamber's setpoint and a power supply's voltage, "
      "current_limit and output (with channel)";
  return text;
}

std::string fmt_value(double v, dimension d) {
  return fmt::format("{:g} {}", v, base_unit(d));
}

std::shared_ptr<const step> parse_set(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  set_step::config cfg;
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
    if (dev == nullptr && s->owner != "module") {
      ctx.error(e.key_node,
                fmt::format("{}: is a setting of {}; name it with 'device: NAME' ({})", e.key,
                            owner_noun(s->owner),
                            s->key == "voltage" ? "a module's supply voltage is set on the "
                                                  "supply feeding it, not through the module"
                                                : "a fixture instrument"));
      continue;
    }
    if (dev != nullptr && s->owner == "module") {
      ctx.error(e.key_node, fmt::format("{}: is a setting of the DUT's module; it does not go "
                                        "with 'device:' (write it in a 'set' step of its own)",
                                        e.key));
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
    if (s->dim == dimension::none) {
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
              "step 'set' without 'device:' sets the DUT's module, which a station step "
              "does not have");
  }
  if (ctx.error_count() != errors_before || cfg.settings.empty()) return nullptr;
  return std::make_shared<set_step>(std::move(cfg));
}

}  // namespace

std::vector<device_need> set_step::required_devices() const {
  if (config_.device.empty()) return {};
  std::vector<std::string> keys;
  for (const auto& s : config_.settings)
    keys.push_back(s.key);
  return {{config_.device, config_.device_where, fmt::format("set {}", join(keys))}};
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
  const bool for_chamber = config_.settings.front().key == "setpoint";
  if (for_chamber ? chamber == nullptr : supply == nullptr) {
    co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                           fmt::format("{}: is a {}; {} is a setting of {}", describe_device(*d),
                                       to_string(d->kind()), config_.settings.front().key,
                                       for_chamber ? "a thermal chamber" : "a power supply")};
  }
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

task<step_outcome> set_step::run(step_context& ctx) const {
  if (config_.device.empty()) co_return co_await set_module(ctx);
  co_return co_await set_device(ctx);
}

step_type set_step_type() {
  return step_type{
      .name = "set",
      .summary =
          "set parameters of the DUT's module (low_power, tx_disable) or of a fixture "
          "instrument (device: NAME; setpoint, voltage, current_limit, output)",
      .options = {"low_power", "tx_disable", "lanes", "device", "setpoint", "voltage",
                  "current_limit", "output", "channel"},
      .needs_dut = false,
      .children_key = {},
      .parse = parse_set,
      .plan = nullptr,
      .handles_timeout = false,
      .unknown_option_note = "; " + can_set(),
  };
}

}  // namespace hilt::seq
