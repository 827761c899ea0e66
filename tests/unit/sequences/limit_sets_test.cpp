// Limit sets: files of named limits keyed by part-number glob, referenced from a sequence with
// `limits:` and `limit_ref:` / `limit: ${limits.NAME}`, resolved per DUT at run time.
#include <gtest/gtest.h>

#include "hilt/seq/limit_sets.hpp"
#include "measure/measure.hpp"
#include "power_up/power_up.hpp"
#include "seq_test_util.hpp"

namespace hilt::seq::test {
namespace {

const std::string limit_file =
    "limit_set: bringup\n"
    "parts:\n"
    "  \"QDD-400G-*\":\n"
    "    tx_power: { min: -2 dBm, max: 4 dBm }\n"
    "    power_up_time: { max: 5 s }\n"
    "  \"OSFP-800G-??4\":\n"
    "    tx_power: { min: -1 dBm, max: 5 dBm }\n"
    "  \"*\":\n"
    "    tx_power: { min: -6 dBm }\n"
    "    temperature: { max: 70 C }\n";

// A sequence in a temporary folder next to its limit-set file.
struct files {
  temp_dir dir;
  std::filesystem::path seq;
  std::string prefix = dir.path().string() + "/";

  files(const std::string& sequence, const std::string& limits = limit_file) {
    if (!limits.empty()) dir.write("lims.yaml", limits);
    seq = dir.write("t.yaml", sequence);
  }
  std::vector<std::string> errors() const {
    std::vector<std::string> out;
    for (const auto& e : check_sequence(seq)) {
      std::string m = e.what();
      for (std::size_t at; (at = m.find(prefix)) != std::string::npos;)
        m.erase(at, prefix.size());
      out.push_back(m);
    }
    return out;
  }
  std::string error() const {
    std::string out;
    for (const auto& e : errors())
      out += (out.empty() ? "" : "\n") + e;
    return out;
  }
};

const std::string head =
    "sequence: t\n"
    "limits: lims.yaml\n"
    "setup: [identify]\n"
    "main:\n";

std::string strip(std::string s, const std::string& prefix) {
  for (std::size_t at; (at = s.find(prefix)) != std::string::npos;)
    s.erase(at, prefix.size());
  return s;
}

TEST(LimitSets, AStepHoldsEveryCandidateInPriorityOrder) {
  files f(head +
          "  - step: measure\n"
          "    monitor: tx_power\n"
          "    limit_ref: tx_power\n"
          "  - step: measure\n"
          "    monitor: tx_power\n"
          "    limit: ${limits.tx_power}\n");
  const auto seq = load_sequence(f.seq);
  const auto& a = dynamic_cast<const measure_step&>(*seq.main.at(0).impl).settings();
  EXPECT_FALSE(a.limit);
  ASSERT_TRUE(a.named_limit);
  EXPECT_EQ(a.named_limit->name, "tx_power");
  EXPECT_EQ(strip(a.named_limit->where, f.prefix), "t.yaml:7:16");
  ASSERT_EQ(a.named_limit->candidates.size(), 3u);
  EXPECT_EQ(a.named_limit->candidates[0].pattern, "QDD-400G-*");
  EXPECT_EQ(a.named_limit->candidates[1].pattern, "OSFP-800G-??4");
  EXPECT_EQ(a.named_limit->candidates[2].pattern, "*");
  EXPECT_EQ(strip(a.named_limit->candidates[0].limit.source, f.prefix),
            "lims.yaml:4:15 (limit set bringup, parts QDD-400G-*)");
  const auto& b = dynamic_cast<const measure_step&>(*seq.main.at(1).impl).settings();
  ASSERT_TRUE(b.named_limit);
  EXPECT_EQ(strip(b.named_limit->where, f.prefix), "t.yaml:10:12");
  EXPECT_EQ(b.named_limit->candidates.size(), 3u);
}

TEST(LimitSets, ResolutionByPartNumberGlobFirstMatchWins) {
  files f(head + "  - step: measure\n    monitor: tx_power\n    limit_ref: tx_power\n");
  const auto seq = load_sequence(f.seq);
  const auto& s = dynamic_cast<const measure_step&>(*seq.main.at(0).impl).settings();
  const limit_choice choice{s.limit, s.named_limit};
  auto pick = [&](const std::string& pn) {
    identity id;
    id.part_number = pn;
    return resolve_limit(choice, &id);
  };
  auto r = pick("QDD-400G-DR4");
  ASSERT_TRUE(r.limit) << r.error;
  EXPECT_EQ(r.limit->low, -2.0);
  EXPECT_EQ(strip(r.limit->source, f.prefix),
            "lims.yaml:4:15 (limit set bringup, parts QDD-400G-*)");
  r = pick("OSFP-800G-DR4");  // '?' matches one character
  ASSERT_TRUE(r.limit);
  EXPECT_EQ(r.limit->low, -1.0);
  r = pick("OSFP-800G-DR8");  // not ??4: falls through to "*"
  ASSERT_TRUE(r.limit);
  EXPECT_EQ(r.limit->low, -6.0);
  EXPECT_FALSE(r.limit->high);
  EXPECT_EQ(strip(r.limit->source, f.prefix), "lims.yaml:9:15 (limit set bringup, parts *)");

  // Not identified: no part number to choose by.
  r = resolve_limit(choice, nullptr);
  EXPECT_FALSE(r.limit);
  EXPECT_EQ(strip(r.error, f.prefix),
            "limit 'tx_power' (t.yaml:7:16) is chosen by the DUT's part number, which is not "
            "known: the DUT's identify step did not run or did not succeed");
  // A fixed limit needs no identity.
  limit fixed;
  fixed.cmp = limit::comparator::le;
  fixed.high = 1;
  EXPECT_EQ(resolve_limit(limit_choice{fixed, nullptr}, nullptr).limit->high, 1.0);
  EXPECT_FALSE(resolve_limit(limit_choice{}, nullptr).limit);
  EXPECT_TRUE(resolve_limit(limit_choice{}, nullptr).error.empty());
}

TEST(LimitSets, NoPatternMatchesIsAnErrorListingThem) {
  files f(head + "  - step: power_up\n    limit_ref: power_up_time\n");
  const auto seq = load_sequence(f.seq);
  const auto& s = dynamic_cast<const power_up_step&>(*seq.main.at(0).impl);
  identity id;
  id.part_number = "SFP-10G-LR";
  const auto r = resolve_limit(s.limit(), &id);
  EXPECT_FALSE(r.limit);
  EXPECT_EQ(strip(r.error, f.prefix),
            "no limit 'power_up_time' (t.yaml:6:16) for part number 'SFP-10G-LR' in the limit "
            "sets; the patterns that define it: QDD-400G-*");
}

class LimitSetRun : public ::testing::Test {
 protected:
  asio::io_context io;
  hilt::clock clk{io, clock_mode::virtual_time};
  fake_module dut{device_context{io.get_executor(), &clk, nullptr}};
  fake_context ctx{clk, &dut};
};

TEST_F(LimitSetRun, MeasureJudgesEachDutByItsOwnPartsLimit) {
  files f(head + "  - step: measure\n    monitor: tx_power\n    limit_ref: tx_power\n");
  const auto seq = load_sequence(f.seq);
  const step& s = *seq.main.at(0).impl;
  dut.monitors = {{"tx_power", 1, side::media, 0.5, "mW"}};  // -3.01 dBm

  // Before identify: an error that says why, nothing recorded.
  auto out = run_step(s, ctx, clk);
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::invalid_argument));
  EXPECT_EQ(strip(out.message, f.prefix),
            "dut1 (fake:port1@0x50): limit 'tx_power' (t.yaml:7:16) is chosen by the DUT's part "
            "number, which is not known: the DUT's identify step did not run or did not succeed");
  EXPECT_TRUE(ctx.measurements.empty());

