// sweep and repeat: expanded at load time into ordinary group nodes (order, names, types,
// sweep_point_json, ${variable} in the body), and every bad loop with its exact line:col.
#include <gtest/gtest.h>

#include "log/log.hpp"
#include "measure/measure.hpp"
#include "seq_test_util.hpp"
#include "wait/wait.hpp"

namespace hilt::seq::test {
namespace {

using namespace std::chrono_literals;

template <class T>
const T& impl_as(const step_node& n) {
  const auto* p = dynamic_cast<const T*>(n.impl.get());
  if (p == nullptr) throw std::runtime_error("node " + n.where + " is not the expected type");
  return *p;
}

std::vector<std::string> names_of(const std::vector<step_node>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes)
    out.push_back(n.name);
  return out;
}

TEST(Sweep, ValuesExpandInOrderIntoNamedPointsWithTheirPoint) {
  const auto seq = load_text(
      "sequence: t\n"
      "main:\n"
      "  - step: sweep\n"
      "    over: temperature\n"
      "    values: [25 C, 85 C, -5 C]\n"
      "    steps:\n"
      "      - step: log\n"
      "        message: corner ${temperature}\n"
      "      - step: measure\n"
      "        monitor: temperature\n"
      "        limit: { max: ${temperature} }\n");
  ASSERT_EQ(seq.main.size(), 1u);
  const step_node& sweep = seq.main[0];
  EXPECT_EQ(sweep.type, "sweep");
  EXPECT_EQ(sweep.name, "sweep");
  EXPECT_FALSE(sweep.impl);  // a group: the runner needs nothing new
  EXPECT_EQ(sweep.sweep_point_json, "");
  EXPECT_EQ(sweep.where, "t.yaml:3:5");
  ASSERT_EQ(sweep.children.size(), 3u);
  EXPECT_EQ(names_of(sweep.children),
            (std::vector<std::string>{"temperature=25 C", "temperature=85 C", "temperature=-5 C"}));
  const std::vector<std::string> points{R"({"temperature":"25 C"})", R"({"temperature":"85 C"})",
                                        R"({"temperature":"-5 C"})"};
  const std::vector<double> highs{25, 85, -5};
  for (std::size_t i = 0; i < 3; ++i) {
    const step_node& p = sweep.children[i];
    EXPECT_EQ(p.type, "point");
    EXPECT_FALSE(p.impl);
    EXPECT_EQ(p.where, "t.yaml:3:5");
    EXPECT_EQ(p.sweep_point_json, points[i]);
    ASSERT_EQ(p.children.size(), 2u);
    // Every step inside records the point too.
    EXPECT_EQ(p.children[0].sweep_point_json, points[i]);
    EXPECT_EQ(p.children[1].sweep_point_json, points[i]);
    EXPECT_EQ(impl_as<log_step>(p.children[0]).message(),
              "corner " + p.name.substr(std::string("temperature=").size()));
    EXPECT_DOUBLE_EQ(*impl_as<measure_step>(p.children[1]).settings().limit->high, highs[i]);
    EXPECT_EQ(p.children[1].where, "t.yaml:9:9");
  }
}

TEST(Sweep, NestedSweepsGiveCornersWithMergedPoints) {
  const auto seq = load_text(
      "sequence: t\n"
      "main:\n"
      "  - step: sweep\n"
      "    name: corners\n"
      "    over: temperature\n"
      "    values: [25 C, 85 C]\n"
      "    steps:\n"
      "      - step: sweep\n"
      "        over: vcc\n"
      "        values: [3.135 V, 3.465 V]\n"
      "        steps:\n"
      "          - step: log\n"
      "            message: ${temperature} at ${vcc}\n");
  const step_node& outer = seq.main.at(0);
  EXPECT_EQ(outer.name, "corners");
  ASSERT_EQ(outer.children.size(), 2u);
  std::vector<std::string> messages, points, names;
  for (const auto& t : outer.children) {
    ASSERT_EQ(t.children.size(), 1u);
    const step_node& inner = t.children[0];
    EXPECT_EQ(inner.type, "sweep");
    EXPECT_EQ(inner.sweep_point_json, t.sweep_point_json);  // the inner sweep is at the outer point
    for (const auto& v : inner.children) {
      names.push_back(t.name + " / " + v.name);
      points.push_back(v.sweep_point_json);
      messages.push_back(impl_as<log_step>(v.children.at(0)).message());
      EXPECT_EQ(v.children.at(0).sweep_point_json, v.sweep_point_json);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "temperature=25 C / vcc=3.135 V", "temperature=25 C / vcc=3.465 V",
                       "temperature=85 C / vcc=3.135 V", "temperature=85 C / vcc=3.465 V"}));
  EXPECT_EQ(points, (std::vector<std::string>{R"({"temperature":"25 C","vcc":"3.135 V"})",
                                              R"({"temperature":"25 C","vcc":"3.465 V"})",
                                              R"({"temperature":"85 C","vcc":"3.135 V"})",
                                              R"({"temperature":"85 C","vcc":"3.465 V"})"}));
  EXPECT_EQ(messages, (std::vector<std::string>{"25 C at 3.135 V", "25 C at 3.465 V",
                                                "85 C at 3.135 V", "85 C at 3.465 V"}));
}

