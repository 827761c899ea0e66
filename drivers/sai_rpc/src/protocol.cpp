#include "hilt/sai_rpc/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace hilt::sai_rpc {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

struct pattern_name {
  prbs_pattern p;
  std::string_view name;
};
constexpr pattern_name pattern_names[] = {
    {prbs_pattern::prbs31q, "PRBS31Q"}, {prbs_pattern::prbs31, "PRBS31"},
    {prbs_pattern::prbs23q, "PRBS23Q"}, {prbs_pattern::prbs23, "PRBS23"},
    {prbs_pattern::prbs15q, "PRBS15Q"}, {prbs_pattern::prbs15, "PRBS15"},
    {prbs_pattern::prbs13q, "PRBS13Q"}, {prbs_pattern::prbs13, "PRBS13"},
    {prbs_pattern::prbs9q, "PRBS9Q"},   {prbs_pattern::prbs9, "PRBS9"},
    {prbs_pattern::prbs7q, "PRBS7Q"},   {prbs_pattern::prbs7, "PRBS7"},
    {prbs_pattern::ssprq, "SSPRQ"},
};

const json* member(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::optional<std::int64_t> as_int(const json& j) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (j.is_number_integer()) return j.get<std::int64_t>();
  return std::nullopt;
}

// Counters are non-negative integers; a float (or a number too big for 64 bits, which the parser
// reads as a float) is not a counter.
std::optional<std::uint64_t> as_u64(const json& j) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v >= 0) return static_cast<std::uint64_t>(v);
  }
  return std::nullopt;
}

