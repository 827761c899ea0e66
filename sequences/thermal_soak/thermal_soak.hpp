// thermal_soak: a chamber temperature profile (ramps and dwells, repeated for temperature cycling)
// while every DUT's monitors are sampled into the samples table.
//   - step: thermal_soak
//     chamber: chamber1                    # required: a fixture thermal chamber
//     profile:                             # required, run in order, `cycles` times
//       - { ramp_to: 85 C, rate: 2 C/min } # set point moved at `rate` (C/min, C/h or C/s);
//                                          # no rate: at once
//       - { dwell: 1000 h }                # hold; samples are taken only in dwells
//     cycles: 1                            # default 1
//     interval: 10 min                     # sample period in dwells (default 10 min)
//     stabilize: { within: 1 C, for: 5 min, timeout: 4 h, dut: 2 C }  # after each ramp
//     abort: { temperature: 95 C, chamber: 100 C }          # DUT case / chamber air, optional
//     limits: { temperature: { max: 80 C } }                 # per monitor, judged at every sample
//     max_flaps: 0                         # limit excursions allowed per monitor and lane
//     max_drift: { tx_power: 0.01 dB }     # per hour, first to last sample (tx/rx power in dB)
//     flags: true                          # latched module flags as events (default true)
//     ber: { every: 24 h, gate: 10 s, pattern: PRBS31Q, side: media, max: 2.4e-4 }
//     max_post_fec_errors: 0               # uncorrectable codewords in any window (ASIC FEC)
//     post_fec_window: 1 h                 # the window (default 1 h)
//
// Design (the chamber is a station resource): the step runs per DUT, and the first DUT to start it
// creates one controller per chamber that alone drives the chamber through the profile (holding
// the chamber's lock, step_context::async_lock, for the whole profile) and announces each phase.
// Every DUT follows the phases and samples its own module: in a dwell of length D that starts at
// t0 it samples at t0 + k·interval for k = 0 .. floor(D / interval) − 1, so a DUT records exactly
// cycles × Σ floor(D / interval) samples of each monitor reading (every monitor of every lane).
// DUTs start the step together when a station step precedes it (the runner's barrier); a DUT that
// joins during a dwell samples from then on. Only the DUT touches its module, always from its own
// coroutine, so the module never sees two operations at once.
//
// Stabilisation, after each ramp (defaults within 1 C, for 5 min, timeout 4 h; no `dut`): the
// controller checks every `check` = min(1 min, for / 5). The chamber is stable once its air
// reading has been within ± within of the set point at ⌈for / check⌉ checks in a row. With `dut:
// D`, at every check each DUT in the step also reads its module's case temperature (the
// `temperature` monitor), and a DUT is steady once its last ⌈for / check⌉ + 1 readings (which
// span `for`) differ by at most D (max − min); the soak goes on when the chamber is stable and
// every DUT still in the step is steady. A DUT whose module reports no `temperature` does not
// hold it up. Not stable by `timeout` aborts the soak (soak_abort), naming the chamber or the DUT
// that moved most. A DUT whose temperature read fails leaves the step with a device error.
//
// Flags (`flags: true`, the default): at each sample the DUT's latched module flags are read (and
// so cleared: they are clear-on-read) and each flag that was not set at the previous read is one
// event: kind module_alarm (severity alarm) for `*_alarm` flags, faults, LOS and LOL (tx_fault,
// tx_los, rx_los, tx_cdr_lol, rx_cdr_lol, tx_adaptive_eq_fail, *firmware_error*); module_warning
// (severity warning) for `*_warn` and any other flag; the message names the flag, its monitor
// and lane and the monitor's value at that sample ("tx_power_low_alarm lane 3 raised (tx_power
// lane 3 = -9.12 dBm)"). A flag that goes away is an info event module_flag_cleared. State-change
// notifications (module_state_changed, dp_state_changed, output_status_rx_changed, cdb*) are not
// events. Flags do not change the verdict; limits do.
//   The flags come from managed_module::async_read_flags(); a module whose driver answers
//   not_supported gets one info event module_flags_unavailable and the soak goes on without
//   flags.
//
// Periodic BER (`ber:`): in each dwell starting at t0, a PRBS check starts at t0 + j·every (j =
// 0, 1, ...) when lock_timeout + gate still fit before the dwell ends. Generator and checker are
// enabled on the DUT's own module (side, pattern, lanes: as the ber step; lanes `all` by
// default), the checker must lock within lock_timeout (default 10 s), the counters at lock start
// the gate, and after `gate` (default 10 s) they are read again and the PRBS switched off. Per lane
// it stores ber_counts (bits, errors, gate, pattern) and the measurements `ber` (errors / bits,
// judged ≤ max when given) and `prbs_lock` (1 = locked through the gate, judged = 1). No lock is
// an event prbs_no_lock, a loss of lock during the gate an event prbs_lock_lost (both alarms), and
// either fails the lane. Samples go on at their instants during a check (taken a few ms late when
// a counter read is in progress). `every` must exceed lock_timeout + gate, and some dwell must
// hold one check.
//
// Post-FEC errors (`max_post_fec_errors: N`, `post_fec_window: 1 h` — the default): zero (or N)
// uncorrectable codewords in any window. They are counted by the switch ASIC the DUT's host
// lanes are linked to (fixture `links:`; a sequence without such a link is refused before the
// run), on the port(s) of those links, in the FEC mode the ports are in (set it first, e.g. a
// `set` step with `fec_mode: rs544`). At every sample instant the step reads the ports' FEC
// counters and stores the samples `fec_uncorrectable` (uncorrectable codewords since the first
// sample, summed over the ports) and `pre_fec_ber` (since the previous sample); new uncorrectable
// codewords are an event post_fec_errors (alarm). The count in a window ending at a sample is the
// growth since the last sample at least `post_fec_window` earlier (or the first sample), so
// windows are judged conservatively, up to one interval longer than asked. At the end the
// measurement `post_fec_errors_max_window` (the largest such count) is judged <= N. A counter that
// goes backwards (wrapped) is an event counter_wrapped and fails the soak's verdict; no codeword
// counted over the whole soak (FEC off, no signal) is an event fec_no_codewords and fails it too
// (zero errors out of nothing proves nothing).
//
// Events (per DUT): each phase (soak_phase), a monitor leaving or re-entering its limit
// (soak_limit_excursion, alarm / soak_limit_recovered), module flags (above), PRBS lock (above),
// an abort (soak_abort, fault). Results: `excursions.<monitor>` per lane (judged ≤ max_flaps),
// `drift_per_h.<monitor>` per lane (judged ≤ max_drift), `ber` / `prbs_lock` per check and lane,
// `soak_samples` (sample instants taken).
#pragma once

