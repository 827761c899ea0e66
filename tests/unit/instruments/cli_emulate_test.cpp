// `hilt emulate psu|chamber|asic|voa`: the standalone emulators, driven by the real drivers over
// TCP in real time, and stopped by SIGTERM / SIGINT (exit 0).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "hilt/error.hpp"
#include "hilt/modbus_chamber/chamber.hpp"
#include "hilt/modbus_chamber/driver.hpp"
#include "hilt/sai_rpc/asic.hpp"
#include "hilt/sai_rpc/driver.hpp"
#include "hilt/scpi_psu/driver.hpp"
#include "hilt/scpi_psu/supply.hpp"
#include "hilt/scpi_voa/attenuator.hpp"
#include "hilt/scpi_voa/driver.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::test::inst_bench;

// A child process whose first stdout line is read (with a bound), then stopped by a signal.
class child {
 public:
  explicit child(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  // The first line of stdout, or "" after 10 s.
  std::string first_line() {
    std::string line;
    char c = 0;
    while (line.size() < 4096) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) break;
      if (::read(out_, &c, 1) != 1 || c == '\n') break;
      line.push_back(c);
    }
    return line;
  }
  // Sends `sig` and returns the exit status (-1 when it did not exit normally within 10 s).
  int stop(int sig) {
    ::kill(pid_, sig);
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(10000);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
};

std::uint16_t port_of(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"(127\.0\.0\.1:(\d+))"))) return 0;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

TEST(HiltEmulate, PsuServesTheDriverAndStopsOnSigterm) {
  child p({HILT_BINARY, "emulate", "psu", "--port", "0", "--model", "rs-ngp", "--load-ohms", "10"});
  const std::string line = p.first_line();
  const auto port = port_of(line);
  ASSERT_NE(port, 0) << line;
  EXPECT_TRUE(hilt::test::has_text(line, "emulated rs-ngp supply (4 outputs)")) << line;

  inst_bench b("", hilt::clock_mode::real);
  auto drv = hilt::scpi_psu::make_driver();
  auto psu = b.make_as<hilt::scpi_psu::scpi_supply>(
      *drv, "psu1", fmt::format("scpi-psu:tcp:127.0.0.1:{}", port), "");
  ASSERT_TRUE(b.run(psu->async_set_voltage(2, 5.0))) << b.log();
  ASSERT_FALSE(b.run(psu->async_set_output(2, true))) << b.log();
  auto i = b.run(psu->async_measure_current(2));
  ASSERT_TRUE(i) << b.log();
  EXPECT_NEAR(i.value(), 0.5, 0.0001);  // 5 V across 10 ohm
  EXPECT_EQ(psu->model()->name, "rs-ngp") << "detected from *IDN?";
  EXPECT_EQ(p.stop(SIGTERM), 0);
}

TEST(HiltEmulate, ChamberServesTheDriverAndStopsOnSigint) {
  child p({HILT_BINARY, "emulate", "chamber", "--port", "0", "--setpoint", "30 C"});
  const auto port = port_of(p.first_line());
  ASSERT_NE(port, 0);
  inst_bench b("", hilt::clock_mode::real);
  auto drv = hilt::modbus_chamber::make_driver();
  auto ch = b.make_as<hilt::modbus_chamber::modbus_chamber>(
      *drv, "oven", fmt::format("modbus-chamber:tcp:127.0.0.1:{}", port), "");
  auto pv = b.run(ch->async_read_temperature());
  ASSERT_TRUE(pv) << b.log();
  EXPECT_NEAR(pv.value(), 30.0, 0.1);
  auto id = b.run(ch->async_identify());
  ASSERT_TRUE(id) << b.log();
  EXPECT_EQ(id.value().serial, "100001");
  EXPECT_EQ(p.stop(SIGINT), 0);
}

