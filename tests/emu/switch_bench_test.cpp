// Issue 7 end to end: the real hilt binary on fixtures/switch-bench.yaml — an emulated 51.2T
// switch ASIC (sai-rpc over TCP), DR4 / LPO / CPO optics (CMIS over I2C), a fiber pair through an
// emulated VOA (SCPI over TCP), all joined by the fixture's links:.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "process.hpp"

using hilt::test::query_one;
using hilt::test::query_rows;
using hilt::test::run_hilt;
using hilt::test::source_dir;
using hilt::test::temp_dir;

namespace {

std::string switch_bench() {
  return (source_dir() / "fixtures" / "switch-bench.yaml").string();
}
std::string library(const std::string& name) {
  return (source_dir() / "sequences" / "library" / name).string();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t a = 0;
  for (;;) {
    const auto b = s.find(sep, a);
    out.push_back(s.substr(a, b == std::string::npos ? std::string::npos : b - a));
    if (b == std::string::npos) return out;
    a = b + 1;
  }
}

// The rx-sensitivity waterfall: at each attenuation point the DUT's received power per lane
// (measure rx_power) and its BER counts per lane (ber_counts), in the order they were taken.
TEST(SwitchBench, RxSensitivitySweepGivesAMonotonicWaterfallStoredPerLane) {
  temp_dir d;
  const std::string db = (d / "r.db").string();
  // Its bench is the one it names (fixture: ../../fixtures/switch-bench.yaml): no --fixture.
  auto r = run_hilt({"run", library("rx-sensitivity.yaml"), "--db", db, "-q", "--set", "first=0 dB",
                     "--set", "last=6 dB", "--set", "step=0.5 dB"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;  // points are recorded, not judged
  // Per point (13) and media lane (4): received power and the BER counts.
  const auto power = query_rows(db,
                                "SELECT m.lane, m.value FROM measurements m WHERE m.name = "
                                "'rx_power' AND m.side = 'media' ORDER BY m.id");
  const auto counts = query_rows(db, "SELECT lane, bits, errors FROM ber_counts ORDER BY id");
  ASSERT_EQ(counts.size(), 13u * 4u) << r.out;
  ASSERT_EQ(power.size(), 13u * 4u) << r.out;
  std::map<int, std::vector<double>> p_dbm, ber;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const auto pc = split(power[i], '|');
    const auto cc = split(counts[i], '|');
    ASSERT_EQ(pc[0], cc[0]);  // same lane, same point
    const int lane = std::stoi(cc[0]);
    const double bits = std::stod(cc[1]), errors = std::stod(cc[2]);
    ASSERT_GT(bits, 0) << "lane " << lane << " point " << i / 4;
    p_dbm[lane].push_back(std::stod(pc[1]));
    ber[lane].push_back(errors / bits);
  }
  for (const auto& [lane, p] : p_dbm) {
    SCOPED_TRACE(fmt::format("lane {}", lane));
    const auto& b = ber[lane];
    for (std::size_t k = 1; k < p.size(); ++k) {
      // Each 0.5 dB of attenuation is 0.5 dB less received power (monitor resolution).
      EXPECT_NEAR(p[k - 1] - p[k], 0.5, 0.05) << "point " << k;
      // BER never falls as the power falls (allowing the Poisson spread of a counted BER).
      if (b[k - 1] > 0) {
        EXPECT_GE(b[k], 0.7 * b[k - 1]) << "point " << k;
      }
    }
    // The waterfall spans the KP4 threshold: far below it at full power, above it at the deepest.
    EXPECT_LT(b.front(), 1e-5);
    EXPECT_GT(b.back(), 2.4e-4);
    // Steep: two decades or more between the ends.
    EXPECT_GT(b.back(), 100 * b.front());
  }
  // The attenuator was set at every point (requested vs actual in the events) and closed at the
  // end.
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM events WHERE kind = 'set' AND message LIKE "
                      "'voa1 %attenuation: requested%'"),
            "14");
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM events WHERE kind = 'set' AND message LIKE "
                      "'voa1 %shutter closed%'"),
            "1");
}

