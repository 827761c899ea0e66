// measure: reads the DUT's monitors and records one measurement per matching reading (per lane and
// side, with its unit), each judged against the step's limit.
//   - step: measure
//     monitor: tx_power                 # required; see known_monitors() (hilt/seq/limits.hpp)
//     lanes: all                        # per-lane monitors only: all (default), 3, [1, 2], "1-4"
//     side: media                       # host | media (default: both)
//     limit: { min: -6 dBm, max: 4 dBm, marginal: 1 dB }
//     # or a named limit from the sequence's limit sets, chosen by the DUT's part number:
//     #   limit_ref: tx_power          (the same as  limit: ${limits.tx_power})
//
// Values are recorded in base units (A, W, C, V, dBm, ...), see hilt/seq/limits.hpp. A monitor the
// module does not report, or a requested lane it does not report, is a step error whose message
// lists what the module does report.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/seq/limit_sets.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class measure_step final : public step {
 public:
  struct config {
    std::string monitor;
    std::vector<int> lanes;                        // empty: every lane the module reports
    std::optional<hilt::side> side;                // empty: every side
    std::optional<hilt::limit> limit;              // written in the sequence
    std::shared_ptr<const limit_ref> named_limit;  // or chosen per DUT from the limit sets
  };

  explicit measure_step(config c) : config_(std::move(c)) {}
  task<step_outcome> run(step_context& ctx) const override;
  const config& settings() const noexcept { return config_; }

 private:
  config config_;
};

step_type measure_step_type();

}  // namespace hilt::seq