TEST(HiltEmulate, AsicWithLoopbackLocksPrbsThroughTheSaiRpcDriver) {
  child p({HILT_BINARY, "emulate", "asic", "--port", "0", "--loopback", "--serial", "LAB0001"});
  const std::string line = p.first_line();
  const auto port = port_of(line);
  ASSERT_NE(port, 0) << line;
  EXPECT_TRUE(hilt::test::has_text(line, "(512 lanes, every lane looped back) speaking sai-rpc"))
      << line;
  inst_bench b("", hilt::clock_mode::real);
  auto drv = hilt::sai_rpc::make_driver();
  auto asic = b.make_as<hilt::sai_rpc::sai_asic>(*drv, "asic0",
                                                 fmt::format("sai-rpc:tcp:127.0.0.1:{}", port), "");
  auto id = b.run(asic->async_identify());
  ASSERT_TRUE(id) << b.log();
  EXPECT_EQ(id.value().serial, "LAB0001");
  EXPECT_EQ(asic->lanes_of(64), 8);
  ASSERT_FALSE(b.run(
      asic->async_prbs_configure(3, hilt::prbs_config::enable_tx_rx, hilt::prbs_pattern::prbs31q)))
      << b.log();
  std::this_thread::sleep_for(50ms);  // real time: some bits go by
  auto st = b.run(asic->async_prbs_read(3));
  ASSERT_TRUE(st) << b.log();
  ASSERT_EQ(st.value().size(), 8u);
  for (const auto& l : st.value()) {
    EXPECT_TRUE(l.locked) << "lane " << l.lane;
    EXPECT_GT(l.bits, 0u) << "lane " << l.lane;
  }
  EXPECT_EQ(p.stop(SIGTERM), 0);
}

TEST(HiltEmulate, VoaServesTheScpiVoaDriver) {
  child p({HILT_BINARY, "emulate", "voa", "--port", "0", "--attenuation", "3"});
  const auto port = port_of(p.first_line());
  ASSERT_NE(port, 0);
  inst_bench b("", hilt::clock_mode::real);
  auto drv = hilt::scpi_voa::make_driver();
  auto voa = b.make_as<hilt::scpi_voa::scpi_attenuator>(
      *drv, "voa1", fmt::format("scpi-voa:tcp:127.0.0.1:{}", port), "");
  auto a = b.run(voa->async_read_attenuation());
  ASSERT_TRUE(a) << b.log();
  EXPECT_NEAR(a.value(), 3.0, 1e-9);
  a = b.run(voa->async_set_attenuation(12.5));
  ASSERT_TRUE(a) << b.log();
  EXPECT_NEAR(a.value(), 12.5, 1e-9);
  EXPECT_EQ(p.stop(SIGINT), 0);
}

TEST(HiltEmulate, BadArgumentsAreUsageErrors) {
  auto [rc, out] =
      hilt::test::run_command(std::string(HILT_BINARY) + " emulate psu --port 5025 --model e3631");
  EXPECT_EQ(rc, hilt::exit_code::bad_input);
  EXPECT_TRUE(hilt::test::has_text(out,
                                   "hilt: unknown supply model 'e3631'; known: "
                                   "keysight-e36xx, rs-ngp"))
      << out;
  std::tie(rc, out) = hilt::test::run_command(std::string(HILT_BINARY) + " emulate chamber");
  EXPECT_EQ(rc, hilt::exit_code::bad_input);
  EXPECT_TRUE(hilt::test::has_text(out, "--port is required")) << out;
  std::tie(rc, out) =
      hilt::test::run_command(std::string(HILT_BINARY) + " emulate asic --port 0 --model 99t9");
  EXPECT_EQ(rc, hilt::exit_code::bad_input);
  EXPECT_TRUE(hilt::test::has_text(out, "hilt: --model: unknown ASIC model '99t9'; known: 51t2, "))
      << out;
  std::tie(rc, out) =
      hilt::test::run_command(std::string(HILT_BINARY) + " emulate voa --port 0 --attenuation 70");
  EXPECT_EQ(rc, hilt::exit_code::bad_input);
  EXPECT_TRUE(hilt::test::has_text(out, "--attenuation 70 dB is outside the attenuator's 0..40 dB"))
      << out;
}

}  // namespace