std::optional<double> as_double(const json& j) {
  if (!j.is_number()) return std::nullopt;
  const double v = j.get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// "lane" of a per-lane entry: 1..lanes and not seen before.
std::optional<int> lane_of(const json& entry, int lanes, std::vector<bool>& seen,
                           std::string_view what, std::string& why) {
  const json* l = member(entry, "lane");
  const auto v = l ? as_int(*l) : std::nullopt;
  if (!v || *v < 1 || *v > lanes) {
    why = fmt::format("{}: an entry's 'lane' is missing or not a lane number within 1..{}", what,
                      lanes);
    return std::nullopt;
  }
  const int lane = static_cast<int>(*v);
  if (seen[static_cast<std::size_t>(lane)]) {
    why = fmt::format("{}: lane {} is listed twice", what, lane);
    return std::nullopt;
  }
  seen[static_cast<std::size_t>(lane)] = true;
  return lane;
}

std::optional<bool> bool_field(const json& entry, const char* key, std::string_view what, int lane,
                               std::string& why) {
  const json* b = member(entry, key);
  if (!b || !b->is_boolean()) {
    why = fmt::format("{} lane {}: '{}' is missing or not true/false", what, lane, key);
    return std::nullopt;
  }
  return b->get<bool>();
}

std::optional<std::uint64_t> u64_field(const json& entry, const char* key, std::string_view what,
                                       int lane, std::string& why) {
  const json* n = member(entry, key);
  const auto v = n ? as_u64(*n) : std::nullopt;
  if (!v) {
    why = fmt::format("{} lane {}: '{}' is missing or not a non-negative integer", what, lane, key);
  }
  return v;
}

std::optional<std::string> string_field(const json& obj, const char* key, std::string& why) {
  const json* s = member(obj, key);
  if (!s || !s->is_string()) {
    why = fmt::format("'{}' is missing or not a string", key);
    return std::nullopt;
  }
  return s->get<std::string>();
}

std::string dump(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace

std::string stat_fec_codeword_bin(int k) {
  return fmt::format("SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S{}", k);
}

std::string_view sai_name(prbs_pattern p) noexcept {
  for (const auto& n : pattern_names) {
    if (n.p == p) return n.name;
  }
  return "PRBS31Q";
}

std::optional<prbs_pattern> parse_sai_prbs_pattern(std::string_view s) noexcept {
  for (const auto& n : pattern_names) {
    if (n.name == s) return n.p;
  }
  return std::nullopt;
}

std::string_view sai_name(prbs_config c) noexcept {
  switch (c) {
    case prbs_config::disable:
      return "SAI_PORT_PRBS_CONFIG_DISABLE";
    case prbs_config::enable_tx_rx:
      return "SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX";
    case prbs_config::enable_rx:
      return "SAI_PORT_PRBS_CONFIG_ENABLE_RX";
    case prbs_config::enable_tx:
      return "SAI_PORT_PRBS_CONFIG_ENABLE_TX";
  }
  return "SAI_PORT_PRBS_CONFIG_DISABLE";
}

std::optional<prbs_config> parse_sai_prbs_config(std::string_view s) noexcept {
  for (auto c : {prbs_config::disable, prbs_config::enable_tx_rx, prbs_config::enable_rx,
                 prbs_config::enable_tx}) {
    if (sai_name(c) == s) return c;
  }
  return std::nullopt;
}

std::string_view sai_name(fec_mode m) noexcept {
  switch (m) {
    case fec_mode::none:
      return "SAI_PORT_FEC_MODE_EXTENDED_NONE";
    case fec_mode::rs528:
      return "SAI_PORT_FEC_MODE_EXTENDED_RS528";
    case fec_mode::rs544:
      return "SAI_PORT_FEC_MODE_EXTENDED_RS544";
  }
  return "SAI_PORT_FEC_MODE_EXTENDED_NONE";
}

std::optional<fec_mode> parse_sai_fec_mode(std::string_view s) noexcept {
  for (auto m : {fec_mode::none, fec_mode::rs528, fec_mode::rs544}) {
    if (sai_name(m) == s) return m;
  }
  return std::nullopt;
}

errc status_errc(std::string_view status) noexcept {
  if (status == "SAI_STATUS_NOT_SUPPORTED") return errc::not_supported;
  if (status.starts_with("SAI_STATUS_INVALID_")) return errc::invalid_argument;
  return errc::instrument_error;
}

std::optional<reply> parse_reply(std::string_view line, std::string& why) {
  // No exceptions: a parse error yields a "discarded" value.
  json j = json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded()) {
    why = "not JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    why = "not a JSON object";
    return std::nullopt;
  }
  const json* ok = member(j, "ok");
  if (!ok || !ok->is_boolean()) {
    why = "'ok' is missing or not true/false";
    return std::nullopt;
  }
  reply r;
  r.ok = ok->get<bool>();
  if (!r.ok) {
    const json* st = member(j, "status");
    r.status = st && st->is_string() ? st->get<std::string>() : "SAI_STATUS_FAILURE";
    const json* msg = member(j, "message");
    r.message = msg && msg->is_string() ? msg->get<std::string>() : "";
  }
  r.body = std::move(j);
  return r;
}

std::optional<asic_info> decode_info(const json& body, std::string& why) {
  asic_info info;
  auto vendor = string_field(body, "vendor", why);
  if (!vendor) return std::nullopt;
  auto model = string_field(body, "model", why);
  if (!model) return std::nullopt;
  auto serial = string_field(body, "serial", why);
  if (!serial) return std::nullopt;
  auto firmware = string_field(body, "firmware", why);
  if (!firmware) return std::nullopt;
  info.vendor = std::move(*vendor);
  info.model = std::move(*model);
  info.serial = std::move(*serial);
  info.firmware = std::move(*firmware);
  if (const json* cb = member(body, "counter_bits")) {
    const auto v = as_int(*cb);
    if (!v || *v < 1 || *v > 64) {
      why = "'counter_bits' is not a number within 1..64";
      return std::nullopt;
    }
    info.counter_bits = static_cast<int>(*v);
  }
  const json* groups = member(body, "port_groups");
  if (!groups || !groups->is_array() || groups->empty()) {
    why = "'port_groups' is missing or not a non-empty list";
    return std::nullopt;
  }
  for (const auto& g : *groups) {
    const std::size_t i = info.port_groups.size() + 1;
    const json* first = member(g, "first");
    const json* count = member(g, "count");
    const json* lanes = member(g, "lanes");
    const json* rate = member(g, "lane_rate");
    const auto f = first ? as_int(*first) : std::nullopt;
    const auto c = count ? as_int(*count) : std::nullopt;
    const auto l = lanes ? as_int(*lanes) : std::nullopt;
    const auto r = rate ? as_double(*rate) : std::nullopt;
    // Bounds keep port arithmetic far from overflow and lanes within a lane_mask.
    if (!f || *f < 1 || *f > 100000 || !c || *c < 1 || *c > 100000 || !l || *l < 1 || *l > 32 ||
        !r || !(*r > 0)) {
      why = fmt::format(
          "port group {} is not {{first >= 1, count >= 1, lanes 1..32, lane_rate > 0}}", i);
      return std::nullopt;
    }
    info.port_groups.push_back(
        asic_port_group{static_cast<int>(*f), static_cast<int>(*c), static_cast<int>(*l), *r});
  }
  auto sorted = info.port_groups;
  std::sort(sorted.begin(), sorted.end(),
            [](const asic_port_group& a, const asic_port_group& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1].first + sorted[i - 1].count > sorted[i].first) {
      why = fmt::format("port groups overlap at port {}", sorted[i].first);
      return std::nullopt;
    }
  }
  return info;
}

