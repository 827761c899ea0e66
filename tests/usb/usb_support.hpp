// Shared helpers for the USB tests: a bench whose services hand out emulated I2C buses, emulated
// TCP instruments and real CP2112 buses (through libusb, onto the device models), the captured
// driver and transport logs, a GoogleTest fixture that owns the umockdev testbed (and skips with
// the reason where umockdev is missing), and a way to run the hilt binary as a child process
// (which sees the same testbed: umockdev's environment is inherited).
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include "hilt/clock.hpp"
#include "hilt/driver.hpp"
#include "hilt/emu/emulation.hpp"
#include "hilt/log.hpp"
#include "hilt/transport/usb_cp2112.hpp"
#include "usb_model.hpp"

namespace hilt::usbtest {

inline std::string repo_path(const std::string& rel) {
  return std::string(HILT_REPO_DIR) + "/" + rel;
}

inline bool has_text(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// An emulated bench plus real USB transports.
struct usb_bench final : hilt::bench_services {
  boost::asio::io_context io;
  hilt::clock clk;
  std::unique_ptr<hilt::emulation> emulation;
  hilt::emu::bench_emulation* emu = nullptr;
  std::ostringstream log_text;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink;
  std::shared_ptr<spdlog::logger> logger;
  std::string source;
  std::map<std::string, std::shared_ptr<hilt::i2c_bus>> cp2112;

  explicit usb_bench(const std::string& emulation_yaml,
                     hilt::clock_mode mode = hilt::clock_mode::virtual_time,
                     std::string fixture_dir = "")
      : clk(io, mode) {
    if (fixture_dir.empty()) fixture_dir = repo_path("fixtures");
    source = fixture_dir + "/usb-test-fixture.yaml";
    emulation =
        hilt::emu::make_emulation(YAML::Load(emulation_yaml.empty() ? "{}" : emulation_yaml),
                                  hilt::emulation_env{&clk, 1, source});
    emu = dynamic_cast<hilt::emu::bench_emulation*>(emulation.get());
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
    sink->set_pattern("%l %v");
    logger = std::make_shared<spdlog::logger>("usbtest", sink);
    logger->set_level(spdlog::level::debug);
    // The transports log to hilt's "usb" logger: capture it too.
    auto usb = hilt::log::get("usb");
    usb->sinks().push_back(sink);
    usb->set_level(spdlog::level::debug);
  }
  ~usb_bench() override {
    cp2112.clear();
    auto usb = hilt::log::get("usb");
    auto& s = usb->sinks();
    s.erase(std::remove(s.begin(), s.end(), sink), s.end());
  }

  result<std::shared_ptr<hilt::i2c_bus>> i2c(std::string_view transport,
                                             std::string_view name) override {
    if (transport == "emu-i2c") return emulation->i2c(name);
    if (transport == "cp2112") {
      if (auto it = cp2112.find(std::string(name)); it != cp2112.end()) return it->second;
      std::string why;
      auto b = hilt::cp2112_bus::open(name, &clk, &why);
      if (!b) {
        logger->error("cp2112:{}: {}", name, why);
        return failure(b.error());
      }
      std::shared_ptr<hilt::i2c_bus> bus = std::move(b).value();
      cp2112.emplace(std::string(name), bus);
      return bus;
    }
    return failure(make_error_code(errc::invalid_argument));
  }
  result<hilt::tcp_endpoint> tcp(std::string_view transport, std::string_view name) override {
    if (transport != "emu-tcp") return failure(make_error_code(errc::invalid_argument));
    return emulation->tcp(name);
  }

  hilt::device_context context() { return hilt::device_context{io.get_executor(), &clk, logger}; }

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
    EXPECT_TRUE(d) << (d ? "" : d.error().message()) << "\n" << log();
    if (!d) return nullptr;
    return std::dynamic_pointer_cast<D>(d.value());
  }

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
  void sleep(hilt::clock::duration d) {
    run([this, d]() -> boost::asio::awaitable<int> {
      co_await clk.async_sleep(d, boost::asio::use_awaitable);
      co_return 0;
    }());
  }

  std::string log() {
    logger->flush();
    hilt::log::get("usb")->flush();
    return log_text.str();
  }
  void clear_log() {
    logger->flush();
    log_text.str("");
  }
};

// The fixture every umockdev test derives from: skips (with the reason) where umockdev is not
// there; owns the testbed, created before and destroyed after the test body's objects.
class usb_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!umockdev_available(&why)) GTEST_SKIP() << why;
    bed = std::make_unique<testbed>();
  }
  void TearDown() override {}
  std::unique_ptr<testbed> bed;
};

// Runs a shell command (stdout and stderr together) and returns (exit status, output). The child
// inherits this process's environment: LD_PRELOAD and UMOCKDEV_DIR put it in the same testbed.
std::pair<int, std::string> run_command(const std::string& cmd);

// A scratch directory, removed afterwards.
struct tmp_dir {
  std::filesystem::path dir;
  tmp_dir();
  ~tmp_dir();
  std::string write(const std::string& rel, const std::string& text) const;
};

std::string read_file(const std::string& path);

}  // namespace hilt::usbtest
