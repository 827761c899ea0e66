#include "wait_until/wait_until.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <optional>

#include "hilt/seq/limits.hpp"
#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {

constexpr int max_lane = 64;
constexpr int max_channel = 64;

constexpr dimension temperature_dim[] = {dimension::temperature};
constexpr dimension voltage_dim[] = {dimension::voltage};
constexpr dimension current_dim[] = {dimension::current};

// What a fixture instrument can be asked for, by name.
struct device_quantity {
  std::string_view name;
  std::span<const dimension> dims;
  std::string_view source;  // the device class that reports it
};
constexpr std::array<device_quantity, 3> device_quantities{{
    {"temperature", temperature_dim, "a thermal chamber's temperature reading"},
    {"voltage", voltage_dim, "a power supply's measured output voltage"},
    {"current", current_dim, "a power supply's measured output current"},
}};

struct state_name {
  std::string_view name;
  module_state state;
};
constexpr std::array<state_name, 5> states{{
    {"low_power", module_state::low_power},
    {"powering_up", module_state::powering_up},
    {"ready", module_state::ready},
    {"powering_down", module_state::powering_down},
    {"fault", module_state::fault},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool holds(double v, wait_until_step::comparison c, double target) {
  using cmp = wait_until_step::comparison;
  switch (c) {
    case cmp::lt:
      return v < target;
    case cmp::le:
      return v <= target;
    case cmp::gt:
      return v > target;
    case cmp::ge:
      return v >= target;
    case cmp::eq:
      return v == target;
    case cmp::ne:
      return v != target;
  }
  return false;
}

std::string fmt_reading(double v, dimension d) {
  const std::string_view u = base_unit(d);
  return u.empty() ? fmt::format("{:g}", v) : fmt::format("{:g} {}", v, u);
}

bool transient(const std::error_code& ec) {
  // A module in MgmtInit or changing state may NACK for a moment: that is "not yet".
  return ec == make_error_code(errc::nack);
}

// Parses "NAME OP VALUE" into `cfg`; reports errors at `node`.
bool parse_condition(parse_context& ctx, const YAML::Node& node, const std::string& text,
                     bool on_device, wait_until_step::config& cfg) {
  using cmp = wait_until_step::comparison;
  static constexpr std::array<std::pair<std::string_view, cmp>, 6> ops{{{"<=", cmp::le},
                                                                        {">=", cmp::ge},
                                                                        {"==", cmp::eq},
                                                                        {"!=", cmp::ne},
                                                                        {"<", cmp::lt},
                                                                        {">", cmp::gt}}};
  const std::string shape = fmt::format(
      "condition: expected 'NAME OP VALUE' (OP one of <=, >=, <, >, ==, !=) like '{}', got '{}'",
      on_device ? "temperature <= 50 C" : "temperature <= 50 C' or 'module_state == ready", text);
  const std::size_t at = text.find_first_of("<>=!");
  if (at == std::string::npos) {
    ctx.error(node, shape);
    return false;
  }
  std::size_t op_len = 0;
  for (const auto& [sym, c] : ops) {
    if (text.compare(at, sym.size(), sym) == 0) {
      cfg.cmp = c;
      op_len = sym.size();
      break;
    }
  }
  const std::string_view left = trim(std::string_view(text).substr(0, at));
  const std::string_view right = op_len ? trim(std::string_view(text).substr(at + op_len)) : "";
  if (op_len == 0 || left.empty() || right.empty() ||
      right.find_first_of("<>=!") != std::string_view::npos) {
    ctx.error(node, shape);
    return false;
  }
  cfg.quantity = std::string(left);

  // The names this condition may use, and the dimensions of each.
  std::vector<std::string> known;
  std::span<const dimension> dims;
  bool found = false;
  if (on_device) {
    for (const auto& q : device_quantities) {
      known.emplace_back(q.name);
      if (q.name == left) {
        dims = q.dims;
        found = true;
      }
    }
  } else {
    known.emplace_back("module_state");
    for (const auto& m : known_monitors())
      known.emplace_back(m.name);
    if (left == "module_state") {
      found = true;
    } else if (const monitor_info* m = find_monitor(left)) {
      dims = m->dimensions;
      found = true;
    }
  }
  if (!found) {
    const std::string near = nearest(left, known);
    ctx.error(node,
              fmt::format("condition: unknown quantity '{}'{}{}; known: {}", left,
                          near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                          on_device ? " on a device" : "", join(known)));
    return false;
  }

  if (left == "module_state" && !on_device) {
    if (cfg.cmp != cmp::eq && cfg.cmp != cmp::ne) {
      ctx.error(node, fmt::format("condition: module_state is compared with == or !=, got '{}'",
                                  text.substr(at, op_len)));
      return false;
    }
    std::vector<std::string> names;
    for (const auto& s : states) {
      names.emplace_back(s.name);
      if (s.name == right || to_string(s.state) == right) {
        cfg.state = s.state;
        return true;
      }
    }
    const std::string near = nearest(right, names);
    ctx.error(node, fmt::format(
                        "condition: expected a module state ({}), got '{}'{}", join(names), right,
                        near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near)));
    return false;
  }

  std::string why;
  const auto q = parse_quantity(right, &why);
  if (!q || std::find(dims.begin(), dims.end(), q->dim) == dims.end()) {
    std::string got = fmt::format("'{}'", right);
    if (q) {
      got = q->dim == dimension::none ? fmt::format("'{}' with no unit", right)
                                      : fmt::format("{} '{}'", to_string(q->dim), right);
    } else if (why.starts_with("unknown unit")) {
      got = fmt::format("'{}' ({})", right, why);
    }
    ctx.error(node, fmt::format("condition: expected {} for '{}', got {}", describe_expected(dims),
                                left, got));
    return false;
  }
  cfg.value = q->value;
  cfg.dim = q->dim;
  return true;
}

std::shared_ptr<const step> parse_wait_until(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  wait_until_step::config cfg;

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
  } else if (spec.station) {
    ctx.error(spec.node,
              "step 'wait_until' without 'device:' reads the DUT's module, which a "
              "station step does not have; name a fixture device with 'device:'");
  }

  const auto* cond = require_option(ctx, spec, "condition",
                                    "like 'temperature <= 50 C' or 'module_state == ready'");
  bool cond_ok = false;
  if (cond != nullptr) {
    if (auto text = ctx.read_text(cond->value, "condition")) {
      cfg.text = std::string(trim(*text));
      cond_ok = parse_condition(ctx, cond->value, cfg.text, dev != nullptr, cfg);
    }
  }

  if (spec.timeout) {
    cfg.timeout = *spec.timeout;
  } else if (!spec.options.has("timeout")) {
    ctx.error(spec.node,
              "step 'wait_until' needs 'timeout:' (how long to wait for the condition, "
              "like '10 min'; not met by then fails the step)");
  }
  if (const auto* e = spec.options.find("interval")) {
    if (auto d = ctx.read_duration(e->value, "interval", /*allow_zero=*/false)) cfg.interval = *d;
  }

  const monitor_info* mon = dev == nullptr && cond_ok ? find_monitor(cfg.quantity) : nullptr;
  if (const auto* e = spec.options.find("lanes")) {
    if (cond_ok && (mon == nullptr || !mon->per_lane)) {
      ctx.error(e->key_node, fmt::format("lanes: '{}' is not a per-lane monitor of the module; "
                                         "lanes apply to tx_bias, tx_power, rx_power, ...",
                                         cfg.quantity));
    } else if (auto lanes = parse_lanes(ctx, e->value, max_lane)) {
      cfg.lanes = std::move(*lanes);
    }
  }
  if (const auto* e = spec.options.find("channel")) {
    if (dev == nullptr || (cond_ok && cfg.quantity == "temperature")) {
      ctx.error(e->key_node,
                "channel: applies to a power supply's voltage or current, read with "
                "'device: NAME'");
    } else if (auto n = ctx.read_integer(e->value, "channel", 1, max_channel,
                                         "the power supply's output channel")) {
      cfg.channel = static_cast<int>(*n);
    }
  }
  if (ctx.error_count() != errors_before || !cond_ok) return nullptr;
  return std::make_shared<wait_until_step>(std::move(cfg));
}

}  // namespace

