// The emulated thermal chamber: the air model (chamber_model) and the Modbus TCP server it sits
// behind (modbus_chamber_server, on libmodbus), serving a register map from
// drivers/modbus_chamber/maps (DESIGN.md rule 1: the driver talks to it over real Modbus TCP).
//
// Air model. Running, the controller drives the air toward its target with a first-order
// approach of time constant tau, never faster than the ramp rate (the programmed one, or the
// machine's max_ramp when the programmed rate is 0):
//     dT/dt = clamp((target - T) / tau, -ramp, +ramp)
// The controller regulates its own air sensor, so its target is the set point as long as the
// heat dissipated inside stays within what it can take out (`capacity`); only the excess shows:
//     target = set point + load_coupling x max(0, watts inside - capacity)
// Stopped, nothing takes the heat out: the air relaxes toward room + load_coupling x watts inside,
// with the (slower) off time constant and no ramp limit. The solution is evaluated in closed form
// from the harness clock whenever someone asks (a device reading its ambient, a Modbus read), so
// it runs in virtual time without timers; parameters change piecewise (set point, run/stop,
// ramp, load).
//
// Heat from the load: the load is the sum of the modelled dissipation of the devices inside
// (emulated modules), refreshed whenever the chamber is asked over Modbus — not while a device
// reads its ambient, because a device reading its ambient holds its own lock.
//
// Threading: every public method locks; air_temperature_at() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hilt/emu/world.hpp"
#include "hilt/modbus_chamber/register_map.hpp"

namespace hilt::emu {

struct chamber_params {
  double room_c = 23.0;  // the lab air the chamber relaxes to when stopped
  double setpoint_c = 25.0;
  bool running = true;
  double max_ramp_c_per_min = 5.0;      // the machine's fastest ramp
  double ramp_c_per_min = 0.0;          // programmed ramp; 0: as fast as the machine goes
  double time_constant_s = 120.0;       // running: approach near the set point
  double off_time_constant_s = 900.0;   // stopped: relaxation toward the room
  double load_coupling_c_per_w = 0.05;  // air rise per watt dissipated inside
  double capacity_w = 500.0;            // DUT heat the running controller can take out
  double min_setpoint_c = -70.0, max_setpoint_c = 180.0;
  double over_temperature_c = 190.0;  // alarm above this air temperature
  std::int32_t serial = 100001;       // identity registers
  std::int32_t hardware_id = 124;
  std::int32_t software_version = 12;
  std::string part_number = "F4T1L1AA1C1AAAA";
};

class chamber_model {
 public:
  using time_point = world::time_point;

  // Starts in equilibrium: at the set point when running, else at room temperature.
  chamber_model(std::shared_ptr<const world> time_base, chamber_params p);

  double air_temperature_c();
  double air_temperature_at(time_point t);
  double setpoint_c();
  void set_setpoint_c(double c);
  bool running();
  void set_running(bool run);
  double ramp_c_per_min();
  void set_ramp_c_per_min(double r);
  // Heat source: watts dissipated inside, asked by refresh_load().
  void set_load_source(std::function<double()> watts);
  void refresh_load();
  double load_w();
  // Faults (alarms register): a failed air sensor.
  void set_sensor_fault(bool f);
  // Bit i set: alarm i of the map's alarm_bits (2 over_temperature, 3 sensor_fault).
  std::uint16_t alarms();
  const chamber_params& params() const noexcept { return p_; }
  // "chamber1 running sp=85.0C air=42.3C ramp=5.0C/min load=12.4W"
  std::string describe(const std::string& label);

 private:
  void advance(time_point t);  // callers hold mu_
  double target() const noexcept;

  std::shared_ptr<const world> time_;
  chamber_params p_;
  std::mutex mu_;
  time_point t0_{};
  double temp0_ = 25.0;
  double load_w_ = 0.0;
  bool sensor_fault_ = false;
  std::function<double()> load_source_;
};

// Faults the Modbus server can inject on the next `count` requests.
enum class modbus_fault {
  none,
  drop,     // close the connection without answering
  stall,    // read the request, never answer
  busy,     // answer with exception 06 (server device busy)
  failure,  // answer with exception 04 (server device failure)
};

// A Modbus TCP server (libmodbus) for one chamber, on its own thread: holding registers of the
// map, function 03 to read, 06 and 16 to write. Exceptions (Modbus Application Protocol V1.1b3
// §7): 01 for any other function, 02 for an address outside the map or a write to a read-only
// register, 03 for a value the controller refuses (a set point outside its limits, a run state
// that is neither run nor stop, a negative ramp).
class modbus_chamber_server {
 public:
  modbus_chamber_server(std::shared_ptr<chamber_model> chamber, modbus_chamber::register_map map);
  ~modbus_chamber_server();  // stops
  modbus_chamber_server(const modbus_chamber_server&) = delete;
  modbus_chamber_server& operator=(const modbus_chamber_server&) = delete;

  // Listens on host:port (0: a free port) and starts the server thread. Throws
  // std::runtime_error naming the endpoint when it cannot listen.
  void start(const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  void stop();
  std::uint16_t port() const noexcept { return port_; }
  void inject(modbus_fault f, int count = 1);  // thread-safe; count < 0: until none
  // Answers every request with exception 04 while `pred` is true (checked on the server thread;
  // it must be thread-safe). Set before start().
  void fail_when(std::function<bool()> pred) { fail_when_ = std::move(pred); }
  std::uint64_t requests() const noexcept { return requests_.load(); }
  const modbus_chamber::register_map& map() const noexcept { return map_; }

 private:
  struct impl;
  void loop();
  modbus_fault take_fault();

  std::shared_ptr<chamber_model> chamber_;
  modbus_chamber::register_map map_;
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  modbus_fault fault_ = modbus_fault::none;
  int fault_count_ = 0;
  std::function<bool()> fail_when_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace hilt::emu
