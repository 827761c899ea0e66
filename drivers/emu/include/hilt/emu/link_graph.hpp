// The link graph: the cabling of an emulated bench (a fixture's `links:`, hilt/links.hpp) as
// physics. It joins emulated switch ASICs (asic.hpp), emulated modules and CPO engines
// (cmis_module.hpp) and attenuators (voa_server.hpp) into the chain
//
//   ASIC SerDes -> module host input -> module media Tx -> fiber / attenuator / loopback plug
//     -> far module media Rx -> far module host output -> far ASIC SerDes
//
// and answers, for a receiver, what arrives at it: light (received optical power) and the signal
// it carries (a PRBS pattern or data, and the impairments accumulated upstream). Each device
// computes its own segment (docs: drivers/emu/README.md "Links"):
//
//  - electrical segment (ASIC <-> module host lane): Q from the SerDes channel model (serdes.hpp)
//    with the transmitter's Tx FIR taps (the ASIC lane's, or a module's fixed default_fir()) and
//    the link's loss at Nyquist;
//  - optical segment (module media Tx -> module media Rx): Q = Q(reference_ber) x P_rx /
//    P_sensitivity of the RECEIVING module, with its hot penalty and BER floor (cmis_link.hpp),
//    P_rx = far Tx power - fiber loss - attenuator path loss (insertion + attenuation; a closed
//    shutter passes nothing);
//  - a DSP module retimes: the errors of separate segments add (BER_total = sum of segment BERs);
//    a linear (LPO, profile `linear: true`) module does not: the noise of the segments it joins
//    adds as 1/Q^2 = sum 1/Q_i^2;
//  - a CPO engine (profile `laser_source`) takes its Tx light from its ELSFP, so its optical BER
//    rises as that laser is turned down and nothing arrives when the laser lane is off.
//
// Without a graph, or for a lane no link names, a module keeps its default loopback (each media
// lane hears its own Tx through `rx_loss`, the host checker its own host generator) with exactly
// the numbers it had before links existed.
//
// Time and locking: every query runs under the world's coupling lock (world.hpp), which every
// linked device takes instead of a lock of its own. A device asked while it is itself evaluating
// (it asked the graph, the graph asked it back) answers from its current state without advancing.
// settle(now) brings every linked device's checkers and counters up to `now` under the old
// conditions; whatever changes a condition upstream (an attenuator setting, ASIC taps or PRBS
// configuration, a module's controls) calls it before the change is applied.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/links.hpp"

namespace hilt::emu {

class cmis_module;
class emulated_asic;
class voa_emulator;

// What travels on one lane at one instant.
struct line_signal {
  bool present = false;                       // a modulated signal arrives (PRBS or data)
  std::optional<hilt::prbs_pattern> pattern;  // the PRBS it carries; nullopt: data / idle
  double ber = 0;                             // accumulated from retimed segments (their BERs add)
  double inv_q2 = 0;  // accumulated 1/Q^2 of the linear segments since the last retimer
  // The BER a receiver sees: ber + BER(Q = 1/sqrt(inv_q2)), at most 0.5; 0.5 without a signal.
  double total_ber() const noexcept;
  // What a retimer (a DSP, a SerDes CDR) passes on: the same pattern, every error so far as a
  // fixed BER, no linear noise.
  line_signal retimed() const noexcept;
};

// Light leaving a module's media transmitter.
struct optical_emission {
  double tx_mw = 0;    // launched optical power (0: dark)
  line_signal signal;  // what it carries
};

// Light at a module's media receiver.
struct optical_arrival {
  double rx_mw = 0;    // received optical power
  line_signal signal;  // what the far transmitter sent (its segment's noise not yet added)
};

class link_graph : public std::enable_shared_from_this<link_graph> {
 public:
  using time_point = world::time_point;
  // Name -> device, for the ends a link names (null: no such emulated device).
  struct resolver {
    std::function<std::shared_ptr<cmis_module>(std::string_view)> module;       // "port1@0x50"
    std::function<std::shared_ptr<emulated_asic>(std::string_view)> asic;       // "asic0"
    std::function<std::shared_ptr<voa_emulator>(std::string_view)> attenuator;  // "voa1"
  };

  // Resolves and validates every link; throws hilt::config_error at the link's `where` for an end
  // the emulation does not have, a port or lane out of range for that ASIC or module, a lane used
  // twice, or lane counts that differ.
  link_graph(const hilt::link_map& links, const resolver& r);

  // --- Queries (module lanes 0-based, ASIC ports and lanes 1-based) -----------------------------
  bool media_linked(const cmis_module* m, int media_lane) const noexcept;
  bool host_linked(const cmis_module* m, int host_lane) const noexcept;
  bool asic_linked(const emulated_asic* a, int port, int lane) const noexcept;
  // Light and signal at a module's media receiver (nothing when the lane has no link).
  optical_arrival media_input(const cmis_module* m, int media_lane, time_point at) const;
  // The signal at a module's host input from the ASIC lane linked to it, with the electrical
  // channel's noise added (present = false when the lane has no link).
  line_signal host_input(const cmis_module* m, int host_lane, time_point at) const;
  // The signal at an ASIC lane's receiver from the module host lane linked to it, with the
  // electrical channel's noise added (present = false when the lane has no link).
  line_signal asic_input(const emulated_asic* a, int port, int lane, time_point at) const;

  // Every linked device's checkers and counters counted up to `now` under the present conditions.
  void settle(time_point now) const;
  // The devices the graph joins (for connect() and tests).
  std::vector<std::shared_ptr<cmis_module>> modules() const;
  std::vector<std::shared_ptr<emulated_asic>> asics() const;

 private:
  struct electrical_end {
    std::weak_ptr<emulated_asic> asic;
    int port = 0, lane = 0;  // 1-based
    std::weak_ptr<cmis_module> module;
    int host_lane = 0;  // 0-based
    double loss_db = 10;
  };
  struct optical_end {
    std::weak_ptr<cmis_module> far;  // the transmitter this receiver hears (itself: loopback)
    int far_lane = 0;                // 0-based
    double loss_db = 0;
    std::weak_ptr<voa_emulator> attenuator;  // in this direction, or none
  };
  struct module_links {
    std::vector<std::optional<optical_end>> media;  // per media lane: what its receiver hears
    std::vector<std::optional<std::size_t>> host;   // per host lane: index into electrical_
  };

  std::vector<electrical_end> electrical_;
  std::unordered_map<const cmis_module*, module_links> modules_;
  std::map<std::tuple<const emulated_asic*, int, int>, std::size_t> asic_lanes_;
  std::vector<std::weak_ptr<cmis_module>> module_list_;
  std::vector<std::weak_ptr<emulated_asic>> asic_list_;
};

}  // namespace hilt::emu
