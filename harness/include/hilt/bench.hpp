// A bench: the devices of a fixture, opened through the driver registry, plus the emulation that
// sits behind their wires when the fixture has one.
#pragma once

#include <functional>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hilt/driver.hpp"
#include "hilt/fixture.hpp"

namespace hilt {

class bench final : public bench_services {
 public:
  struct device_slot {
    std::string name;
    hilt::address address;
    std::string driver_origin;  // "built-in" or plugin file
    std::string calibration_due;
    std::shared_ptr<hilt::device> device;  // null when opening failed
    std::error_code open_error;
  };
  struct dut {
    int slot = 0;
    std::string name;
    std::string module;  // device name
  };

  // Builds the emulation and opens every device. Configuration problems (unknown driver, bad
  // options) throw config_error; a device that cannot be reached is kept with its open_error so
  // that only the DUTs using it are affected.
  bench(const fixture& f, const driver_registry& registry, hilt::clock& clk, std::uint64_t seed);
  ~bench() override;

  std::vector<device_slot>& devices() noexcept { return devices_; }
  const std::vector<dut>& duts() const noexcept { return duts_; }
  hilt::device* find(std::string_view name) noexcept;
  device_slot* find_slot(std::string_view name) noexcept;
  hilt::emulation* emulation() noexcept { return emulation_.get(); }
  // The fixture's cabling (hilt/links.hpp), in fixture device names.
  const link_map& links() const noexcept { return links_; }

  result<std::shared_ptr<i2c_bus>> i2c(std::string_view transport, std::string_view name) override;
  // "emu-tcp": the emulation's instrument of that name (its server starts on first use).
  result<tcp_endpoint> tcp(std::string_view transport, std::string_view name) override;

  // Puts every opened device in its safe state, modules first (lasers dark), then supplies, then
  // chambers; the devices of one class at the same time, each action bounded by `per_device` (so
  // the whole is bounded by about five times `per_device`, however many devices do not answer).
  // Logs every action and its outcome, and reports each to `report` (when set) with its error
  // (empty or not_supported: safe) and how long it took on the harness clock; never throws.
  // Returns the number of devices that did not confirm.
  using safe_state_reporter =
      std::function<void(const device_slot& device, std::error_code ec, double seconds)>;
  task<int> async_safe_state(clock::duration per_device = std::chrono::seconds(2),
                             safe_state_reporter report = {});

 private:
  // Throws config_error for a link to a port or lane an opened device does not have.
  void check_links_against_devices();

  hilt::clock& clock_;
  std::unique_ptr<hilt::emulation> emulation_;
  link_map links_;
  std::map<std::string, std::shared_ptr<i2c_bus>, std::less<>> real_i2c_;
  std::vector<device_slot> devices_;
  std::vector<dut> duts_;
};

}  // namespace hilt