  ctx.identity_ = dut.id;  // QDD-400G-DR4: min -2 dBm -> fail
  out = run_step(s, ctx, clk);
  EXPECT_EQ(out.verdict, verdict::fail);
  ASSERT_EQ(ctx.measurements.size(), 1u);
  EXPECT_EQ(ctx.measurements[0].m.unit, "dBm");
  EXPECT_EQ(strip(ctx.measurements[0].m.limit->source, f.prefix),
            "lims.yaml:4:15 (limit set bringup, parts QDD-400G-*)");

  ctx.identity_->part_number = "OTHER";  // "*": min -6 dBm -> pass
  out = run_step(s, ctx, clk);
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(strip(ctx.measurements[1].m.limit->source, f.prefix),
            "lims.yaml:9:15 (limit set bringup, parts *)");
}

TEST(LimitSetFiles, SeveralFilesInOrderAndAListOfPaths) {
  temp_dir dir;
  dir.write("a.yaml", "limit_set: a\nparts:\n  \"QDD-*\":\n    temperature: { max: 60 C }\n");
  dir.write("b.yaml", "limit_set: b\nparts:\n  \"*\":\n    temperature: { max: 70 C }\n");
  const auto seq_file = dir.write("t.yaml",
                                  "sequence: t\nlimits: [a.yaml, b.yaml]\nsetup: "
                                  "[identify]\nmain:\n  - step: measure\n    monitor: "
                                  "temperature\n    limit_ref: temperature\n");
  const auto seq = load_sequence(seq_file);
  const auto& s = dynamic_cast<const measure_step&>(*seq.main.at(0).impl).settings();
  ASSERT_EQ(s.named_limit->candidates.size(), 2u);
  EXPECT_EQ(s.named_limit->candidates[0].limit.high, 60.0);
  EXPECT_NE(s.named_limit->candidates[1].limit.source.find("(limit set b, parts *)"),
            std::string::npos);
}

