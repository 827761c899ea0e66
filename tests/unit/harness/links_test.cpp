// The fixture's `links:` (hilt/links.hpp): what is accepted, and every bad input with its
// location and message.
#include "hilt/links.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hilt/driver.hpp"
#include "hilt/fixture.hpp"

namespace {

namespace fs = std::filesystem;

class class_driver final : public hilt::driver {
 public:
  class_driver(std::string name, hilt::device_class c)
      : info_{std::move(name), "1", "test", {c}, {"emu-tcp"}} {}
  const hilt::driver_info& info() const noexcept override { return info_; }
  hilt::result<std::shared_ptr<hilt::device>> make(const hilt::make_args&) const override {
    return hilt::failure(make_error_code(hilt::errc::device_not_found));
  }

 private:
  hilt::driver_info info_;
};

constexpr const char* devices = R"(fixture: links
devices:
  - { name: asic0, address: "sai-rpc:emu-tcp:asic0" }
  - { name: m1, address: "cmis:emu-i2c:port1@0x50" }
  - { name: m2, address: "cmis:emu-i2c:port2@0x50" }
  - { name: m3, address: "cmis:emu-i2c:port3@0x50" }
  - { name: voa1, address: "scpi-voa:emu-tcp:voa1" }
links:
)";

class Links : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hilt-links-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    reg_.add(std::make_shared<class_driver>("cmis", hilt::device_class::managed_module));
    reg_.add(std::make_shared<class_driver>("sai-rpc", hilt::device_class::switch_asic));
    reg_.add(std::make_shared<class_driver>("scpi-voa", hilt::device_class::optical_attenuator));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& links) {
    const auto p = dir_ / "f.yaml";
    std::ofstream(p) << devices << links;
    return p.string();
  }
  // "line:col: message" of every problem.
  std::vector<std::string> problems(const std::string& links) {
    std::vector<std::string> out;
    for (const auto& e : hilt::check_fixture(write(links), reg_)) {
      std::string w = e.what();
      out.push_back(w.substr(w.find("f.yaml:") + 7));
    }
    return out;
  }

  fs::path dir_;
  hilt::driver_registry reg_;
};

