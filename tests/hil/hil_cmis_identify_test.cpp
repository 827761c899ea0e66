// Real hardware: reads the identity and monitors of a CMIS module behind Linux i2c-dev.
//
//   HILT_HIL_I2C=/dev/i2c-3@0x50 ctest -L hil --output-on-failure
//
// Without HILT_HIL_I2C the test is skipped. It only reads and never changes the module's state.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <optional>

#include "hilt/address.hpp"
#include "hilt/clock.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/transport/i2c_dev.hpp"

namespace {

template <class T>
T run(boost::asio::io_context& io, hilt::clock& clk, boost::asio::awaitable<T> op) {
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
  return std::move(*out);
}

TEST(HilCmis, IdentifiesARealModule) {
  const char* target_env = std::getenv("HILT_HIL_I2C");
  if (!target_env || !*target_env) {
    GTEST_SKIP() << "set HILT_HIL_I2C=/dev/i2c-N@0x50 to read a real CMIS module over i2c-dev";
  }
  const auto target = hilt::i2c_target::parse(target_env);
  std::string why;
  auto bus = hilt::i2c_dev_bus::open(target.bus, &why);
  ASSERT_TRUE(bus) << why;

  boost::asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::real);
  hilt::cmis::cmis_module dut(
      "hil", std::string("cmis:i2c-dev:") + target_env,
      hilt::device_context{io.get_executor(), &clk, spdlog::default_logger()}, bus.value(),
      static_cast<std::uint8_t>(target.addr));
  auto id = run(io, clk, dut.async_identify());
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_FALSE(id.value().vendor.empty());
  EXPECT_FALSE(id.value().part_number.empty());
  std::printf("vendor %s, PN %s, SN %s, rev %s, firmware %s\n", id.value().vendor.c_str(),
              id.value().part_number.c_str(), id.value().serial.c_str(),
              id.value().revision.c_str(), id.value().firmware.c_str());
  for (const auto& [k, v] : id.value().extra)
    std::printf("  %s: %s\n", k.c_str(), v.c_str());
  auto st = run(io, clk, dut.async_module_state());
  ASSERT_TRUE(st);
  std::printf("module state: %s\n", std::string(hilt::to_string(st.value())).c_str());
  auto mon = run(io, clk, dut.async_read_monitors());
  ASSERT_TRUE(mon) << mon.error().message();
  for (const auto& m : mon.value()) {
    std::printf("  %s lane %d: %.3f %s\n", m.name.c_str(), m.lane, m.value, m.unit.c_str());
  }
}

}  // namespace
