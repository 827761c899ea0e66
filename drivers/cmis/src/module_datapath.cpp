// Data path activation (CMIS 5.x §6.3.3 and §7.6): stage an application in SCS0, ApplyDPInit,
// wait for ConfigStatus, release DPDeinit and wait for DPActivated, each step within the durations
// the module advertises (01h:144, 01h:168); and the latched flags and data path states.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/use_awaitable.hpp>

#include "hilt/clock.hpp"
#include "hilt/cmis/codes.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"
#include "hilt/units.hpp"

namespace hilt::cmis {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}
constexpr std::uint8_t dp_activated = 4, dp_deactivated = 1;
}  // namespace

task<result<std::vector<std::uint8_t>>> cmis_module::async_data_path_states() {
  constexpr const char* op = "data_path_states";
  auto mi = co_await async_ensure_info();
  if (!mi) co_return failure(mi.error());
  if (mi.value().spec != mgmt_spec::cmis || mi.value().flat) {
    co_return failure(code(errc::not_supported));
  }
  std::vector<std::uint8_t> out;
  const int lanes = mi.value().host_lanes;
  for (int b = 0; b * 8 < lanes; ++b) {
    std::array<std::uint8_t, 4> s{};  // 11h:128-131, nibble per host lane (Table 8-94)
    if (auto ec = co_await async_read(op, 0x11, 128, s, static_cast<std::uint8_t>(b)))
      co_return failure(ec);
    for (int i = 0; i < 8 && 8 * b + i < lanes; ++i)
      out.push_back(
          static_cast<std::uint8_t>((s[static_cast<std::size_t>(i / 2)] >> (4 * (i % 2))) & 0x0F));
  }
  co_return out;
}

task<result<std::vector<std::string>>> cmis_module::do_read_flags() {
  constexpr const char* op = "read_flags";
  auto mi = co_await async_ensure_info();
  if (!mi) co_return failure(mi.error());
  std::vector<std::string> out;
  if (mi.value().spec != mgmt_spec::cmis) co_return failure(code(errc::not_supported));
  std::array<std::uint8_t, 4> m{};  // 00h:8-11, clear-on-read
  if (auto ec = co_await async_read(op, 0x00, 8, m)) co_return failure(ec);
  append_module_flags(out, m[0], m[1], m[2], m[3]);
  if (!mi.value().flat && mi.value().elsfp_lanes == 0) {
    for (int b = 0; b < mi.value().banks; ++b) {
      std::array<std::uint8_t, 20> l{};  // 11h:134-153
      if (auto ec = co_await async_read(op, 0x11, 134, l, static_cast<std::uint8_t>(b)))
        co_return failure(ec);
      append_lane_flags(out, l, b);
    }
  }
  co_return out;
}

task<std::error_code> cmis_module::async_wait_dp(const char* op, hilt::lane_mask lanes,
                                                 std::uint8_t want,
                                                 std::chrono::nanoseconds budget) {
  hilt::clock* clk = context().clock;
  const auto start = clk ? clk->now() : hilt::clock::time_point{};
  for (;;) {
    auto st = co_await async_data_path_states();
    if (!st) co_return st.error();
    bool done = true;
    std::uint8_t stuck = 0;
    int stuck_lane = 0;
    for (std::size_t i = 0; i < st.value().size() && i < 32; ++i) {
      if ((lanes >> i & 1) && st.value()[i] != want) {
        done = false;
        stuck = st.value()[i];
        stuck_lane = static_cast<int>(i) + 1;
        break;
      }
    }
    if (done) co_return std::error_code{};
    const auto elapsed = clk ? clk->now() - start : budget;
    if (!clk || elapsed >= budget) {
      log().error(
          "{} ({}): {}: lane {} not {} after {} (page 11h bank {} byte {} state {}); advertised "
          "durations (page 01h bytes 144 and 168) plus {} margin",
          name(), address(), op, stuck_lane, dp_state_name(want), hilt::format_duration(elapsed),
          (stuck_lane - 1) / 8, 128 + ((stuck_lane - 1) % 8) / 2, dp_state_name(stuck),
          hilt::format_duration(opts_.data_path_margin));
      co_return code(errc::state_timeout);
    }
    co_await clk->async_sleep(
        std::min<hilt::clock::duration>(opts_.poll_interval, budget - elapsed),
        boost::asio::use_awaitable);
  }
}