std::vector<std::string> range_of(const std::string& range, const std::string& over = "x") {
  const auto seq =
      load_text("sequence: t\nmain:\n  - step: sweep\n    over: " + over + "\n    range: " + range +
                "\n    steps:\n      - step: log\n        message: m\n");
  std::vector<std::string> out;
  for (const auto& p : seq.main.at(0).children)
    out.push_back(p.name.substr(p.name.find('=') + 1));
  return out;
}

TEST(Sweep, RangesCountFromFromToToInTheWrittenUnit) {
  EXPECT_EQ(range_of("{ from: 3.135 V, to: 3.465 V, step: 0.165 V }", "vcc"),
            (std::vector<std::string>{"3.135 V", "3.3 V", "3.465 V"}));
  EXPECT_EQ(range_of("{ from: 85 C, to: -5 C, step: -45 C }", "temperature"),
            (std::vector<std::string>{"85 C", "40 C", "-5 C"}));
  // `to` is included when the steps land on it, never passed.
  EXPECT_EQ(range_of("{ from: 0 min, to: 10 min, step: 4 min }"),
            (std::vector<std::string>{"0 min", "4 min", "8 min"}));
  EXPECT_EQ(range_of("{ from: 1, to: 4, step: 1 }"),
            (std::vector<std::string>{"1", "2", "3", "4"}));
  // One point when from = to.
  EXPECT_EQ(range_of("{ from: 25 C, to: 25 C, step: 10 C }"), (std::vector<std::string>{"25 C"}));
  // Mixed units are computed in the base unit; a step of 18 F is a difference of 10 C.
  EXPECT_EQ(range_of("{ from: 0 C, to: 20 C, step: 18 F }", "temperature"),
            (std::vector<std::string>{"0 C", "10 C", "20 C"}));
  EXPECT_EQ(range_of("{ from: 500 mV, to: 1 V, step: 250 mV }"),
            (std::vector<std::string>{"0.5 V", "0.75 V", "1 V"}));
  // A range of optical levels steps in dB.
  EXPECT_EQ(range_of("{ from: -3 dBm, to: 1 dBm, step: 2 dB }", "tx_power"),
            (std::vector<std::string>{"-3 dBm", "-1 dBm", "1 dBm"}));
}

TEST(Sweep, PlainNumbersAreJsonNumbersAndTextsAreStrings) {
  const auto seq = load_text(
      "sequence: t\n"
      "main:\n"
      "  - step: sweep\n"
      "    over: lane\n"
      "    values: [1, 2]\n"
      "    steps:\n"
      "      - step: measure\n"
      "        monitor: tx_power\n"
      "        lanes: ${lane}\n"
      "  - step: sweep\n"
      "    over: pattern\n"
      "    values: PRBS31Q, PRBS13Q\n"  // one text holding a comma-separated list
      "    steps:\n"
      "      - step: log\n"
      "        message: ${pattern}\n");
  ASSERT_EQ(seq.main[0].children.size(), 2u);
  EXPECT_EQ(seq.main[0].children[1].sweep_point_json, R"({"lane":2})");
  EXPECT_EQ(impl_as<measure_step>(seq.main[0].children[1].children[0]).settings().lanes,
            (std::vector<int>{2}));
  ASSERT_EQ(seq.main[1].children.size(), 2u);
  EXPECT_EQ(seq.main[1].children[0].sweep_point_json, R"({"pattern":"PRBS31Q"})");
  EXPECT_EQ(seq.main[1].children[1].name, "pattern=PRBS13Q");
}

