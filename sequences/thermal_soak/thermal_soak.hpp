// thermal_soak: a chamber temperature profile (ramps and dwells, repeated for temperature cycling)
// while every DUT's monitors are sampled into the samples table.
//   - step: thermal_soak
//     chamber: chamber1                    # required: a fixture thermal chamber
//     profile:                             # required, run in order, `cycles` times
//       - { ramp_to: 85 C, rate: 2 C/min } # set point moved at `rate` (C/min or C/h); no rate: at
//       once
//       - { dwell: 1000 h }                # hold; samples are taken only in dwells
//     cycles: 1                            # default 1
//     interval: 10 min                     # sample period in dwells (default 10 min)
//     stabilize: { within: 1 C, for: 5 min, timeout: 4 h }   # after each ramp (these defaults)
//     abort: { temperature: 95 C, chamber: 100 C }          # DUT case / chamber air, optional
//     limits: { temperature: { max: 80 C } }                 # per monitor, judged at every sample
//     max_flaps: 0                         # limit excursions allowed per monitor and lane (default
//     0) max_drift: { tx_power: 0.01 dB }     # per hour, first to last sample (tx/rx power in dB)
//
// Design (the chamber is a station resource): the step runs per DUT, and the first DUT to start it
// creates one controller per chamber that alone drives the chamber through the profile (holding
// the chamber's lock, step_context::async_lock, for the whole profile) and announces each phase.
// Every DUT follows the phases and samples its own module: in a dwell of length D that starts at
// t0 it samples at t0 + k·interval for k = 0 .. floor(D / interval) − 1, so a DUT records exactly
// cycles × Σ floor(D / interval) samples of each monitor reading (every monitor of every lane).
// DUTs start the step together when a station step precedes it (the runner's barrier); a DUT that
// joins during a dwell samples from then on. Stabilisation: the chamber air stays within ± within
// of the set point for `for` (checked every min(1 min, for / 5)); not stable by `timeout` aborts.
// Events (per DUT): each phase (soak_phase), a monitor leaving or re-entering its limit
// (soak_limit_excursion, alarm / soak_limit_recovered), an abort (soak_abort, fault). Results:
// `excursions.<monitor>` per lane (judged ≤ max_flaps), `drift_per_h.<monitor>` per lane (judged
// ≤ max_drift), `soak_samples` (sample instants taken).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

struct soak_controller;

class thermal_soak_step final : public step, public needs_devices {
 public:
  struct segment {
    std::optional<double> ramp_to;  // C
    double rate_c_per_s = 0;        // 0: set at once
    clock::duration dwell{};        // for a dwell
  };
  struct config {
    std::string chamber;
    std::string chamber_where;
    std::vector<segment> profile;
    int cycles = 1;
    clock::duration interval = std::chrono::minutes(10);
    double stable_within = 1.0;
    clock::duration stable_for = std::chrono::minutes(5);
    clock::duration stable_timeout = std::chrono::hours(4);
    std::optional<double> abort_dut_c, abort_chamber_c;
    std::map<std::string, limit> limits;  // monitor -> limit (base units; tx/rx power dBm)
    int max_flaps = 0;
    std::map<std::string, double> max_drift;  // monitor -> per hour (dB for tx/rx power)
    std::string where;
  };

  explicit thermal_soak_step(config c);
  ~thermal_soak_step() override;
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<device_need> required_devices() const override;
  const config& settings() const noexcept { return config_; }
  // Samples per monitor reading a DUT takes over the whole profile.
  long long samples_per_reading() const noexcept;

 private:
  config config_;
  mutable std::shared_ptr<soak_controller> controller_;  // while a soak runs
};

step_type thermal_soak_step_type();

}  // namespace hilt::seq