task<std::error_code> cmis_module::do_deactivate_data_path(hilt::lane_mask lanes) {
  constexpr const char* op = "deactivate_data_path";
  auto mi_r = co_await async_ensure_info();
  if (!mi_r) co_return mi_r.error();
  const module_info mi = mi_r.value();
  if (mi.spec != mgmt_spec::cmis || mi.flat || mi.elsfp_lanes > 0)
    co_return code(errc::not_supported);
  for (int b = 0; b < mi.banks; ++b) {
    const auto mask = static_cast<std::uint8_t>((lanes >> (8 * b)) & 0xFF);
    if (!mask) continue;
    const auto bank = static_cast<std::uint8_t>(b);
    std::uint8_t v = 0;  // DPDeinit (10h:128), 1 = deinitialize (CMIS 4.0 and later)
    if (auto ec = co_await async_read(op, 0x10, 128, std::span(&v, 1), bank)) co_return ec;
    v = static_cast<std::uint8_t>(v | mask);
    if (auto ec = co_await async_write(op, 0x10, 128, std::span(&v, 1), bank)) co_return ec;
  }
  const auto budget =
      std::chrono::duration_cast<std::chrono::nanoseconds>(mi.max_tx_turn_off + mi.max_dp_deinit) +
      opts_.data_path_margin;
  co_return co_await async_wait_dp(op, lanes, dp_deactivated, budget);
}