struct wait_until_step::probe_result {
  std::optional<step_outcome> failed;  // a device error: the step ends with it
  bool met = false;
  std::string reading;  // what was read, for the messages: "temperature 55.3 C"
};

std::vector<device_need> wait_until_step::required_devices() const {
  if (config_.device.empty()) return {};
  return {{config_.device, config_.device_where, fmt::format("wait until {}", config_.text)}};
}

task<wait_until_step::probe_result> wait_until_step::probe_module(managed_module& m) const {
  probe_result out;
  if (config_.quantity == "module_state") {
    auto st = co_await m.async_module_state();
    if (!st) {
      if (!transient(st.error())) out.failed = device_failure(m, "read module state", st.error());
      out.reading = fmt::format("module_state: no answer ({})", describe_code(st.error()));
      co_return out;
    }
    const bool equal = st.value() == config_.state;
    out.met = config_.cmp == comparison::eq ? equal : !equal;
    out.reading = fmt::format("module_state {}", to_string(st.value()));
    co_return out;
  }
  auto readings = co_await m.async_read_monitors();
  if (!readings) {
    if (!transient(readings.error())) {
      out.failed = device_failure(m, "read monitors", readings.error());
    }
    out.reading =
        fmt::format("{}: no answer ({})", config_.quantity, describe_code(readings.error()));
    co_return out;
  }
  bool any = false;
  out.met = true;
  std::string first, failing;
  for (const auto& r : readings.value()) {
    if (r.name != config_.quantity) continue;
    if (!config_.lanes.empty() &&
        std::find(config_.lanes.begin(), config_.lanes.end(), r.lane) == config_.lanes.end()) {
      continue;
    }
    std::string why;
    auto q = reading_to_base(r.value, r.unit, &why);
    std::optional<double> v;
    if (q) v = convert(*q, config_.dim);
    if (!v) {
      out.failed = step_outcome{
          verdict::error, make_error_code(errc::bad_reply),
          fmt::format("{}: read monitors: monitor '{}' is reported in '{}', which cannot be "
                      "compared with '{}'{}",
                      describe_device(m), r.name, r.unit, config_.text,
                      why.empty() ? std::string() : ": " + why)};
      co_return out;
    }
    any = true;
    const std::string text =
        r.lane >= 0 ? fmt::format("{} lane {} {}", r.name, r.lane, fmt_reading(*v, config_.dim))
                    : fmt::format("{} {}", r.name, fmt_reading(*v, config_.dim));
    if (first.empty()) first = text;
    if (!holds(*v, config_.cmp, config_.value)) {
      out.met = false;
      if (failing.empty()) failing = text;
    }
  }
  if (!any) {
    out.failed = step_outcome{
        verdict::error, make_error_code(errc::not_supported),
        fmt::format(
            "{}: read monitors: the module reports no '{}'{}", describe_device(m), config_.quantity,
            config_.lanes.empty() ? std::string()
                                  : fmt::format(" for lane(s) {}", describe_lanes(config_.lanes)))};
    co_return out;
  }
  out.reading = out.met ? first : failing;
  co_return out;
}

