// wait_until: polls a condition on the harness clock until it holds, or fails when `timeout`
// passes first.
//   - step: wait_until
//     condition: temperature <= 50 C     # required: NAME OP VALUE, OP one of <= >= < > == !=
//     timeout: 10 min                    # required: not met by then -> verdict fail
//     interval: 5 s                      # optional: time between polls (default 1 s)
//     lanes: [1, 2]                      # per-lane monitors only (default: every lane reported)
//     device: chamber                    # optional: read a fixture instrument instead of the DUT
//     channel: 1                         # with a power supply: its channel (default 1)
//
// NAME is, on the DUT's module, `module_state` (== / != low_power, powering_up, ready,
// powering_down, fault) or a monitor (temperature, vcc, tx_bias, tx_power, rx_power, ...; a
// per-lane monitor holds when every selected lane does); with `device:` it is `temperature` (a
// thermal chamber's reading) or `voltage` / `current` (a power supply's measured output). VALUE's
// unit is checked against NAME when the sequence is loaded.
//
// Unlike other steps, `timeout:` here is the condition's deadline: running out is a failure whose
// message names the condition and the last reading, not a harness timeout. A NACK while the module
// is busy (MgmtInit, a state change) counts as "not yet"; any other device error stops the step
// with an error outcome.
#pragma once

#include <string>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/device.hpp"
#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"

namespace hilt::seq {

class wait_until_step final : public step, public needs_devices {
 public:
  enum class comparison { lt, le, gt, ge, eq, ne };
  struct config {
    std::string text;  // the condition as written (substituted): "temperature <= 50 C"
    std::string
        quantity;  // "module_state", a monitor name, or with device: temperature/voltage/current
    comparison cmp = comparison::le;
    double value = 0;  // in base units of `dim` (quantities)
    dimension dim = dimension::none;
    module_state state = module_state::unknown;  // for module_state
    clock::duration timeout{};
    clock::duration interval = std::chrono::seconds(1);
    std::vector<int> lanes;  // empty: every lane the module reports
    std::string device;      // fixture device name; empty: the DUT's module
    std::string device_where;
    int channel = 1;
  };

  explicit wait_until_step(config c) : config_(std::move(c)) {}
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<device_need> required_devices() const override;
  const config& settings() const noexcept { return config_; }

 private:
  struct probe_result;
  task<probe_result> probe(step_context& ctx) const;
  task<probe_result> probe_module(managed_module& m) const;
  task<probe_result> probe_device(step_context& ctx) const;

  config config_;
};

step_type wait_until_step_type();

}  // namespace hilt::seq
