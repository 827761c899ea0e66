// A loaded sequence against a fixture: the DUT selection (`duts:`) and the fixture devices steps
// name (`device:`), as `hilt validate --fixture` and `hilt run` check them before any device is
// touched.
#include <gtest/gtest.h>

#include "hilt/seq/fixture_check.hpp"
#include "seq_test_util.hpp"

namespace hilt::seq::test {
namespace {

hilt::fixture bench() {
  hilt::fixture fx;
  fx.name = "emulated-bench";
  fx.path = "fixtures/emulated-bench.yaml";
  auto device = [&](std::string name) {
    hilt::fixture::device_entry d;
    d.name = std::move(name);
    fx.devices.push_back(std::move(d));
  };
  for (int i = 1; i <= 4; ++i) {
    device(fmt::format("m{}", i));
    hilt::fixture::dut_entry d;
    d.slot = i;
    d.name = i == 2 ? "golden" : fmt::format("slot{}", i);
    d.module = fmt::format("m{}", i);
    fx.duts.push_back(std::move(d));
  }
  device("chamber");
  return fx;
}

std::vector<std::string> check(const std::string& text, std::map<std::string, std::string> o = {}) {
  const auto seq = load_text(text, std::move(o));
  std::vector<std::string> out;
  for (const auto& e : check_sequence_against_fixture(seq, bench()))
    out.push_back(e.what());
  return out;
}

std::vector<int> slots(const std::string& text, std::map<std::string, std::string> o = {}) {
  std::vector<int> out;
  for (const auto& d : select_duts(load_text(text, std::move(o)), bench()))
    out.push_back(d.slot);
  return out;
}

const std::string duts_list = "slot1 (slot 1), golden (slot 2), slot3 (slot 3), slot4 (slot 4)";

TEST(FixtureCheck, SelectionBySlotAndNameInFixtureOrder) {
  EXPECT_EQ(slots("sequence: t\nmain: [identify]\n"), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(slots("sequence: t\nduts: all\nmain: [identify]\n"), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(slots("sequence: t\nduts: [4, golden]\nmain: [identify]\n"), (std::vector<int>{2, 4}));
  EXPECT_EQ(slots("sequence: t\nparameters:\n  which: all\nduts: ${which}\nmain: [identify]\n",
                  {{"which", "3, 1"}}),
            (std::vector<int>{1, 3}));
  EXPECT_TRUE(check("sequence: t\nduts: [1, slot3]\nmain: [identify]\n").empty());
}

TEST(FixtureCheck, ASelectionThatMatchesNothing) {
  EXPECT_EQ(check("sequence: t\nduts: [7, gloden]\nmain: [identify]\n"),
            (std::vector<std::string>{
                "t.yaml:2:8: duts: no DUT in slot 7 in fixture 'emulated-bench' "
                "(fixtures/emulated-bench.yaml); its DUTs: " +
                    duts_list,
                "t.yaml:2:11: duts: no DUT named 'gloden' in fixture 'emulated-bench' "
                "(fixtures/emulated-bench.yaml) (did you mean 'golden'?); its DUTs: " +
                    duts_list,
            }));
  try {
    (void)select_duts(load_text("sequence: t\nduts: 9\nmain: [identify]\n"), bench());
    ADD_FAILURE() << "select_duts accepted slot 9";
  } catch (const config_error& e) {
    EXPECT_EQ(e.where(), "t.yaml:2:7");
  }
  hilt::fixture empty = bench();
  empty.duts.clear();
  const auto errors =
      check_sequence_against_fixture(load_text("sequence: t\nmain: [identify]\n"), empty);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(std::string(errors[0].what()),
            "t.yaml: fixture 'emulated-bench' (fixtures/emulated-bench.yaml) defines no DUTs, so "
            "the sequence has nothing to run on");
}

TEST(FixtureCheck, DutSelectionSyntaxIsCheckedAtLoad) {
  EXPECT_EQ(error_of("sequence: t\nduts: []\nmain: [identify]\n"),
            "t.yaml:2:7: duts: expected at least one of 'all', slot numbers or DUT names, got an "
            "empty list");
  EXPECT_EQ(error_of("sequence: t\nduts: [1, all]\nmain: [identify]\n"),
            "t.yaml:2:11: duts: 'all' selects every DUT; it cannot be combined with slots or "
            "names");
  EXPECT_EQ(error_of("sequence: t\nduts: [2, 2, a, a, 0]\nmain: [identify]\n"),
            "t.yaml:2:11: duts: slot 2 is selected twice\n"
            "t.yaml:2:17: duts: 'a' is selected twice\n"
            "t.yaml:2:20: duts: expected a slot number from 1 to 100000, got '0'");
  EXPECT_EQ(error_of("sequence: t\nduts: { slot: 1 }\nmain: [identify]\n"),
            "t.yaml:2:7: duts: expected a list of 'all', slot numbers or DUT names, got a "
            "mapping");
}

TEST(FixtureCheck, AStepNeedsAnInstrumentTheFixtureDoesNotHave) {
  EXPECT_EQ(
      check("sequence: t\n"
            "main:\n"
            "  - step: sweep\n"
            "    over: temperature\n"
            "    values: [25 C, 85 C]\n"
            "    steps:\n"
            "      - step: set\n"
            "        station: true\n"
            "        device: chamber\n"
            "        setpoint: ${temperature}\n"
            "      - step: set\n"
            "        station: true\n"
            "        device: psu\n"
            "        voltage: 3.3 V\n"
            "      - step: wait_until\n"
            "        device: chamber\n"
            "        condition: temperature >= ${temperature}\n"
            "        timeout: 1 h\n"),
      // Once, although the sweep made the step twice.
      (std::vector<std::string>{
          "t.yaml:13:17: device: step 'set' needs device 'psu' (to set voltage), which fixture "
          "'emulated-bench' (fixtures/emulated-bench.yaml) does not have; its devices: m1, m2, "
          "m3, m4, chamber"}));
}

}  // namespace
}  // namespace hilt::seq::test