// The whole link through the ASIC: the far ASIC port's PRBS -> golden DR4 host -> media -> fiber
// -> DUT DR4 media -> host -> the DUT's ASIC port; and the FEC counters of that port.
TEST(SwitchBench, AsicToAsicBerAndFecOnTheDr4Link) {
  temp_dir d;
  const std::string db = (d / "r.db").string();
  const auto seq = d.write("link.yaml", R"(sequence: link
duts: [1]
main:
  - step: set
    fec_mode: rs544
  - step: ber
    generator: far_asic
    checker: asic
    target: 2.4e-4
    max_time: 10 min
  - step: fec
    window: 1 min
)");
  auto r = run_hilt({"run", seq, "--fixture", switch_bench(), "--db", db, "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Eight host lanes, stored as the DUT's host lanes.
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) || '|' || MIN(lane) || '|' || MAX(lane) FROM ber_counts "
                      "WHERE side = 'host'"),
            "8|1|8");
  EXPECT_EQ(query_one(db, "SELECT verdict FROM measurements WHERE name = 'fec_uncorrectable'"),
            "pass");
  const double codewords =
      std::stod(query_one(db, "SELECT value FROM measurements WHERE name = 'fec_codewords'"));
  // One minute of an 8 x 106.25 Gb/s port in 5440-bit codewords.
  EXPECT_NEAR(codewords, 60 * 8 * 106.25e9 / 5440, 0.02 * 60 * 8 * 106.25e9 / 5440);
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) FROM measurements WHERE name LIKE "
                      "'fec_codeword_errors_s%'"),
            "17");
}

