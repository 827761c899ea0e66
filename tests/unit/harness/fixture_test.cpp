#include "hilt/fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hilt/driver.hpp"

namespace {

namespace fs = std::filesystem;

class null_driver final : public hilt::driver {
 public:
  const hilt::driver_info& info() const noexcept override { return info_; }
  hilt::result<std::shared_ptr<hilt::device>> make(const hilt::make_args&) const override {
    return hilt::failure(make_error_code(hilt::errc::device_not_found));
  }

 private:
  hilt::driver_info info_{"cmis", "1", "test", {hilt::device_class::managed_module}, {"emu-i2c"}};
};

class FixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hilt-fixture-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    reg_.add(std::make_shared<null_driver>());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::vector<std::string> problems(const std::string& text) {
    const auto p = write("f.yaml", text);
    std::vector<std::string> out;
    for (const auto& e : hilt::check_fixture(p, reg_)) {
      std::string w = e.what();
      out.push_back(w.substr(w.find("f.yaml:") + 7));  // "line:col: message"
    }
    return out;
  }

  fs::path dir_;
  hilt::driver_registry reg_;
};

TEST_F(FixtureTest, LoadsAGoodFixture) {
  const auto p = write("good.yaml", R"(fixture: two-cages
description: two modules
clock: real
seed: 7
devices:
  - name: m1
    address: cmis:emu-i2c:port1@0x50
  - name: m2
    address: cmis:emu-i2c:port2@0x50
    calibration_due: 2027-01-31
duts:
  - slot: 1
    module: m1
  - slot: 2
    name: golden
    module: m2
)");
  const auto f = hilt::load_fixture(p, &reg_);
  EXPECT_EQ(f.name, "two-cages");
  EXPECT_EQ(f.clock, hilt::clock_mode::real);
  EXPECT_EQ(f.seed, 7u);
  ASSERT_EQ(f.devices.size(), 2u);
  EXPECT_EQ(f.devices[1].calibration_due, "2027-01-31");
  ASSERT_EQ(f.duts.size(), 2u);
  EXPECT_EQ(f.duts[0].name, "slot1");
  EXPECT_EQ(f.duts[1].name, "golden");
  EXPECT_FALSE(f.text.empty());
  EXPECT_TRUE(hilt::check_fixture(p, reg_).empty());
}

// A real-hardware fixture has no `emulation:` section: checking it must not hand the (absent)
// section to the emulation factory, which rejects anything but a mapping.
TEST_F(FixtureTest, AFixtureWithoutEmulationIsNotHandedToTheEmulationFactory) {
  int calls = 0;
  reg_.set_emulation_factory(
      [&calls](const YAML::Node& n,
               const hilt::emulation_env&) -> std::unique_ptr<hilt::emulation> {
        ++calls;
        if (!n.IsMap()) throw hilt::config_error("x", "expected a mapping for emulation");
        return nullptr;
      });
  const auto p = write("hw.yaml", R"(fixture: lab
devices:
  - name: m1
    address: cmis:i2c-dev:/dev/i2c-3@0x50
duts:
  - slot: 1
    module: m1
)");
  EXPECT_TRUE(hilt::check_fixture(p, reg_).empty());
  EXPECT_EQ(calls, 0);
}

TEST_F(FixtureTest, ReportsEveryProblemWithLineAndColumn) {
  const auto errs = problems(R"(fixture: broken
clock: fast
colour: red
devices:
  - name: m1
    address: nodriver:x:y
  - name: m1
    address: cmis
  - name: m3
    address: cmis:emu-i2c:p@0x50
    calibration_due: soon
duts:
  - slot: 0
    module: m1
  - slot: 2
    module: ghost
)");
  const std::vector<std::string> want = {
      "2:8: unknown clock 'fast': expected 'real' or 'virtual'",
      "3:1: unknown key 'colour' in a fixture; expected one of: fixture, description, clock, seed, "
      "calibration, emulation, devices, links, duts",
      "6:14: no driver named 'nodriver' (registered: cmis; see `hilt drivers`)",
      "7:11: device 'm1' is defined twice",
      "8:14: bad device address 'cmis': expected DRIVER:TRANSPORT:TARGET, e.g. "
      "cmis:emu-i2c:port1@0x50",
      "11:22: calibration_due must be a date YYYY-MM-DD, got 'soon'",
      "13:11: slot must be a positive integer, got '0'",
      "16:13: DUT module 'ghost' is not a device of this fixture",
  };
  EXPECT_EQ(errs, want);
}

TEST_F(FixtureTest, YamlSyntaxErrorIsLocated) {
  const auto errs = problems("fixture: x\ndevices: [\n  - a\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].substr(0, errs[0].find(':', 4)), errs[0].substr(0, errs[0].find(':', 4)));
  EXPECT_NE(errs[0].find("YAML syntax error"), std::string::npos) << errs[0];
}

TEST_F(FixtureTest, SequenceFileIsNotAFixture) {
  const auto errs = problems("sequence: s\nmain: []\n");
  ASSERT_FALSE(errs.empty());
  EXPECT_EQ(errs[0], "1:1: this is a sequence, not a fixture (it has 'sequence:')");
}

TEST_F(FixtureTest, MissingFileSaysCannotRead) {
  try {
    hilt::load_fixture(dir_ / "absent.yaml");
    FAIL();
  } catch (const hilt::config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "absent.yaml").string() + ": cannot read: No such file or directory");
  }
}

}  // namespace
