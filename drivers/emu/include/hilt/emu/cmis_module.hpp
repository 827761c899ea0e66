// An emulated CMIS 5.x module behind an emulated I2C bus (DESIGN.md rule 1).
//
// Memory map (OIF-CMIS 5.x §8): lower memory 0-127 plus 128-byte upper pages selected by
// BankSelect (00h:126) and PageSelect (00h:127): pages 00h, 01h, 02h; per bank (one bank per 8
// lanes, up to 4, advertised in 01h:142 bits 1-0) pages 10h and 11h, and 13h/14h when the profile
// has PRBS; VDM pages 20h/24h/28h/2Ch/2Dh/2Fh (bank 0) when it has VDM; an ELSFP (identifier 22h)
// has pages 1Ah/1Bh instead of the lane pages. Page checksums 00h:222, 01h:255 and 02h:255 are
// always correct: they are recomputed whenever their page changes.
//
// Access rules (stricter than many real modules, so that driver bugs show up as NACKs):
//  - a read or a write must stay within lower memory (0-127) or within the upper page (128-255);
//  - a write carries at most 8 data bytes (§5.2.2.2);
//  - an access to the upper half while BankSelect/PageSelect name a page this module does not
//    have is NACKed (the select write itself is accepted and reads back);
//  - writes to read-only bytes are accepted and ignored;
//  - during MgmtInit (after power-on with boot: cold, after SoftwareReset, or after its Vcc came
//    back) every access is NACKed, like a real module whose management interface is not up yet;
//  - without Vcc (set_powered(false): its supply output is off) every access is NACKed.
//
// Module State Machine (§6.3.2): MgmtInit -> ModuleLowPwr -> ModulePwrUp -> ModuleReady, and
// ModuleReady -> ModulePwrDn -> ModuleLowPwr when LowPwrS = LowPwrRequestSW (26.4) OR
// (LowPwrAllowRequestHW (26.6) AND the LPMode pin) and every data path is DPDeactivated
// (LowPwrExS); ModuleFault from any state (fault injection).
//
// Data Path State Machine per host lane (§6.3.3): DPDeactivated -> DPInit -> DPInitialized ->
// DPTxTurnOn -> DPActivated while DPDeinitS is false (DPDeinit bit 10h:128 clear, ModuleReady, no
// LowPwrS, a configured application), and back through DPTxTurnOff -> DPInitialized -> DPDeinit ->
// DPDeactivated, each transient state taking the profile's duration. AppSel staging in SCS0
// (10h:145-152), ApplyDPInit (10h:143) / ApplyImmediate (10h:144) with ConfigStatus (11h:202-205),
// the active control set (11h:206-213) and DPInitPending (11h:235). DPStateChanged (11h:134)
// latches on every entry into DPDeactivated, DPInitialized or DPActivated.
//
// Everything is evaluated lazily from the world's time on every access (no timers), in time order
// — every timed transition due since the last access is applied at its own instant — so it runs in
// virtual time: a 1 h PRBS gate costs one evaluation.
//
// Flags: module flags 00h:8-11 and lane flags 11h:134-153 latch and clear on read (re-latching at
// once while their condition persists); temperature, Vcc, Tx power, Tx bias and Rx power flags are
// raised against the page 02h thresholds as stored. IntL (00h:3.0) is asserted while an unmasked
// module flag (masks 00h:31-36) or any lane flag is set.
//
// Power (set_powered, driven by the power rail the module sits on — power_rail.hpp): losing Vcc
// is being pulled from the cage. The module stops answering (every access NACKed), its state
// machines, monitors, PRBS counters and lasers stop, it dissipates nothing (its case cools toward
// ambient) and every volatile byte is lost. Vcc coming back is a power-on reset (CMIS 5.x §6.3.2:
// ResetS = VccReset OR ResetL OR SoftwareReset, and the MSM leaves Reset through MgmtInit),
// exactly as a cold boot: MgmtInit for `mgmt_init` (accesses NACKed), then ModuleLowPwr with
// every control at its default, staying there while LowPwrS holds it (the LPMode pin, with
// LowPwrAllowRequestHW at its default 1) and going on to ModulePwrUp / ModuleReady otherwise.
// Data paths start DPDeactivated (then follow their default controls), PRBS is off, the VDM
// freeze is released, a ModuleFault is gone (a power cycle is the host's recovery from it).
// The non-volatile part of the memory map (identity, advertising, thresholds, a loaded image)
// stays.
//
// Monitors come from the world model: case temperature = ambient + dissipation x thermal
// resistance with a first-order lag; Vcc with seeded noise; per media lane Tx bias and Tx power
// (falling with temperature and laser aging; zero unless the lane's data path is DPActivated, its
// Tx is enabled and its laser is alive), Rx power = own Tx power minus a loopback loss. A CPO
// engine (profile laser_source) takes its light from an emulated ELSFP on the same bus.
//
// PRBS (pages 13h/14h): generators and checkers per lane on the host and media sides, patterns
// as advertised; a media checker locks on its own lane's media generator through the loopback
// fiber, a host checker on its own lane's host generator (the emulated host echoes it back, as
// through a host-side loopback). Bits and errors are counted lazily: errors ~ Poisson(bits x BER)
// with the BER from cmis_link.hpp, seeded per lane. Loss of lock latches 14h:138/139 and sets the
// pattern-sync-loss bit (LSB of the bit counters); gating per 13h:177.
//
// Links (link_graph.hpp): once the emulation hands it a link graph, a lane that a link names
// hears what the graph brings it instead of its default loopback — a media receiver the light of
// the far transmitter (through fiber, attenuator or loopback plug), a host input the ASIC lane
// linked to it. The module in turn tells the graph what it transmits: per media lane its Tx power
// and the data it carries (its media generator, else what its host input brings — retimed by a
// DSP, passed on with its noise by a linear module), per host lane toward the ASIC (its host
// generator, else what its media receiver brings). Lanes no link names behave exactly as without
// a graph.
//
// Locking: the module takes its world's coupling lock (world.hpp), shared by every device that
// takes part in links, instead of a mutex of its own. Lock order: supply -> rail -> coupling lock
// -> chamber. While it evaluates itself (advance, PRBS counting) a graph query that comes back to
// it is answered from its current state (a depth counter), never by advancing it again.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/link_graph.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/emu/world.hpp"

