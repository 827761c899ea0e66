// Helpers for the sequence tests: sequence files in a temporary directory, and a fake module and
// step context to run steps against.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/seq/loader.hpp"
#include "hilt/step.hpp"

namespace hilt::seq::test {

// A directory under $TMPDIR, removed with everything in it when the object goes.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hilt-seq-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

// Writes `text` to <tmp>/t.yaml, checks it, and returns every message with the directory removed,
// so that tests compare against "t.yaml:LINE:COL: message".
inline std::vector<std::string> errors_of(const std::string& text,
                                          std::map<std::string, std::string> overrides = {}) {
  temp_dir dir;
  const auto file = dir.write("t.yaml", text);
  load_options opts;
  opts.overrides = std::move(overrides);
  std::vector<std::string> out;
  const std::string prefix = dir.path().string() + "/";
  for (const auto& e : check_sequence(file, opts)) {
    std::string msg = e.what();
    if (msg.starts_with(prefix)) msg.erase(0, prefix.size());
    out.push_back(msg);
  }
  // load_sequence must refuse with the first of them.
  try {
    (void)load_sequence(file, opts);
    if (!out.empty()) out.push_back("BUG: load_sequence accepted the file");
  } catch (const config_error& e) {
    std::string msg = e.what();
    if (msg.starts_with(prefix)) msg.erase(0, prefix.size());
    if (out.empty() || msg != out.front()) out.push_back("BUG: load_sequence threw " + msg);
  }
  return out;
}

// The one error of `text` ("" if it has none, every message joined if it has several).
inline std::string error_of(const std::string& text,
                            std::map<std::string, std::string> overrides = {}) {
  std::string out;
  for (const auto& e : errors_of(text, std::move(overrides)))
    out += (out.empty() ? "" : "\n") + e;
  return out;
}

inline hilt::sequence load_text(const std::string& text,
                                std::map<std::string, std::string> overrides = {}) {
  load_options opts;
  opts.overrides = std::move(overrides);
  return load_sequence_text(text, "t.yaml", opts);
}

// A module whose answers the test sets. Overriding the do_* methods is what a driver does; here it
// stands in for a driver in a unit test of the steps (the emulated bench covers the real path).
class fake_module final : public managed_module {
 public:
  explicit fake_module(device_context ctx)
      : managed_module("dut1", "fake:port1@0x50", std::move(ctx)) {}
  std::string_view driver_name() const noexcept override { return "fake"; }

  identity id{"ACME", "QDD-400G-DR4", "SN0001", "1.2.3", "A", {}};
  std::error_code identify_error;
  std::vector<monitor_reading> monitors;
  std::error_code monitors_error;
  // When set, answers read_monitors instead of `monitors` (readings that change with time).
  std::function<std::vector<monitor_reading>()> monitors_fn;
  int identify_calls = 0;

  // Module state machine, in harness time: low power is immediate, power-up takes power_up_time.
  module_state state = module_state::ready;
  clock::duration power_up_time = std::chrono::milliseconds(2500);
  std::error_code power_error;  // answered by set_low_power, power_up and module_state
  int state_nacks = 0;          // the next N module_state reads answer nack (MgmtInit)
  lane_mask tx_disabled = 0;
  std::error_code tx_error;
  int lanes = 8;

  int lane_count() const noexcept override { return lanes; }

 protected:
  task<result<identity>> do_identify() override {
    ++identify_calls;
    if (identify_error) co_return failure(identify_error);
    co_return id;
  }
  task<result<std::vector<monitor_reading>>> do_read_monitors() override {
    if (monitors_error) co_return failure(monitors_error);
    if (monitors_fn) co_return monitors_fn();
    co_return monitors;
  }
  task<result<module_state>> do_module_state() override {
    if (state_nacks > 0) {
      --state_nacks;
      co_return failure(make_error_code(errc::nack));
    }
    if (power_error) co_return failure(power_error);
    co_return state;
  }
  task<result<module_state>> do_set_low_power(bool low) override {
    if (power_error) co_return failure(power_error);
    if (state != module_state::fault) state = low ? module_state::low_power : module_state::ready;
    co_return state;
  }
  task<std::error_code> do_power_up() override {
    if (power_error) co_return power_error;
    if (state == module_state::ready) co_return std::error_code{};
    state = module_state::powering_up;
    co_await context().clock->async_sleep(power_up_time, asio::use_awaitable);
    state = module_state::ready;
    co_return std::error_code{};
  }
  task<std::error_code> do_set_tx_disable(lane_mask mask, bool disable) override {
    if (tx_error) co_return tx_error;
    tx_disabled = disable ? (tx_disabled | mask) : (tx_disabled & ~mask);
    co_return std::error_code{};
  }
};

// Instruments for steps that drive fixture devices (set, wait_until with device:).
class fake_chamber final : public thermal_chamber {
 public:
  explicit fake_chamber(device_context ctx)
      : thermal_chamber("chamber", "fake:chamber", std::move(ctx)) {}
  std::string_view driver_name() const noexcept override { return "fake"; }
  double setpoint = 25, temperature = 25;
  double ramp_c_per_min = 0;  // the reading moves toward the set point at this rate
  std::error_code error;