task<wait_until_step::probe_result> wait_until_step::probe_device(step_context& ctx) const {
  probe_result out;
  device* d = ctx.find_device(config_.device);
  if (d == nullptr) {
    out.failed = step_outcome{verdict::error, make_error_code(errc::device_not_found),
                              fmt::format("wait_until: no device '{}' on this bench ({})",
                                          config_.device, config_.device_where)};
    co_return out;
  }
  // Reads are short; the instrument is held only while one is in flight.
  auto guard = co_await ctx.async_lock(config_.device);
  result<double> r = failure(make_error_code(errc::not_supported));
  std::string op;
  if (config_.quantity == "temperature") {
    auto* ch = dynamic_cast<thermal_chamber*>(d);
    if (ch == nullptr) {
      out.failed =
          step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                       fmt::format("{}: is a {}, and 'temperature' is read from a thermal chamber",
                                   describe_device(*d), to_string(d->kind()))};
      co_return out;
    }
    op = "read temperature";
    r = co_await ch->async_read_temperature();
  } else {
    auto* ps = dynamic_cast<power_supply*>(d);
    if (ps == nullptr) {
      out.failed =
          step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                       fmt::format("{}: is a {}, and '{}' is read from a power supply",
                                   describe_device(*d), to_string(d->kind()), config_.quantity)};
      co_return out;
    }
    op = fmt::format("measure {} on channel {}", config_.quantity, config_.channel);
    if (config_.quantity == "voltage") {
      r = co_await ps->async_measure_voltage(config_.channel);
    } else {
      r = co_await ps->async_measure_current(config_.channel);
    }
  }
  if (!r) {
    out.failed = device_failure(*d, op, r.error());
    co_return out;
  }
  out.met = holds(r.value(), config_.cmp, config_.value);
  out.reading = fmt::format("{} {} {}", config_.device, config_.quantity,
                            fmt_reading(r.value(), config_.dim));
  co_return out;
}