TEST(Sweep, ValuesFromAParameterListGivenWithSet) {
  const std::string text =
      "sequence: t\n"
      "parameters:\n"
      "  corners: 25 C\n"
      "main:\n"
      "  - step: sweep\n"
      "    over: temperature\n"
      "    values: ${corners}\n"
      "    steps: [identify]\n";
  EXPECT_EQ(load_text(text).main[0].children.size(), 1u);
  const auto seq = load_text(text, {{"corners", "-40 C, 25 C, 85 C"}});
  EXPECT_EQ(
      names_of(seq.main[0].children),
      (std::vector<std::string>{"temperature=-40 C", "temperature=25 C", "temperature=85 C"}));
}

TEST(Sweep, StationSweepMakesEveryPointAStationGroup) {
  const auto seq = load_text(
      "sequence: t\n"
      "main:\n"
      "  - step: sweep\n"
      "    station: true\n"
      "    over: t\n"
      "    values: [1 h, 2 h]\n"
      "    steps:\n"
      "      - step: wait\n"
      "        duration: ${t}\n");
  const auto& s = seq.main[0];
  EXPECT_TRUE(s.station);
  for (const auto& p : s.children) {
    EXPECT_TRUE(p.station);
    EXPECT_TRUE(p.children.at(0).station);
  }
  EXPECT_EQ(impl_as<wait_step>(s.children[1].children[0]).duration(), std::chrono::nanoseconds(2h));
}

TEST(Repeat, CountsWithItsIndex) {
  const auto seq = load_text(
      "sequence: t\n"
      "parameters:\n"
      "  n: 3\n"
      "main:\n"
      "  - step: repeat\n"
      "    count: ${n}\n"
      "    steps:\n"
      "      - step: log\n"
      "        message: pass ${iteration}\n"
      "  - step: repeat\n"
      "    count: 2\n"
      "    index: cycle\n"
      "    steps:\n"
      "      - step: sweep\n"
      "        over: temperature\n"
      "        values: [-40 C, 85 C]\n"
      "        steps: [identify]\n");
  const auto& r = seq.main[0];
  EXPECT_EQ(r.type, "repeat");
  EXPECT_EQ(names_of(r.children),
            (std::vector<std::string>{"iteration=1", "iteration=2", "iteration=3"}));
  EXPECT_EQ(r.children[2].type, "iteration");
  EXPECT_EQ(r.children[2].sweep_point_json, R"({"iteration":3})");
  EXPECT_EQ(impl_as<log_step>(r.children[2].children[0]).message(), "pass 3");
  // A repeat of a sweep: temperature cycling.
  const auto& cycles = seq.main[1];
  ASSERT_EQ(cycles.children.size(), 2u);
  const auto& second = cycles.children[1].children.at(0);
  EXPECT_EQ(second.children.at(1).sweep_point_json, R"({"cycle":2,"temperature":"85 C"})");
  EXPECT_EQ(second.children.at(1).children.at(0).sweep_point_json,
            R"({"cycle":2,"temperature":"85 C"})");
}

TEST(Loops, TheVariableIsUnknownOutsideItsLoop) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    values: [25 C]\n"
                     "    steps: [identify]\n"
                     "  - step: log\n"
                     "    message: at ${temperature}\n"),
            "t.yaml:8:17: unknown parameter '${temperature}': this sequence declares no "
            "parameters (declare it under 'parameters:')");
  // Inside, a typo lists the loop's variable.
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    values: [25 C, 85 C]\n"
                     "    steps:\n"
                     "      - step: log\n"
                     "        message: at ${temprature}\n"),
            "t.yaml:8:21: unknown parameter '${temprature}' (did you mean '${temperature}'?); "
            "loop variables here: temperature");
}

TEST(LoopErrors, EmptyListAndEmptyRange) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    values: []\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:13: values: expected at least one of values to sweep, got an empty list");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    range: { from: 85 C, to: 25 C, step: 10 C }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:12: range: from 85 C to 25 C with step 10 C is empty: the step goes up, "
            "away from 25 C; write step: -10 C to go down");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: vcc\n"
                     "    range: { from: 3.1 V, to: 3.5 V, step: -0.1 V }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:12: range: from 3.1 V to 3.5 V with step -0.1 V is empty: the step goes "
            "down, away from 3.5 V; write step: 0.1 V to go up");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: vcc\n"
                     "    range: { from: 3.1 V, to: 3.5 V, step: 0 mV }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:44: range: step must not be zero, got '0 mV'");
}

