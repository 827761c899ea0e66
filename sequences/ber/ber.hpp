// ber: bit error ratio per lane with PRBS, stopped as soon as the answer is known.
//   - step: ber
//     pattern: PRBS-31Q         # CMIS Table 8-115 name (default PRBS-31Q)
//     side: media               # host | media (default media)
//     lanes: all                # all (default), 3, "1-4", [1, 2]
//     target: 1e-12             # required: the BER to demonstrate (0 < target < 0.5)
//     confidence: 95 %          # default 95 %; also a plain fraction (0.95)
//     max_time: 10 min          # give up after this long in gate (default 10 min): not proven
//                               #   = fail
//     lock_timeout: 10 s        # checker lock (default 10 s): no lock = fail + event
//     poll: 1 s                 # shortest interval between counter reads (default 1 s)
//     judge: true               # false: BER measured and stored, not judged (a waterfall
//                               #   point); lock is still judged
//     generator: module         # module (default) | asic | far_module | far_asic (Ends below)
//     checker: module           # module (default) | asic | far_module | far_asic
//
// The generator and checker are enabled together on the DUT's own module (for the media side the
// light goes out on the module's Tx and back in on its Rx; for the host side the host echoes it).
// The step waits for every lane's checker to lock, takes the counters at that moment as the start
// of the gate, then reads them in harness time until, on every lane, either
//   - "BER ≤ target at confidence CL" is proven (Poisson, ber_stats.hpp), or
//   - the target is clearly violated (the lower confidence bound exceeds it), or
//   - the lane lost lock (an event of kind prbs_lock_lost; the lane fails), or
//   - max_time is over (the lane is not proven: it fails).
// Reads are spaced by the time the slowest lane still needs (at least `poll`, at most the time
// already gated, so a read comes at the latest when the gate has doubled), so a 1e-12 test costs a
// handful of reads and, in virtual time, no wall time.
// Results per lane: ber_counts (bits, errors, gate, pattern), measurements `ber` (errors/bits),
// `ber_upper` (the upper confidence bound, judged ≤ target: the lane's verdict) and `prbs_lock`
// (1 = locked through the gate, judged = 1). Generator and checker are switched off at the end.
//
// Lanes `all`: host side, lane_count(); media side, the widest application's media lanes from the
// DUT's identity (identify step), else lane_count().
//
// Ends (issue 7): `generator:` and `checker:` each one of
//   module      the DUT's module, on `side` (default for both)
//   asic        the switch-ASIC ports linked to the DUT's host lanes (fixture links:); SAI
//               semantics, a port's PRBS covers all its lanes. Results are stored per DUT host
//               lane (side host), the ASIC lane mapped through the link; `lanes:` are host lanes.
//   far_module  the module at the other end of the DUT's fiber (media side, lanes 1:1); held
//               (step_context::async_lock) for the test. Used as it is: bring it up in setup.
//   far_asic    the switch-ASIC ports linked to that far module's host lanes (a checker's
//               results are stored per far-module host lane)
// so a sequence tests the electrical host link (asic -> module host checker), the whole link
// (asic -> module -> loopback -> asic, or over a fiber pair far_asic -> far module -> fiber ->
// module -> asic), a transmitter (module -> far_module) or a receiver
// (far_module -> module, the rx-sensitivity test). A module generator feeding another device's
// checker drives every lane of its side. `side` applies only to a module end; with a far_module
// end it must be media. Missing links are found before the run (needs_links).
//
// Design: the pattern source and the checker are two prbs_end objects; the statistics and the
// recording do not depend on which devices they are.
#pragma once

#include <string>
#include <vector>

#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class ber_step final : public step, public needs_links {
 public:
  enum class end_kind { module, asic, far_module, far_asic };
  struct config {
    prbs_pattern pattern = prbs_pattern::prbs31q;
    hilt::side side = side::media;
    std::vector<int> lanes;  // empty: all
    double target = 0;
    double confidence = 0.95;
    clock::duration max_time = std::chrono::minutes(10);
    clock::duration lock_timeout = std::chrono::seconds(10);
    clock::duration poll = std::chrono::seconds(1);
    std::string where;  // file:line:col of the step, the source of the BER limit
    bool judge = true;  // false: BER recorded (and early-stopped) but not judged; lock still is
    end_kind generator = end_kind::module;
    end_kind checker = end_kind::module;
    std::string generator_where, checker_where;  // of the options (else the step's)
  };

  explicit ber_step(config c) : config_(std::move(c)) {}
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<link_need> required_links() const override;
  const config& settings() const noexcept { return config_; }

 private:
  config config_;
};

step_type ber_step_type();

// The widest application's media lane count in identity.extra["applications"] (the cmis driver's
// "11/1c 8x4, 0d/14 2x1"), 0 when unknown or id is null.
int media_lane_count(const identity* id);

}  // namespace hilt::seq
