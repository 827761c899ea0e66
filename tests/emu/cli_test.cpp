// The hilt command line end to end: usage errors, drivers, validate, devices.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "process.hpp"

using hilt::test::first_line;
using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {
const std::string plugin_dir = HILT_TEST_PLUGIN_DIR;
const std::string bad_plugin_dir = HILT_TEST_BAD_PLUGIN_DIR;
std::string fixture() {
  return (source_dir() / "fixtures/emulated-bench.yaml").string();
}
std::string smoke() {
  return (source_dir() / "sequences/library/smoke.yaml").string();
}
}  // namespace

TEST(Cli, VersionAndHelp) {
  auto r = run_hilt({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(first_line(r.out), "hilt 0.1.0");
  r = run_hilt({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub :
       {"drivers", "validate", "devices", "run", "runs", "show", "eeprom", "emulate"}) {
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
  }
  EXPECT_NE(r.out.find("130  interrupted"), std::string::npos);
  for (const char* sub :
       {"drivers", "validate", "devices", "run", "runs", "show", "eeprom", "emulate"}) {
    r = run_hilt({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << sub;
  }
}

TEST(Cli, UsageErrorsAreOneLineAndExit2) {
  struct c {
    std::vector<std::string> args;
    std::string message;
  };
  const c cases[] = {
      {{}, "hilt: A subcommand is required (run 'hilt --help' for usage)"},
      {{"frobnicate"},
       "hilt: unknown subcommand 'frobnicate' (expected one of: drivers, validate, devices, run, "
       "resume, runs, show, eeprom, emulate, usb; run 'hilt --help' for usage)"},
      {{"drivers", "--bogus"},
       "hilt: The following argument was not expected: --bogus (run 'hilt --help' for usage)"},
      {{"run"}, "hilt: sequence is required (run 'hilt --help' for usage)"},
      {{"resume"}, "hilt: run is required (run 'hilt --help' for usage)"},
      {{"resume", "three"}, "hilt: Could not convert: run = three (run 'hilt --help' for usage)"},
      {{"run", "x.yaml", "--clock", "fast"},
       "hilt: --clock: fast not in {real,virtual} (run 'hilt --help' for usage)"},
      {{"--log-level", "loud", "drivers"},
       "hilt: unknown log level 'loud': expected trace, debug, info, warn, error, critical or off"},
  };
  for (const auto& k : cases) {
    const auto r = run_hilt(k.args);
    EXPECT_EQ(r.exit_code, 2) << k.message;
    EXPECT_EQ(r.err, k.message + "\n");
  }
}

TEST(Cli, DriversListsBuiltInsAndTheSamplePlugin) {
  auto r = run_hilt({"drivers"}, {{"HILT_PLUGIN_PATH", plugin_dir}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cmis"), std::string::npos);
  EXPECT_NE(r.out.find("built-in"), std::string::npos);
  EXPECT_NE(r.out.find("sample-hwmon"), std::string::npos);
  EXPECT_NE(r.out.find("hilt-sample-hwmon.so"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;

  r = run_hilt({"drivers", "--json"}, {{"HILT_PLUGIN_PATH", plugin_dir}});
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(r.out);
  bool cmis = false, sample = false;
  for (const auto& d : j["drivers"]) {
    if (d["name"] == "cmis") {
      cmis = true;
      EXPECT_EQ(d["origin"], "built-in");
      EXPECT_EQ(d["classes"][0], "managed_module");
    }
    if (d["name"] == "sample-hwmon") {
      sample = true;
      EXPECT_NE(d["origin"].get<std::string>().find("hilt-sample-hwmon.so"), std::string::npos);
    }
  }
  EXPECT_TRUE(cmis);
  EXPECT_TRUE(sample);
}

TEST(Cli, BadPluginIsReportedAgainstItsFileAndSkipped) {
  const auto r = run_hilt({"drivers"}, {{"HILT_PLUGIN_PATH", bad_plugin_dir + ":" + plugin_dir}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("cmis"), std::string::npos);
  EXPECT_NE(r.err.find("hilt: plugin " + bad_plugin_dir +
                       "/wrong_abi.so skipped: plugin ABI "
                       "version 43, this hilt needs 2"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(bad_plugin_dir + "/throwing.so skipped: registration failed: cannot find "
                                        "my calibration table"),
            std::string::npos)
      << r.err;
}

TEST(Cli, ValidateAcceptsTheShippedFiles) {
  const auto r = run_hilt({"validate", smoke(), fixture()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("smoke.yaml: ok (sequence)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("emulated-bench.yaml: ok (fixture)"), std::string::npos) << r.out;
}

TEST(Cli, ValidateReportsEveryProblemWithFileLineColumn) {
  temp_dir d;
  const auto seq = d.write("bad-seq.yaml", R"(sequence: broken
main:
  - step: frobnicate
  - step: wait
    duration: 5 V
)");
  const auto fix = d.write("bad-fixture.yaml", R"(fixture: broken
devices:
  - name: m1
    address: nodriver:x:y
)");
  const auto neither = d.write("neither.yaml", "hello: world\n");
  const auto r = run_hilt({"validate", seq, fix, neither, (d / "absent.yaml").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(seq + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(seq + ":5:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fix + ":4:14: no driver named 'nodriver'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(neither + ":1:1: not a hilt file: expected a top-level 'sequence:' or "
                                 "'fixture:' key"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find((d / "absent.yaml").string() + ": cannot read: No such file or directory"),
            std::string::npos)
      << r.err;
}

TEST(Cli, DevicesPrintsTheIdentityOfEveryEmulatedModule) {
  auto r = run_hilt({"devices"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"m1", "m4", "EMU4D0000001", "EMU8D0000004", "cmis:emu-i2c:cage3@0x50"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
  r = run_hilt({"devices", "--json", "--fixture", fixture()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 11u);  // 8 modules, a chamber and two supplies
  EXPECT_EQ(j[0]["identity"]["serial"], "EMU4D0000001");
  EXPECT_EQ(j[2]["class"], "managed_module");
  EXPECT_EQ(j[8]["name"], "chamber1");
  EXPECT_EQ(j[8]["class"], "thermal_chamber");
  EXPECT_EQ(j[9]["class"], "power_supply");
  EXPECT_FALSE(j[9]["identity"]["vendor"].get<std::string>().empty());
}

TEST(Cli, DevicesNamesADeviceThatDoesNotAnswer) {
  temp_dir d;
  const auto f = hilt::test::write_one_empty_cage_fixture(d, "cmis:emu-i2c:cage1@0x51", false);
  const auto r = run_hilt({"devices", "--fixture", f});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("hilt: empty (cmis:emu-i2c:cage1@0x51): identify failed"), std::string::npos)
      << r.err;
}
