// Profiles and the fixture's `emulation:` section: accepted syntax, and exact file:line:col
// messages for mistakes (DESIGN.md rule 6).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "hilt/emu/emulation.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/error.hpp"

namespace {

namespace fs = std::filesystem;

const char* const base_profile =
    "identifier: 0x18\n"                                                // 1
    "cmis_revision: \"5.0\"\n"                                          // 2
    "vendor:\n"                                                         // 3
    "  name: T\n"                                                       // 4
    "  oui: \"00:00:00\"\n"                                             // 5
    "  part_number: P\n"                                                // 6
    "  revision: \"01\"\n"                                              // 7
    "  serial: S\n"                                                     // 8
    "  date_code: \"250101\"\n"                                         // 9
    "firmware: \"1.0\"\n"                                               // 10
    "lanes: { host: 8, media: 4 }\n"                                    // 11
    "media_type: 0x02\n"                                                // 12
    "power: { class: 5, max: 10 W, ready: 9 W, low_power: 1.2 W }\n"    // 13
    "applications:\n"                                                   // 14
    "  - { host: 0x11, media: 0x1C, host_lanes: 8, media_lanes: 4 }\n"  // 15
    "timing: { max_module_pwr_up: 5 s, max_module_pwr_dn: 50 ms, max_dp_init: 5 s, "
    "max_dp_deinit: 5 ms, max_tx_turn_on: 100 ms, max_tx_turn_off: 10 ms }\n";  // 16

struct tmp_dir {
  fs::path dir;
  tmp_dir() {
    dir = fs::path(testing::TempDir()) /
          ("hilt_emu_cfg_" +
           std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir);
    fs::create_directories(dir / "profiles");
  }
  ~tmp_dir() { fs::remove_all(dir); }
  std::string write(const std::string& rel, const std::string& text) const {
    const auto p = (dir / rel).string();
    std::ofstream(p) << text;
    return p;
  }
};

// Replaces line `n` (1-based) of `text`.
std::string with_line(std::string text, int n, const std::string& line) {
  std::istringstream in(text);
  std::string out, l;
  for (int i = 1; std::getline(in, l); ++i)
    out += (i == n ? line : l) + "\n";
  return out;
}
// 1-based column of `needle` in `line`.
int col(const std::string& line, const std::string& needle) {
  return static_cast<int>(line.find(needle)) + 1;
}

std::string profile_error(const tmp_dir& t, const std::string& text) {
  const auto path = t.write("profiles/p.yaml", text);
  try {
    hilt::emu::load_profile(path);
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(EmuProfileConfig, BaseProfileLoadsWithDefaults) {
  tmp_dir t;
  auto p = hilt::emu::load_profile(t.write("profiles/p.yaml", base_profile));
  EXPECT_EQ(p.identifier, 0x18);
  EXPECT_EQ(p.cmis_revision, 0x50);
  EXPECT_EQ(p.power_class, 5);
  EXPECT_DOUBLE_EQ(p.max_power_w, 10.0);
  EXPECT_EQ(p.code_module_pwr_up, 7);
  EXPECT_EQ(p.module_pwr_up, std::chrono::milliseconds(2500));
  ASSERT_EQ(p.applications.size(), 1u);
  EXPECT_EQ(p.applications[0].media_lanes, 4);
}

TEST(EmuProfileConfig, ShippedProfilesLoad) {
  for (const char* name : {"qsfpdd-400g-dr4.yaml", "osfp-800g-dr8.yaml"}) {
    auto p = hilt::emu::load_profile(std::string(HILT_REPO_DIR) + "/fixtures/profiles/" + name);
    EXPECT_FALSE(p.part_number.empty()) << name;
  }
}

TEST(EmuProfileConfig, UnknownKey) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const auto msg = profile_error(t, std::string(base_profile) + "vendorr: x\n");
  EXPECT_EQ(
      msg.rfind(path + ":17:1: unknown key 'vendorr' in profile; expected one of: identifier, "
                       "cmis_revision, vendor,",
                0),
      0u)
      << msg;
}

TEST(EmuProfileConfig, UnknownNestedKey) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const std::string line = "  seriall: S";
  const auto msg = profile_error(t, with_line(base_profile, 8, line));
  EXPECT_EQ(msg.rfind(path + ":8:3: unknown key 'seriall' in vendor", 0), 0u) << msg;
}

TEST(EmuProfileConfig, OutOfRangeIdentifier) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  EXPECT_EQ(profile_error(t, with_line(base_profile, 1, "identifier: 0x1FF")),
            path + ":1:13: 'identifier' must be within 0..255, got 0x1FF");
}

