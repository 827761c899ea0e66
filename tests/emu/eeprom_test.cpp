// `hilt eeprom dump|decode` end to end through the real binary: every emulated profile dumped
// over the emulated bus and decoded back to what its profile file says; the real module dumps in
// ../shared/reference/eeprom (read in place); bad files and bad devices with their exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "process.hpp"

using hilt::test::first_line;
using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

namespace fs = std::filesystem;

// The scalar value of `key:` at the start of a line (after indentation) in a profile file,
// without quotes and trailing comments: enough for the identity keys of our own profiles.
std::string profile_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line.compare(first, key.size() + 1, key + ":") != 0) continue;
    std::string v = line.substr(first + key.size() + 1);
    if (const auto hash = v.find(" #"); hash != std::string::npos) v = v.substr(0, hash);
    v.erase(0, v.find_first_not_of(' '));
    v.erase(v.find_last_not_of(' ') + 1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return {};
}

std::string fixture_for(const temp_dir& d, const fs::path& profile, const std::string& extra = "") {
  const bool cpo = profile.filename().string().rfind("cpo", 0) == 0;
  std::string text =
      "fixture: eeprom-e2e\nclock: virtual\nseed: 3\nemulation:\n  modules:\n"
      "    - { bus: port1, profile: " +
      profile.string() + extra + " }\n";
  if (cpo) {
    text += "    - { bus: port1, address: 0x51, profile: " +
            (profile.parent_path() / "elsfp-8ch.yaml").string() + " }\n";
  }
  text += "devices:\n  - { name: m1, address: \"cmis:emu-i2c:port1@0x50\" }\n";
  return d.write("bench.yaml", text);
}

std::string eeprom_dir() {
  return (source_dir() / "../shared/reference/eeprom").lexically_normal().string();
}

TEST(EepromCli, EveryProfileDumpsAndDecodesToItsProfile) {
  temp_dir d;
  std::vector<fs::path> profiles;
  for (const auto& e : fs::directory_iterator(source_dir() / "fixtures/profiles")) {
    if (e.path().extension() == ".yaml") profiles.push_back(e.path());
  }
  ASSERT_GE(profiles.size(), 5u);
  for (const auto& p : profiles) {
    SCOPED_TRACE(p.filename().string());
    std::ifstream in(p);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto fixture = fixture_for(d, p);
    const auto bin = (d / (p.stem().string() + ".bin")).string();
    auto r = run_hilt({"eeprom", "dump", "--fixture", fixture, "--device", "m1", "--out", bin});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("m1 (cmis:emu-i2c:port1@0x50): CMIS dump"), std::string::npos) << r.out;
    r = run_hilt({"eeprom", "decode", bin, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["identifier"].get<int>(),
              std::stoi(profile_value(text, "identifier"), nullptr, 16));
    EXPECT_EQ(j["spec"], "CMIS");
    EXPECT_EQ(j["spec_revision"], profile_value(text, "cmis_revision"));
    EXPECT_EQ(j["vendor"], profile_value(text, "name"));
    EXPECT_EQ(j["part_number"], profile_value(text, "part_number"));
    EXPECT_EQ(j["revision"], profile_value(text, "revision"));
    EXPECT_EQ(j["serial"], profile_value(text, "serial"));
    EXPECT_EQ(j["date_code_raw"], profile_value(text, "date_code"));
    EXPECT_EQ(j["power_class"].get<int>(), std::stoi(profile_value(text, "class")));
    EXPECT_EQ(j["firmware"], profile_value(text, "firmware"));
    EXPECT_EQ(j["module_state"], "ModuleReady");
    EXPECT_EQ(j["pages_missing"].size(), 0u) << j["pages_missing"].dump();
    EXPECT_EQ(j["warnings"].size(), 0u) << j["warnings"].dump();
    const bool elsfp =
        !profile_value(text, "elsfp").empty() || text.find("\nelsfp:") != std::string::npos;
    if (!elsfp) {
      for (const auto& l : j["lanes"])
        EXPECT_EQ(l["dp_state"], "DPActivated") << l.dump();
      EXPECT_GT(j["applications"].size(), 0u);
    }
    // The text form of the same file.
    r = run_hilt({"eeprom", "decode", bin});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Part number             : " + profile_value(text, "part_number")),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("Pages missing           : none"), std::string::npos);
  }
}

