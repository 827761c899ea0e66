// The generic SCPI programmable supply (hilt::power_supply) over a line transport: a raw TCP
// socket (tcp_line_client) or USBTMC (usbtmc_client) — the address chooses (driver.hpp).
//
// Every operation is built from the model's command templates (model.hpp) and follows one shape:
//  1. Check the request before anything is sent: the channel exists (errc::invalid_argument), the
//     value is a finite, non-negative number (invalid_argument), and it is within the fixture's
//     safety limit for that channel (errc::limit_refused). A refused request sends no byte.
//  2. Hold the connection (one exchange at a time, FIFO) and, on a new connection, drain the
//     instrument's error queue (entries left by someone else are logged, not blamed on us).
//  3. Send the setting commands (the channel select first when the connection's selected channel
//     differs), then read SYSTem:ERRor? until it says 0 (at most 32 entries). Any entry is
//     errc::instrument_error, logged with the device, operation, commands and the instrument's
//     text (SCPI-99 Vol 2 §21.8).
//  4. Setters read the setting back (VOLT?, CURR?) and return what the instrument reports: the
//     requested and actual values are logged.
//  A unit of work that finds the connection dropped (errc::disconnected) is redone once on a new
//  connection: every command this driver sends is idempotent. Replies that are not what the
//  dialect promises (a number, a boolean, an error entry) are errc::bad_reply with the reply's
//  bytes (escaped) in the log line.
//
// Without a model (no `model` option), the first operation asks *IDN? and picks the model whose
// `match` fits; none fitting is errc::not_supported with the *IDN? text in the log.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/scpi_psu/model.hpp"
#include "hilt/transport/line.hpp"
#include "hilt/transport/tcp_line.hpp"

namespace hilt::scpi_psu {

// Fixture safety limits of one channel (options: channels: {1: {max_voltage: 3.6 V, ...}}).
struct channel_limits {
  std::optional<double> max_voltage;  // V
  std::optional<double> max_current;  // A
};

struct supply_options {
  std::optional<psu_model> model;        // nullopt: detect from *IDN?
  std::vector<psu_model> candidates;     // models to detect from (when `model` is nullopt)
  std::map<int, channel_limits> limits;  // by 1-based channel
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);  // per command / reply
};

class scpi_supply final : public hilt::power_supply {
 public:
  scpi_supply(std::string name, std::string address, hilt::device_context ctx, tcp_target target,
              supply_options opts);
  // Over any line transport (USBTMC, ...).
  scpi_supply(std::string name, std::string address, hilt::device_context ctx,
              std::unique_ptr<line_transport> link, supply_options opts);
  ~scpi_supply() override;

  std::string_view driver_name() const noexcept override { return "scpi-psu"; }
  // The model's channel count; 1 until a detected model is known.
  int channel_count() const noexcept override;

  const psu_model* model() const noexcept { return model_ ? &*model_ : nullptr; }
  line_transport& transport() noexcept { return *link_; }

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<double>> do_set_voltage(int channel, double volts) override;
  task<result<double>> do_set_current_limit(int channel, double amps) override;
  task<std::error_code> do_set_output(int channel, bool on) override;
  task<result<double>> do_measure_voltage(int channel) override;
  task<result<double>> do_measure_current(int channel) override;

 private:
  enum class quantity { voltage, current };

  std::error_code check_channel(const char* op, int channel);
  std::error_code check_value(const char* op, int channel, quantity q, double value);
  task<std::error_code> prepare(const char* op);
  task<std::error_code> ensure_model(const char* op);
  task<std::error_code> drain_errors(const char* op, const std::vector<std::string>& sent,
                                     bool stale);
  task<std::error_code> run_commands(const char* op, int channel, std::vector<std::string> cmds);
  task<result<std::string>> query(const char* op, int channel, std::string cmd);
  task<result<double>> query_number(const char* op, int channel, std::string cmd);
  task<result<double>> set_and_read_back(const char* op, int channel, quantity q, double value);
  task<result<double>> measure(const char* op, int channel, quantity q);
  std::error_code transport_error(const char* op, const std::string& what, std::error_code ec);

  supply_options opts_;
  std::optional<psu_model> model_;
  std::unique_ptr<line_transport> link_;
  int selected_channel_ = 0;  // valid while link_.connects() == selected_on_
  std::uint64_t selected_on_ = 0;
  std::uint64_t drained_on_ = 0;  // connection whose stale errors were drained
};

}  // namespace hilt::scpi_psu