 protected:
  task<result<double>> do_set_setpoint(double c) override {
    if (error) co_return failure(error);
    setpoint = c;
    since_ = context().clock->now();
    from_ = temperature;
    co_return c;
  }
  task<result<double>> do_read_temperature() override {
    if (error) co_return failure(error);
    if (ramp_c_per_min > 0) {
      const double minutes =
          std::chrono::duration<double>(context().clock->now() - since_).count() / 60.0;
      const double moved = ramp_c_per_min * minutes;
      temperature =
          setpoint > from_ ? std::min(setpoint, from_ + moved) : std::max(setpoint, from_ - moved);
    }
    co_return temperature;
  }

 private:
  clock::time_point since_{};
  double from_ = 25;
};

class fake_supply final : public power_supply {
 public:
  explicit fake_supply(device_context ctx) : power_supply("psu1", "fake:psu1", std::move(ctx)) {}
  std::string_view driver_name() const noexcept override { return "fake"; }
  int channel_count() const noexcept override { return 2; }
  std::map<int, double> volts, amps_limit;
  std::map<int, bool> output;
  double measured_current = 0.8;

 protected:
  task<result<double>> do_set_voltage(int ch, double v) override {
    volts[ch] = v;
    co_return v - 0.001;  // what the supply reports back: requested vs actual
  }
  task<result<double>> do_set_current_limit(int ch, double a) override {
    amps_limit[ch] = a;
    co_return a;
  }
  task<std::error_code> do_set_output(int ch, bool on) override {
    output[ch] = on;
    co_return std::error_code{};
  }
  task<result<double>> do_measure_voltage(int ch) override { co_return volts[ch]; }
  task<result<double>> do_measure_current(int) override { co_return measured_current; }
};

struct recorded {
  measurement m;
  hilt::verdict v;
};
struct logged_event {
  severity level;
  std::string kind;
  std::string message;
};

// A step context that keeps what steps report. record() judges like the real one.
class fake_context final : public step_context {
 public:
  fake_context(hilt::clock& c, managed_module* m) : clock_(c), module_(m) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
    logger_ = std::make_shared<spdlog::logger>("test", sink);
    logger_->set_level(spdlog::level::debug);
    logger_->set_pattern("%l %v");
  }

  hilt::clock& clock() override { return clock_; }
  spdlog::logger& log() override { return *logger_; }
  managed_module* module() override { return module_; }
  int slot() const override { return 1; }
  const std::string& dut_name() const override { return name_; }
  device* find_device(std::string_view name) override {
    auto it = devices.find(std::string(name));
    return it == devices.end() ? nullptr : it->second;
  }
  const link_map& links() const override { return link_map_value; }
  verdict record(const measurement& m) override {
    const verdict v = m.limit ? judge(*m.limit, m.value) : verdict::info;
    measurements.push_back({m, v});
    return v;
  }
  void sample(std::string_view, std::string_view, int, double) override {}
  void event(severity s, std::string_view kind, std::string_view message,
             std::error_code) override {
    events.push_back({s, std::string(kind), std::string(message)});
  }
  void set_identity(const identity& id) override { identity_ = id; }
  const identity* dut_identity() const override { return identity_ ? &*identity_ : nullptr; }
  task<std::shared_ptr<void>> async_lock(std::string_view device_name) override {
    locks.emplace_back(device_name);
    co_return nullptr;
  }

  std::vector<recorded> measurements;
  std::vector<logged_event> events;
  std::optional<identity> identity_;
  std::ostringstream log_text;
  std::map<std::string, device*> devices;  // find_device()
  link_map link_map_value;                 // links()
  std::vector<std::string> locks;          // async_lock() calls, in order

 private:
  hilt::clock& clock_;
  managed_module* module_;
  std::string name_ = "dut1";
  std::shared_ptr<spdlog::logger> logger_;
};

// Runs one step to completion on the clock's io_context.
inline step_outcome run_step(const step& s, step_context& ctx, hilt::clock& clk) {
  std::optional<step_outcome> out;
  std::exception_ptr error;
  clk.context().restart();  // a previous run_step left it stopped (out of work)
  asio::co_spawn(clk.context(), s.run(ctx), [&](std::exception_ptr e, step_outcome o) {
    error = e;
    out = std::move(o);
  });
  clk.run();
  if (error) std::rethrow_exception(error);
  if (!out) throw std::runtime_error("step did not complete");
  return *out;
}

}  // namespace hilt::seq::test