TEST(EepromCli, RealDumpsDecodeAsTheBytesSay) {
  if (!fs::is_directory(eeprom_dir())) {
    GTEST_SKIP() << "real EEPROM dumps not found at " << eeprom_dir()
                 << " (shared/reference/eeprom beside the repository)";
  }
  struct expect {
    const char* file;
    int identifier;
    const char* vendor;
    const char* pn;
    const char* sn;
    const char* rev;
    int power_class;
    double max_power;
    const char* state;
    std::vector<std::string> missing;
  };
  const expect cases[] = {
      {"bigcode_innolight_T-DP4CNH-N00_qsfpdd_400g_dr4_cmis3.bin",
       0x18,
       "INNOLIGHT",
       "T-DP4CNH-N00",
       "INIBU8141290",
       "1B",
       6,
       12.0,
       "ModuleReady",
       {"01h", "02h", "10h", "11h"}},
      {"bigcode_amphenol_NDYYYF-0001_qsfpdd_400g_cr8_cmis3_flat.bin",
       0x18,
       "Amphenol",
       "NDYYYF-0001",
       "APF19170018HMH",
       "D",
       1,
       0.25,
       "reserved or unknown",
       {}},
      {"bigcode_finisar_FTLC9551REPM_qsfp28_100g_sr4_sff8636.bin",
       0x11,
       "FINISAR CORP",
       "FTLC9551REPM",
       "XU90TRP",
       "A0",
       4,
       3.5,
       "Ready",
       {"01h", "02h", "03h"}},
      {"bigcode_innolight_TR-VC13T-N00_qsfp28_100g_psm4_sff8636.bin",
       0x11,
       "INNOLIGHT",
       "TR-VC13T-N00",
       "INGAT6650079",
       "01",
       4,
       3.5,
       "Ready",
       {"01h", "02h", "03h"}},
      {"bigcode_lumentum_LQ210CR-CAA1_qsfp28_100g_cwdm4_sff8636.bin",
       0x11,
       "LUMENTUM",
       "LQ210CR-CAA1",
       "FF4250500019-Q",
       "01",
       4,
       3.5,
       "Ready",
       {"01h", "02h", "03h"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto r = run_hilt({"eeprom", "decode", eeprom_dir() + "/" + c.file, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["identifier"].get<int>(), c.identifier);
    EXPECT_EQ(j["vendor"], c.vendor);
    EXPECT_EQ(j["part_number"], c.pn);
    EXPECT_EQ(j["serial"], c.sn);
    EXPECT_EQ(j["revision"], c.rev);
    EXPECT_EQ(j["power_class"].get<int>(), c.power_class);
    EXPECT_DOUBLE_EQ(j["max_power_w"].get<double>(), c.max_power);
    EXPECT_EQ(j["module_state"], c.state);
    EXPECT_EQ(j["pages_missing"].get<std::vector<std::string>>(), c.missing);
    r = run_hilt({"eeprom", "decode", eeprom_dir() + "/" + c.file});
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find(std::string("Serial number           : ") + c.sn), std::string::npos);
  }
}

TEST(EepromCli, BadFilesSayWhatIsWrongAndExit2) {
  temp_dir d;
  const auto empty = d.write("empty.bin", "");
  const auto text = d.write("notes.txt", "hello, this is not an EEPROM dump\n");
  const auto trunc = d.write("trunc.bin", std::string("\x18\x50", 2) + std::string(98, '\0'));
  struct c {
    std::string file, message;
  };
  const c cases[] = {
      {empty, "hilt: " + empty +
                  ": empty file: a module EEPROM dump holds at least lower memory and upper page "
                  "00h (256 bytes, optoe layout)"},
      {text, "hilt: " + text +
                 ": not a module EEPROM: byte 0 (SFF-8024 identifier) is 0x68, which names no "
                 "module type"},
      {trunc, "hilt: " + trunc +
                  ": truncated: 100 bytes; a module EEPROM dump holds at least lower memory and "
                  "upper page 00h (256 bytes, optoe layout)"},
      {(d / "missing.bin").string(), "hilt: " + (d / "missing.bin").string() + ": no such file"},
      {d.path().string(), "hilt: " + d.path().string() + ": is a directory, not an EEPROM dump"},
  };
  for (const auto& k : cases) {
    const auto r = run_hilt({"eeprom", "decode", k.file});
    EXPECT_EQ(r.exit_code, 2) << k.file;
    EXPECT_EQ(r.err, k.message + "\n");
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(EepromCli, DumpErrorsNameTheDeviceAndPage) {
  temp_dir d;
  const auto profile = source_dir() / "fixtures/profiles/qsfpdd-400g-dr4.yaml";
  auto r = run_hilt({"eeprom", "dump", "--fixture", fixture_for(d, profile), "--device", "m9",
                     "--out", (d / "x.bin").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no device 'm9' (devices: m1)"), std::string::npos) << r.err;
  // Every transfer NACKed: the dump fails on lower memory, exit 3.
  r = run_hilt({"eeprom", "dump", "--fixture",
                fixture_for(d, profile, ", faults: { nack_rate: 1.0 }"), "--device", "m1", "--out",
                (d / "x.bin").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("hilt: m1 (cmis:emu-i2c:port1@0x50): eeprom dump failed at lower memory "
                       "bytes 0-127:"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(nack)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "x.bin"));
  r = run_hilt({"eeprom", "dump", "--device", "m1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--out is required"), std::string::npos) << r.err;
}

}  // namespace
