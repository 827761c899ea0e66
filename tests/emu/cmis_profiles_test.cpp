// Emulated module profiles through the real binary: `hilt validate` names the profile's file,
// line and column for a mistake inside it; the shipped CPO + ELSFP profiles run on a bench.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "process.hpp"

using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

namespace fs = std::filesystem;

std::string bench_with(const temp_dir& d, const std::string& profile) {
  return d.write("bench.yaml",
                 "fixture: profiles-e2e\nclock: virtual\nemulation:\n  modules:\n"
                 "    - { bus: port1, profile: " +
                     profile +
                     " }\ndevices:\n  - { name: m1, address: \"cmis:emu-i2c:port1@0x50\" }\n");
}

std::string copy_profile_with(const temp_dir& d, const std::string& name, const std::string& from,
                              const std::string& to) {
  std::ifstream in(source_dir() / "fixtures/profiles/qsfpdd-400g-dr4.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!from.empty()) text.replace(text.find(from), from.size(), to);
  return d.write(name, text);
}

TEST(CmisProfiles, ValidateNamesTheProfileLineAndColumn) {
  temp_dir d;
  // An unknown key in the faults section (appended as the last line).
  const auto bad_key =
      copy_profile_with(d, "bad_key.yaml", "vdm: true", "vdm: true\nfaults: { stuck: DPInit }");
  auto r = run_hilt({"validate", bench_with(d, bad_key)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE((r.out + r.err).find(bad_key + ":"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("unknown key 'stuck' in faults; expected one of: stuck_state"),
            std::string::npos)
      << r.out << r.err;
  // A value out of range: a PRBS pattern that does not exist, a BER above 0.1.
  const auto bad_pattern = copy_profile_with(d, "bad_pattern.yaml", "media_checker: [PRBS-31Q",
                                             "media_checker: [PRBS-77Q");
  r = run_hilt({"validate", bench_with(d, bad_pattern)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE((r.out + r.err).find("unknown PRBS pattern 'PRBS-77Q' in 'media_checker'"),
            std::string::npos)
      << r.out << r.err;
  const auto bad_ber =
      copy_profile_with(d, "bad_ber.yaml", "reference_ber: 2.4e-4", "reference_ber: 0.7");
  r = run_hilt({"validate", bench_with(d, bad_ber)});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE((r.out + r.err).find(bad_ber + ":"), std::string::npos) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("'reference_ber' must be within 1e-15..0.1, got 0.7"),
            std::string::npos)
      << r.out << r.err;
  // The shipped profiles are valid.
  for (const char* p : {"osfp-800g-lpo.yaml", "elsfp-8ch.yaml", "cpo-engine-3.2t.yaml"}) {
    r = run_hilt({"validate", bench_with(d, (source_dir() / "fixtures/profiles" / p).string())});
    EXPECT_EQ(r.exit_code, 0) << p << "\n" << r.out << r.err;
  }
}

TEST(CmisProfiles, CpoEngineAndItsLaserSourceOnOneBus) {
  temp_dir d;
  const auto prof = source_dir() / "fixtures/profiles";
  const auto fixture =
      d.write("cpo.yaml",
              "fixture: cpo\nclock: virtual\nemulation:\n  modules:\n"
              "    - { bus: oe1, address: 0x51, profile: " +
                  (prof / "elsfp-8ch.yaml").string() +
                  " }\n"
                  "    - { bus: oe1, address: 0x50, profile: " +
                  (prof / "cpo-engine-3.2t.yaml").string() +
                  " }\n"
                  "devices:\n  - { name: els, address: \"cmis:emu-i2c:oe1@0x51\" }\n"
                  "  - { name: oe, address: \"cmis:emu-i2c:oe1@0x50\" }\n");
  auto r = run_hilt({"devices", "--fixture", fixture, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["identity"]["part_number"], "EMU-ELSFP-8CH");
  EXPECT_EQ(j[0]["identity"]["extra"]["identifier"], "0x22 (OIF-ELSFP with CMIS)");
  EXPECT_EQ(j[1]["identity"]["part_number"], "EMU-CPO-3.2T-DR4");
  // The engine's dump: 4 banks of lane pages, decoded with its 32 active lanes.
  const auto bin = (d / "oe.bin").string();
  r = run_hilt({"eeprom", "dump", "--fixture", fixture, "--device", "oe", "--out", bin});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("11h bank 3"), std::string::npos) << r.out;
  r = run_hilt({"eeprom", "decode", bin, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto e = nlohmann::json::parse(r.out);
  EXPECT_EQ(e["lanes"].size(), 32u);
  EXPECT_EQ(e["pages_missing"].size(), 0u);
  int lit = 0;
  for (const auto& m : e["monitors"]) {
    if (m["name"] == "tx_power" && m["value"].get<double>() > -3.0) ++lit;
  }
  EXPECT_EQ(lit, 32) << "every media lane lit by the ELSFP";
}

}  // namespace