TEST(LaneList, RangesListsAndErrors) {
  std::string err;
  EXPECT_EQ(hilt::parse_lane_list("1-4", err), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(hilt::parse_lane_list("1, 3,5-6", err), (std::vector<int>{1, 3, 5, 6}));
  EXPECT_EQ(hilt::parse_lane_list("8", err), (std::vector<int>{8}));
  EXPECT_TRUE(hilt::parse_lane_list("4-1", err).empty());
  EXPECT_EQ(err, "'4-1' is an empty range: its first lane is above its last");
  EXPECT_TRUE(hilt::parse_lane_list("0", err).empty());
  EXPECT_EQ(err, "'0' is not a lane number from 1 to 64");
  EXPECT_TRUE(hilt::parse_lane_list("1-x", err).empty());
  EXPECT_EQ(err, "'1-x' is not a lane range like 1-8 (lanes 1 to 64)");
  EXPECT_TRUE(hilt::parse_lane_list("65", err).empty());
}

TEST_F(Links, ParsesElectricalLoopbackAndFiber) {
  const auto f = hilt::load_fixture(
      write(R"(  - { asic: asic0/3, asic_lanes: 5-8, module: m1, host_lanes: 1-4, loss: 12 dB }
  - { asic: asic0/4, module: m2, host_lanes: [1, 2] }
  - { module: m1, loopback: 2 dB, attenuator: voa1 }
  - { fiber: [m2, m3], media_lanes: 1-4, loss: 3 dB }
)"),
      &reg_);
  ASSERT_EQ(f.links.electrical.size(), 2u);
  EXPECT_EQ(f.links.electrical[0].asic, "asic0");
  EXPECT_EQ(f.links.electrical[0].port, 3);
  EXPECT_EQ(f.links.electrical[0].asic_lanes, (std::vector<int>{5, 6, 7, 8}));
  EXPECT_EQ(f.links.electrical[0].host_lanes, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_DOUBLE_EQ(f.links.electrical[0].loss_db, 12);
  EXPECT_EQ(f.links.electrical[1].asic_lanes, (std::vector<int>{1, 2}));  // default 1..n
  EXPECT_DOUBLE_EQ(f.links.electrical[1].loss_db, 10);
  ASSERT_EQ(f.links.optical.size(), 2u);
  EXPECT_TRUE(f.links.optical[0].loopback());
  EXPECT_EQ(f.links.optical[0].attenuator, "voa1");
  EXPECT_DOUBLE_EQ(f.links.optical[0].loss_db, 2);
  EXPECT_EQ(f.links.optical[1].a, "m2");
  EXPECT_EQ(f.links.optical[1].b, "m3");
  EXPECT_EQ(f.links.optical_of("m3").size(), 1u);
  EXPECT_EQ(f.links.electrical_of("m2").size(), 1u);

  // In the emulation's names: modules by bus@address, the ASIC and the VOA by their emu-tcp name.
  const auto e = hilt::emulated_links(f);
  ASSERT_EQ(e.electrical.size(), 2u);
  EXPECT_EQ(e.electrical[0].asic, "asic0");
  EXPECT_EQ(e.electrical[0].module, "port1@0x50");
  EXPECT_EQ(e.optical[0].attenuator, "voa1");
  EXPECT_EQ(e.optical[1].b, "port3@0x50");
}

TEST_F(Links, EveryBadInputIsLocatedAndExplained) {
  struct bad {
    const char* links;
    const char* message;
  };
  const bad cases[] = {
      {"  - { asic: asic9/1, module: m1, host_lanes: 1-4 }\n",
       "9:13: 'asic': 'asic9' is not a device of this fixture"},
      {"  - { asic: asic0/1, module: m9, host_lanes: 1-4 }\n",
       "9:30: 'module': 'm9' is not a device of this fixture"},
      {"  - { asic: m1/1, module: m2, host_lanes: 1-4 }\n",
       "9:13: 'asic': device 'm1' is of class managed_module; a link's 'asic' needs class "
       "switch_asic"},
      {"  - { asic: asic0, module: m1, host_lanes: 1-4 }\n",
       "9:13: 'asic' must be DEVICE/PORT, like asic0/1; got 'asic0'"},
      {"  - { asic: asic0/1, module: m1 }\n",
       "9:5: an electrical link needs 'host_lanes' (the module's host lanes, like 1-8)"},
      {"  - { asic: asic0/1, module: m1, host_lanes: 1-4, asic_lanes: 1-8 }\n",
       "9:63: 'asic_lanes' names 8 lanes but 'host_lanes' 4: they pair up one to one"},
      {"  - { asic: asic0/1, module: m1, host_lanes: 4-1 }\n",
       "9:46: 'host_lanes' must be lanes like 1-8, 1,3,5 or a list of numbers: '4-1' is an empty "
       "range: its first lane is above its last"},
      {"  - { asic: asic0/1, module: m1, host_lanes: 1-4, loss: 12 V }\n",
       "9:57: 'loss' must be a loss in dB, like 3 dB; got '12 V'"},
      {"  - { asic: asic0/1, module: m1, host_lanes: 1-4 }\n"
       "  - { asic: asic0/1, asic_lanes: 4, module: m2, host_lanes: 1 }\n",
       "10:5: asic0/1 lane 4 is already linked at "},
      {"  - { asic: asic0/1, module: m1, host_lanes: 1-4 }\n"
       "  - { asic: asic0/2, module: m1, host_lanes: 3 }\n",
       "10:5: m1 host lane 3 is already linked at "},
      {"  - { module: m1, loopback: 2 dB }\n  - { fiber: [m1, m2] }\n",
       "10:5: m1 media lanes is already linked at "},
      {"  - { module: m1, loopback: 2 dB, media_lanes: 1-2 }\n"
       "  - { fiber: [m1, m2], media_lanes: 2 }\n",
       "10:5: m1 media lane 2 is already linked at "},
      {"  - { fiber: [m1, m1] }\n",
       "9:14: 'fiber' joins 'm1' to itself: use 'loopback:' for a loopback plug"},
      {"  - { fiber: m1 }\n", "9:14: 'fiber' must name the two modules it joins, like [m1, m2]"},
      {"  - { module: m1, loopback: 2 dB, attenuator: m2 }\n",
       "9:47: 'attenuator': device 'm2' is of class managed_module; a link's 'attenuator' needs "
       "class optical_attenuator"},
      {"  - { module: m1 }\n",
       "9:5: a link needs one of 'asic:' (electrical), 'loopback:' (a loopback plug) or 'fiber:' "
       "(a fiber pair)"},
      {"  - { module: m1, loopback: 2 dB, fiber: [m1, m2] }\n",
       "9:5: a link has exactly one of 'asic:', 'loopback:' and 'fiber:'"},
      {"  - { module: m1, loopback: 2 dB, los: 3 dB }\n",
       "9:35: unknown key 'los' in a loopback link; expected one of: module, loopback, "
       "media_lanes, attenuator"},
      {"  asic: asic0/1\n",
       "9:3: 'links' must be a list of links (asic:, loopback: or fiber: entries)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.links);
    const auto p = problems(c.links);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p.front().substr(0, std::string(c.message).size()), c.message) << p.front();
  }
}

}  // namespace
