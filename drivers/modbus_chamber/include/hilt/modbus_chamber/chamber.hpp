// A thermal chamber controller over Modbus TCP (hilt::thermal_chamber), driven through a register
// map (register_map.hpp).
//
//  - set_setpoint: refused before anything is sent when outside the fixture's min/max_setpoint
//    (errc::limit_refused) or not finite (errc::invalid_argument); writes the ramp rate first when
//    the fixture gives one, then the set point, and returns the set point read back (requested and
//    actual are logged). A value the controller refuses comes back as a Modbus exception
//    (errc::instrument_error, e.g. exception 03 illegal data value).
//  - read_temperature: the process value; when the map has an alarm register, a sensor fault or
//    over-temperature alarm is errc::device_fault (logged with the alarm names).
//  - set_running(false): the safe set point is written first, then stop: a chamber restarted by
//    hand goes to a safe temperature. set_running(true): run.
//  - safe state: the set point goes to the safe set point (the chamber keeps running there).
//  - identify: vendor and model from the map (or the fixture's `identity:`), serial number,
//    software version, part number and hardware id from their registers when the map has them.
// Every failure is logged with the device, the operation, the register name and address, and the
// transport's reason ("exception 02 (illegal data address)", "no reply within 1.000s").
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "hilt/device.hpp"
#include "hilt/modbus_chamber/register_map.hpp"
#include "hilt/transport/modbus.hpp"

namespace hilt::modbus_chamber {

struct chamber_options {
  register_map map;
  int unit_id = 1;
  std::chrono::nanoseconds timeout = std::chrono::seconds(1);  // per transaction
  std::optional<double> min_setpoint, max_setpoint;            // fixture safety limits, C
  std::optional<double> ramp_rate;                             // C/min, written with set points
  double deadband = 1.0;                                       // C, for wait_settled()
  hilt::identity identity;                                     // fixture-given identity fields
};

class modbus_chamber final : public hilt::thermal_chamber {
 public:
  modbus_chamber(std::string name, std::string address, hilt::device_context ctx, tcp_target target,
                 chamber_options opts);
  ~modbus_chamber() override;

  std::string_view driver_name() const noexcept override { return "modbus-chamber"; }
  double deadband() const noexcept { return opts_.deadband; }
  const register_map& map() const noexcept { return opts_.map; }
  modbus_tcp_client& transport() noexcept { return link_; }

  // Waits on the harness clock until the process value has stayed within the deadband of the set
  // point for `hold`, polling every `poll`; errc::state_timeout when `timeout` passes first.
  // Returns the last process value.
  task<result<double>> async_wait_settled(std::chrono::nanoseconds hold,
                                          std::chrono::nanoseconds timeout,
                                          std::chrono::nanoseconds poll = std::chrono::seconds(10));
  // The set point the controller holds now.
  task<result<double>> async_read_setpoint();

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<double>> do_set_setpoint(double celsius) override;
  task<result<double>> do_read_temperature() override;
  task<std::error_code> do_set_running(bool run) override;

 private:
  task<result<double>> read_value(const char* op, const char* reg);
  task<result<std::vector<std::uint16_t>>> read_raw(const char* op, const register_def& r);
  task<std::error_code> write_value(const char* op, const char* reg, double value);
  std::error_code fail(const char* op, const register_def& r, const modbus_reply& reply);

  chamber_options opts_;
  modbus_tcp_client link_;
};

}  // namespace hilt::modbus_chamber