std::optional<double> decode_number(const json& body, const char* key, std::string& why) {
  const json* v = member(body, key);
  const auto d = v ? as_double(*v) : std::nullopt;
  if (!d) why = fmt::format("'{}' is missing or not a number", key);
  return d;
}

std::optional<std::string> decode_string(const json& body, const char* key, std::string& why) {
  return string_field(body, key, why);
}

const json* decode_values(const json& body, const std::vector<std::string>& names,
                          std::string& why) {
  const json* values = member(body, "values");
  if (!values || !values->is_object()) {
    why = "'values' is missing or not an object";
    return nullptr;
  }
  for (const auto& n : names) {
    if (!member(*values, n)) {
      why = fmt::format("'values' has no '{}'", n);
      return nullptr;
    }
  }
  return values;
}

std::optional<std::vector<prbs_lane_status>> decode_prbs(const json& values, int lanes,
                                                         std::string& why) {
  const json* counters = member(values, attr_prbs_counters);
  if (!counters || !counters->is_array()) {
    why = fmt::format("'{}' is missing or not a list", attr_prbs_counters);
    return std::nullopt;
  }
  const json* bers = member(values, attr_prbs_ber);
  if (!bers || !bers->is_array()) {
    why = fmt::format("'{}' is missing or not a list", attr_prbs_ber);
    return std::nullopt;
  }
  std::vector<prbs_lane_status> out;
  std::vector<bool> seen(static_cast<std::size_t>(lanes) + 1, false);
  for (const auto& e : *counters) {
    auto lane = lane_of(e, lanes, seen, attr_prbs_counters, why);
    if (!lane) return std::nullopt;
    prbs_lane_status s;
    s.lane = *lane;
    s.side = side::none;
    auto locked = bool_field(e, "locked", attr_prbs_counters, s.lane, why);
    if (!locked) return std::nullopt;
    auto lost = bool_field(e, "lock_lost", attr_prbs_counters, s.lane, why);
    if (!lost) return std::nullopt;
    auto bits = u64_field(e, "bits", attr_prbs_counters, s.lane, why);
    if (!bits) return std::nullopt;
    auto errors = u64_field(e, "errors", attr_prbs_counters, s.lane, why);
    if (!errors) return std::nullopt;
    s.locked = *locked;
    s.lost_lock = *lost;
    s.bits = *bits;
    s.errors = *errors;
    s.ber = s.bits > 0 ? static_cast<double>(s.errors) / static_cast<double>(s.bits) : 0.0;
    out.push_back(s);
  }
  std::vector<bool> ber_seen(static_cast<std::size_t>(lanes) + 1, false);
  for (const auto& e : *bers) {
    auto lane = lane_of(e, lanes, ber_seen, attr_prbs_ber, why);
    if (!lane) return std::nullopt;
    auto mantissa = u64_field(e, "mantissa", attr_prbs_ber, *lane, why);
    if (!mantissa) return std::nullopt;
    const json* ex = member(e, "exponent");
    const auto exponent = ex ? as_int(*ex) : std::nullopt;
    if (!exponent || *exponent < 0 || *exponent > 255) {  // sai_prbs_bit_error_rate_t: uint8
      why = fmt::format("{} lane {}: 'exponent' is missing or not within 0..255", attr_prbs_ber,
                        *lane);
      return std::nullopt;
    }
    for (auto& s : out) {
      if (s.lane == *lane) {
        s.ber = static_cast<double>(*mantissa) * std::pow(10.0, -static_cast<double>(*exponent));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const prbs_lane_status& a, const prbs_lane_status& b) { return a.lane < b.lane; });
  return out;
}

std::optional<std::vector<latch>> decode_latch_list(const json& values, const char* attr, int lanes,
                                                    std::string& why) {
  const json* list = member(values, attr);
  if (!list || !list->is_array()) {
    why = fmt::format("'{}' is missing or not a list", attr);
    return std::nullopt;
  }
  std::vector<latch> out;
  std::vector<bool> seen(static_cast<std::size_t>(lanes) + 1, false);
  for (const auto& e : *list) {
    auto lane = lane_of(e, lanes, seen, attr, why);
    if (!lane) return std::nullopt;
    auto current = bool_field(e, "current_status", attr, *lane, why);
    if (!current) return std::nullopt;
    auto changed = bool_field(e, "changed", attr, *lane, why);
    if (!changed) return std::nullopt;
    out.push_back(latch{*lane, *current, *changed});
  }
  std::sort(out.begin(), out.end(), [](const latch& a, const latch& b) { return a.lane < b.lane; });
  return out;
}

std::vector<std::string> fec_counter_names(fec_mode mode) {
  if (mode == fec_mode::none) return {};
  std::vector<std::string> names{stat_fec_correctable, stat_fec_uncorrectable,
                                 stat_fec_symbol_errors, stat_fec_corrected_bits};
  for (int k = 0; k <= fec_max_correctable(mode) + 1; ++k)
    names.push_back(stat_fec_codeword_bin(k));
  return names;
}

std::optional<fec_counters> decode_fec(const json& values, fec_mode mode, int counter_bits,
                                       std::string& why) {
  fec_counters c;
  c.mode = mode;
  c.max_correctable = fec_max_correctable(mode);
  c.counter_bits = counter_bits;
  if (mode == fec_mode::none) return c;
  auto get = [&](const std::string& name) -> std::optional<std::uint64_t> {
    const json* v = member(values, name);
    auto n = v ? as_u64(*v) : std::nullopt;
    if (!n) why = fmt::format("'{}' is missing or not a non-negative integer", name);
    return n;
  };
  auto corr = get(stat_fec_correctable);
  if (!corr) return std::nullopt;
  auto uncorr = get(stat_fec_uncorrectable);
  if (!uncorr) return std::nullopt;
  auto sym = get(stat_fec_symbol_errors);
  if (!sym) return std::nullopt;
  auto bits = get(stat_fec_corrected_bits);
  if (!bits) return std::nullopt;
  c.correctable = *corr;
  c.uncorrectable = *uncorr;
  c.symbol_errors = *sym;
  c.corrected_bits = *bits;
  for (int k = 0; k <= c.max_correctable + 1; ++k) {
    auto bin = get(stat_fec_codeword_bin(k));
    if (!bin) return std::nullopt;
    c.histogram.push_back(*bin);
  }
  return c;
}

std::optional<tx_fir> decode_fir(const json& body, std::string& why) {
  const std::vector<std::string> names{attr_fir_pre1, attr_fir_main, attr_fir_post1};
  const json* values = decode_values(body, names, why);
  if (!values) return std::nullopt;
  tx_fir t;
  double* dst[] = {&t.pre1, &t.main, &t.post1};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto v = as_double(*member(*values, names[i]));
    if (!v) {
      why = fmt::format("'{}' is not a number", names[i]);
      return std::nullopt;
    }
    *dst[i] = *v;
  }
  return t;
}

