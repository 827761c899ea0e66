// Device classes: the abstract interfaces sequences and steps talk to.
//
// Contract (DESIGN.md "Interfaces worth getting right early"):
//  - Every device call is an awaitable on the runner's io_context that completes with a
//    std::error_code (hilt::errc) or a value: hilt::result<T>. Device errors never throw.
//  - Every public call takes a timeout (default: the device's default_timeout()) and is guarded by
//    a watchdog on the harness clock: a call that does not complete in time completes with
//    errc::timeout and its inner operation is cancelled.
//  - The public methods are non-virtual; drivers override the protected do_* methods. Every do_*
//    method has a default that answers errc::not_supported, so adding a method never breaks a
//    driver (SoapySDR's "base methods with safe defaults").
//  - Settings are logged as requested and actual: setters return what the device reports back.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/result.hpp"

namespace spdlog {
class logger;
}

namespace hilt {

namespace asio = boost::asio;
class clock;

template <class T>
using task = asio::awaitable<T>;

enum class device_class {
  managed_module,   // CMIS / SFF-8636 / SFF-8472 pluggable, CPO engine, ELSFP
  switch_asic,      // switch ASIC port group
  power_supply,     // programmable supply (SCPI)
  power_monitor,    // PMBus rail
  thermal_chamber,  // chamber (Modbus TCP)
};
std::string_view to_string(device_class c) noexcept;
std::optional<device_class> parse_device_class(std::string_view s) noexcept;

// What a device says about itself. Empty strings mean "not reported".
struct identity {
  std::string vendor;
  std::string part_number;
  std::string serial;
  std::string firmware;
  std::string revision;
  std::map<std::string, std::string> extra;  // driver-specific (identifier, spec revision, ...)
};

enum class side { none, host, media };
std::string_view to_string(side s) noexcept;

// One monitor reading with its unit. Lanes are numbered from 1 as in CMIS (lane 1..8 of a bank);
// lane -1 means module-level.
struct monitor_reading {
  std::string name;  // "temperature", "vcc", "tx_bias", "tx_power", "rx_power", ...
  int lane = -1;
  hilt::side side = side::none;
  double value = 0;
  std::string unit;  // "C", "V", "mA", "mW", "dBm", ...
};

using lane_mask = std::uint32_t;  // bit i = lane i+1

// Services a device gets from the bench it lives on.
struct device_context {
  asio::any_io_executor executor;
  hilt::clock* clock = nullptr;
  std::shared_ptr<spdlog::logger> logger;  // one logger per driver, named after it
};

class device {
 public:
  using duration = std::chrono::nanoseconds;

  device(std::string name, std::string address, device_context ctx);
  virtual ~device();
  device(const device&) = delete;
  device& operator=(const device&) = delete;

  const std::string& name() const noexcept { return name_; }        // fixture name ("dut1")
  const std::string& address() const noexcept { return address_; }  // "cmis:emu-i2c:port1@0x50"
  virtual device_class kind() const noexcept = 0;
  virtual std::string_view driver_name() const noexcept = 0;

  duration default_timeout() const noexcept { return default_timeout_; }
  void set_default_timeout(duration d) noexcept { default_timeout_ = d; }

  task<result<identity>> async_identify(std::optional<duration> timeout = {});
  // Puts the device in its safe state: lasers dark, outputs off, chamber to its safe set point.
  task<std::error_code> async_safe_state(std::optional<duration> timeout = {});

 protected:
  virtual task<result<identity>> do_identify();
  virtual task<std::error_code> do_safe_state();

  // The timeout a public call runs under: the one given, else default_timeout().
  duration timeout_or_default(std::optional<duration> t) const noexcept {
    return t ? *t : default_timeout_;
  }

  const device_context& context() const noexcept { return ctx_; }
  spdlog::logger& log() const noexcept { return *ctx_.logger; }

