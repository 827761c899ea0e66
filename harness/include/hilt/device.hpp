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
  managed_module,      // CMIS / SFF-8636 / SFF-8472 pluggable, CPO engine, ELSFP
  switch_asic,         // switch ASIC port group
  power_supply,        // programmable supply (SCPI)
  power_monitor,       // PMBus rail
  thermal_chamber,     // chamber (Modbus TCP)
  optical_attenuator,  // variable optical attenuator (SCPI)
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

// --- Switch ASIC -------------------------------------------------------------------------------
// Semantics follow SAI (opencomputeproject/SAI inc/saiport.h; ../shared/reference/cmis-notes.md
// §7).

// SAI_PORT_ATTR_PRBS_CONFIG (sai_port_prbs_config_t): per port, all its lanes.
enum class prbs_config { disable, enable_tx_rx, enable_rx, enable_tx };
std::string_view to_string(prbs_config c) noexcept;  // "disable", "tx_rx", "rx", "tx"
// Accepts "disable"/"off", "tx_rx"/"both", "rx", "tx" (case-insensitive).
std::optional<prbs_config> parse_prbs_config(std::string_view s) noexcept;

// SAI_PORT_ATTR_FEC_MODE_EXTENDED (the modes hilt knows).
enum class fec_mode { none, rs528, rs544 };
std::string_view to_string(fec_mode m) noexcept;  // "none", "rs528", "rs544"
// Accepts "none", "rs528" / "rs-528" / "kr4", "rs544" / "rs-544" / "kp4" (case-insensitive).
std::optional<fec_mode> parse_fec_mode(std::string_view s) noexcept;
// Symbols an RS codeword corrects (SAI_PORT_ATTR_MAX_FEC_SYMBOL_ERRORS_DETECTABLE): 7 for RS-528,
// 15 for RS-544, 0 for none.
int fec_max_correctable(fec_mode m) noexcept;

// SerDes Tx FIR, as IEEE 802.3 normalised coefficients c(-1), c(0), c(1) (802.3ck 120G.3.1):
// pre1 <= 0, main > 0, post1 <= 0 and |pre1| + main + |post1| <= 1 (full swing).
struct tx_fir {
  double pre1 = 0;
  double main = 1;
  double post1 = 0;
  friend bool operator==(const tx_fir&, const tx_fir&) = default;
};

// A run of identical ports: ports first..first+count-1, each of `lanes` SerDes lanes.
struct asic_port_group {
  int first = 1;
  int count = 0;
  int lanes = 0;
  double lane_rate = 0;  // b/s per lane (106.25e9 for 100G PAM4)
};

// Per-lane receive status (SAI_PORT_ATTR_RX_SIGNAL_DETECT / SAI_PORT_ATTR_RX_LOCK_STATUS; the
// latched `changed` bits of SAI are folded into lost_* here: true when it went away since the
// previous read).
struct asic_lane_status {
  int lane = 0;  // 1-based within the port
  bool signal_detect = false;
  bool cdr_lock = false;
  bool signal_lost = false;
  bool lock_lost = false;
};
struct asic_link_status {
  bool up = false;  // SAI_PORT_ATTR_OPER_STATUS
  std::vector<asic_lane_status> lanes;
};

// FEC counters of a port, cumulative since the mode was set or the counters were cleared
// (SAI_PORT_STAT_IF_IN_FEC_*). Counters are `counter_bits` wide and wrap modulo 2^counter_bits
// (64 on most parts; a reader that sees one go backwards knows it wrapped).
struct fec_counters {
  fec_mode mode = fec_mode::none;
  int max_correctable = 0;  // 7 (RS-528) or 15 (RS-544)
  int counter_bits = 64;
  std::uint64_t correctable = 0;     // codewords with 1..max_correctable symbol errors
  std::uint64_t uncorrectable = 0;   // codewords with more
  std::uint64_t symbol_errors = 0;   // symbol errors in correctable codewords
  std::uint64_t corrected_bits = 0;  // bits corrected
  // Codeword histogram S0..S(max_correctable + 1): S_k codewords with k symbol errors, the last
  // bin every codeword beyond max_correctable (SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0..S16).
  std::vector<std::uint64_t> histogram;
  std::uint64_t codewords() const noexcept {
    std::uint64_t n = 0;
    for (auto v : histogram)
      n += v;
    return n;
  }
};

