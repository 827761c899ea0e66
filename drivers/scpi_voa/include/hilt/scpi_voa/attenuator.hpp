// A SCPI variable optical attenuator (hilt::optical_attenuator) on a raw TCP socket (port 5025),
// driven from its model's command templates (model.hpp).
//
// Every operation follows one shape:
//  1. Check the request before anything is sent: an attenuation outside the model's range (done by
//     optical_attenuator itself) or a wavelength outside it is errc::invalid_argument, and the log
//     line names the range.
//  2. Hold the connection (one exchange at a time, FIFO). On a new connection, drain the error
//     queue (entries left by someone else are logged as a warning, not blamed on us), then *CLS.
//  3. Send the setting, wait for *OPC? (the attenuator has settled), then read :SYST:ERR? until it
//     says 0 (at most 32 entries). Any entry is errc::instrument_error, logged with the device,
//     operation, command and the instrument's text (SCPI-99 Vol 2 §21.8).
//  4. Read the setting back and return what the instrument reports (requested and actual are
//     logged). A shutter that does not read back as requested is errc::device_fault.
//  A unit of work that finds the connection dropped (errc::disconnected) is redone once on a new
//  connection: every command this driver sends is idempotent. Replies that are not what the
//  command set promises (a number, a boolean, an error entry, an IDN) are errc::bad_reply with the
//  reply's bytes (escaped) in the log line.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/scpi_voa/model.hpp"
#include "hilt/transport/line.hpp"
#include "hilt/transport/tcp_line.hpp"

namespace hilt::scpi_voa {

struct attenuator_options {
  voa_model model;
  int channel = 1;                                             // 1..model.channels
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);  // per command / reply
};

class scpi_attenuator final : public hilt::optical_attenuator {
 public:
  // Sets range() from the model: known before the instrument is touched.
  scpi_attenuator(std::string name, std::string address, hilt::device_context ctx,
                  tcp_target target, attenuator_options opts);
  ~scpi_attenuator() override;

  std::string_view driver_name() const noexcept override { return "scpi-voa"; }
  const voa_model& model() const noexcept { return opts_.model; }
  int channel() const noexcept { return opts_.channel; }
  line_transport& transport() noexcept { return *link_; }

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<double>> do_set_attenuation(double db) override;
  task<result<double>> do_read_attenuation() override;
  task<result<double>> do_set_wavelength(double nm) override;
  task<std::error_code> do_set_shutter(bool closed) override;

 private:
  std::string cmd(const std::string& tmpl, double value = 0) const;
  task<std::error_code> prepare(const char* op);
  task<std::error_code> drain_errors(const char* op, std::string sent, bool stale);
  // Sends one setting, waits for *OPC?, checks the error queue.
  task<std::error_code> apply(const char* op, std::string command);
  task<result<std::string>> query(const char* op, std::string command);
  task<result<double>> query_number(const char* op, std::string command);
  std::error_code transport_error(const char* op, const std::string& what, std::error_code ec);
  std::error_code garbled(const char* op, const std::string& reply, const std::string& command,
                          const char* expected);
  bool retry(const char* op, std::error_code ec, int attempt);
  task<std::error_code> identify_once(const char* op, hilt::identity& id);

  attenuator_options opts_;
  std::unique_ptr<tcp_line_client> link_;
  std::uint64_t drained_on_ = 0;  // connection whose stale errors were drained
};

}  // namespace hilt::scpi_voa
