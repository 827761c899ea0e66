// An emulated CMIS 5.x module behind an emulated I2C bus (DESIGN.md rule 1).
//
// Memory map (OIF-CMIS 5.x §8): lower memory 0-127 plus 128-byte upper pages selected by
// BankSelect (00h:126) and PageSelect (00h:127). This slice implements pages 00h, 01h, 02h, 10h
// and 11h of bank 0; the storage is indexed by (bank, page) so banks 1-3 and pages 13h/14h/VDM
// slot in later. Page checksums 00h:222, 01h:255 and 02h:255 are always correct: they are
// recomputed whenever the content of their page changes.
//
// Access rules (stricter than many real modules, so that driver bugs show up as NACKs):
//  - a read or a write must stay within lower memory (0-127) or within the upper page (128-255);
//  - a write carries at most 8 data bytes (§5.2.2.2);
//  - an access to the upper half while BankSelect/PageSelect name a page this module does not
//    have is NACKed (the select write itself is accepted and reads back);
//  - writes to read-only bytes are accepted and ignored;
//  - during MgmtInit (after power-on with boot: cold, or after SoftwareReset) every access is
//    NACKed, like a real module whose management interface is not up yet.
//
// Module State Machine (§6.3.2, Figure 6-3): MgmtInit -> ModuleLowPwr -> ModulePwrUp ->
// ModuleReady, and ModuleReady -> ModulePwrDn -> ModuleLowPwr when LowPwrS = LowPwrRequestSW
// (26.4) OR (LowPwrAllowRequestHW (26.6) AND the LPMode pin). It is evaluated lazily from the
// world's time on every access (no timers), so it runs in virtual time. Every transition latches
// ModuleStateChangedFlag (00h:8.0, clear-on-read) and asserts IntL (00h:3.0 = 0) unless masked
// by 00h:31.0.
//
// Monitors are computed from the world model when read: case temperature = ambient + dissipation
// x thermal resistance with a first-order lag; Vcc with seeded noise; per media lane Tx bias and
// Tx power (falling with temperature, zero when the lane's Tx is disabled or the module is not
// ModuleReady), Rx power = own Tx power minus a loopback loss.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "hilt/emu/i2c_bus.hpp"
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

struct cmis_module_options {
  std::string serial;       // overrides the profile's serial number when not empty
  bool lpmode_pin = false;  // LowPwrRequestHW / LPMode pin asserted
  bool cold_boot = false;   // false: powered long before the run (settled); true: power-on now
  double rx_loss_db = 2.0;  // loopback loss from each lane's Tx to its Rx
  std::string label;        // for describe(): "port1@0x50"
};

class cmis_module final : public i2c_target_device {
 public:
  cmis_module(std::shared_ptr<const world> w, module_profile profile, cmis_module_options opts,
              std::uint64_t seed);

  // i2c_target_device (thread-safe).
  std::error_code on_write(std::span<const std::uint8_t> bytes) override;
  std::error_code on_read(std::span<std::uint8_t> out) override;
  std::error_code on_transfer(std::span<const std::uint8_t> write,
                              std::span<std::uint8_t> read) override;

  // Observation and control outside the wire: for the world model, tests and safety checks.
  msm_state state();
  bool lasers_on();             // ModuleReady and at least one media lane with Tx enabled
  double case_temperature_c();  // the model's value now
  double dissipation_w();
  void set_lpmode_pin(bool asserted);
  // "port1@0x50 state=ModuleReady lasers=on tx_disable=0x00 pn=... sn=..."
  std::string describe();

  const module_profile& profile() const noexcept { return profile_; }
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
  // state machine keeps running; 00h:3 and 00h:26 keep their meaning.
  void load_image(std::span<const std::uint8_t> image256);

 private:
  using time_point = world::time_point;
  using page_bytes = std::array<std::uint8_t, 128>;

  // Memory map.
  page_bytes* page_ptr(std::uint8_t bank, std::uint8_t page) noexcept;
  const page_bytes* page_ptr(std::uint8_t bank, std::uint8_t page) const noexcept;
  page_bytes& add_page(std::uint8_t bank, std::uint8_t page);
  void build_memory_map();
  void fix_checksum(std::uint8_t page) noexcept;
  void reset_volatile();

  // State machine and physics (callers hold mu_).
  void advance(time_point now);
  void enter(msm_state s, time_point at);
  bool low_pwr_s() const noexcept;
  double dissipation_for(msm_state s) const noexcept;
  void settle_thermal(time_point at);
  double temperature_at(time_point at) const noexcept;
  bool lane_tx_enabled(int media_lane) const noexcept;
  double lane_tx_power_mw(int media_lane, double temp_c) const noexcept;

  void refresh_lower(std::uint8_t from, std::size_t n, time_point now);
  void refresh_page11(time_point now);
  std::error_code do_write(std::span<const std::uint8_t> bytes, time_point now);
  std::error_code do_read(std::span<std::uint8_t> out, time_point now);
  void write_byte(std::uint8_t offset, std::uint8_t value, time_point now);
  bool upper_accessible() noexcept;

  std::shared_ptr<const world> world_;
  module_profile profile_;
  cmis_module_options opts_;
  std::uint64_t seed_;
  std::mutex mu_;

  std::array<std::uint8_t, 128> lower_{};
  std::deque<page_bytes> pages_;  // deque: references stay valid as pages are added
  page_bytes page10_default_{};   // page 10h as built, restored by SoftwareReset
  std::array<std::array<std::int16_t, 256>, max_banks> page_index_{};  // -1: no such page
  std::vector<double> lane_offset_db_;  // fixed per-media-lane Tx power offsets, seeded

  std::uint8_t pointer_ = 0;
  msm_state state_ = msm_state::mgmt_init;
  time_point state_since_{};
  time_point control_changed_at_{};
  bool lpmode_pin_ = false;
  bool flat_ = false;

  // Thermal integrator: temperature thermal_t0_c_ at thermal_t0_, relaxing toward the steady
  // state of the current dissipation.
  time_point thermal_t0_{};
  double thermal_t0_c_ = 25.0;
};

}  // namespace hilt::emu