namespace hilt::emu {

// Module states as encoded in 00h:3 bits 3-1 (CMIS 5.x Table 8-7), plus MgmtInit which is not
// observable on the wire.
enum class msm_state : std::uint8_t {
  mgmt_init = 0,
  low_pwr = 1,
  pwr_up = 2,
  ready = 3,
  pwr_dn = 4,
  fault = 5,
};
const char* to_string(msm_state s) noexcept;

// Data path states as encoded in 11h:128-131 (CMIS 5.x Table 8-94).
enum class dp_state : std::uint8_t {
  deactivated = 1,
  init = 2,
  deinit = 3,
  activated = 4,
  tx_turn_on = 5,
  tx_turn_off = 6,
  initialized = 7,
};
const char* to_string(dp_state s) noexcept;

struct cmis_module_options {
  std::string serial;       // overrides the profile's serial number when not empty
  bool lpmode_pin = false;  // LowPwrRequestHW / LPMode pin asserted
  bool cold_boot = false;   // false: powered long before the run (settled); true: power-on now
  double rx_loss_db = 2.0;  // loopback loss from each lane's Tx to its Rx
  std::string label;        // for describe() and laser-source lookup: "port1@0x50"
  std::optional<module_faults> faults;  // replaces the profile's faults when set
};

class cmis_module final : public i2c_target_device,
                          public std::enable_shared_from_this<cmis_module> {
 public:
  cmis_module(std::shared_ptr<const world> w, module_profile profile, cmis_module_options opts,
              std::uint64_t seed);
  ~cmis_module() override;

  // i2c_target_device (thread-safe).
  std::error_code on_write(std::span<const std::uint8_t> bytes) override;
  std::error_code on_read(std::span<std::uint8_t> out) override;
  std::error_code on_transfer(std::span<const std::uint8_t> write,
                              std::span<std::uint8_t> read) override;

  // Observation and control outside the wire: for the world model, tests and safety checks.
  msm_state state();
  dp_state data_path_state(int host_lane);  // 1-based
  bool lasers_on();                         // any media lane emitting (an ELSFP: any laser lane on)
  double case_temperature_c();              // the model's value now
  double dissipation_w();
  void set_lpmode_pin(bool asserted);
  // Vcc on or off (the world model's power rail calls it; tests may too). Off: the module is
  // unpowered from now on (every access NACKed, dissipation 0, volatile state lost; state() says
  // MgmtInit, where it will start). On: power-on reset from now. Idempotent.
  void set_powered(bool on);
  bool powered();
  // The link model's BER for a lane now (1-based; side media or host): what a checker counts.
  double link_ber(int lane, bool media);
  // An ELSFP's laser lane output now, in mW (0 when off, ramping counts as off); 0 for others.
  double laser_output_mw(int lane);
  // "port1@0x50 state=ModuleReady lasers=on tx_disable=0x00 pn=... sn=...";
  // "port1@0x50 state=Unpowered lasers=off pn=... sn=..." without Vcc.
  std::string describe();

  // --- Links (link_graph.hpp) ----------------------------------------------------------------
  // Joins the module to a link graph (null: back to the default loopbacks).
  void attach_links(std::shared_ptr<const link_graph> g);
  // What media lane `media_lane` (0-based) transmits at `at`: Tx power and the signal.
  optical_emission media_output(int media_lane, world::time_point at);
  // What host lane `host_lane` (0-based) sends toward the ASIC at `at`.
  line_signal host_output(int host_lane, world::time_point at);
  // Advances the module and counts its PRBS checkers up to `now`.
  void settle_links(world::time_point now);

  const module_profile& profile() const noexcept { return profile_; }
  const std::string& label() const noexcept { return opts_.label; }
  const module_faults& faults() const noexcept { return faults_; }
  static constexpr int max_banks = 4;

  // Backdoor for tests: writes bytes straight into the memory map (no access rules, no register
  // side effects). offset 0-127 is lower memory; 128-255 is the upper half of (bank, page).
  // With fix_checksums the page checksums are recomputed; without, a test can corrupt them.
  // Returns false when the page does not exist or the range leaves its half.
  bool poke(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
            std::span<const std::uint8_t> bytes, bool fix_checksums = true);
  // Reads bytes straight from the memory map (no side effects); false like poke().
  bool peek(std::uint8_t bank, std::uint8_t page, std::uint8_t offset, std::span<std::uint8_t> out);
  // Replaces lower memory and upper page 00h by a 256-byte image (optoe offsets 0-255, e.g. a real
  // module dump) and drops every other page: only lower memory and page 00h remain, as in a
  // flat-memory module when the image says so (00h:2.7). Checksums are kept as in the image. The
  // state machine keeps running; 00h:3 and 00h:26 keep their meaning. A non-CMIS image (SFF-8636)
  // is served as it is: no CMIS lower-memory semantics, bytes 86, 93 and 127 writable.
  void load_image(std::span<const std::uint8_t> image256);

 private:
  using time_point = world::time_point;
  using page_bytes = std::array<std::uint8_t, 128>;
  static constexpr int max_lanes = 32;

  struct lane_dp {
    dp_state state = dp_state::deactivated;
    time_point since{};
  };
  struct checker {
    bool enabled = false;
    bool locked = false;
    bool lol_latched = false;  // 14h:138/139, cleared on read
    bool sync_lost = false;    // pattern sync loss since the counters were reset (bit LSB)
    std::uint64_t bits = 0, errors = 0;  // running (current gate)
    std::uint64_t frozen_bits = 0, frozen_errors = 0;
    bool frozen_psl = false;
    std::uint64_t gated_bits = 0, gated_errors = 0;  // last completed gate
    bool gated_psl = false;
    bool gate_done = false;  // stopped counting (one-shot gate completed)
    time_point t{};          // counted up to here
    time_point gate_start{};
    std::uint64_t rng = 0;
  };
  struct pending_apply {
    bool active = false;
    time_point at{};
    std::uint8_t lanes = 0;
  };

  // Memory map.
  page_bytes* page_ptr(std::uint8_t bank, std::uint8_t page) noexcept;
  const page_bytes* page_ptr(std::uint8_t bank, std::uint8_t page) const noexcept;
  page_bytes& add_page(std::uint8_t bank, std::uint8_t page);
  void build_memory_map();
  void build_prbs_pages();
  void build_vdm_pages();
  void build_elsfp_pages();
  void default_lane_config(page_bytes& p10, int bank);
  void fix_checksum(std::uint8_t page) noexcept;
  void reset_volatile(time_point now);
  void lose_power(time_point now);  // everything volatile is gone; MgmtInit at power-on
  std::uint8_t byte10(int host_lane, int offset) const noexcept;  // page 10h of the lane's bank

  // Time: every timed transition due up to `now`, in order.
  void advance(time_point now);
  std::optional<time_point> next_event(time_point now);
  void enter(msm_state s, time_point at);
  void enter_dp(int lane, dp_state s, time_point at);
  void conditions_changed(time_point at);
  bool low_pwr_s() const noexcept;
  bool dp_deinit_s(int host_lane) const noexcept;
  bool all_dp_deactivated() const noexcept;
  void complete_apply(int bank, time_point at);

  // Physics (callers hold the coupling lock).
  double dissipation_for(msm_state s) const noexcept;
  double heat_w() const noexcept;  // dissipation now: 0 without Vcc
  void settle_thermal(time_point at);
  double temperature_at(time_point at) const noexcept;
  int host_of_media(int media_lane) const noexcept;
  bool lane_dark(int media_lane, time_point at) const noexcept;
  double aging_db(time_point at) const noexcept;
  bool lane_tx_enabled(int media_lane, time_point at) const noexcept;
  double lane_tx_power_mw(int media_lane, time_point at);
  double lane_rx_power_mw(int media_lane, time_point at);
  double media_ber(int media_lane, time_point at);
  double host_ber(int host_lane, time_point at) const;
  double laser_lane_mw(int lane, time_point at) const noexcept;  // ELSFP, callers hold the lock
  bool laser_lane_on(int lane, time_point at) const noexcept;
  std::shared_ptr<cmis_module> laser_source();
  // Links: what arrives at a media receiver (the graph's light, or the own-Tx loopback), the
  // signal after this module's optical receiver, what a host input hears, what a media lane
  // sends. Callers hold the coupling lock.
  bool media_link(int media_lane) const noexcept;
  bool host_link(int host_lane) const noexcept;
  optical_arrival media_arrival(int media_lane, time_point at);
  line_signal optical_receive(int media_lane, time_point at, double& rx_mw);
  line_signal host_arrival(int host_lane, time_point at);
  line_signal media_tx_signal(int media_lane, time_point at);
  double host_inv_q2(time_point at) const noexcept;  // the profile's host channel, 1/Q^2
  std::optional<int> generator_pattern(int side, int lane) const noexcept;
  std::optional<int> checker_pattern(int side, int lane) const noexcept;

  // PRBS.
  bool any_checker() const noexcept;
  void settle_prbs(time_point t);
  void count(int side, int lane, time_point a, time_point b, double rate, double ber);
  bool checker_signal(int side, int lane, time_point at, double& ber, double& rate);
  void prbs_control_written(int bank, int offset, std::uint8_t old_value, time_point now);
  void reset_checker(checker& c, time_point now);
  std::chrono::nanoseconds gate_period(int bank) const noexcept;

  // Reads.
  void refresh_lower(std::uint8_t from, std::size_t n, time_point now);
  void refresh_page11(int bank, time_point now);
  void refresh_page14(int bank, time_point now);
  void refresh_vdm_values(time_point now);
  void refresh_elsfp(time_point now);
  void latch_module_flags(time_point now);
  void fill_garbage(std::span<std::uint8_t> out, std::uint8_t page, std::uint8_t offset);

  std::error_code do_write(std::span<const std::uint8_t> bytes, time_point now);
  std::error_code do_read(std::span<std::uint8_t> out, time_point now);
  void write_byte(std::uint8_t offset, std::uint8_t value, time_point now);
  bool upper_accessible() noexcept;

  std::shared_ptr<const world> world_;
  module_profile profile_;
  cmis_module_options opts_;
  module_faults faults_;
  std::uint64_t seed_;
  std::shared_ptr<const link_graph> graph_;  // null: no links
  int depth_ = 0;  // > 0 while evaluating itself: graph queries answer from the current state

  std::array<std::uint8_t, 128> lower_{};
  std::deque<page_bytes> pages_;            // deque: references stay valid as pages are added
  std::vector<page_bytes> page10_default_;  // page 10h per bank as built, restored by reset
  std::array<std::array<std::int16_t, 256>, max_banks> page_index_{};  // -1: no such page
  std::vector<double> lane_offset_db_;  // fixed per-media-lane Tx power offsets, seeded
  int banks_ = 1;
  double q_ref_ = 0, q_host_ = 0, q_floor_ = 0;  // Q of reference_ber, host_ber, ber_floor

  std::uint8_t pointer_ = 0;
  msm_state state_ = msm_state::mgmt_init;
  time_point state_since_{};
  time_point control_changed_at_{};
  time_point created_{};
  bool lpmode_pin_ = false;
  bool flat_ = false;
  bool static_image_ = false;  // load_image() of a non-CMIS (SFF-8636 / SFF-8472) image
  bool image_loaded_ = false;  // load_image(): the image is the non-volatile memory
  bool powered_ = true;        // Vcc (set_powered)
  bool fault_applied_ = false;
  std::optional<time_point> next_due_;  // cached next_event(); reset by every change

  // Data paths and their configuration.
  std::array<lane_dp, max_lanes> dp_{};
  time_point cond_since_{};  // when a data path condition last changed
  std::array<pending_apply, max_banks> apply_{};

  // PRBS.
  std::array<std::array<checker, max_lanes>, 2> chk_{};  // [0] host, [1] media
  time_point prbs_t_{};

  // VDM freeze snapshot (page 24h).
  bool vdm_frozen_ = false;
  page_bytes vdm_frozen_values_{};

  // ELSFP: when each laser lane was last enabled.
  std::array<time_point, 8> laser_enabled_at_{};
  std::weak_ptr<cmis_module> source_;

  std::uint64_t garbage_reads_ = 0;

  // Thermal integrator: temperature thermal_t0_c_ at thermal_t0_, relaxing toward the steady
  // state of the current dissipation.
  time_point thermal_t0_{};
  double thermal_t0_c_ = 25.0;
};

}  // namespace hilt::emu
