// The CMIS managed module: identity, module state, low power, power-up, Tx disable and monitors
// of a CMIS 3.x-5.x module (OIF-CMIS 5.x), on top of the page map.
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

#include "hilt/cmis/fields.hpp"
#include "hilt/cmis/page_map.hpp"
#include "hilt/device.hpp"

namespace hilt::cmis {

struct module_options {
  int lanes = 0;  // host lanes for lane_count(); 0 = from application descriptor 1
  std::chrono::nanoseconds poll_interval = std::chrono::milliseconds(20);
  // Added to the advertised MaxDurationModulePwrUp before power_up gives up.
  std::chrono::nanoseconds power_up_margin = std::chrono::milliseconds(200);
  bool verify_checksums = true;
  std::size_t max_read = page_map::cmis_max_read;
};

// What identify() learns and the other operations rely on.
struct module_info {
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
  int host_lanes = 0, media_lanes = 0;
};

class cmis_module final : public hilt::managed_module {
 public:
  cmis_module(std::string name, std::string address, hilt::device_context ctx,
              std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t i2c_address,
              module_options opts = {});

  std::string_view driver_name() const noexcept override { return "cmis"; }
  int lane_count() const noexcept override;

  page_map& map() noexcept { return map_; }
  const std::optional<module_info>& info() const noexcept { return info_; }

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<hilt::module_state>> do_module_state() override;
  task<result<hilt::module_state>> do_set_low_power(bool low_power) override;
  task<std::error_code> do_power_up() override;
  task<std::error_code> do_set_tx_disable(hilt::lane_mask lanes, bool disable) override;
  task<result<std::vector<hilt::monitor_reading>>> do_read_monitors() override;

 private:
  // Reads and checks lower memory + page 00h (+ page 01h for paged memory); caches module_info.
  task<result<module_info>> async_load_info(hilt::identity* id);
  task<result<module_info>> async_ensure_info();
  task<std::error_code> async_read(const char* op, std::uint8_t page, std::uint8_t offset,
                                   std::span<std::uint8_t> out, std::uint8_t bank = 0);
  task<std::error_code> async_write(const char* op, std::uint8_t page, std::uint8_t offset,
                                    std::span<const std::uint8_t> data, std::uint8_t bank = 0);
  task<result<hilt::module_state>> async_read_state(const char* op);
  std::error_code check_page(const char* op, std::span<const std::uint8_t> page_bytes,
                             std::uint8_t page, int first, int last, int at);

  page_map map_;
  module_options opts_;
  std::optional<module_info> info_;
};

}  // namespace hilt::cmis
