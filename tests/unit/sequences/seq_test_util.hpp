// Helpers for the sequence tests: sequence files in a temporary directory, and a fake module and
// step context to run steps against.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <filesystem>
#include <fstream>
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
  int identify_calls = 0;

 protected:
  task<result<identity>> do_identify() override {
    ++identify_calls;
    if (identify_error) co_return failure(identify_error);
    co_return id;
  }
  task<result<std::vector<monitor_reading>>> do_read_monitors() override {
    if (monitors_error) co_return failure(monitors_error);
    co_return monitors;
  }
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
  device* find_device(std::string_view) override { return nullptr; }
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

  std::vector<recorded> measurements;
  std::vector<logged_event> events;
  std::optional<identity> identity_;
  std::ostringstream log_text;

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