TEST(LimitSetErrors, UnknownLimitName) {
  files f(head + "  - step: measure\n    monitor: tx_power\n    limit_ref: tx_pwr\n");
  EXPECT_EQ(f.error(),
            "t.yaml:7:16: limit_ref: no limit 'tx_pwr' in the limit sets (did you mean "
            "'tx_power'?); limits defined: power_up_time, temperature, tx_power");
  files g(head + "  - step: measure\n    monitor: vcc\n    limit: ${limits.vcc}\n");
  EXPECT_EQ(g.error(),
            "t.yaml:7:12: limit: no limit 'vcc' in the limit sets; limits defined: "
            "power_up_time, temperature, tx_power");
}

TEST(LimitSetErrors, ALimitInTheWrongDimensionForTheStep) {
  files f(head + "  - step: measure\n    monitor: vcc\n    limit_ref: temperature\n");
  EXPECT_EQ(f.error(),
            "t.yaml:7:16: limit_ref: limit 'temperature' at lims.yaml:10:18 (limit set bringup, "
            "parts *) is a temperature (C, degC, K, F); monitor 'vcc' needs a voltage (V, mV, "
            "uV)");
  files g(head + "  - step: power_up\n    limit_ref: tx_power\n");
  EXPECT_EQ(g.errors().size(), 3u);  // one per candidate, each naming its place
  EXPECT_EQ(g.errors().at(0),
            "t.yaml:6:16: limit_ref: limit 'tx_power' at lims.yaml:4:15 (limit set bringup, "
            "parts QDD-400G-*) is an optical power level (dBm); the power-up time needs a time "
            "(s, ms, us, ns, min, h, d, sec, hr)");
}

TEST(LimitSetErrors, NeedsIdentifyFirstAndADut) {
  files f(
      "sequence: t\nlimits: lims.yaml\nmain:\n  - step: measure\n    monitor: tx_power\n"
      "    limit_ref: tx_power\n  - identify\n");
  EXPECT_EQ(f.error(),
            "t.yaml:6:16: limit_ref: limit 'tx_power' is chosen by the DUT's part number, so an "
            "'identify' step must run before this step (in setup, or earlier in main)");
  // In cleanup after an identify in setup: fine.
  files g(
      "sequence: t\nlimits: lims.yaml\nsetup: [identify]\nmain: [identify]\ncleanup:\n"
      "  - step: power_up\n    limit_ref: power_up_time\n");
  EXPECT_EQ(g.error(), "");
}

TEST(LimitSetErrors, LimitAndLimitRefTogether) {
  files f(head +
          "  - step: measure\n    monitor: tx_power\n    limit: { min: 0 dBm }\n"
          "    limit_ref: tx_power\n");
  EXPECT_EQ(f.error(), "t.yaml:8:5: limit_ref: give either 'limit:' or 'limit_ref:', not both");
}

TEST(LimitSetErrors, NoLimitsKey) {
  files f(
      "sequence: t\nsetup: [identify]\nmain:\n  - step: measure\n    monitor: tx_power\n"
      "    limit_ref: tx_power\n");
  EXPECT_EQ(f.error(),
            "t.yaml:6:16: limit_ref: limit 'tx_power' would come from a limit set, but "
            "this sequence names no limit-set files (add 'limits: FILE' at the top "
            "level)");
}

