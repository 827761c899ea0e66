// Shared helpers for the instrument tests: an emulated bench (world, modules, supplies, chambers,
// regulators) built from an `emulation:` section, devices made through the real driver
// registrations (so address and option parsing is exercised), a captured driver log, and a way to
// run a device coroutine to completion on the harness clock.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "hilt/clock.hpp"
#include "hilt/driver.hpp"
#include "hilt/emu/emulation.hpp"

namespace hilt::test {

inline std::string repo_path(const std::string& rel) {
  return std::string(HILT_REPO_DIR) + "/" + rel;
}

// A scratch directory per test, removed afterwards.
struct tmp_dir {
  std::filesystem::path dir;
  tmp_dir() {
    dir = std::filesystem::path(testing::TempDir()) /
          ("hilt_instr_" +
           std::string(testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()) +
           "_" + testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~tmp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& rel, const std::string& text) const {
    const auto p = dir / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

// The emulated bench; its bench_services hand the emulation's I2C buses and TCP endpoints to the
// drivers, like hilt::bench does.
struct inst_bench final : hilt::bench_services {
  boost::asio::io_context io;
  hilt::clock clk;
  std::unique_ptr<hilt::emulation> emulation;
  hilt::emu::bench_emulation* emu = nullptr;
  std::ostringstream log_text;
  std::mutex log_mu;
  std::shared_ptr<spdlog::logger> logger;
  std::string source;

  explicit inst_bench(const std::string& emulation_yaml,
                      hilt::clock_mode mode = hilt::clock_mode::virtual_time,
                      std::string fixture_dir = "")
      : clk(io, mode) {
    if (fixture_dir.empty()) fixture_dir = repo_path("fixtures");
    source = fixture_dir + "/test-fixture.yaml";
    emulation =
        hilt::emu::make_emulation(YAML::Load(emulation_yaml.empty() ? "{}" : emulation_yaml),
                                  hilt::emulation_env{&clk, 1, source});
    emu = dynamic_cast<hilt::emu::bench_emulation*>(emulation.get());
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
    logger = std::make_shared<spdlog::logger>("instr", sink);
    logger->set_level(spdlog::level::debug);
    logger->set_pattern("%l %v");
  }

  result<std::shared_ptr<hilt::i2c_bus>> i2c(std::string_view transport,
                                             std::string_view name) override {
    if (transport != "emu-i2c") return failure(make_error_code(errc::invalid_argument));
    return emulation->i2c(name);
  }
  result<hilt::tcp_endpoint> tcp(std::string_view transport, std::string_view name) override {
    if (transport != "emu-tcp") return failure(make_error_code(errc::invalid_argument));
    return emulation->tcp(name);
  }

  hilt::device_context context() { return hilt::device_context{io.get_executor(), &clk, logger}; }

  // Makes a device through `drv` from an address and an `options:` YAML mapping (may be empty).
  // Bad options throw config_error, as in a fixture.
  result<std::shared_ptr<hilt::device>> make(const hilt::driver& drv, const std::string& name,
                                             const std::string& address,
                                             const std::string& options_yaml = "") {
    hilt::make_args a;
    a.name = name;
    a.address = hilt::address::parse(address);
    if (!options_yaml.empty()) a.options = YAML::Load(options_yaml);
    a.source = source;
    a.context = context();
    a.services = this;
    return drv.make(a);
  }
  template <class D>
  std::shared_ptr<D> make_as(const hilt::driver& drv, const std::string& name,
                             const std::string& address, const std::string& options_yaml = "") {
    auto d = make(drv, name, address, options_yaml);
    EXPECT_TRUE(d) << (d ? "" : d.error().message());
    if (!d) return nullptr;
    return std::dynamic_pointer_cast<D>(d.value());
  }

  // Runs one awaitable to completion on the harness clock.
  template <class T>
  T run(boost::asio::awaitable<T> op) {
    std::optional<T> out;
    boost::asio::co_spawn(
        io,
        [&out, op = std::move(op)]() mutable -> boost::asio::awaitable<void> {
          out.emplace(co_await std::move(op));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    clk.run();
    io.restart();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }
  // Lets harness time pass.
  void sleep(hilt::clock::duration d) {
    run([this, d]() -> boost::asio::awaitable<int> {
      co_await clk.async_sleep(d, boost::asio::use_awaitable);
      co_return 0;
    }());
  }

  std::string log() {
    logger->flush();
    std::lock_guard lk(log_mu);
    return log_text.str();
  }
  void clear_log() {
    logger->flush();
    std::lock_guard lk(log_mu);
    log_text.str("");
  }
};

// A port on 127.0.0.1 where nothing listens (bound then closed: the kernel will refuse it).
std::uint16_t closed_port();

// Runs a shell command, returns (exit status, stdout+stderr).
std::pair<int, std::string> run_command(const std::string& cmd);

inline bool has_text(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace hilt::test