 private:
  std::string name_;
  std::string address_;
  device_context ctx_;
  duration default_timeout_ = std::chrono::seconds(5);
};

// CMIS module state (CMIS 5.x Table 8-7) and SFF-8636 equivalents mapped onto it.
enum class module_state {
  unknown = 0,
  low_power = 1,
  powering_up = 2,
  ready = 3,
  powering_down = 4,
  fault = 5
};
std::string_view to_string(module_state s) noexcept;

// PRBS test patterns (CMIS 5.x Table 8-115 names; the "Q" variants are PAM4 Gray-coded).
enum class prbs_pattern {
  prbs31q,
  prbs31,
  prbs23q,
  prbs23,
  prbs15q,
  prbs15,
  prbs13q,
  prbs13,
  prbs9q,
  prbs9,
  prbs7q,
  prbs7,
  ssprq
};
std::string_view to_string(prbs_pattern p) noexcept;  // "PRBS-31Q", ..., "SSPRQ"
// Accepts "PRBS-31Q", "prbs31q", "PRBS31Q", "ssprq" (case, '-' and '_' ignored).
std::optional<prbs_pattern> parse_prbs_pattern(std::string_view s) noexcept;

// One lane of a PRBS checker, as read by async_prbs_read().
struct prbs_lane_status {
  int lane = 0;  // 1-based
  hilt::side side = side::media;
  bool locked = false;       // the checker is in lock now
  bool lost_lock = false;    // lock was lost (or never gained) since the previous read
  std::uint64_t bits = 0;    // bits compared since the checker was enabled or reset
  std::uint64_t errors = 0;  // bit errors among them
  double ber = 0;            // the device's own BER figure (errors / bits when it has none)
};

// A managed optical module (pluggable, CPO optical engine, external laser source).
class managed_module : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::managed_module; }

  task<result<module_state>> async_module_state(std::optional<duration> timeout = {});
  // Requests (true) or releases (false) low power; returns the module state after the request.
  task<result<module_state>> async_set_low_power(bool low_power,
                                                 std::optional<duration> timeout = {});
  // Brings the module to ModuleReady honouring its advertised timings.
  task<std::error_code> async_power_up(std::optional<duration> timeout = {});
  task<std::error_code> async_set_tx_disable(lane_mask lanes, bool disable,
                                             std::optional<duration> timeout = {});
  // Every monitor the module implements, with units (temperature, Vcc, per-lane bias/power).
  task<result<std::vector<monitor_reading>>> async_read_monitors(
      std::optional<duration> timeout = {});
  // Number of host lanes (for lane selection); 0 if unknown.
  virtual int lane_count() const noexcept { return 0; }

  // PRBS (CMIS pages 13h/14h) on `lanes` of one side: `generator` / `checker` true enables that
  // function with `pattern` (an enabled checker restarts its counters), false disables it on those
  // lanes. A side or pattern the module does not advertise answers not_supported.
  task<std::error_code> async_prbs_configure(hilt::side side, lane_mask lanes, prbs_pattern pattern,
                                             bool generator, bool checker,
                                             std::optional<duration> timeout = {});
  // Checker status and counters of every lane whose checker is enabled on that side.
  task<result<std::vector<prbs_lane_status>>> async_prbs_read(hilt::side side,
                                                              std::optional<duration> timeout = {});
  // Versatile diagnostics (CMIS VDM pages 20h-2Fh): at least pre-FEC BER per lane
  // ("pre_fec_ber_current", side media/host, unit "").
  task<result<std::vector<monitor_reading>>> async_read_vdm(std::optional<duration> timeout = {});
  // Latched flags (alarms, warnings, LOS/LOL, faults, state-change notices) raised since the last
  // read, by name: "temperature_high_warn", "tx_power_low_alarm lane 3", "rx_los lane 2". Reading
  // clears them (CMIS 5.x: the flag bytes are clear-on-read). not_supported when the module's
  // driver has no flags read.
  task<result<std::vector<std::string>>> async_read_flags(std::optional<duration> timeout = {});
  // Configures application `appsel` (1-15) on the data paths starting at the host lanes in
  // `lanes` and brings them to DPActivated, honouring the module's advertised timings.
  task<std::error_code> async_activate_data_path(lane_mask lanes, int appsel,
                                                 std::optional<duration> timeout = {});
  // Takes the data paths of `lanes` down to DPDeactivated.
  task<std::error_code> async_deactivate_data_path(lane_mask lanes,
                                                   std::optional<duration> timeout = {});

 protected:
  virtual task<result<module_state>> do_module_state();
  virtual task<result<module_state>> do_set_low_power(bool low_power);
  virtual task<std::error_code> do_power_up();
  virtual task<std::error_code> do_set_tx_disable(lane_mask lanes, bool disable);
  virtual task<result<std::vector<monitor_reading>>> do_read_monitors();
  virtual task<std::error_code> do_prbs_configure(hilt::side side, lane_mask lanes,
                                                  prbs_pattern pattern, bool generator,
                                                  bool checker);
  virtual task<result<std::vector<prbs_lane_status>>> do_prbs_read(hilt::side side);
  virtual task<result<std::vector<monitor_reading>>> do_read_vdm();
  virtual task<result<std::vector<std::string>>> do_read_flags();
  virtual task<std::error_code> do_activate_data_path(lane_mask lanes, int appsel);
  virtual task<std::error_code> do_deactivate_data_path(lane_mask lanes);
  task<std::error_code> do_safe_state() override;  // Tx disable all lanes, then LowPwr
};