TEST(LoopErrors, UnitsAreChecked) {
  // A known quantity must be swept in its own dimension.
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    values: [25 C, 3.3 V, 85]\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:20: values: expected a temperature (C, degC, K, F) for a sweep over "
            "'temperature', got voltage '3.3 V'\n"
            "t.yaml:5:27: values: expected a temperature (C, degC, K, F) for a sweep over "
            "'temperature', got '85' with no unit");
  // Any other variable: every value in the first value's dimension.
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: settle\n"
                     "    values: [5 min, 10]\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:21: values: expected a time (s, ms, us, ns, min, h, d, sec, hr) like the "
            "first value '5 min', got '10' with no unit");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: vcc\n"
                     "    range: { from: 3.1 V, to: 3.5 A, step: 0.1 V }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:31: to: expected a voltage (V, mV, uV), got current '3.5 A'");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: vcc\n"
                     "    range: { from: 3.1, to: 3.5 V, step: 0.1 V }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:20: from: expected a voltage (V, mV, uV), got '3.1' with no unit");
}

TEST(LoopErrors, ShapeOfASweep) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    values: [1, 2]\n"
                     "    steps: [identify]\n"),
            "t.yaml:3:5: step 'sweep' needs 'over:' (the name of the swept variable, used as "
            "${name} in its steps)");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: x\n"
                     "    steps: [identify]\n"),
            "t.yaml:3:5: step 'sweep' needs 'values:' (a list like [25 C, 85 C]) or 'range:' "
            "({ from: 25 C, to: 85 C, step: 10 C })");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: x\n"
                     "    values: [1]\n"
                     "    range: { from: 1, to: 2, step: 1 }\n"
                     "    steps: [identify]\n"),
            "t.yaml:6:5: range: give either 'values:' or 'range:', not both");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: 2x\n"
                     "    values: [1]\n"
                     "    steps: [identify]\n"),
            "t.yaml:4:11: over: expected a variable name (letters, digits and '_', not starting "
            "with a digit), got '2x'");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: x\n"
                     "    range: { from: 1, to: 2 }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:12: range: needs from, to and step ({ from: 25 C, to: 85 C, step: 10 C }); "
            "missing step");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: x\n"
                     "    values: [1]\n"),
            "t.yaml:3:5: step 'sweep' needs 'steps:' (a list of steps)");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: x\n"
                     "    valeus: [1]\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:5: unknown option 'valeus' for step 'sweep' (did you mean 'values'?); "
            "accepted: over, values, range, steps, step, name, timeout, retry, station");
}

TEST(LoopErrors, NamesDoNotClash) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "parameters:\n"
                     "  temperature: 25 C\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    values: [25 C]\n"
                     "    steps: [identify]\n"),
            "t.yaml:6:11: sweep: 'temperature' is already a parameter of the sequence (declared "
            "at line 3, column 3); give the loop variable another name");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: repeat\n"
                     "    count: 2\n"
                     "    steps:\n"
                     "      - step: repeat\n"
                     "        count: 2\n"
                     "        steps: [identify]\n"),
            "t.yaml:6:9: repeat: 'iteration' is already the variable of an enclosing loop (named "
            "at line 3, column 5); give this one another name with 'index:'");
}

TEST(LoopErrors, ABodyMistakeIsReportedOnceNotOncePerPoint) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: temperature\n"
                     "    values: [25 C, 85 C, 105 C]\n"
                     "    steps:\n"
                     "      - step: wait\n"
                     "        duration: ${temperature}\n"),
            "t.yaml:8:19: duration: expected a time (s, ms, us, ns, min, h, d, sec, hr), got "
            "temperature '25 C' (written as '${temperature}')");
}

TEST(LoopErrors, CountsAreBounded) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: repeat\n"
                     "    count: 0\n"
                     "    steps: [identify]\n"),
            "t.yaml:4:12: count: expected a whole number from 1 to 10000 (how many times to run "
            "the steps), got '0'");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: sweep\n"
                     "    over: x\n"
                     "    range: { from: 0, to: 1, step: 1e-6 }\n"
                     "    steps: [identify]\n"),
            "t.yaml:5:12: range: from 0 to 1 with step 1e-6 gives 1000001 points; a sweep has at "
            "most 10000");
  // Loops multiply: the expansion as a whole is bounded too (reported at the loop that crossed the
  // bound).
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: repeat\n"
                     "    count: 1000\n"
                     "    index: a\n"
                     "    steps:\n"
                     "      - step: repeat\n"
                     "        count: 1000\n"
                     "        index: b\n"
                     "        steps: [identify]\n"),
            "t.yaml:7:9: repeat: the sequence expands to more than 100000 steps (loops multiply "
            "their bodies); use fewer points or split the sequence");
}

}  // namespace
}  // namespace hilt::seq::test
