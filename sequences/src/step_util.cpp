#include "hilt/seq/step_util.hpp"

#include <fmt/format.h>

#include <charconv>
#include <set>

#include "hilt/error.hpp"

namespace hilt::seq {

std::string describe_code(std::error_code ec) {
  if (ec.category() == hilt_category()) {
    return fmt::format("{}, hilt {}", errc_name(ec.value()), ec.value());
  }
  return fmt::format("{} {}", ec.category().name(), ec.value());
}

std::string describe_device(const device& d) {
  return fmt::format("{} ({})", d.name(), d.address());
}

step_outcome device_failure(const device& d, std::string_view operation, std::error_code ec) {
  return step_outcome{verdict::error, ec,
                      fmt::format("{}: {} failed: {} [{}]", describe_device(d), operation,
                                  ec.message(), describe_code(ec))};
}

step_outcome no_dut(std::string_view step_type) {
  return step_outcome{
      verdict::error, make_error_code(errc::invalid_argument),
      fmt::format("step '{}' needs a DUT but ran without one (as a station step)", step_type)};
}

namespace {

// One lane entry, already substituted: "3" or "1-4".
bool parse_lane_item(parse_context& ctx, const YAML::Node& node, std::string_view t, int max_lane,
                     std::set<int>& out) {
  auto number = [max_lane](std::string_view n, int& v) {
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    return ec == std::errc{} && p == n.data() + n.size() && v >= 1 && v <= max_lane;
  };
  int a = 0, b = 0;
  if (const auto dash = t.find('-'); dash != std::string_view::npos && dash > 0) {
    if (number(t.substr(0, dash), a) && number(t.substr(dash + 1), b) && a <= b) {
      for (int l = a; l <= b; ++l)
        out.insert(l);
      return true;
    }
  } else if (number(t, a)) {
    out.insert(a);
    return true;
  }
  ctx.error(node, fmt::format("lanes: expected 'all', a lane number from 1 to {}, a range like "
                              "'1-4' or a list of them, got '{}'",
                              max_lane, t));
  return false;
}

}  // namespace

std::optional<std::vector<int>> parse_lanes(parse_context& ctx, const YAML::Node& node,
                                            int max_lane) {
  std::set<int> lanes;
  bool ok = true;
  if (node.IsSequence()) {
    if (node.size() == 0) {
      ctx.error(node, "lanes: expected at least one lane, got an empty list");
      return std::nullopt;
    }
    for (const auto& item : node) {
      auto s = ctx.read_text(item, "lanes");
      ok = s && parse_lane_item(ctx, item, *s, max_lane, lanes) && ok;
    }
  } else {
    auto s = ctx.read_text(node, "lanes");
    if (!s) return std::nullopt;
    if (*s == "all") return std::vector<int>{};
    ok = parse_lane_item(ctx, node, *s, max_lane, lanes);
  }
  if (!ok) return std::nullopt;
  return std::vector<int>(lanes.begin(), lanes.end());
}

lane_mask lanes_to_mask(const std::vector<int>& lanes, const managed_module& m) {
  if (lanes.empty()) {
    const int n = m.lane_count() > 0 ? std::min(m.lane_count(), 32) : 8;
    return n >= 32 ? ~lane_mask{0} : (lane_mask{1} << n) - 1;
  }
  lane_mask mask = 0;
  for (int l : lanes) {
    if (l >= 1 && l <= 32) mask |= lane_mask{1} << (l - 1);
  }
  return mask;
}

std::string describe_lanes(const std::vector<int>& lanes) {
  if (lanes.empty()) return "all";
  std::vector<std::string> out;
  for (int l : lanes)
    out.push_back(std::to_string(l));
  return join(out);
}

}  // namespace hilt::seq