task<std::error_code> cmis_module::do_activate_data_path(hilt::lane_mask lanes, int appsel) {
  constexpr const char* op = "activate_data_path";
  auto mi_r = co_await async_ensure_info();
  if (!mi_r) co_return mi_r.error();
  const module_info mi = mi_r.value();
  if (mi.spec != mgmt_spec::cmis || mi.flat || mi.elsfp_lanes > 0)
    co_return code(errc::not_supported);
  if (appsel < 1 || appsel > static_cast<int>(mi.applications.size())) {
    log().error("{} ({}): {}: AppSel {} is not one of the module's {} applications", name(),
                address(), op, appsel, mi.applications.size());
    co_return code(errc::invalid_argument);
  }
  const auto& app = mi.applications[static_cast<std::size_t>(appsel - 1)];
  // Every set bit of `lanes` is the first host lane of one data path of this application: it must
  // be an allowed first lane (HostLaneAssignmentOptions, Table 8-25) and the data path must fit in
  // its bank. The data paths' lanes together form `all`.
  hilt::lane_mask all = 0;
  for (int l = 0; l < 32; ++l) {
    if (!(lanes >> l & 1)) continue;
    const int i = l % 8;
    if (l >= mi.host_lanes || !(app.host_lane_options >> i & 1) || i + app.host_lanes > 8) {
      log().error(
          "{} ({}): {}: host lane {} cannot start a data path of AppSel {} ({} lanes, first-lane "
          "options 0x{:02x})",
          name(), address(), op, l + 1, appsel, app.host_lanes, app.host_lane_options);
      co_return code(errc::invalid_argument);
    }
    for (int k = 0; k < app.host_lanes; ++k)
      all |= hilt::lane_mask{1} << (l + k);
  }
  if (!all) co_return code(errc::invalid_argument);
  auto st = co_await async_read_state(op);
  if (!st) co_return st.error();
  if (st.value() != hilt::module_state::ready) {
    log().error("{} ({}): {}: module is {}, not ModuleReady (page 00h byte 3)", name(), address(),
                op, to_string(st.value()));
    co_return code(errc::not_ready);
  }
  // 1. Take the data paths down (DPDeinit), as SONiC's CMIS manager does before a new config.
  if (auto ec = co_await do_deactivate_data_path(all)) co_return ec;
  for (int b = 0; b < mi.banks; ++b) {
    const auto mask = static_cast<std::uint8_t>((all >> (8 * b)) & 0xFF);
    if (!mask) continue;
    const auto bank = static_cast<std::uint8_t>(b);
    // 2. Stage SCS0 (10h:145-152, Table 8-81): AppSel bits 7-4, DPIDX bits 3-1, explicit 0.
    std::array<std::uint8_t, 8> scs{};
    if (auto ec = co_await async_read(op, 0x10, 145, scs, bank)) co_return ec;
    for (int f = 0; f < 8; ++f) {
      if (!((lanes >> (8 * b + f)) & 1)) continue;  // f: first lane of a data path (DPIDX)
      for (int k = 0; k < app.host_lanes && f + k < 8; ++k)
        scs[static_cast<std::size_t>(f + k)] = static_cast<std::uint8_t>(appsel << 4 | f << 1);
    }
    if (auto ec = co_await async_write(op, 0x10, 145, scs, bank)) co_return ec;
    // 3. ApplyDPInit (10h:143), then ConfigStatus (11h:202-205) leaves ConfigInProgress.
    std::uint8_t apply = mask;
    if (auto ec = co_await async_write(op, 0x10, 143, std::span(&apply, 1), bank)) co_return ec;
    hilt::clock* clk = context().clock;
    const auto start = clk ? clk->now() : hilt::clock::time_point{};
    const auto budget = std::chrono::duration_cast<hilt::clock::duration>(std::chrono::seconds(1) +
                                                                          opts_.data_path_margin);
    for (;;) {
      std::array<std::uint8_t, 4> cs{};
      if (auto ec = co_await async_read(op, 0x11, 202, cs, bank)) co_return ec;
      bool pending = false;
      for (int i = 0; i < 8; ++i) {
        if (!(mask >> i & 1)) continue;
        const std::uint8_t c = (cs[static_cast<std::size_t>(i / 2)] >> (4 * (i % 2))) & 0x0F;
        if (c == 12) {
          pending = true;  // ConfigInProgress
        } else if (c != 1) {
          log().error(
              "{} ({}): {}: host lane {}: {} (page 11h bank {} byte {}) for AppSel {} staged at "
              "page 10h byte {}",
              name(), address(), op, 8 * b + i + 1, config_status_name(c), b, 202 + i / 2, appsel,
              145 + i);
          co_return code(errc::invalid_argument);
        }
      }
      if (!pending) break;
      if (!clk || clk->now() - start >= budget) {
        log().error("{} ({}): {}: ConfigStatus still ConfigInProgress after {} (page 11h bank {})",
                    name(), address(), op, hilt::format_duration(budget), b);
        co_return code(errc::state_timeout);
      }
      co_await clk->async_sleep(opts_.poll_interval, boost::asio::use_awaitable);
    }
    // 4. Release DPDeinit: the module runs DPInit, then DPTxTurnOn.
    std::uint8_t v = 0;
    if (auto ec = co_await async_read(op, 0x10, 128, std::span(&v, 1), bank)) co_return ec;
    v = static_cast<std::uint8_t>(v & ~mask);
    if (auto ec = co_await async_write(op, 0x10, 128, std::span(&v, 1), bank)) co_return ec;
  }
  // 5. DPActivated within MaxDurationDPInit + MaxDurationDPTxTurnOn (+ margin).
  const auto budget =
      std::chrono::duration_cast<std::chrono::nanoseconds>(mi.max_dp_init + mi.max_tx_turn_on) +
      opts_.data_path_margin;
  co_return co_await async_wait_dp(op, all, dp_activated, budget);
}

}  // namespace hilt::cmis
