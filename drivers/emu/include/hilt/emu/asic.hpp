// The emulated switch ASIC (DESIGN.md rule 1): ports of SerDes lanes with SAI's PRBS, FEC,
// link-status and Tx FIR semantics (opencomputeproject/SAI inc/saiport.h;
// ../shared/reference/cmis-notes.md §7), behind the JSON-lines wire of docs/asic.md
// (handle(); served on TCP by the emulation's line_server at emu-tcp:NAME).
//
// Physics (drivers/emu/README.md "Switch ASICs"):
//  - A lane's receiver hears what the link graph (link_graph.hpp) brings it from the module host
//    lane it is linked to (electrical channel: serdes.hpp), or, with `loopback`, its own Tx
//    through a channel of `loopback_loss`; an unlinked lane without loopback hears nothing.
//    Signal detect = a signal arrives; CDR lock = its BER is below 1e-2. Both latch `changed`.
//  - PRBS (SAI_PORT_ATTR_PRBS_CONFIG / _PATTERN, per port): the generator sends the pattern on
//    every lane of the port (otherwise the lane sends data); a checker locks on a lane only while
//    the same pattern arrives with CDR lock; while locked, bits advance at the lane rate and
//    errors ~ Poisson(bits x BER), seeded per lane. Lock lost (or never gained) latches until the
//    next read of the counters. Enabling the checker restarts its counters.
//  - FEC (SAI_PORT_ATTR_FEC_MODE_EXTENDED): while the port is up (every lane CDR-locked) it
//    decodes codewords at port bit rate / 5440 per second (RS(544,514), IEEE 802.3 cl.91/119) or
//    / 5280 (RS(528,514)), from the mean pre-FEC BER p of its lanes: symbol error probability
//    ps = 1 - (1 - p)^10 (10-bit symbols), codeword histogram S0..S(t+1) ~ multinomial(N,
//    Binomial(n, ps) pmf with the tail above t = 15 (RS-544) / 7 (RS-528) lumped in S(t+1)), drawn
//    as sequential conditional binomials (exact inversion below a mean of 64, a rounded normal
//    above). A port that is down decodes nothing (no codewords are counted). Counters are
//    `counter_bits` wide and wrap.
//  - Power = idle + per active lane (a lane of a port whose PRBS generator runs or whose FEC mode
//    is set: carrying traffic); die temperature = ambient (the world's, or its chamber's) + power
//    x thermal resistance, first-order lag.
//  - Everything is evaluated lazily from world time on access (no timers): a port is counted up
//    to now when it is read, every port when anything that changes a condition is applied; a
//    minute of PRBS on 512 lanes costs one evaluation per lane. The codeword distribution is
//    cached per port while its BER stays the same.
//
// Thread-safe: every public method takes the world's coupling lock (world.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/emu/link_graph.hpp"
#include "hilt/emu/world.hpp"

namespace hilt::emu {

struct asic_options {
  std::string vendor = "HILT";
  std::string model = "EMU-ASIC-51T2";  // what `info` reports
  std::string serial = "ASIC0001";
  std::string firmware = "1.0.0";
  std::vector<hilt::asic_port_group> port_groups{{1, 64, 8, 106.25e9}};
  int counter_bits = 64;  // statistics counters wrap modulo 2^counter_bits (8..64)
  double idle_w = 180;    // power with no active lane
  double lane_w = 0.25;   // per active lane
  double thermal_resistance_c_per_w = 0.08;  // die rise per W (heat sink included)
  double thermal_time_constant_s = 20;
  bool loopback = false;         // unlinked lanes hear their own Tx (a loopback plug in each cage)
  double loopback_loss_db = 10;  // that plug's channel loss at Nyquist
  // Faults: ports whose PRBS checker never locks; ports whose lanes' pre-FEC BER is forced (a
  // signal with that BER arrives even on an unlinked lane: the port's own pattern).
  std::set<int> no_lock_ports;
  std::map<int, double> forced_ber;
  std::string label;  // "asic0"
};

// A named preset ("51t2": 64 x 8 lanes at 106.25 Gb/s; "25t6": 64 x 8 at 53.125 Gb/s; "12t8":
// 32 x 8 at 53.125 Gb/s): ports, lane rate, model string and power figures. nullopt: unknown.
std::optional<asic_options> asic_preset(std::string_view name);
std::vector<std::string> asic_preset_names();

class emulated_asic : public std::enable_shared_from_this<emulated_asic> {
 public:
  using time_point = world::time_point;

  emulated_asic(std::shared_ptr<const world> w, asic_options opts, std::uint64_t seed);

  // One request line of docs/asic.md; returns the reply line (never throws; bad input answers
  // {"ok":false,"status":...,"message":...}).
  std::optional<std::string> handle(std::string_view line);

