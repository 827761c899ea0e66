#include "hilt/sai_rpc/asic.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "hilt/error.hpp"

namespace hilt::sai_rpc {

using nlohmann::json;

namespace {

std::error_code code(errc e) {
  return make_error_code(e);
}

tcp_line_options line_options() {
  tcp_line_options o;
  o.max_line = max_reply_line;
  return o;
}

}  // namespace

sai_asic::sai_asic(std::string name, std::string address, hilt::device_context ctx,
                   tcp_target target, asic_options opts)
    : hilt::switch_asic(std::move(name), std::move(address), ctx),
      opts_(opts),
      link_(std::make_unique<tcp_line_client>(ctx.executor, ctx.clock, std::move(target),
                                              line_options())) {}

sai_asic::~sai_asic() = default;

std::string sai_asic::ports_text() const {
  std::vector<std::string> runs;
  for (const auto& g : port_groups()) {
    runs.push_back(g.count == 1 ? fmt::format("{}", g.first)
                                : fmt::format("{}-{}", g.first, g.first + g.count - 1));
  }
  return runs.empty() ? std::string("none") : fmt::format("{}", fmt::join(runs, ", "));
}

std::error_code sai_asic::check_port(const char* op, int port, std::optional<int> lane) {
  const int lanes = lanes_of(port);
  if (lanes == 0) {
    log().error("{} ({}): {}: port {} does not exist (this ASIC has ports {}); nothing was sent",
                name(), address(), op, port, ports_text());
    return code(errc::invalid_argument);
  }
  if (lane && (*lane < 1 || *lane > lanes)) {
    log().error("{} ({}): {}: port {} has lanes 1-{}; there is no lane {} (nothing was sent)",
                name(), address(), op, port, lanes, *lane);
    return code(errc::invalid_argument);
  }
  return {};
}

std::error_code sai_asic::bad_reply(const char* op, const std::string& line,
                                    const std::string& why) {
  log().error("{} ({}): {}: reply '{}' to '{}': {}", name(), address(), op,
              printable(last_reply_, 200), line, why);
  // Whatever produced it may have more to say: the next request starts on a clean connection.
  link_->close();
  return code(errc::bad_reply);
}

task<result<json>> sai_asic::request(const char* op, std::string line) {
  for (int attempt = 0;; ++attempt) {
    if (!link_->is_open()) {
      if (auto ec = co_await link_->async_connect()) {
        log().error("{} ({}): {}: {}", name(), address(), op, link_->last_error());
        co_return failure(ec);
      }
    }
    auto r = co_await link_->async_query(line, opts_.timeout);
    if (!r) {
      if (r.error() == code(errc::disconnected) && attempt == 0) {
        log().warn("{} ({}): {}: connection lost ({}); reconnecting and sending '{}' once more",
                   name(), address(), op, link_->last_error(), line);
        continue;
      }
      log().error("{} ({}): {}: '{}' on {}: {} ({})", name(), address(), op, line,
                  link_->describe(), r.error().message(), link_->last_error());
      co_return failure(r.error());
    }
    last_reply_ = std::move(r).value();
    std::string why;
    auto rep = parse_reply(last_reply_, why);
    if (!rep) co_return failure(bad_reply(op, line, why));
    if (!rep->ok) {
      const errc e = status_errc(rep->status);
      log().error("{} ({}): {}: '{}': {}: {} ({})", name(), address(), op, line,
                  printable(rep->status), printable(rep->message, 200), errc_name(int(e)));
      co_return failure(code(e));
    }
    co_return std::move(rep->body);
  }
}

task<result<asic_info>> sai_asic::fetch_info(const char* op) {
  const std::string line = info_request();
  auto r = co_await request(op, line);
  if (!r) co_return failure(r.error());
  std::string why;
  auto info = decode_info(r.value(), why);
  if (!info) co_return failure(bad_reply(op, line, why));
  const bool first = !opened_;
  if (opened_ &&
      (info->port_groups.size() != port_groups().size() ||
       !std::equal(info->port_groups.begin(), info->port_groups.end(), port_groups().begin(),
                   [](const asic_port_group& a, const asic_port_group& b) {
                     return a.first == b.first && a.count == b.count && a.lanes == b.lanes &&
                            a.lane_rate == b.lane_rate;
                   }))) {
    log().warn("{} ({}): {}: the ASIC's port groups changed since it was opened", name(), address(),
               op);
  }
  info_ = *info;
  set_port_groups(info->port_groups);
  opened_ = true;
  if (first) {
    log().info("{} ({}): {} {} serial {} firmware {}; ports {}; {}-bit counters", name(), address(),
               printable(info_.vendor), printable(info_.model), printable(info_.serial),
               printable(info_.firmware), ports_text(), info_.counter_bits);
  }
  co_return std::move(*info);
}

task<std::error_code> sai_asic::ensure_open(const char* op) {
  if (opened_) co_return std::error_code{};
  auto r = co_await fetch_info(op);
  co_return r ? std::error_code{} : r.error();
}

task<result<hilt::identity>> sai_asic::do_identify() {
  const char* op = "identify";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  auto info = co_await fetch_info(op);
  if (!info) co_return failure(info.error());
  hilt::identity id;
  id.vendor = info.value().vendor;
  id.part_number = info.value().model;
  id.serial = info.value().serial;
  id.firmware = info.value().firmware;
  id.extra["counter_bits"] = std::to_string(info.value().counter_bits);
  std::vector<std::string> groups;
  for (const auto& g : info.value().port_groups) {
    groups.push_back(fmt::format("{}-{} x {} lanes at {} Gb/s", g.first, g.first + g.count - 1,
                                 g.lanes, g.lane_rate / 1e9));
  }
  id.extra["port_groups"] = fmt::format("{}", fmt::join(groups, "; "));
  id.extra["endpoint"] = link_->describe();
  co_return id;
}

task<result<double>> sai_asic::switch_number(const char* op, const char* attr, const char* unit) {
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  const std::string line = switch_get_request(attr);
  auto r = co_await request(op, line);
  if (!r) co_return failure(r.error());
  std::string why;
  auto v = decode_number(r.value(), "value", why);
  if (!v) co_return failure(bad_reply(op, line, why));
  log().debug("{} ({}): {}: {} {}", name(), address(), op, *v, unit);
  co_return *v;
}

task<result<double>> sai_asic::do_die_temperature() {
  co_return co_await switch_number("die_temperature", attr_max_temp, "C");
}

task<result<double>> sai_asic::do_read_power() {
  co_return co_await switch_number("read_power", attr_power, "W");
}

task<std::error_code> sai_asic::do_prbs_configure(int port, prbs_config config,
                                                  prbs_pattern pattern) {
  const char* op = "prbs_configure";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return code(errc::cancelled);
  if (auto ec = co_await ensure_open(op)) co_return ec;
  if (auto ec = check_port(op, port)) co_return ec;
  // The pattern first, so that an enabled checker starts on the right one (docs/asic.md); a
  // disable needs no pattern.
  std::string line;  // function scope: no block-local owner across a suspension
  if (config != prbs_config::disable) {
    line = set_request(port, attr_prbs_pattern, sai_name(pattern));
    auto p = co_await request(op, line);
    if (!p) co_return p.error();
  }
  line = set_request(port, attr_prbs_config, sai_name(config));
  auto r = co_await request(op, line);
  if (!r) co_return r.error();
  log().log(
      in_safe_state_ ? spdlog::level::debug : spdlog::level::info, "{} ({}): port {}: PRBS {}{}",
      name(), address(), port, to_string(config),
      config == prbs_config::disable ? std::string() : fmt::format(" {}", to_string(pattern)));
  co_return std::error_code{};
}

task<result<std::vector<prbs_lane_status>>> sai_asic::do_prbs_read(int port) {
  const char* op = "prbs_read";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  if (auto ec = co_await ensure_open(op)) co_return failure(ec);
  if (auto ec = check_port(op, port)) co_return failure(ec);
  // One request: the checker's configuration (is it enabled?), its counters and BER list are read
  // together, so that they describe the same instant.
  const std::vector<std::string> attrs{attr_prbs_config, attr_prbs_counters, attr_prbs_ber};
  const std::string line = get_request(port, attrs);
  auto r = co_await request(op, line);
  if (!r) co_return failure(r.error());
  std::string why;
  const json* values = decode_values(r.value(), attrs, why);
  if (!values) co_return failure(bad_reply(op, line, why));
  const json& cfg_value = (*values)[attr_prbs_config];
  const auto cfg = cfg_value.is_string()
                       ? parse_sai_prbs_config(cfg_value.get_ref<const std::string&>())
                       : std::nullopt;
  if (!cfg) {
    co_return failure(bad_reply(
        op, line, fmt::format("'{}' is not a sai_port_prbs_config_t name", attr_prbs_config)));
  }
  if (*cfg == prbs_config::disable || *cfg == prbs_config::enable_tx) {
    log().error("{} ({}): {}: port {}: the PRBS checker is not enabled ({})", name(), address(), op,
                port, sai_name(*cfg));
    co_return failure(code(errc::not_ready));
  }
  auto lanes = decode_prbs(*values, lanes_of(port), why);
  if (!lanes) co_return failure(bad_reply(op, line, why));
  co_return std::move(*lanes);
}

task<result<fec_mode>> sai_asic::do_set_fec_mode(int port, fec_mode mode) {
  const char* op = "set_fec_mode";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  if (auto ec = co_await ensure_open(op)) co_return failure(ec);
  if (auto ec = check_port(op, port)) co_return failure(ec);
  const std::string set_line = set_request(port, attr_fec_mode, sai_name(mode));
  auto s = co_await request(op, set_line);
  if (!s) co_return failure(s.error());
  // Read the mode back: what the port runs, not what was asked for.
  const std::string get_line = get_request(port, attr_fec_mode);
  auto g = co_await request(op, get_line);
  if (!g) co_return failure(g.error());
  std::string why;
  auto name_read = decode_string(g.value(), "value", why);
  const auto actual = name_read ? parse_sai_fec_mode(*name_read) : std::nullopt;
  if (!actual) {
    if (name_read) why = fmt::format("'value' is not a FEC mode hilt knows");
    co_return failure(bad_reply(op, get_line, why));
  }
  log().info("{} ({}): port {}: FEC mode requested {}, ASIC reports {}", name(), address(), port,
             to_string(mode), to_string(*actual));
  co_return *actual;
}

task<result<fec_counters>> sai_asic::do_read_fec(int port) {
  const char* op = "read_fec";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  if (auto ec = co_await ensure_open(op)) co_return failure(ec);
  if (auto ec = check_port(op, port)) co_return failure(ec);
  // The mode says which histogram bins exist (S0..S8 for RS-528, S0..S16 for RS-544).
  const std::string mode_line = get_request(port, attr_fec_mode);
  auto g = co_await request(op, mode_line);
  if (!g) co_return failure(g.error());
  std::string why;
  auto mode_name = decode_string(g.value(), "value", why);
  const auto mode = mode_name ? parse_sai_fec_mode(*mode_name) : std::nullopt;
  if (!mode) {
    if (mode_name) why = fmt::format("'value' is not a FEC mode hilt knows");
    co_return failure(bad_reply(op, mode_line, why));
  }
  const std::vector<std::string> names = fec_counter_names(*mode);
  if (names.empty()) {
    // No FEC, no FEC counters: nothing more to ask.
    const json none = json::object();
    co_return *decode_fec(none, *mode, info_.counter_bits, why);
  }
  const std::string stats_line = stats_request(port, names);
  auto s = co_await request(op, stats_line);
  if (!s) co_return failure(s.error());
  const json* values = decode_values(s.value(), names, why);
  if (!values) co_return failure(bad_reply(op, stats_line, why));
  auto c = decode_fec(*values, *mode, info_.counter_bits, why);
  if (!c) co_return failure(bad_reply(op, stats_line, why));
  co_return std::move(*c);
}

task<std::error_code> sai_asic::do_clear_fec(int port) {
  const char* op = "clear_fec";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return code(errc::cancelled);
  if (auto ec = co_await ensure_open(op)) co_return ec;
  if (auto ec = check_port(op, port)) co_return ec;
  const std::string line = clear_stats_request(port);
  auto r = co_await request(op, line);
  co_return r ? std::error_code{} : r.error();
}

task<result<asic_link_status>> sai_asic::do_link_status(int port) {
  const char* op = "link_status";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  if (auto ec = co_await ensure_open(op)) co_return failure(ec);
  if (auto ec = check_port(op, port)) co_return failure(ec);
  const std::vector<std::string> attrs{attr_oper_status, attr_signal_detect, attr_lock_status};
  const std::string line = get_request(port, attrs);
  auto r = co_await request(op, line);
  if (!r) co_return failure(r.error());
  std::string why;
  const json* values = decode_values(r.value(), attrs, why);
  if (!values) co_return failure(bad_reply(op, line, why));
  const json& oper = (*values)[attr_oper_status];
  const std::string oper_name = oper.is_string() ? oper.get<std::string>() : std::string();
  if (oper_name != "SAI_PORT_OPER_STATUS_UP" && oper_name != "SAI_PORT_OPER_STATUS_DOWN") {
    co_return failure(bad_reply(
        op, line, fmt::format("'{}' is not SAI_PORT_OPER_STATUS_UP or _DOWN", attr_oper_status)));
  }
  const int lanes = lanes_of(port);
  auto sd = decode_latch_list(*values, attr_signal_detect, lanes, why);
  if (!sd) co_return failure(bad_reply(op, line, why));
  auto lock = decode_latch_list(*values, attr_lock_status, lanes, why);
  if (!lock) co_return failure(bad_reply(op, line, why));

  asic_link_status st;
  st.up = oper_name == "SAI_PORT_OPER_STATUS_UP";
  auto& prev = seen_[port];
  // SAI's latched `changed` says the status changed since the previous get, not which way. With
  // the previous read's state it is folded into "went away": down now (changed, or up at the
  // previous read), or up now but also up at the previous read and changed since (it went and
  // came back). A lane that merely came up is not lost.
  auto lost = [](const latch& l, bool was_up) {
    return l.changed ? (!l.current || was_up) : (!l.current && was_up);
  };
  for (int lane = 1; lane <= lanes; ++lane) {
    const latch* s = nullptr;
    const latch* k = nullptr;
    for (const auto& l : *sd)
      if (l.lane == lane) s = &l;
    for (const auto& l : *lock)
      if (l.lane == lane) k = &l;
    if (!s && !k) continue;
    asic_lane_status ls;
    ls.lane = lane;
    lane_seen& before = prev[lane];
    if (s) {
      ls.signal_detect = s->current;
      ls.signal_lost = lost(*s, before.signal);
      before.signal = s->current;
    }
    if (k) {
      ls.cdr_lock = k->current;
      ls.lock_lost = lost(*k, before.lock);
      before.lock = k->current;
    }
    st.lanes.push_back(ls);
  }
  co_return st;
}

task<result<tx_fir>> sai_asic::do_set_tx_fir(int port, int lane, tx_fir taps) {
  const char* op = "set_tx_fir";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  if (auto ec = co_await ensure_open(op)) co_return failure(ec);
  if (auto ec = check_port(op, port, lane)) co_return failure(ec);
  // IEEE 802.3 normalised coefficients (802.3ck 120G.3.1): refused here, with the reason, rather
  // than left to the agent's INVALID_ATTR_VALUE.
  const bool finite =
      std::isfinite(taps.pre1) && std::isfinite(taps.main) && std::isfinite(taps.post1);
  const double swing = std::fabs(taps.pre1) + taps.main + std::fabs(taps.post1);
  if (!finite || taps.pre1 > 0 || !(taps.main > 0) || taps.post1 > 0 || swing > 1 + 1e-9) {
    log().error(
        "{} ({}): {}: port {} lane {}: taps pre1 {} main {} post1 {} break the Tx FIR "
        "constraint (pre1 <= 0, main > 0, post1 <= 0, |pre1| + main + |post1| <= 1); nothing "
        "was sent",
        name(), address(), op, port, lane, taps.pre1, taps.main, taps.post1);
    co_return failure(code(errc::invalid_argument));
  }
  const std::string line = fir_set_request(port, lane, taps);
  auto r = co_await request(op, line);
  if (!r) co_return failure(r.error());
  std::string why;
  auto applied = decode_fir(r.value(), why);
  if (!applied) co_return failure(bad_reply(op, line, why));
  log().info(
      "{} ({}): port {} lane {}: Tx FIR requested pre1 {} main {} post1 {}, applied pre1 {} "
      "main {} post1 {}",
      name(), address(), port, lane, taps.pre1, taps.main, taps.post1, applied->pre1, applied->main,
      applied->post1);
  co_return *applied;
}

task<result<tx_fir>> sai_asic::do_read_tx_fir(int port, int lane) {
  const char* op = "read_tx_fir";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  if (auto ec = co_await ensure_open(op)) co_return failure(ec);
  if (auto ec = check_port(op, port, lane)) co_return failure(ec);
  const std::string line = fir_get_request(port, lane);
  auto r = co_await request(op, line);
  if (!r) co_return failure(r.error());
  std::string why;
  auto taps = decode_fir(r.value(), why);
  if (!taps) co_return failure(bad_reply(op, line, why));
  co_return *taps;
}

task<std::error_code> sai_asic::do_safe_state() {
  // The default walks port_groups(): a device never opened would have none, and a PRBS pattern
  // left running by an earlier run would stay on. Learn the ports first.
  std::shared_ptr<void> guard;  // function scope: not a block-local shared_ptr across co_await
  if (!opened_) {
    guard = co_await link_->async_lock();
    if (!guard) co_return code(errc::cancelled);
    auto ec = co_await ensure_open("safe_state");
    guard.reset();  // do_prbs_configure takes the lock per port
    if (ec) co_return ec;
  }
  // One line for the whole ASIC rather than one per port (64 on a 51.2T part).
  in_safe_state_ = true;
  auto ec = co_await switch_asic::do_safe_state();
  in_safe_state_ = false;
  int ports = 0;
  for (const auto& g : port_groups())
    ports += g.count;
  if (!ec)
    log().info("{} ({}): safe state: PRBS disabled on all {} ports", name(), address(), ports);
  co_return ec;
}

}  // namespace hilt::sai_rpc