task<wait_until_step::probe_result> wait_until_step::probe(step_context& ctx) const {
  if (!config_.device.empty()) co_return co_await probe_device(ctx);
  managed_module* m = ctx.module();
  if (m == nullptr) {
    probe_result out;
    out.failed = no_dut("wait_until");
    co_return out;
  }
  co_return co_await probe_module(*m);
}

task<step_outcome> wait_until_step::run(step_context& ctx) const {
  auto& clk = ctx.clock();
  const auto started = clk.now();
  const auto deadline = started + config_.timeout;
  ctx.progress(deadline, fmt::format("waiting until {}", config_.text));
  for (;;) {
    probe_result p = co_await probe(ctx);
    if (p.failed) co_return *p.failed;
    const auto now = clk.now();
    if (p.met) {
      const std::string msg = fmt::format("'{}' met after {} ({})", config_.text,
                                          format_duration(now - started), p.reading);
      ctx.log().info("{}: {}", ctx.dut_name(), msg);
      co_return step_outcome{verdict::pass, {}, msg};
    }
    if (now >= deadline) {
      co_return step_outcome{verdict::fail,
                             {},
                             fmt::format("'{}' not met within {} (last: {})", config_.text,
                                         format_duration(config_.timeout), p.reading)};
    }
    const auto pause = std::min(config_.interval, deadline - now);
    // A cancellation during the probe's reads reached no wait: see step_cancelled().
    std::error_code ec = make_error_code(errc::cancelled);
    if (!co_await step_cancelled()) ec = co_await clk.async_sleep(pause, asio::use_awaitable);
    if (ec) {
      co_return step_outcome{verdict::error, make_error_code(errc::cancelled),
                             fmt::format("wait until '{}' cancelled after {}", config_.text,
                                         format_duration(clk.now() - started))};
    }
  }
}

step_type wait_until_step_type() {
  return step_type{
      .name = "wait_until",
      .summary =
          "poll a condition until it holds (condition: temperature <= 50 C, timeout: 10 "
          "min, interval: 5 s); not met in time fails",
      .options = {"condition", "interval", "lanes", "device", "channel"},
      .needs_dut = false,
      .children_key = {},
      .parse = parse_wait_until,
      .plan = nullptr,
      .handles_timeout = true,
  };
}

}  // namespace hilt::seq