TEST(EmuProfileConfig, LowPowerAboveLimit) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const std::string line = "power: { class: 5, max: 10 W, ready: 9 W, low_power: 2 W }";
  EXPECT_EQ(profile_error(t, with_line(base_profile, 13, line)),
            path + ":13:" + std::to_string(col(line, "2 W")) +
                ": 'low_power' must be within 0 W .. 1.5 W, got '2 W'");
}

TEST(EmuProfileConfig, WrongUnit) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const std::string line = "power: { class: 5, max: 10 V, ready: 9 W, low_power: 1 W }";
  EXPECT_EQ(profile_error(t, with_line(base_profile, 13, line)),
            path + ":13:" + std::to_string(col(line, "10 V")) +
                ": 'max' expects a power (W, mW, uW, kW), got '10 V'");
}

TEST(EmuProfileConfig, ApplicationLanesExceedModule) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const std::string line = "  - { host: 0x11, media: 0x1C, host_lanes: 8, media_lanes: 8 }";
  EXPECT_EQ(profile_error(t, with_line(base_profile, 15, line)),
            path + ":15:" + std::to_string(col(line, "8 }")) +
                ": 'media_lanes' 8 exceeds the module's 4 media lanes");
}

TEST(EmuProfileConfig, MissingRequiredKey) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  EXPECT_EQ(profile_error(t, with_line(base_profile, 10, "# no firmware")),
            path + ":1:1: missing required key 'firmware' in profile");
}

TEST(EmuProfileConfig, SyntaxError) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const auto msg = profile_error(t, with_line(base_profile, 11, "lanes: { host: 8, media: 4"));
  EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << msg;
  EXPECT_NE(msg.find(":12:"), std::string::npos) << msg;
}

TEST(EmuProfileConfig, ReadyAboveMax) {
  tmp_dir t;
  const std::string path = (t.dir / "profiles/p.yaml").string();
  const std::string line = "power: { class: 5, max: 10 W, ready: 11 W, low_power: 1 W }";
  EXPECT_EQ(
      profile_error(t, with_line(base_profile, 13, line)),
      path + ":13:" + std::to_string(col(line, "11 W")) + ": 'ready' (11 W) exceeds 'max' (10 W)");
}

// --- the emulation: section ------------------------------------------------------------------

struct emu_fixture : tmp_dir {
  std::string source;
  emu_fixture() {
    write("profiles/good.yaml", base_profile);
    source = (dir / "fixture.yaml").string();
  }
  std::unique_ptr<hilt::emulation> make(const std::string& yaml) const {
    return hilt::emu::make_emulation(YAML::Load(yaml), hilt::emulation_env{nullptr, 1, source});
  }
  std::string error(const std::string& yaml) const {
    try {
      make(yaml);
    } catch (const hilt::config_error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST(EmuSection, BuildsBusesAndModules) {
  emu_fixture f;
  auto emu = f.make(
      "ambient: 30 C\n"
      "modules:\n"
      "  - bus: port1\n"
      "    profile: profiles/good.yaml\n"
      "    serial: EMU1\n"
      "  - bus: port2\n"
      "    address: 0x51\n"
      "    profile: profiles/good.yaml\n"
      "    lpmode_pin: true\n"
      "    boot: settled\n"
      "    rx_loss: 3 dB\n"
      "    faults: { nack_rate: 0.0 }\n");
  ASSERT_TRUE(emu->i2c("port1"));
  ASSERT_TRUE(emu->i2c("port2"));
  EXPECT_EQ(emu->i2c("nope").error(), hilt::errc::device_not_found);
  const auto lines = emu->describe();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "port1@0x50 state=ModuleReady lasers=on tx_disable=0x00 pn=P sn=EMU1");
  EXPECT_EQ(lines[1], "port2@0x51 state=ModuleLowPwr lasers=off tx_disable=0x00 pn=P sn=S");
  auto* be = dynamic_cast<hilt::emu::bench_emulation*>(emu.get());
  ASSERT_NE(be, nullptr);
  EXPECT_DOUBLE_EQ(be->the_world().ambient_c(), 30.0);
}

TEST(EmuSection, UnknownModuleKey) {
  emu_fixture f;
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    adress: 0x51\n"
                    "    profile: profiles/good.yaml\n")
                .rfind(f.source + ":3:5: unknown key 'adress' in emulated module; expected one of: "
                                  "bus, address, profile,",
                       0),
            0u);
}

TEST(EmuSection, DuplicateAddress) {
  emu_fixture f;
  EXPECT_EQ(f.error("modules:\n"
                    "  - { bus: port1, profile: profiles/good.yaml }\n"
                    "  - bus: port1\n"
                    "    address: 0x50\n"
                    "    profile: profiles/good.yaml\n"),
            f.source + ":4:14: bus 'port1' already has a module at 0x50");
}

