#include "hilt/device.hpp"

#include <spdlog/spdlog.h>

#include <iterator>
#include <string>

#include "hilt/watchdog.hpp"

namespace hilt {

namespace {
std::error_code unsupported() {
  return make_error_code(errc::not_supported);
}
}  // namespace

std::string_view to_string(device_class c) noexcept {
  switch (c) {
    case device_class::managed_module:
      return "managed_module";
    case device_class::switch_asic:
      return "switch_asic";
    case device_class::power_supply:
      return "power_supply";
    case device_class::power_monitor:
      return "power_monitor";
    case device_class::thermal_chamber:
      return "thermal_chamber";
    case device_class::optical_attenuator:
      return "optical_attenuator";
  }
  return "unknown";
}

std::optional<device_class> parse_device_class(std::string_view s) noexcept {
  for (auto c : {device_class::managed_module, device_class::switch_asic,
                 device_class::power_supply, device_class::power_monitor,
                 device_class::thermal_chamber, device_class::optical_attenuator}) {
    if (to_string(c) == s) return c;
  }
  return std::nullopt;
}

std::string_view to_string(side s) noexcept {
  switch (s) {
    case side::host:
      return "host";
    case side::media:
      return "media";
    case side::none:
      break;
  }
  return "";
}

namespace {
constexpr std::string_view prbs_names[] = {
    "PRBS-31Q", "PRBS-31", "PRBS-23Q", "PRBS-23", "PRBS-15Q", "PRBS-15", "PRBS-13Q",
    "PRBS-13",  "PRBS-9Q", "PRBS-9",   "PRBS-7Q", "PRBS-7",   "SSPRQ"};
}  // namespace

std::string_view to_string(prbs_pattern p) noexcept {
  const auto i = static_cast<std::size_t>(p);
  return i < std::size(prbs_names) ? prbs_names[i] : "unknown";
}

std::optional<prbs_pattern> parse_prbs_pattern(std::string_view s) noexcept {
  auto norm = [](std::string_view in) {
    std::string out;
    for (char c : in) {
      if (c == '-' || c == '_' || c == ' ') continue;
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
  };
  const std::string n = norm(s);
  for (std::size_t i = 0; i < std::size(prbs_names); ++i) {
    if (norm(prbs_names[i]) == n) return static_cast<prbs_pattern>(i);
  }
  return std::nullopt;
}

std::string_view to_string(module_state s) noexcept {
  switch (s) {
    case module_state::low_power:
      return "ModuleLowPwr";
    case module_state::powering_up:
      return "ModulePwrUp";
    case module_state::ready:
      return "ModuleReady";
    case module_state::powering_down:
      return "ModulePwrDn";
    case module_state::fault:
      return "ModuleFault";
    case module_state::unknown:
      break;
  }
  return "unknown";
}

device::device(std::string name, std::string address, device_context ctx)
    : name_(std::move(name)), address_(std::move(address)), ctx_(std::move(ctx)) {
  if (!ctx_.logger) ctx_.logger = spdlog::default_logger();
}

device::~device() = default;

// The public calls all have the same shape: run the driver's do_* under the watchdog. Without a
// clock (a bare device in a unit test) there is nothing to time against, so the call runs as is.
#define HILT_GUARDED(expr, timeout)                                                         \
  do {                                                                                      \
    if (!context().clock) co_return co_await (expr);                                        \
    co_return co_await with_timeout(*context().clock, (expr), timeout_or_default(timeout)); \
  } while (0)

task<result<identity>> device::async_identify(std::optional<duration> timeout) {
  HILT_GUARDED(do_identify(), timeout);
}
task<std::error_code> device::async_safe_state(std::optional<duration> timeout) {
  HILT_GUARDED(do_safe_state(), timeout);
}
task<result<identity>> device::do_identify() {
  co_return failure(unsupported());
}
task<std::error_code> device::do_safe_state() {
  co_return unsupported();
}

// managed_module
task<result<module_state>> managed_module::async_module_state(std::optional<duration> timeout) {
  HILT_GUARDED(do_module_state(), timeout);
}
task<result<module_state>> managed_module::async_set_low_power(bool low_power,
                                                               std::optional<duration> timeout) {
  HILT_GUARDED(do_set_low_power(low_power), timeout);
}
task<std::error_code> managed_module::async_power_up(std::optional<duration> timeout) {
  HILT_GUARDED(do_power_up(), timeout);
}
task<std::error_code> managed_module::async_set_tx_disable(lane_mask lanes, bool disable,
                                                           std::optional<duration> timeout) {
  HILT_GUARDED(do_set_tx_disable(lanes, disable), timeout);
}
task<result<std::vector<monitor_reading>>> managed_module::async_read_monitors(
    std::optional<duration> timeout) {
  HILT_GUARDED(do_read_monitors(), timeout);
}
task<result<module_state>> managed_module::do_module_state() {
  co_return failure(unsupported());
}
task<result<module_state>> managed_module::do_set_low_power(bool) {
  co_return failure(unsupported());
}
task<std::error_code> managed_module::do_power_up() {
  co_return unsupported();
}
task<std::error_code> managed_module::do_set_tx_disable(lane_mask, bool) {
  co_return unsupported();
}
task<result<std::vector<monitor_reading>>> managed_module::do_read_monitors() {
  co_return failure(unsupported());
}
task<std::error_code> managed_module::async_prbs_configure(hilt::side s, lane_mask lanes,
                                                           prbs_pattern pattern, bool generator,
                                                           bool checker,
                                                           std::optional<duration> timeout) {
  HILT_GUARDED(do_prbs_configure(s, lanes, pattern, generator, checker), timeout);
}
task<result<std::vector<prbs_lane_status>>> managed_module::async_prbs_read(
    hilt::side s, std::optional<duration> timeout) {
  HILT_GUARDED(do_prbs_read(s), timeout);
}
task<result<std::vector<monitor_reading>>> managed_module::async_read_vdm(
    std::optional<duration> timeout) {
  HILT_GUARDED(do_read_vdm(), timeout);
}

task<result<std::vector<std::string>>> managed_module::async_read_flags(
    std::optional<duration> timeout) {
  HILT_GUARDED(do_read_flags(), timeout);
}
task<std::error_code> managed_module::async_activate_data_path(lane_mask lanes, int appsel,
                                                               std::optional<duration> timeout) {
  HILT_GUARDED(do_activate_data_path(lanes, appsel), timeout);
}
task<std::error_code> managed_module::async_deactivate_data_path(lane_mask lanes,
                                                                 std::optional<duration> timeout) {
  HILT_GUARDED(do_deactivate_data_path(lanes), timeout);
}
task<std::error_code> managed_module::do_prbs_configure(hilt::side, lane_mask, prbs_pattern, bool,
                                                        bool) {
  co_return unsupported();
}
task<result<std::vector<prbs_lane_status>>> managed_module::do_prbs_read(hilt::side) {
  co_return failure(unsupported());
}
task<result<std::vector<monitor_reading>>> managed_module::do_read_vdm() {
  co_return failure(unsupported());
}

task<result<std::vector<std::string>>> managed_module::do_read_flags() {
  co_return failure(make_error_code(errc::not_supported));
}
task<std::error_code> managed_module::do_activate_data_path(lane_mask, int) {
  co_return unsupported();
}
task<std::error_code> managed_module::do_deactivate_data_path(lane_mask) {
  co_return unsupported();
}
task<std::error_code> managed_module::do_safe_state() {
  // Both actions are attempted even if the first fails: a module that cannot disable Tx may still
  // go to LowPwr, which also turns its lasers off (CMIS 5.x §6.3.2: ModuleLowPwr).
  auto tx = co_await do_set_tx_disable(~lane_mask{0}, true);
  auto lp = co_await do_set_low_power(true);
  if (!lp) co_return lp.error();
  if (tx && tx != make_error_code(errc::not_supported)) co_return tx;
  co_return std::error_code{};
}

// switch_asic
namespace {
std::string lower_no_dash(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '-' || c == '_') continue;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}
}  // namespace

std::string_view to_string(prbs_config c) noexcept {
  switch (c) {
    case prbs_config::disable:
      return "disable";
    case prbs_config::enable_tx_rx:
      return "tx_rx";
    case prbs_config::enable_rx:
      return "rx";
    case prbs_config::enable_tx:
      return "tx";
  }
  return "disable";
}

std::optional<prbs_config> parse_prbs_config(std::string_view s) noexcept {
  const std::string k = lower_no_dash(s);
  if (k == "disable" || k == "off") return prbs_config::disable;
  if (k == "txrx" || k == "both") return prbs_config::enable_tx_rx;
  if (k == "rx") return prbs_config::enable_rx;
  if (k == "tx") return prbs_config::enable_tx;
  return std::nullopt;
}

std::string_view to_string(fec_mode m) noexcept {
  switch (m) {
    case fec_mode::none:
      return "none";
    case fec_mode::rs528:
      return "rs528";
    case fec_mode::rs544:
      return "rs544";
  }
  return "none";
}

std::optional<fec_mode> parse_fec_mode(std::string_view s) noexcept {
  const std::string k = lower_no_dash(s);
  if (k == "none") return fec_mode::none;
  if (k == "rs528" || k == "kr4") return fec_mode::rs528;
  if (k == "rs544" || k == "kp4") return fec_mode::rs544;
  return std::nullopt;
}

int fec_max_correctable(fec_mode m) noexcept {
  switch (m) {
    case fec_mode::rs528:
      return 7;
    case fec_mode::rs544:
      return 15;
    case fec_mode::none:
      break;
  }
  return 0;
}

int switch_asic::lanes_of(int port) const noexcept {
  for (const auto& g : port_groups_) {
    if (port >= g.first && port < g.first + g.count) return g.lanes;
  }
  return 0;
}
double switch_asic::lane_rate_of(int port) const noexcept {
  for (const auto& g : port_groups_) {
    if (port >= g.first && port < g.first + g.count) return g.lane_rate;
  }
  return 0;
}

task<result<double>> switch_asic::async_die_temperature(std::optional<duration> timeout) {
  HILT_GUARDED(do_die_temperature(), timeout);
}
task<result<double>> switch_asic::async_read_power(std::optional<duration> timeout) {
  HILT_GUARDED(do_read_power(), timeout);
}
task<std::error_code> switch_asic::async_prbs_configure(int port, prbs_config config,
                                                        prbs_pattern pattern,
                                                        std::optional<duration> timeout) {
  HILT_GUARDED(do_prbs_configure(port, config, pattern), timeout);
}
task<result<std::vector<prbs_lane_status>>> switch_asic::async_prbs_read(
    int port, std::optional<duration> timeout) {
  HILT_GUARDED(do_prbs_read(port), timeout);
}
task<result<fec_mode>> switch_asic::async_set_fec_mode(int port, fec_mode mode,
                                                       std::optional<duration> timeout) {
  HILT_GUARDED(do_set_fec_mode(port, mode), timeout);
}
task<result<fec_counters>> switch_asic::async_read_fec(int port, std::optional<duration> timeout) {
  HILT_GUARDED(do_read_fec(port), timeout);
}
task<std::error_code> switch_asic::async_clear_fec(int port, std::optional<duration> timeout) {
  HILT_GUARDED(do_clear_fec(port), timeout);
}
task<result<asic_link_status>> switch_asic::async_link_status(int port,
                                                              std::optional<duration> timeout) {
  HILT_GUARDED(do_link_status(port), timeout);
}
task<result<tx_fir>> switch_asic::async_set_tx_fir(int port, int lane, tx_fir taps,
                                                   std::optional<duration> timeout) {
  HILT_GUARDED(do_set_tx_fir(port, lane, taps), timeout);
}
task<result<tx_fir>> switch_asic::async_read_tx_fir(int port, int lane,
                                                    std::optional<duration> timeout) {
  HILT_GUARDED(do_read_tx_fir(port, lane), timeout);
}

task<result<double>> switch_asic::do_die_temperature() {
  co_return failure(unsupported());
}
task<result<double>> switch_asic::do_read_power() {
  co_return failure(unsupported());
}
task<std::error_code> switch_asic::do_prbs_configure(int, prbs_config, prbs_pattern) {
  co_return unsupported();
}
task<result<std::vector<prbs_lane_status>>> switch_asic::do_prbs_read(int) {
  co_return failure(unsupported());
}
task<result<fec_mode>> switch_asic::do_set_fec_mode(int, fec_mode) {
  co_return failure(unsupported());
}
task<result<fec_counters>> switch_asic::do_read_fec(int) {
  co_return failure(unsupported());
}
task<std::error_code> switch_asic::do_clear_fec(int) {
  co_return unsupported();
}
task<result<asic_link_status>> switch_asic::do_link_status(int) {
  co_return failure(unsupported());
}
task<result<tx_fir>> switch_asic::do_set_tx_fir(int, int, tx_fir) {
  co_return failure(unsupported());
}
task<result<tx_fir>> switch_asic::do_read_tx_fir(int, int) {
  co_return failure(unsupported());
}
task<std::error_code> switch_asic::do_safe_state() {
  // Nothing on an ASIC emits light; PRBS generators are stopped so the links carry no test
  // pattern after the run. Every port is attempted; the first error is reported.
  std::error_code first;
  for (const auto& g : port_groups_) {
    for (int p = g.first; p < g.first + g.count; ++p) {
      auto ec = co_await do_prbs_configure(p, prbs_config::disable, prbs_pattern::prbs31q);
      if (ec && ec != make_error_code(errc::not_supported) && !first) first = ec;
    }
  }
  co_return first;
}

// power_supply
task<result<double>> power_supply::async_set_voltage(int channel, double volts,
                                                     std::optional<duration> timeout) {
  HILT_GUARDED(do_set_voltage(channel, volts), timeout);
}
task<result<double>> power_supply::async_set_current_limit(int channel, double amps,
                                                           std::optional<duration> timeout) {
  HILT_GUARDED(do_set_current_limit(channel, amps), timeout);
}
task<std::error_code> power_supply::async_set_output(int channel, bool on,
                                                     std::optional<duration> timeout) {
  HILT_GUARDED(do_set_output(channel, on), timeout);
}
task<result<double>> power_supply::async_measure_voltage(int channel,
                                                         std::optional<duration> timeout) {
  HILT_GUARDED(do_measure_voltage(channel), timeout);
}
task<result<double>> power_supply::async_measure_current(int channel,
                                                         std::optional<duration> timeout) {
  HILT_GUARDED(do_measure_current(channel), timeout);
}
task<result<double>> power_supply::do_set_voltage(int, double) {
  co_return failure(unsupported());
}
task<result<double>> power_supply::do_set_current_limit(int, double) {
  co_return failure(unsupported());
}
task<std::error_code> power_supply::do_set_output(int, bool) {
  co_return unsupported();
}
task<result<double>> power_supply::do_measure_voltage(int) {
  co_return failure(unsupported());
}
task<result<double>> power_supply::do_measure_current(int) {
  co_return failure(unsupported());
}
task<std::error_code> power_supply::do_safe_state() {
  std::error_code first;
  for (int ch = 1; ch <= channel_count(); ++ch) {
    auto ec = co_await do_set_output(ch, false);
    if (ec && !first) first = ec;  // keep going: every other output must still go off
  }
  co_return first;
}

// power_monitor
task<result<rail_reading>> power_monitor::async_read_rail(std::optional<duration> timeout) {
  HILT_GUARDED(do_read_rail(), timeout);
}
task<result<rail_reading>> power_monitor::do_read_rail() {
  co_return failure(unsupported());
}
task<std::error_code> power_monitor::do_safe_state() {
  co_return std::error_code{};
}

// thermal_chamber
task<result<double>> thermal_chamber::async_set_setpoint(double celsius,
                                                         std::optional<duration> timeout) {
  HILT_GUARDED(do_set_setpoint(celsius), timeout);
}
task<result<double>> thermal_chamber::async_read_temperature(std::optional<duration> timeout) {
  HILT_GUARDED(do_read_temperature(), timeout);
}
task<std::error_code> thermal_chamber::async_set_running(bool run,
                                                         std::optional<duration> timeout) {
  HILT_GUARDED(do_set_running(run), timeout);
}
task<result<double>> thermal_chamber::do_set_setpoint(double) {
  co_return failure(unsupported());
}
task<result<double>> thermal_chamber::do_read_temperature() {
  co_return failure(unsupported());
}
task<std::error_code> thermal_chamber::do_set_running(bool) {
  co_return unsupported();
}
task<std::error_code> thermal_chamber::do_safe_state() {
  auto r = co_await do_set_setpoint(safe_setpoint());
  co_return r ? std::error_code{} : r.error();
}

// optical_attenuator
task<result<double>> optical_attenuator::async_set_attenuation(double db,
                                                               std::optional<duration> timeout) {
  if (!(db >= range_.min_db && db <= range_.max_db)) {
    log().error("{}: attenuation {} dB is outside the instrument's range {}..{} dB", name(), db,
                range_.min_db, range_.max_db);
    co_return failure(make_error_code(errc::invalid_argument));
  }
  HILT_GUARDED(do_set_attenuation(db), timeout);
}
task<result<double>> optical_attenuator::async_read_attenuation(std::optional<duration> timeout) {
  HILT_GUARDED(do_read_attenuation(), timeout);
}
task<result<double>> optical_attenuator::async_set_wavelength(double nm,
                                                              std::optional<duration> timeout) {
  HILT_GUARDED(do_set_wavelength(nm), timeout);
}
task<std::error_code> optical_attenuator::async_set_shutter(bool closed,
                                                            std::optional<duration> timeout) {
  HILT_GUARDED(do_set_shutter(closed), timeout);
}
task<result<double>> optical_attenuator::do_set_attenuation(double) {
  co_return failure(unsupported());
}
task<result<double>> optical_attenuator::do_read_attenuation() {
  co_return failure(unsupported());
}
task<result<double>> optical_attenuator::do_set_wavelength(double) {
  co_return failure(unsupported());
}
task<std::error_code> optical_attenuator::do_set_shutter(bool) {
  co_return unsupported();
}
task<std::error_code> optical_attenuator::do_safe_state() {
  co_return co_await do_set_shutter(true);
}

#undef HILT_GUARDED

}  // namespace hilt