  // --- The model (ports and lanes 1-based; callers check has_port / lanes_of first) ----------
  const asic_options& options() const noexcept { return opts_; }
  bool has_port(int port) const noexcept;
  int lanes_of(int port) const noexcept;         // 0: no such port
  double lane_rate_of(int port) const noexcept;  // b/s, 0: no such port
  int total_lanes() const noexcept;

  void set_prbs(int port, hilt::prbs_pattern pattern, hilt::prbs_config config);
  void set_prbs_pattern(int port, hilt::prbs_pattern pattern);
  void set_prbs_config(int port, hilt::prbs_config config);
  hilt::prbs_pattern prbs_pattern(int port);
  hilt::prbs_config prbs_config(int port);
  // Per lane since the checker was enabled; clears the latched lock_lost.
  std::vector<hilt::prbs_lane_status> prbs_read(int port);
  void set_fec_mode(int port, hilt::fec_mode mode);  // clears the port's FEC counters
  hilt::fec_mode fec_mode(int port);
  hilt::fec_counters fec_read(int port);  // each counter modulo 2^counter_bits
  void clear_fec(int port);
  // Current status per lane; the `changed` latches (signal_lost / lock_lost here: SAI's changed
  // bit) are cleared by the read.
  hilt::asic_link_status link_status(int port);
  // The same, clearing only the latches asked for (a get of one SAI attribute clears its own).
  hilt::asic_link_status link_status(int port, bool clear_signal, bool clear_lock);
  // Tx FIR of one lane: applies quantise_fir(taps) (callers check fir_valid) and returns it.
  hilt::tx_fir set_tx_fir(int port, int lane, const hilt::tx_fir& taps);
  hilt::tx_fir tx_fir(int port, int lane);
  double die_temperature_c();
  double power_w();
  std::string describe();  // "asic0 EMU-ASIC-51T2 ports=64 lanes=512 prbs=2 fec=1 up=3 power=..."

  // --- For the link graph ------------------------------------------------------------------
  void attach_links(std::shared_ptr<const link_graph> g);
  // What the lane transmits now (the port's PRBS pattern while its generator runs, else data).
  line_signal lane_output(int port, int lane) const;
  hilt::tx_fir lane_taps(int port, int lane) const;
  // Counts every checker and FEC counter up to `now` under the present conditions.
  void settle(time_point now);
  // Test backdoor: force (or release, nullopt) the pre-FEC BER of every lane of `port`.
  void force_ber(int port, std::optional<double> ber);

 private:
  struct lane_state {
    hilt::tx_fir taps;
    bool locked = false;
    bool lock_lost = false;  // latched: lost, or never gained, since the last read
    std::uint64_t bits = 0, errors = 0;
    double bit_residue = 0;  // fraction of a bit carried between intervals
    bool sd = false, cdr = false;
    bool sd_changed = false, cdr_changed = false;
    std::uint64_t rng = 0;
  };
  struct port_state {
    int lanes = 0;
    double lane_rate = 0;
    hilt::prbs_pattern pattern = hilt::prbs_pattern::prbs31;
    hilt::prbs_config config = hilt::prbs_config::disable;
    hilt::fec_mode fec = hilt::fec_mode::none;
    std::vector<std::uint64_t> hist;  // S0..S16, true counts (wrapped when reported)
    std::uint64_t symbol_errors = 0, corrected_bits = 0;
    double cw_residue = 0;
    std::uint64_t fec_rng = 0;
    std::optional<double> forced_ber;
    bool no_lock = false;
    time_point t{};  // counted up to here
    // Codeword-draw cache: conditional bin probabilities for (pmf_ber, pmf_mode).
    double pmf_ber = -1;
    hilt::fec_mode pmf_mode = hilt::fec_mode::none;
    std::vector<double> cond;
    double excess_bits = 0;
    std::vector<lane_state> lane;
  };

  port_state* port_ptr(int port) noexcept;
  const port_state* port_ptr(int port) const noexcept;
  bool rx_enabled(const port_state& p) const noexcept;
  bool tx_enabled(const port_state& p) const noexcept;
  // What arrives at a lane's receiver at `at`.
  line_signal lane_input(int port, int lane, time_point at) const;
  void update_status(lane_state& l, const line_signal& s);
  void count_port(int port, port_state& p, time_point a, time_point b);
  void settle_port(int port, time_point now);  // one port's counters up to now
  void draw_fec(port_state& p, double ber, double codewords);
  double heat_w() const noexcept;
  double temperature_at(time_point t) const noexcept;
  void settle_thermal(time_point t);
  void before_change(time_point now);  // settle the whole graph (or just us)
  std::string handle_locked(std::string_view line);

  std::shared_ptr<const world> world_;
  asic_options opts_;
  std::uint64_t seed_;
  std::vector<port_state> ports_;  // index = port - 1 (gaps between groups have lanes = 0)
  std::shared_ptr<const link_graph> graph_;
  int depth_ = 0;  // > 0 while evaluating: queries answer from the current state
  time_point thermal_t0_{};
  double thermal_t0_c_ = 25;
};

}  // namespace hilt::emu
