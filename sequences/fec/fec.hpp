// fec: the FEC statistics of the switch-ASIC ports linked to the DUT, over a window.
//   - step: fec
//     window: 1 min              # how long to count (default 1 min)
//     mode: rs544                # optional: set the ports' FEC mode first (none | rs528 | rs544)
//     max_pre_fec_ber: 2.4e-4    # pre-FEC BER limit (default 2.4e-4, IEEE 802.3 KP4 PMDs)
//     max_uncorrectable: 0       # post-FEC: uncorrectable codewords allowed (default 0)
//     link_timeout: 10 s         # the link must be up within this (default 10 s)
//
// The ports are the ones the fixture's `links:` join to the DUT's host lanes (an error before the
// run when there is none). The step waits for every port's link to be up (no link by
// link_timeout: an event link_down naming the lanes without signal or CDR lock, measurement
// link_up = 0, the step fails — it never hangs), reads the counters, waits `window`, reads them
// again and judges the difference, summed over the DUT's ports:
//   fec_codewords, fec_correctable, fec_uncorrectable (judged <= max_uncorrectable),
//   fec_symbol_errors, fec_corrected_bits, pre_fec_ber (judged <= max_pre_fec_ber),
//   fec_codeword_errors_s0 .. s16 (the histogram; S(t+1) holds every codeword beyond t),
//   link_up (judged = 1: still up at the end, no loss of signal or lock during the window).
// pre_fec_ber = (corrected bits + (t+1) x uncorrectable codewords) / (codewords x n x 10):
// exact without uncorrectable codewords, a lower bound with them (their errors beyond t are not
// known). A counter that went backwards wrapped: an event counter_wrapped and a failed verdict
// (how many times it wrapped cannot be known; use a shorter window).
#pragma once

#include <string>
#include <vector>

#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/step_registry.hpp"
#include "hilt/step.hpp"

namespace hilt::seq {

class fec_step final : public step, public needs_links {
 public:
  struct config {
    clock::duration window = std::chrono::minutes(1);
    std::optional<fec_mode> mode;
    double max_pre_fec_ber = 2.4e-4;
    std::uint64_t max_uncorrectable = 0;
    clock::duration link_timeout = std::chrono::seconds(10);
    std::string where;
  };

  explicit fec_step(config c) : config_(std::move(c)) {}
  task<step_outcome> run(step_context& ctx) const override;
  std::vector<link_need> required_links() const override;
  const config& settings() const noexcept { return config_; }

 private:
  config config_;
};

step_type fec_step_type();

// The ASIC ports linked to a DUT's module (fixture links:), each once, in link order.
struct linked_port {
  switch_asic* asic = nullptr;
  int port = 0;
  std::string where;  // of the link
};
// Empty with `error` set when the module has no link or an ASIC is not open.
std::vector<linked_port> linked_ports(step_context& ctx, const managed_module& m,
                                      std::string& error);

// Counters over an interval: end − start per counter, summed over ports.
struct fec_window {
  std::uint64_t codewords = 0, correctable = 0, uncorrectable = 0, symbol_errors = 0,
                corrected_bits = 0;
  std::vector<std::uint64_t> histogram;
  int max_correctable = 0;
  fec_mode mode = fec_mode::none;
  bool wrapped = false;  // some counter went backwards
  std::vector<std::string> wrapped_counters;
  // (corrected bits + (t+1) x uncorrectable) / (codewords x symbols x 10); NaN without codewords.
  double pre_fec_ber() const noexcept;
};
// Adds end − start of one port to `w`.
void add_window(fec_window& w, const fec_counters& start, const fec_counters& end,
                std::string_view port_name);

}  // namespace hilt::seq