TEST(LimitSetErrors, ALimitsReferenceUsedAsText) {
  files f(head + "  - step: log\n    message: limit is ${limits.tx_power}\n");
  EXPECT_EQ(f.error(),
            "t.yaml:6:23: '${limits.tx_power}' is a limit from the limit sets, not "
            "text: it can only be the whole value of 'limit:' (limit: "
            "${limits.tx_power}), or write limit_ref: tx_power");
}

TEST(LimitSetErrors, MissingFile) {
  files f(
      "sequence: t\nlimits: [lims.yaml, nowhere.yaml]\nsetup: [identify]\nmain:\n"
      "  - step: measure\n    monitor: tx_power\n    limit_ref: tx_power\n"
      "  - step: measure\n    monitor: vcc\n    limit_ref: vcc\n");
  // Only the file is reported: 'vcc' might have been defined in it.
  EXPECT_EQ(f.error(),
            "t.yaml:2:21: limits: limit-set file 'nowhere.yaml' (relative to the "
            "sequence's folder): cannot read: No such file or directory");
}

TEST(LimitSetErrors, MalformedFilesAreReportedAtTheirOwnLines) {
  files syntax(head + "  - identify\n",
               "limit_set: x\nparts:\n  \"*\": { tx_power: { min: 1 dBm }\n");
  EXPECT_EQ(syntax.error(), "lims.yaml:4:1: YAML syntax error: end of map flow not found");

  files low_high(head + "  - identify\n",
                 "limit_set: x\nparts:\n  \"*\":\n    temperature: { min: 80 C, max: 70 C }\n");
  EXPECT_EQ(low_high.error(), "lims.yaml:4:18: limit: min (80 C) is above max (70 C)");

  files not_a_set(head + "  - identify\n", "sequence: s\nmain: [identify]\n");
  EXPECT_EQ(not_a_set.error(),
            "lims.yaml:1:1: not a limit-set file: expected 'limit_set: NAME' "
            "and 'parts:' at the top level");

  files shapes(head + "  - identify\n",
               "limit_set: x\ncolour: red\nparts:\n  \"\":\n    t: { max: 1 C }\n  \"A*\": {}\n"
               "  \"B*\":\n    2x: { max: 1 C }\n    unit: { max: 70 }\n    bad: { max: 5 V, "
               "nominal: 1 V }\n");
  EXPECT_EQ(shapes.errors(),
            (std::vector<std::string>{
                "lims.yaml:2:1: unknown key 'colour' at the top level of a limit-set file; "
                "accepted: limit_set, description, parts",
                "lims.yaml:4:3: parts: a part-number pattern cannot be empty (use \"*\" for every "
                "part)",
                "lims.yaml:6:9: parts: pattern 'A*' names no limits",
                "lims.yaml:8:5: limit names are made of letters, digits and '_' and do not start "
                "with a digit, got '2x'",
                "lims.yaml:10:10: a limit is one of: min and/or max, equal, or nominal with "
                "tolerance; this one mixes them",
            }));

  files params(head + "  - identify\n", "limit_set: x\nparts:\n  \"*\":\n    t: { max: ${t} }\n");
  EXPECT_EQ(params.error(),
            "lims.yaml:4:15: a limit-set file takes no ${...} parameters (it is "
            "shared by sequences); write the values");

  // check_limit_set_file, for `hilt validate` on the file itself.
  EXPECT_TRUE(check_limit_set_file(syntax.dir.path() / "lims.yaml").size() == 1u);
  temp_dir d;
  EXPECT_TRUE(check_limit_set_file(d.write("ok.yaml", limit_file)).empty());
}

TEST(LimitSetErrors, StationStepsHaveNoPartNumber) {
  files f(head +
          "  - step: group\n    station: true\n    steps:\n      - step: wait_until\n"
          "        device: chamber\n        condition: temperature >= 80 C\n"
          "        timeout: 1 h\n  - step: power_up\n    station: true\n"
          "    limit_ref: power_up_time\n");
  EXPECT_EQ(f.error(),
            "t.yaml:13:14: station: step 'power_up' needs a DUT, so it cannot run as a station "
            "step\n"
            "t.yaml:14:16: limit_ref: a station step has no DUT, so limit 'power_up_time' cannot "
            "be chosen by part number");
}

}  // namespace
}  // namespace hilt::seq::test