TEST(EmuSection, MissingProfile) {
  emu_fixture f;
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/missing.yaml\n"),
            f.source + ":3:14: profile 'profiles/missing.yaml' not found (looked for " +
                (f.dir / "profiles/missing.yaml").string() + ")");
}

TEST(EmuSection, BadValues) {
  emu_fixture f;
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/good.yaml\n"
                    "    faults: { nack_rate: 1.5 }\n"),
            f.source + ":4:26: 'nack_rate' must be within 0..1, got 1.5");
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/good.yaml\n"
                    "    boot: warm\n"),
            f.source + ":4:11: 'boot' expects 'settled' or 'cold', got 'warm'");
  EXPECT_EQ(f.error("ambient: 25 V\n"),
            f.source + ":1:10: 'ambient' expects a temperature (C, degC, K, F), got '25 V'");
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/good.yaml\n"
                    "    serial: ABCDEFGHIJKLMNOPQ\n"),
            f.source + ":4:13: 'serial' must be 1 to 16 characters (00h:166-181)");
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    address: 0x80\n"
                    "    profile: profiles/good.yaml\n"),
            f.source + ":3:14: 'address' must be within 3..119, got 0x80");
  EXPECT_EQ(
      f.error("modulez: []\n").rfind(f.source + ":1:1: unknown key 'modulez' in emulation", 0), 0u);
}

TEST(EmuSection, FixtureLevelModuleFaultsApplyToThatModuleOnly) {
  emu_fixture f;
  auto emu = f.make(
      "modules:\n"
      "  - bus: port1\n"
      "    profile: profiles/good.yaml\n"
      "    faults: { module_fault: { at: 0 s, cause: 2 }, nack_rate: 0 }\n"
      "  - { bus: port2, profile: profiles/good.yaml }\n");
  const auto lines = emu->describe();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("state=ModuleFault"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("state=ModuleReady"), std::string::npos) << lines[1];
}

TEST(EmuSection, FixtureLevelModuleFaultsAreChecked) {
  emu_fixture f;
  EXPECT_EQ(
      f.error("modules:\n"
              "  - bus: port1\n"
              "    profile: profiles/good.yaml\n"
              "    faults: { stuck: DPInit }\n"),
      f.source +
          ":4:15: unknown key 'stuck' in faults; expected one of: stuck_state, "
          "garbage_page, laser_aging_db_per_khour, lane_dark, module_fault, silent_at, nack_rate");
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/good.yaml\n"
                    "    faults: { stuck_state: Sleeping }\n"),
            f.source +
                ":4:28: 'stuck_state' expects ModulePwrUp, ModulePwrDn, DPInit, DPDeinit or "
                "DPTxTurnOn, got 'Sleeping'");
}

TEST(EmuSection, InstrumentAndModuleFaultTimesAreChecked) {
  emu_fixture f;
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/good.yaml\n"
                    "    faults: { silent_at: 3 V }\n"),
            f.source +
                ":4:26: 'silent_at' expects a time (s, ms, us, ns, min, h, d, sec, hr), "
                "got '3 V'");
  EXPECT_EQ(f.error("supplies:\n"
                    "  - { name: psu1, model: rs-ngp, faults: { offline: 1 h } }\n"),
            f.source + ":2:44: unknown key 'offline' in faults; expected one of: offline_at");
  EXPECT_EQ(f.error("chambers:\n"
                    "  - { name: c1, faults: { errors_at: -1 h } }\n"),
            f.source + ":2:38: 'errors_at' must be within 0 s .. 100000000 s, got '-1 h'");
}

TEST(EmuSection, ProfileErrorsNameTheProfileFile) {
  emu_fixture f;
  const auto bad = f.write("profiles/bad.yaml", with_line(base_profile, 12, "media_type: 300"));
  EXPECT_EQ(f.error("modules:\n"
                    "  - bus: port1\n"
                    "    profile: profiles/bad.yaml\n"),
            bad + ":12:13: 'media_type' must be within 0..255, got 300");
}

TEST(EmuSection, RepositoryEmulatedBench) {
  const std::string path = std::string(HILT_REPO_DIR) + "/fixtures/emulated-bench.yaml";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not present";
  const YAML::Node root = YAML::LoadFile(path);
  auto emu = hilt::emu::make_emulation(root["emulation"], hilt::emulation_env{nullptr, 1, path});
  const auto lines = emu->describe();
  EXPECT_FALSE(lines.empty());
  int modules = 0;
  for (const auto& l : lines) {
    if (l.find(" state=") == std::string::npos) continue;  // supplies and chambers
    ++modules;
    EXPECT_NE(l.find("state=ModuleReady lasers=on"), std::string::npos) << l;
  }
  EXPECT_EQ(modules, 8);
}

}  // namespace
