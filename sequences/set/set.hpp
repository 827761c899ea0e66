// set: sets named parameters of the DUT's module, or of a fixture instrument — exactly what hilt's
// device interfaces (hilt/device.hpp) can set, nothing pretended.
//   - step: set                # the DUT's module
//     low_power: on            # on: request low power (CMIS LowPwrRequestSW); off: release it
//     tx_disable: on           # on: transmitters dark; off: on again
//     lanes: "1-4"             # for tx_disable (default all)
//   - step: set                # a fixture instrument
//     device: chamber
//     setpoint: 85 C           # thermal chamber
//   - step: set
//     device: psu1
//     channel: 1               # power supply channel (default 1)
//     voltage: 3.465 V         # power supply: voltage, current_limit, output (on/off)
//   - step: set
//     device: voa1
//     attenuation: 12 dB       # optical attenuator: attenuation, wavelength (1310 nm),
//     shutter: open            #   shutter (open | closed)
//   - step: set                # the switch-ASIC lanes linked to the DUT (fixture links:)
//     fec_mode: rs544          # none | rs528 | rs544
//     tx_fir: {pre1: -0.05, main: 0.8, post1: -0.15}   # SerDes Tx FIR of every linked lane
//
// Settings apply in the order written. What an instrument reports back is logged next to what was
// requested (an event of kind "set"). A setting the device classes do not offer (a module's vcc,
// say) is an error when the sequence is loaded, listing what can be set; a driver that does not
// implement an offered setting answers not_supported at run time (a step error naming the device
// and the operation). Instruments are held (step_context::async_lock) while they are set.
#pragma once

#include <string>
#include <vector>

#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class set_step final : public step, public needs_devices, public needs_links {
 public:
  struct setting {
    std::string key;    // low_power, tx_disable, setpoint, voltage, current_limit, output
    bool flag = false;  // low_power, tx_disable, output
    double value = 0;   // setpoint (C), voltage (V), current_limit (A), attenuation (dB),
                        // wavelength (m)
    fec_mode fec = fec_mode::none;  // fec_mode
    tx_fir taps;                    // tx_fir
    std::string written;            // as written (substituted), for messages
  };
  struct config {
    std::vector<setting> settings;  // in the order written
    std::vector<int> lanes;         // for tx_disable; empty = every lane
    std::string device;             // empty: the DUT's module
    std::string device_where;
    int channel = 1;
    std::string owner;  // of the settings: module, link, chamber, supply, attenuator
    std::string where;  // of the step
  };

  explicit set_step(config c) : config_(std::move(c)) {}
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<device_need> required_devices() const override;
  std::vector<link_need> required_links() const override;
  const config& settings() const noexcept { return config_; }

 private:
  task<step_outcome> set_module(step_context& ctx) const;
  task<step_outcome> set_device(step_context& ctx) const;
  task<step_outcome> set_link(step_context& ctx) const;
  task<step_outcome> set_attenuator(step_context& ctx, optical_attenuator& voa) const;

  config config_;
};

step_type set_step_type();

}  // namespace hilt::seq