TEST(SwitchBench, ValidateFindsMissingLinksAndAnAttenuationOutsideTheRange) {
  // On the default bench there is no ASIC, no fiber and no attenuator.
  auto r = run_hilt({"validate", library("rx-sensitivity.yaml"), "--fixture",
                     (source_dir() / "fixtures" / "emulated-bench.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("ber (far_module end) needs DUT slot1 (module 'm1') on a fiber to another "
                       "module"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("needs device 'voa1'"), std::string::npos) << r.err;
  // On the switch bench, an attenuation past the attenuator's range.
  r = run_hilt({"validate", library("rx-sensitivity.yaml"), "--fixture", switch_bench(), "--set",
                "last=50 dB", "--set", "step=10 dB"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("rx-sensitivity.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("attenuation: 50 dB is outside the range of attenuator 'voa1' (0 dB to "),
            std::string::npos)
      << r.err;
  // And the library sequence itself fits the switch bench.
  r = run_hilt(
      {"validate", library("rx-sensitivity.yaml"), switch_bench(), "--fixture", switch_bench()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(SwitchBench, ALinkToAPortTheAsicDoesNotHaveIsAValidateError) {
  temp_dir d;
  std::string text = hilt::test::read_file(switch_bench());
  const std::string from = "{ asic: asic0/3, module: m3";
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "{ asic: asic0/99, module: m3");
  // Profiles are found relative to the fixture: point them at the source tree's.
  const std::string profiles = (source_dir() / "fixtures" / "profiles").string() + "/";
  for (auto p = text.find("profiles/"); p != std::string::npos;
       p = text.find("profiles/", p + profiles.size())) {
    text.replace(p, 9, profiles);
  }
  const auto fx = d.write("switch-bench-bad.yaml", text);
  auto r = run_hilt({"validate", fx});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("switch-bench-bad.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("99"), std::string::npos) << r.err;
}

}  // namespace

namespace {

// Issue 4's last item: "zero post-FEC errors over a window" during a soak, counted by the ASIC the
// DUT is linked to. At full power the DR4 link's pre-FEC BER (~4e-7) leaves RS(544,514) nothing
// uncorrectable; 5 dB more attenuation (pre-FEC ~3e-3, ~15 symbol errors per codeword) makes
// about half the codewords uncorrectable and the soak fails, with events.
std::string fec_soak(const temp_dir& d, const std::string& attenuation) {
  return d.write("fec-soak.yaml", R"(sequence: fec-soak
duts: [1]
main:
  - step: set
    device: voa1
    attenuation: )" + attenuation + R"(
  - step: set
    fec_mode: rs544
  - step: thermal_soak
    chamber: chamber1
    profile: [{ ramp_to: 30 C }, { dwell: 4 h }]
    interval: 10 min
    stabilize: { within: 2 C, for: 5 min, timeout: 4 h }
    max_post_fec_errors: 0
    post_fec_window: 1 h
)");
}

TEST(SwitchBench, SoakWithZeroPostFecErrorsOverAWindowPasses) {
  temp_dir d;
  const std::string db = (d / "r.db").string();
  auto r = run_hilt({"run", fec_soak(d, "0 dB"), "--fixture", switch_bench(), "--db", db, "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // One fec_uncorrectable sample per sample instant (4 h / 10 min), all zero.
  EXPECT_EQ(query_one(db,
                      "SELECT COUNT(*) || '|' || MAX(value) FROM samples s JOIN metrics m ON "
                      "m.id = s.metric_id WHERE m.name = 'fec_uncorrectable'"),
            "24|0.0");
  EXPECT_EQ(query_one(db,
                      "SELECT value || '|' || verdict FROM measurements WHERE name = "
                      "'post_fec_errors_max_window'"),
            "0.0|pass");
}

TEST(SwitchBench, SoakWithUncorrectableCodewordsFailsWithEvents) {
  temp_dir d;
  const std::string db = (d / "r.db").string();
  auto r = run_hilt({"run", fec_soak(d, "5 dB"), "--fixture", switch_bench(), "--db", db, "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(query_one(db,
                      "SELECT verdict FROM measurements WHERE name = "
                      "'post_fec_errors_max_window'"),
            "fail");
  EXPECT_GT(std::stod(query_one(db,
                                "SELECT value FROM measurements WHERE name = "
                                "'post_fec_errors_max_window'")),
            1e6);
  EXPECT_NE(query_one(db, "SELECT COUNT(*) FROM events WHERE kind = 'post_fec_errors'"), "0");
}

}  // namespace

namespace {

// BER (errors / bits) of lane 1 per ber step, in step order.
std::vector<double> lane1_ber(const std::string& db) {
  std::vector<double> out;
  for (const auto& row : query_rows(db,
                                    "SELECT bits, errors FROM ber_counts WHERE lane = 1 "
                                    "ORDER BY id")) {
    const auto c = split(row, '|');
    out.push_back(std::stod(c[1]) / std::stod(c[0]));
  }
  return out;
}

// Issue 7 acceptance through the real drivers: the ASIC's Tx FIR (set over sai-rpc) moves the BER
// of a linear (LPO) link, measured by the ASIC's own checker over the module's loopback plug; on a
// DSP module the media side is retimed, so its BER does not move.
TEST(SwitchBench, AsicTxFirMovesTheLpoLinkButNotADspModulesMediaSide) {
  temp_dir d;
  auto run_taps = [&](const std::string& slot, const std::string& ends, const std::string& db) {
    // identify first: a module's media lane count comes from its identity (applications).
    const auto seq = d.write("taps.yaml", "sequence: taps\nduts: [" + slot + R"(]
main:
  - step: identify
  - step: ber
    )" + ends + R"(
    target: 2.4e-4
    judge: false
    max_time: 10 s
  - step: set
    tx_fir: { pre1: 0, main: 1, post1: 0 }
  - step: ber
    )" + ends + R"(
    target: 2.4e-4
    judge: false
    max_time: 10 s
)");
    auto r = run_hilt({"run", seq, "--fixture", switch_bench(), "--db", db, "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return lane1_ber(db);
  };
  // LPO (slot 2, m3): ASIC -> LPO -> loopback plug -> LPO -> ASIC.
  const auto lpo = run_taps("2", "generator: asic\n    checker: asic", (d / "lpo.db").string());
  ASSERT_EQ(lpo.size(), 2u);
  EXPECT_GT(lpo[1], 5 * lpo[0]) << "default taps " << lpo[0] << ", no EQ " << lpo[1];
  // DR4 (slot 1, m1): its own media generator -> fiber -> the far module's checker.
  const auto dsp =
      run_taps("1", "generator: module\n    checker: far_module", (d / "dsp.db").string());
  ASSERT_EQ(dsp.size(), 2u);
  ASSERT_GT(dsp[0], 0);
  EXPECT_NEAR(dsp[1] / dsp[0], 1.0, 0.1) << "before " << dsp[0] << ", after " << dsp[1];
}

}  // namespace