std::string info_request() {
  ojson j;
  j["op"] = "info";
  return dump(j);
}

std::string get_request(int port, std::string_view attr) {
  ojson j;
  j["op"] = "get";
  j["port"] = port;
  j["attr"] = attr;
  return dump(j);
}

std::string get_request(int port, const std::vector<std::string>& attrs) {
  ojson j;
  j["op"] = "get";
  j["port"] = port;
  j["attrs"] = attrs;
  return dump(j);
}

std::string set_request(int port, std::string_view attr, std::string_view value) {
  ojson j;
  j["op"] = "set";
  j["port"] = port;
  j["attr"] = attr;
  j["value"] = value;
  return dump(j);
}

std::string switch_get_request(std::string_view attr) {
  ojson j;
  j["op"] = "get";
  j["attr"] = attr;
  return dump(j);
}

std::string stats_request(int port, const std::vector<std::string>& counters) {
  ojson j;
  j["op"] = "stats";
  j["port"] = port;
  j["counters"] = counters;
  return dump(j);
}

std::string clear_stats_request(int port) {
  ojson j;
  j["op"] = "clear_stats";
  j["port"] = port;
  return dump(j);
}

std::string fir_set_request(int port, int lane, const tx_fir& taps) {
  ojson j;
  j["op"] = "set";
  j["port"] = port;
  j["lane"] = lane;
  ojson v;
  v[attr_fir_pre1] = taps.pre1;
  v[attr_fir_main] = taps.main;
  v[attr_fir_post1] = taps.post1;
  j["values"] = std::move(v);
  return dump(j);
}

std::string fir_get_request(int port, int lane) {
  ojson j;
  j["op"] = "get";
  j["port"] = port;
  j["lane"] = lane;
  j["attrs"] = {attr_fir_pre1, attr_fir_main, attr_fir_post1};
  return dump(j);
}

}  // namespace hilt::sai_rpc