// A group of switch-ASIC ports (PRBS, FEC, SerDes): methods arrive with the ASIC issue.
class switch_asic : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::switch_asic; }
  task<result<double>> async_die_temperature(std::optional<duration> timeout = {});

 protected:
  virtual task<result<double>> do_die_temperature();
};

// A programmable power supply with numbered channels (1-based).
class power_supply : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::power_supply; }

  // Each setter returns the value the instrument reports back (requested vs actual).
  task<result<double>> async_set_voltage(int channel, double volts,
                                         std::optional<duration> timeout = {});
  task<result<double>> async_set_current_limit(int channel, double amps,
                                               std::optional<duration> timeout = {});
  task<std::error_code> async_set_output(int channel, bool on,
                                         std::optional<duration> timeout = {});
  task<result<double>> async_measure_voltage(int channel, std::optional<duration> timeout = {});
  task<result<double>> async_measure_current(int channel, std::optional<duration> timeout = {});
  virtual int channel_count() const noexcept { return 1; }

 protected:
  virtual task<result<double>> do_set_voltage(int channel, double volts);
  virtual task<result<double>> do_set_current_limit(int channel, double amps);
  virtual task<std::error_code> do_set_output(int channel, bool on);
  virtual task<result<double>> do_measure_voltage(int channel);
  virtual task<result<double>> do_measure_current(int channel);
  task<std::error_code> do_safe_state() override;  // every output off
};

// A power rail monitor (PMBus regulator): input/output voltage, current, power, temperature.
struct rail_reading {
  std::optional<double> vin, vout, iout, pout, temperature;
  std::uint16_t status_word = 0;
};
class power_monitor : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::power_monitor; }
  task<result<rail_reading>> async_read_rail(std::optional<duration> timeout = {});

 protected:
  virtual task<result<rail_reading>> do_read_rail();
  task<std::error_code> do_safe_state() override;  // nothing to do: a monitor only reads
};

// A thermal chamber (temperatures in degrees C).
class thermal_chamber : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::thermal_chamber; }

  task<result<double>> async_set_setpoint(double celsius, std::optional<duration> timeout = {});
  task<result<double>> async_read_temperature(std::optional<duration> timeout = {});
  task<std::error_code> async_set_running(bool run, std::optional<duration> timeout = {});
  // Safe set point the chamber goes to on stop / safe state (fixture option).
  double safe_setpoint() const noexcept { return safe_setpoint_; }
  void set_safe_setpoint(double c) noexcept { safe_setpoint_ = c; }

 protected:
  virtual task<result<double>> do_set_setpoint(double celsius);
  virtual task<result<double>> do_read_temperature();
  virtual task<std::error_code> do_set_running(bool run);
  task<std::error_code> do_safe_state() override;  // set point to safe_setpoint()

 private:
  double safe_setpoint_ = 25.0;
};

}  // namespace hilt