#include <functional>
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

class thermal_soak_step final : public step, public needs_devices, public needs_links {
 public:
  struct segment {
    std::optional<double> ramp_to;  // C
    double rate_c_per_s = 0;        // 0: set at once
    clock::duration dwell{};        // for a dwell
  };
  // Periodic PRBS checks in dwells (`ber:`).
  struct ber_check {
    clock::duration every{};
    clock::duration gate = std::chrono::seconds(10);
    clock::duration lock_timeout = std::chrono::seconds(10);
    prbs_pattern pattern = prbs_pattern::prbs31q;
    hilt::side side = side::media;
    std::vector<int> lanes;     // empty: all
    std::optional<double> max;  // BER limit per lane and check
    std::string where;          // file:line:col of `ber:`, the source of its limits
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
    std::optional<double> stable_dut;  // C: max spread of a DUT's case temperature over `for`
    std::optional<double> abort_dut_c, abort_chamber_c;
    std::map<std::string, limit> limits;  // monitor -> limit (base units; tx/rx power dBm)
    int max_flaps = 0;
    std::map<std::string, double> max_drift;  // monitor -> per hour (dB for tx/rx power)
    bool flags = true;
    std::optional<ber_check> ber;
    // Post-FEC (max_post_fec_errors / post_fec_window): uncorrectable codewords allowed in any
    // window, counted on the switch-ASIC ports linked to the DUT.
    std::optional<std::uint64_t> max_post_fec_errors;
    clock::duration post_fec_window = std::chrono::hours(1);
    std::string post_fec_where;
    std::string where;
  };

  explicit thermal_soak_step(config c);
  ~thermal_soak_step() override;
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<device_need> required_devices() const override;
  std::vector<link_need> required_links() const override;
  const config& settings() const noexcept { return config_; }
  // Samples per monitor reading a DUT takes over the whole profile.
  long long samples_per_reading() const noexcept;
  // PRBS checks a DUT runs over the whole profile (0 without `ber:`).
  long long ber_checks() const noexcept;
  // Stabilisation checks between two DUT temperature readings, and readings in a window.
  clock::duration stabilize_check() const noexcept;

 private:
  config config_;
  mutable std::shared_ptr<soak_controller> controller_;  // while a soak runs
};

step_type thermal_soak_step_type();

}  // namespace hilt::seq