// A switch ASIC: ports made of SerDes lanes. Ports and lanes are numbered from 1.
class switch_asic : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::switch_asic; }

  // The port groups the ASIC has (empty before the driver has asked it).
  const std::vector<asic_port_group>& port_groups() const noexcept { return port_groups_; }
  // Lanes of `port`, 0 when there is no such port.
  int lanes_of(int port) const noexcept;
  double lane_rate_of(int port) const noexcept;  // b/s, 0 when no such port

  task<result<double>> async_die_temperature(std::optional<duration> timeout = {});
  // Power the ASIC draws now, W.
  task<result<double>> async_read_power(std::optional<duration> timeout = {});

  // PRBS on every lane of `port` (SAI_PORT_ATTR_PRBS_PATTERN then SAI_PORT_ATTR_PRBS_CONFIG).
  // Enabling the checker (rx, tx_rx) restarts its counters; disable stops both.
  task<std::error_code> async_prbs_configure(int port, prbs_config config, prbs_pattern pattern,
                                             std::optional<duration> timeout = {});
  // Checker status and counters (since the checker was enabled) of every lane of `port`; the
  // entries' side is none. not_ready when the port's checker is not enabled.
  task<result<std::vector<prbs_lane_status>>> async_prbs_read(int port,
                                                              std::optional<duration> timeout = {});
  // Sets the FEC mode of `port`; returns the operational mode the ASIC reports back. Setting it
  // clears the port's FEC counters.
  task<result<fec_mode>> async_set_fec_mode(int port, fec_mode mode,
                                            std::optional<duration> timeout = {});
  task<result<fec_counters>> async_read_fec(int port, std::optional<duration> timeout = {});
  task<std::error_code> async_clear_fec(int port, std::optional<duration> timeout = {});
  task<result<asic_link_status>> async_link_status(int port, std::optional<duration> timeout = {});
  // Sets one lane's Tx FIR; returns the taps the SerDes actually applied (quantised).
  task<result<tx_fir>> async_set_tx_fir(int port, int lane, tx_fir taps,
                                        std::optional<duration> timeout = {});
  task<result<tx_fir>> async_read_tx_fir(int port, int lane, std::optional<duration> timeout = {});

 protected:
  // Drivers fill this when they open the device (from the ASIC's own account).
  void set_port_groups(std::vector<asic_port_group> g) { port_groups_ = std::move(g); }

  virtual task<result<double>> do_die_temperature();
  virtual task<result<double>> do_read_power();
  virtual task<std::error_code> do_prbs_configure(int port, prbs_config config,
                                                  prbs_pattern pattern);
  virtual task<result<std::vector<prbs_lane_status>>> do_prbs_read(int port);
  virtual task<result<fec_mode>> do_set_fec_mode(int port, fec_mode mode);
  virtual task<result<fec_counters>> do_read_fec(int port);
  virtual task<std::error_code> do_clear_fec(int port);
  virtual task<result<asic_link_status>> do_link_status(int port);
  virtual task<result<tx_fir>> do_set_tx_fir(int port, int lane, tx_fir taps);
  virtual task<result<tx_fir>> do_read_tx_fir(int port, int lane);
  // Default: PRBS disabled on every port (nothing on an ASIC emits light).
  task<std::error_code> do_safe_state() override;

 private:
  std::vector<asic_port_group> port_groups_;
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

// A variable optical attenuator (one channel). Attenuation in dB, wavelength in nm.
struct attenuation_range {
  double min_db = 0;
  double max_db = 0;
};
class optical_attenuator : public device {
 public:
  using device::device;
  device_class kind() const noexcept override { return device_class::optical_attenuator; }

  // The range the instrument accepts (known from its model before it is touched, so sequences
  // can be checked against it by `hilt validate`).
  attenuation_range range() const noexcept { return range_; }

  // Each setter returns the value the instrument reports back (requested vs actual). An
  // attenuation outside range() is refused with invalid_argument before anything is sent.
  task<result<double>> async_set_attenuation(double db, std::optional<duration> timeout = {});
  task<result<double>> async_read_attenuation(std::optional<duration> timeout = {});
  task<result<double>> async_set_wavelength(double nm, std::optional<duration> timeout = {});
  // closed: no light passes (the instrument's output state off).
  task<std::error_code> async_set_shutter(bool closed, std::optional<duration> timeout = {});

 protected:
  void set_range(attenuation_range r) noexcept { range_ = r; }
  virtual task<result<double>> do_set_attenuation(double db);
  virtual task<result<double>> do_read_attenuation();
  virtual task<result<double>> do_set_wavelength(double nm);
  virtual task<std::error_code> do_set_shutter(bool closed);
  task<std::error_code> do_safe_state() override;  // shutter closed

 private:
  attenuation_range range_{0, 60};
};

}  // namespace hilt
