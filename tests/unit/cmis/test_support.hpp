// Shared helpers for the CMIS driver tests: an emulated bench in virtual time and a way to run a
// device coroutine to completion.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "hilt/clock.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/emu/emulation.hpp"

namespace hilt::test {

inline std::string repo_path(const std::string& rel) {
  return std::string(HILT_REPO_DIR) + "/" + rel;
}

// An emulated bench: `emulation_yaml` is the fixture's emulation section, resolved against
// fixtures/ (so "profiles/qsfpdd-400g-dr4.yaml" works) unless `fixture_dir` says otherwise.
struct emu_bench {
  boost::asio::io_context io;
  hilt::clock clk{io, hilt::clock_mode::virtual_time};
  std::unique_ptr<hilt::emulation> emulation;
  hilt::emu::bench_emulation* emu = nullptr;
  std::ostringstream log_text;
  std::shared_ptr<spdlog::logger> logger;

  explicit emu_bench(const std::string& emulation_yaml, std::string fixture_dir = "",
                     std::uint64_t seed = 1) {
    if (fixture_dir.empty()) fixture_dir = repo_path("fixtures");
    emulation = hilt::emu::make_emulation(
        YAML::Load(emulation_yaml),
        hilt::emulation_env{&clk, seed, fixture_dir + "/test-fixture.yaml"});
    emu = dynamic_cast<hilt::emu::bench_emulation*>(emulation.get());
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(log_text);
    logger = std::make_shared<spdlog::logger>("cmis", sink);
    logger->set_pattern("%l %v");
  }

  std::shared_ptr<hilt::cmis::cmis_module> module(const std::string& bus = "port1",
                                                  std::uint8_t addr = 0x50,
                                                  hilt::cmis::module_options opts = {}) {
    auto b = emulation->i2c(bus);
    EXPECT_TRUE(b) << "no bus " << bus;
    return std::make_shared<hilt::cmis::cmis_module>(
        "dut1", "cmis:emu-i2c:" + bus + "@0x50",
        hilt::device_context{io.get_executor(), &clk, logger}, b.value(), addr, opts);
  }

  hilt::emu::cmis_module& emulated(std::size_t i = 0) { return *emu->modules().at(i); }

  // Runs one awaitable to completion in virtual time.
  template <class T>
  T run(boost::asio::awaitable<T> op) {
    std::optional<T> out;
    // co_spawn wants a default-constructible result; hilt::result<T> is not, so store it here.
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
  std::string log() {
    logger->flush();
    return log_text.str();
  }
};

inline const char* const one_dr4 =
    "ambient: 25 C\n"
    "modules:\n"
    "  - bus: port1\n"
    "    profile: profiles/qsfpdd-400g-dr4.yaml\n"
    "    serial: EMU400G0001\n";

}  // namespace hilt::test
