// The CMIS managed module: identity, module state, low power, power-up, Tx disable, monitors,
// data path activation, flags, PRBS (pages 13h/14h) and VDM of a CMIS 3.x-5.x module
// (OIF-CMIS 5.x), on top of the page map; identity, state, low power, Tx disable and monitors of
// older SFF-8636 (QSFP+/QSFP28) and SFF-8472 (SFP) modules; laser lanes of an OIF ELSFP.
//
// Every operation goes through the page map to the bus, byte for byte (DESIGN.md rule 1), and
// waits only through the harness clock (rule 4). Device errors are codes; each one is logged with
// the device name, the operation, and the page and byte of the failing access (rule 6).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "hilt/cmis/eeprom.hpp"
#include "hilt/cmis/fields.hpp"
#include "hilt/cmis/page_map.hpp"
#include "hilt/device.hpp"

namespace hilt::cmis {

struct module_options {
  int lanes = 0;  // host lanes for lane_count(); 0 = from the application descriptors
  std::chrono::nanoseconds poll_interval = std::chrono::milliseconds(20);
  // Added to the advertised MaxDurationModulePwrUp before power_up gives up.
  std::chrono::nanoseconds power_up_margin = std::chrono::milliseconds(200);
  bool verify_checksums = true;
  std::size_t max_read = page_map::cmis_max_read;
  // Added to the advertised data path durations (01h:144/168) before activation gives up.
  std::chrono::nanoseconds data_path_margin = std::chrono::milliseconds(200);
  // Wait after writing the DiagnosticsSelector (14h:128) before reading its data (tDDCS).
  std::chrono::nanoseconds diagnostics_settle = std::chrono::milliseconds(10);
};

// What identify() learns and the other operations rely on.
struct module_info {
  mgmt_spec spec = mgmt_spec::cmis;
  std::uint8_t identifier = 0;
  revision rev;
  bool flat = false;
  int power_class = 0;
  double max_power_w = 0;
  std::uint8_t media_type = 0;
  std::vector<application> applications;
  // Page 01h (absent for flat memory).
  bool have_page01 = false;
  std::uint8_t supported_pages = 0;
  std::uint8_t controls_supported = 0;
  std::uint8_t monitors_module = 0;
  std::uint8_t monitors_lane = 0;
  std::chrono::milliseconds max_module_pwr_up{0};
  std::chrono::milliseconds max_module_pwr_dn{0};
  std::chrono::milliseconds max_dp_init{0}, max_dp_deinit{0};       // 01h:144
  std::chrono::milliseconds max_tx_turn_on{0}, max_tx_turn_off{0};  // 01h:168
  int banks = 1;                                                    // 01h:142 bits 1-0
  int host_lanes = 0, media_lanes = 0;  // module lanes, from the applications and banks
  int elsfp_lanes = 0;                  // OIF ELSFP laser lanes (1Ah:140 bits 7-1)
  // PRBS patterns advertised (13h:132-139, bit = CMIS Table 8-115 ID), read on first use.
  bool prbs_known = false;
  std::uint16_t host_generator = 0, media_generator = 0, host_checker = 0, media_checker = 0;
  // SFF-8636: 00h:220 diagnostic monitoring type; SFF-8472: A0h:92 and A0h:93.
  std::uint8_t sff_diag_type = 0, sff_enhanced = 0;
};

// A memory dump in the optoe layout (eeprom.hpp), as `hilt eeprom dump` writes it.
struct eeprom_dump {
  std::vector<std::uint8_t> image;  // lower memory at 0; page P of bank K at (K*256+P)*128+128
  std::vector<page_id> pages;       // upper pages read, in the order they were read
  mgmt_spec spec = mgmt_spec::unknown;
};

class cmis_module final : public hilt::managed_module {
 public:
  cmis_module(std::string name, std::string address, hilt::device_context ctx,
              std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t i2c_address,
              module_options opts = {});

  std::string_view driver_name() const noexcept override { return "cmis"; }
  int lane_count() const noexcept override;

  page_map& map() noexcept { return map_; }

