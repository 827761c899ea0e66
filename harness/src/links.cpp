#include "hilt/links.hpp"

#include <fmt/format.h>

namespace hilt {

std::vector<const electrical_link*> link_map::electrical_of(std::string_view module) const {
  std::vector<const electrical_link*> out;
  for (const auto& e : electrical) {
    if (e.module == module) out.push_back(&e);
  }
  return out;
}

std::vector<const optical_link*> link_map::optical_of(std::string_view module) const {
  std::vector<const optical_link*> out;
  for (const auto& o : optical) {
    if (o.a == module || o.b == module) out.push_back(&o);
  }
  return out;
}

std::vector<int> parse_lane_list(std::string_view text, std::string& error) {
  std::vector<int> out;
  error.clear();
  auto number = [&](std::string_view s, int& v) {
    if (s.empty() || s.size() > 3) return false;
    v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    return v >= 1 && v <= 64;
  };
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
      s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
      s.remove_suffix(1);
    return s;
  };
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const std::string_view item = trim(
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    const auto dash = item.find('-');
    int lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, lo)) {
        error = fmt::format("'{}' is not a lane number from 1 to 64", item);
        return {};
      }
      hi = lo;
    } else if (!number(trim(item.substr(0, dash)), lo) ||
               !number(trim(item.substr(dash + 1)), hi)) {
      error = fmt::format("'{}' is not a lane range like 1-8 (lanes 1 to 64)", item);
      return {};
    } else if (lo > hi) {
      error = fmt::format("'{}' is an empty range: its first lane is above its last", item);
      return {};
    }
    for (int l = lo; l <= hi; ++l)
      out.push_back(l);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace hilt
