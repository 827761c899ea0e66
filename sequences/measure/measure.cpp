#include "measure/measure.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include "hilt/seq/limit_sets.hpp"
#include "hilt/seq/limits.hpp"
#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

namespace {

constexpr int max_lane = 64;  // CMIS: up to 4 banks of 8 lanes today; room for growth

std::string lane_list(const std::set<int>& lanes) {
  std::vector<std::string> out;
  for (int l : lanes)
    out.push_back(std::to_string(l));
  return join(out);
}

std::string per_lane_monitors() {
  std::vector<std::string> names;
  for (const auto& m : known_monitors()) {
    if (m.per_lane) names.emplace_back(m.name);
  }
  return join(names);
}

std::shared_ptr<const step> parse_measure(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  measure_step::config cfg;
  const monitor_info* info = nullptr;

  const auto* mon =
      require_option(ctx, spec, "monitor", "temperature, vcc, tx_bias, tx_power, rx_power, ...");
  std::optional<std::string> name;
  if (mon != nullptr) name = ctx.read_text(mon->value, "monitor");
  if (name) {
    info = find_monitor(*name);
    if (info == nullptr) {
      std::vector<std::string> names;
      for (const auto& m : known_monitors())
        names.emplace_back(m.name);
      const std::string near = nearest(*name, names);
      ctx.error(
          mon->value,
          fmt::format("monitor: unknown monitor '{}'{}; known monitors: {}", *name,
                      near.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", near),
                      join(names)));
    } else {
      cfg.monitor = *name;
    }
  }

  if (const auto* l = spec.options.find("lanes")) {
    if (info != nullptr && !info->per_lane) {
      ctx.error(l->key_node,
                fmt::format("lanes: monitor '{}' is module-level; lanes apply to per-lane "
                            "monitors ({})",
                            info->name, per_lane_monitors()));
    } else if (auto lanes = parse_lanes(ctx, l->value, max_lane)) {
      cfg.lanes = std::move(*lanes);
    }
  }

  if (const auto* s = spec.options.find("side")) {
    static constexpr std::array<std::string_view, 2> sides{"host", "media"};
    if (info != nullptr && !info->per_lane) {
      ctx.error(s->key_node,
                fmt::format("side: monitor '{}' is module-level; side applies to per-lane "
                            "monitors ({})",
                            info->name, per_lane_monitors()));
    } else if (auto v = ctx.read_choice(s->value, "side", sides)) {
      cfg.side = *v == "host" ? side::host : side::media;
    }
  }

  {
    // With an unknown monitor the dimension cannot be checked; its error is already reported, so
    // check the limit on its own (any dimension) to still catch its mistakes.
    std::span<const dimension> dims;
    if (info != nullptr) dims = info->dimensions;
    const std::string measured =
        fmt::format("monitor '{}'", info != nullptr ? info->name : std::string_view("?"));
    if (auto choice = read_limit_choice(ctx, spec, dims, measured)) {
      cfg.limit = std::move(choice->fixed);
      cfg.named_limit = std::move(choice->ref);
    }
  }

  if (ctx.error_count() != errors_before || cfg.monitor.empty()) return nullptr;
  return std::make_shared<measure_step>(std::move(cfg));
}

}  // namespace

task<step_outcome> measure_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("measure");
  // The limit for this DUT: the one written in the sequence, or the one its part number chooses.
  const resolved_limit chosen =
      resolve_limit(limit_choice{config_.limit, config_.named_limit}, ctx.dut_identity());
  if (!chosen.error.empty()) {
    co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                           fmt::format("{}: {}", describe_device(*m), chosen.error)};
  }
  const std::optional<hilt::limit>& lim = chosen.limit;
  auto readings = co_await m->async_read_monitors();
  if (!readings) co_return device_failure(*m, "read monitors", readings.error());

  std::set<std::string> reported;
  std::set<int> lanes_seen;
  std::vector<const monitor_reading*> selected;
  bool monitor_seen = false;
  for (const auto& r : readings.value()) {
    reported.insert(r.name);
    if (r.name != config_.monitor) continue;
    monitor_seen = true;
    if (config_.side && r.side != *config_.side) continue;
    lanes_seen.insert(r.lane);
    if (!config_.lanes.empty() &&
        std::find(config_.lanes.begin(), config_.lanes.end(), r.lane) == config_.lanes.end()) {
      continue;
    }
    selected.push_back(&r);
  }

  if (!monitor_seen) {
    co_return step_outcome{
        verdict::error, make_error_code(errc::not_supported),
        fmt::format("{}: read monitors: the module does not report monitor '{}'; it reports: {}",
                    describe_device(*m), config_.monitor,
                    reported.empty()
                        ? std::string("nothing")
                        : join(std::vector<std::string>(reported.begin(), reported.end())))};
  }
  if (selected.empty() && config_.side) {
    co_return step_outcome{
        verdict::error, make_error_code(errc::not_supported),
        fmt::format("{}: read monitors: the module reports no '{}' on the {} side",
                    describe_device(*m), config_.monitor, to_string(*config_.side))};
  }

  // Convert everything before recording anything, so a bad unit does not leave half a step.
  const dimension target = lim ? limit_dimension(*lim) : dimension::none;
  std::vector<measurement> out;
  for (const monitor_reading* r : selected) {
    std::string why;
    auto q = reading_to_base(r->value, r->unit, &why);
    if (!q) {
      co_return step_outcome{
          verdict::error, make_error_code(errc::bad_reply),
          fmt::format("{}: read monitors: monitor '{}' lane {} has a unit hilt does not know: {}",
                      describe_device(*m), r->name, r->lane, why)};
    }
    measurement meas{r->name, r->lane, r->side, q->value, std::string(base_unit(q->dim)), lim};
    if (lim) {
      auto v = convert(*q, target);
      if (!v) {
        co_return step_outcome{
            verdict::error, make_error_code(errc::bad_reply),
            fmt::format("{}: monitor '{}' is reported in '{}' ({}), which cannot be compared with "
                        "the limit at {} ({})",
                        describe_device(*m), r->name, r->unit, to_string(q->dim), lim->source,
                        to_string(target))};
      }
      meas.value = *v;
      meas.unit = std::string(base_unit(target));
    }
    out.push_back(std::move(meas));
  }

  verdict result = verdict::pass;
  for (const auto& meas : out) {
    const verdict v = ctx.record(meas);
    ctx.log().debug("{} {} lane {}: {} {} -> {}", describe_device(*m), meas.name, meas.lane,
                    meas.value, meas.unit, to_string(v));
    result = worst(result, v);
  }

  std::set<int> missing;
  for (int lane : config_.lanes) {
    if (!lanes_seen.contains(lane)) missing.insert(lane);
  }
  if (!missing.empty()) {
    co_return step_outcome{
        verdict::error, make_error_code(errc::invalid_argument),
        fmt::format("{}: read monitors: the module reports '{}' for lane(s) {}, not for lane(s) {}",
                    describe_device(*m), config_.monitor, lane_list(lanes_seen),
                    lane_list(missing))};
  }
  co_return step_outcome{result, {}, {}};
}

step_type measure_step_type() {
  return step_type{
      .name = "measure",
      .summary = "read a monitor and record it per lane, judged against a limit",
      .options = {"monitor", "lanes", "side", "limit", "limit_ref"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_measure,
  };
}

}  // namespace hilt::seq
