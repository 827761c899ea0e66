#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "hilt/clock.hpp"
#include "hilt/driver.hpp"

namespace fs = std::filesystem;

namespace {
const fs::path bad_dir = HILT_TEST_BAD_PLUGIN_DIR;
const fs::path sample = HILT_TEST_SAMPLE_PLUGIN;

struct null_services final : hilt::bench_services {
  hilt::result<std::shared_ptr<hilt::i2c_bus>> i2c(std::string_view, std::string_view) override {
    return hilt::failure(make_error_code(hilt::errc::device_not_found));
  }
};
}  // namespace

TEST(Plugins, SamplePluginLoadsAndRegistersItsDriver) {
  hilt::driver_registry reg;
  EXPECT_FALSE(reg.load_plugin(sample));
  const auto* d = reg.find("sample-hwmon");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->origin, sample.string());
  EXPECT_EQ(d->drv->info().classes, std::vector{hilt::device_class::power_monitor});
}

TEST(Plugins, SamplePluginDeviceReadsAHwmonDirectory) {
  // A fake sysfs tree in the hwmon ABI's units: millidegrees, millivolts, microwatts.
  const fs::path root = fs::temp_directory_path() / ("hilt-hwmon-" + std::to_string(::getpid()));
  fs::create_directories(root / "hwmon7");
  std::ofstream(root / "hwmon7/name") << "ltc2978\n";
  std::ofstream(root / "hwmon7/temp1_input") << "45500\n";
  std::ofstream(root / "hwmon7/in0_input") << "12010\n";
  std::ofstream(root / "hwmon7/power1_input") << "9500000\n";

  hilt::driver_registry reg;
  ASSERT_FALSE(reg.load_plugin(sample));
  boost::asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::virtual_time);
  null_services svc;
  hilt::make_args a;
  a.name = "rail";
  a.address = hilt::address::parse("sample-hwmon:sysfs:hwmon7?root=" + root.string());
  a.context = {io.get_executor(), &clk, nullptr};
  a.services = &svc;
  auto made = reg.find("sample-hwmon")->drv->make(a);
  ASSERT_TRUE(made);
  auto* mon = dynamic_cast<hilt::power_monitor*>(made.value().get());
  ASSERT_NE(mon, nullptr);
  hilt::rail_reading r;
  std::string chip;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto id = co_await mon->async_identify();
        if (id) chip = id.value().part_number;
        auto rr = co_await mon->async_read_rail();
        if (rr) r = rr.value();
      },
      boost::asio::detached);
  clk.run();
  EXPECT_EQ(chip, "ltc2978");
  ASSERT_TRUE(r.temperature);
  EXPECT_DOUBLE_EQ(*r.temperature, 45.5);
  EXPECT_DOUBLE_EQ(*r.vin, 12.01);
  EXPECT_DOUBLE_EQ(*r.pout, 9.5);
  EXPECT_FALSE(r.iout);

  a.address = hilt::address::parse("sample-hwmon:sysfs:hwmon99?root=" + root.string());
  auto missing = reg.find("sample-hwmon")->drv->make(a);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), hilt::errc::device_not_found);
  made.value().reset();
  fs::remove_all(root);
}

TEST(Plugins, WrongAbiIsRefusedWithItsFileAndNeverCalled) {
  hilt::driver_registry reg;
  const auto p = reg.load_plugin(bad_dir / "wrong_abi.so");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->file, (bad_dir / "wrong_abi.so").string());
  EXPECT_EQ(p->message.rfind(fmt::format("plugin ABI version {}, this hilt needs {}; rebuild",
                                         hilt::plugin_abi_version + 41, hilt::plugin_abi_version),
                             0),
            0u)
      << p->message;
}

TEST(Plugins, NonPluginSharedObjectIsRefused) {
  hilt::driver_registry reg;
  const auto p = reg.load_plugin(bad_dir / "no_symbols.so");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->message,
            "not a hilt plugin: missing hilt_plugin_abi_version or "
            "hilt_plugin_register (use the HILT_PLUGIN macro)");
}

TEST(Plugins, ThrowingRegistrationIsReportedAndLeavesNothing) {
  hilt::driver_registry reg;
  const auto p = reg.load_plugin(bad_dir / "throwing.so");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->message, "registration failed: cannot find my calibration table");
  EXPECT_TRUE(reg.all().empty());
}

TEST(Plugins, GarbageFileIsReportedNotCrashed) {
  const fs::path dir = fs::temp_directory_path() / ("hilt-garbage-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "junk.so") << "this is not an ELF file";
  hilt::driver_registry reg;
  const auto problems = reg.load_plugins(dir.string() + ":/nonexistent/dir");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, (dir / "junk.so").string());
  EXPECT_EQ(problems[0].message.rfind("cannot load: ", 0), 0u) << problems[0].message;
  fs::remove_all(dir);
}

TEST(Plugins, PathScanReportsEachBadPluginAndKeepsTheGoodOnes) {
  hilt::driver_registry reg;
  ASSERT_FALSE(reg.load_plugin(sample));
  // bad_dir holds duplicate.so (claims sample-hwmon), no_symbols, throwing and wrong_abi.
  const auto problems = reg.load_plugins(bad_dir.string());
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(problems[0].file, (bad_dir / "duplicate.so").string());
  EXPECT_EQ(problems[0].message,
            fmt::format("driver 'sample-hwmon' is already registered by {}", sample.string()));
  EXPECT_EQ(reg.find("sample-hwmon")->drv->info().version, "1.0.0");  // the first claim won
  EXPECT_EQ(reg.all().size(), 1u);
}

TEST(Plugins, DefaultPathPutsTheEnvironmentFirst) {
  ::setenv("HILT_PLUGIN_PATH", "/a:/b", 1);
  const auto p = hilt::driver_registry::default_plugin_path();
  ::unsetenv("HILT_PLUGIN_PATH");
  EXPECT_EQ(p.rfind("/a:/b:", 0), 0u) << p;
}