  // Reads lower memory and every upper page the module advertises (advertised_pages(): CMIS
  // 00h/01h/02h, then 03h, 10h/11h, 13h/14h, 16h/17h per bank, VDM, ELSFP 1Ah/1Bh as 01h:142
  // says; SFF-8636 00h/03h and 01h/02h per 00h:195; SFF-8472 A0h and, with diagnostics, A2h at
  // the next I2C address), in reads of at most 128 bytes. Gaps between pages stay zero.
  // Errors: the bus's code (nack, ...) — `where`, when given, says which page ("page 11h bank 1
  // bytes 128-255") — or unknown_identifier for a module that is neither CMIS nor SFF.
  // Latched flags read by the dump are cleared on the module (they are clear-on-read).
  task<result<eeprom_dump>> async_dump_eeprom(std::string* where = nullptr);

  // DPStateHostLane of host lanes 1..lane_count() (11h:128-131 of every bank).
  task<result<std::vector<std::uint8_t>>> async_data_path_states();
  const std::optional<module_info>& info() const noexcept { return info_; }

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<hilt::module_state>> do_module_state() override;
  task<result<hilt::module_state>> do_set_low_power(bool low_power) override;
  task<std::error_code> do_power_up() override;
  task<std::error_code> do_set_tx_disable(hilt::lane_mask lanes, bool disable) override;
  task<result<std::vector<hilt::monitor_reading>>> do_read_monitors() override;
  task<std::error_code> do_prbs_configure(hilt::side side, hilt::lane_mask lanes,
                                          hilt::prbs_pattern pattern, bool generator,
                                          bool checker) override;
  task<result<std::vector<hilt::prbs_lane_status>>> do_prbs_read(hilt::side side) override;
  task<result<std::vector<hilt::monitor_reading>>> do_read_vdm() override;
  // Latched flags, read (and so cleared, they are clear-on-read) from 00h:8-11 and every bank's
  // 11h:134-153, named as in the EEPROM decoder ("module_state_changed",
  // "rx_los lane 3", "dp_state_changed lane 1", ...).
  task<result<std::vector<std::string>>> do_read_flags() override;
  task<std::error_code> do_activate_data_path(hilt::lane_mask lanes, int appsel) override;
  task<std::error_code> do_deactivate_data_path(hilt::lane_mask lanes) override;
  task<std::error_code> do_safe_state() override;

 private:
  // Reads and checks lower memory + page 00h (+ page 01h for paged memory); caches module_info.
  task<result<module_info>> async_load_info(hilt::identity* id);
  task<result<module_info>> async_ensure_info();
  task<std::error_code> async_read(const char* op, std::uint8_t page, std::uint8_t offset,
                                   std::span<std::uint8_t> out, std::uint8_t bank = 0);
  task<std::error_code> async_write(const char* op, std::uint8_t page, std::uint8_t offset,
                                    std::span<const std::uint8_t> data, std::uint8_t bank = 0);
  task<result<hilt::module_state>> async_read_state(const char* op);
  // Older modules and the ELSFP (module_sff.cpp).
  task<result<module_info>> async_load_sff8636(hilt::identity* id,
                                               std::span<const std::uint8_t> lower);
  task<result<module_info>> async_load_sff8472(hilt::identity* id);
  task<result<std::vector<hilt::monitor_reading>>> async_sff_monitors(const module_info& mi);
  task<std::error_code> async_sff_tx_disable(const module_info& mi, hilt::lane_mask lanes,
                                             bool disable);
  task<result<hilt::module_state>> async_sff_set_low_power(const module_info& mi, bool low_power);
  task<result<hilt::module_state>> async_sff_state(const module_info& mi, const char* op);
  task<std::error_code> async_elsfp_tx_disable(hilt::lane_mask lanes, bool disable);
  task<std::error_code> async_elsfp_monitors(std::vector<hilt::monitor_reading>& out);
  // Data paths (module_datapath.cpp): waits until every lane of `lanes` is in `want`.
  task<std::error_code> async_wait_dp(const char* op, hilt::lane_mask lanes, std::uint8_t want,
                                      std::chrono::nanoseconds budget);
  // PRBS (module_prbs.cpp).
  task<std::error_code> async_load_prbs(const char* op, module_info& mi);
  // Sleeps on the harness clock (no-op without one).
  task<void> async_pause(std::chrono::nanoseconds d);
  // Raw reads without page selection (SFF-8472 A0h/A2h), in chunks of at most max_read.
  task<std::error_code> async_read_raw(std::uint8_t addr, std::uint8_t offset,
                                       std::span<std::uint8_t> out);
  std::error_code check_page(const char* op, std::span<const std::uint8_t> page_bytes,
                             std::uint8_t page, int first, int last, int at);

  page_map map_;
  module_options opts_;
  std::optional<module_info> info_;
};

}  // namespace hilt::cmis
