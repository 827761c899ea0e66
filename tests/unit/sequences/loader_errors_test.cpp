// Bad sequence files: each test checks the exact file:line:col and message (DESIGN.md rule 6).
// Files are written to a temporary directory and loaded through check_sequence / load_sequence;
// the directory is stripped from messages, leaving "t.yaml:LINE:COL: message".
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "seq_test_util.hpp"

namespace hilt::seq::test {
namespace {

const std::string time_units = "s, ms, us, ns, min, h, d, sec, hr";
const std::string step_types =
    "ber, fec, group, identify, log, low_power, measure, power, power_up, prompt, repeat, set, "
    "sweep, "
    "thermal_soak, tx_disable, wait, wait_until";

TEST(SequenceErrors, UnknownStepTypeListsTheTypes) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: mesure\n"),
            "t.yaml:3:11: unknown step type 'mesure' (did you mean 'measure'?); step types: " +
                step_types);
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: calibrate\n"),
            "t.yaml:3:11: unknown step type 'calibrate'; step types: " + step_types);
}

TEST(SequenceErrors, UnknownOptionListsAcceptedOnesAndHidesTheConsequentMissingOption) {
  // 'duration' is missing only because it is misspelt: one error, about the typo.
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: wait\n"
                     "    durration: 5 s\n"),
            "t.yaml:4:5: unknown option 'durration' for step 'wait' (did you mean 'duration'?); "
            "accepted: duration, step, name, timeout, retry, station");
  // An unrelated unknown option does not hide a missing one.
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: wait\n"
                     "    colour: red\n"),
            "t.yaml:3:5: step 'wait' needs 'duration:' (a time like '30 s' or '5 min')\n"
            "t.yaml:4:5: unknown option 'colour' for step 'wait'; accepted: duration, step, name, "
            "timeout, retry, station");
}

TEST(SequenceErrors, WrongUnit) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: wait\n"
                     "    duration: 5 V\n"),
            "t.yaml:4:15: duration: expected a time (" + time_units + "), got voltage '5 V'");
  EXPECT_EQ(
      error_of("sequence: t\n"
               "main:\n"
               "  - step: wait\n"
               "    duration: 5 sex\n"),
      "t.yaml:4:15: duration: expected a time (" + time_units + "): unknown unit 'sex' in '5 sex'");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: measure\n"
                     "    monitor: vcc\n"
                     "    limit: { max: 3.6 A }\n"),
            "t.yaml:5:19: max: expected a voltage (V, mV, uV), got current '3.6 A'");
}

TEST(SequenceErrors, MissingUnit) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: wait\n"
                     "    duration: 5\n"),
            "t.yaml:4:15: duration: expected a time (" + time_units + "), got '5' with no unit");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: measure\n"
                     "    monitor: temperature\n"
                     "    limit: { max: 70 }\n"),
            "t.yaml:5:19: max: expected a temperature (C, degC, K, F), got '70' with no unit");
}

TEST(SequenceErrors, LimitLowAboveHigh) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: measure\n"
                     "    monitor: temperature\n"
                     "    limit: { min: 80 C, max: 70 C }\n"),
            "t.yaml:5:12: limit: min (80 C) is above max (70 C)");
}

TEST(SequenceErrors, LimitShapes) {
  const std::string head = "sequence: t\nmain:\n  - step: measure\n    monitor: vcc\n";
  EXPECT_EQ(error_of(head + "    limit: { min: 3 V, equal: 3.3 V }\n"),
            "t.yaml:5:12: a limit is one of: min and/or max, equal, or nominal with tolerance; "
            "this one mixes them");
  EXPECT_EQ(error_of(head + "    limit: { marginal: 0.1 V }\n"),
            "t.yaml:5:12: a limit needs min, max, both, equal, or nominal with tolerance");
  EXPECT_EQ(error_of(head + "    limit: { nominal: 3.3 V }\n"),
            "t.yaml:5:14: limit: nominal needs a tolerance ('tolerance:', like '0.1 V' or '5 %')");
  EXPECT_EQ(error_of(head + "    limit: { tolerance: 5 % }\n"),
            "t.yaml:5:14: limit: tolerance needs a nominal value ('nominal:')");
  EXPECT_EQ(error_of(head + "    limit: { equal: 3.3 V, marginal: 0.1 V }\n"),
            "t.yaml:5:28: limit: marginal does not apply to equal (a value is equal or it is not)");
  EXPECT_EQ(error_of(head + "    limit: { maximum: 3.6 V }\n"),
            "t.yaml:5:12: a limit needs min, max, both, equal, or nominal with tolerance\n"
            "t.yaml:5:14: unknown key 'maximum' in a limit; accepted: min, max, equal, nominal, "
            "tolerance, marginal");
  EXPECT_EQ(error_of(head + "    limit: 3.6 V\n"),
            "t.yaml:5:12: a limit must be a mapping of KEY: VALUE, got '3.6 V'");
  EXPECT_EQ(error_of(head + "    limit: { min: 3 V, max: 3.6 V, marginal: 0.4 V }\n"),
            "t.yaml:5:46: marginal: a band of '0.4 V' inside each bound leaves nothing that "
            "passes between 3 and 3.6 V");
  EXPECT_EQ(error_of(head + "    limit: { max: 3.6 V, marginal: 10 mA }\n"),
            "t.yaml:5:36: marginal: expected a voltage (V, mV, uV), got current '10 mA'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: measure\n    monitor: temperature\n"
                     "    limit: { nominal: 40 C, tolerance: 10 % }\n"),
            "t.yaml:5:40: tolerance: a percentage of a temperature depends on the scale; give it "
            "in C (like '2 C'), got '10 %'");
}

TEST(SequenceErrors, SetOfAnUndeclaredParameter) {
  const std::string text =
      "sequence: t\n"
      "parameters:\n"
      "  settle: 30 s\n"
      "  t_max: { default: 70 C }\n"
      "main:\n"
      "  - identify\n";
  EXPECT_EQ(error_of(text, {{"t_mx", "80 C"}}),
            "t.yaml:2:1: --set t_mx=80 C: the sequence declares no parameter 't_mx' (did you mean "
            "'t_max'?); declared parameters: settle, t_max");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - identify\n", {{"x", "1"}}),
            "t.yaml: --set x=1: this sequence declares no parameters, so 'x' cannot be set");
}

TEST(SequenceErrors, UnresolvedReferenceIsLocatedAtItsDollar) {
  const std::string head =
      "sequence: t\n"
      "parameters:\n"
      "  settle: 30 s\n"
      "main:\n";
  // Whole value.
  EXPECT_EQ(error_of(head + "  - step: wait\n    duration: ${settel}\n"),
            "t.yaml:6:15: unknown parameter '${settel}' (did you mean '${settle}'?); declared "
            "parameters: settle");
  // Embedded, after a good reference.
  EXPECT_EQ(error_of(head + "  - step: log\n    message: waited ${settle} then ${oops}\n"),
            "t.yaml:6:36: unknown parameter '${oops}'; declared parameters: settle");
  // Inside a flow mapping, and inside quotes.
  EXPECT_EQ(error_of(head + "  - step: measure\n    monitor: temperature\n"
                            "    limit: { max: ${tmax} }\n"),
            "t.yaml:7:19: unknown parameter '${tmax}'; declared parameters: settle");
  EXPECT_EQ(error_of(head + "  - step: log\n    message: \"at ${where}\"\n"),
            "t.yaml:6:18: unknown parameter '${where}'; declared parameters: settle");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: log\n    message: ${who}\n"),
            "t.yaml:4:14: unknown parameter '${who}': this sequence declares no parameters "
            "(declare it under 'parameters:')");
}

TEST(SequenceErrors, MalformedReference) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: log\n    message: \"a ${1x} b\"\n"),
            "t.yaml:4:17: malformed parameter reference '${1x}': write ${name}, the name made of "
            "letters, digits and '_' (write $${ for a literal ${)");
}

TEST(SequenceErrors, YamlSyntaxError) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: measure\n"
                     "    monitor: temperature\n"
                     "    limit: { max: 70 C\n"),
            "t.yaml:6:1: YAML syntax error: end of map flow not found");
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: wait\n"
                     "\tduration: 5 s\n"),
            "t.yaml:4:1: YAML syntax error: illegal tab when looking for indentation");
}

TEST(SequenceErrors, MissingAndUnreadableFiles) {
  temp_dir dir;
  const auto missing = dir.path() / "nope.yaml";
  try {
    (void)load_sequence(missing);
    FAIL() << "loaded a missing file";
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), missing.string() + ": cannot read: " + std::strerror(ENOENT));
    EXPECT_EQ(e.where(), missing.string());
    EXPECT_EQ(e.message(), "cannot read: No such file or directory");
  }
  const auto errors = check_sequence(dir.path());  // a directory
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(std::string(errors[0].what()), dir.path().string() + ": cannot read: Is a directory");
}

TEST(SequenceErrors, DuplicatedKey) {
  // yaml-cpp 0.7 keeps both keys silently; the loader catches it.
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: wait\n"
                     "    duration: 1 s\n"
                     "    duration: 2 s\n"),
            "t.yaml:5:5: duplicate key 'duration' in a step (first given at line 4, column 5)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - identify\nmain:\n  - identify\n"),
            "t.yaml:4:1: duplicate key 'main' in a sequence file (first given at line 2, column "
            "1)");
}

TEST(SequenceErrors, NegativeRetry) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: identify\n"
                     "    retry: -1\n"),
            "t.yaml:4:12: retry: expected a whole number from 0 to 100 (extra attempts after a "
            "failure or error), got '-1'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: identify\n    retry: two\n"),
            "t.yaml:4:12: retry: expected a whole number from 0 to 100 (extra attempts after a "
            "failure or error), got 'two'");
}

TEST(SequenceErrors, TimeoutInVolts) {
  EXPECT_EQ(error_of("sequence: t\n"
                     "main:\n"
                     "  - step: identify\n"
                     "    timeout: 5 V\n"),
            "t.yaml:4:14: timeout: expected a time (" + time_units + "), got voltage '5 V'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: identify\n    timeout: 0 s\n"),
            "t.yaml:4:14: timeout: expected a time greater than zero, got '0 s'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: wait\n    duration: -5 s\n"),
            "t.yaml:4:15: duration: expected a time that is not negative, got '-5 s'");
}

TEST(SequenceErrors, CheckReportsEveryErrorInFileOrder) {
  const auto errors = errors_of(
      "sequence: t\n"
      "on_fail: stop_everything\n"
      "main:\n"
      "  - step: mesure\n"
      "  - step: wait\n"
      "    duration: 5 V\n"
      "  - step: identify\n"
      "    retry: -1\n"
      "cleanup:\n"
      "  - step: log\n");
  const std::vector<std::string> expected{
      "t.yaml:2:10: on_fail: expected one of stop_dut, stop_all, never, got 'stop_everything'",
      "t.yaml:4:11: unknown step type 'mesure' (did you mean 'measure'?); step types: " +
          step_types,
      "t.yaml:6:15: duration: expected a time (" + time_units + "), got voltage '5 V'",
      "t.yaml:8:12: retry: expected a whole number from 0 to 100 (extra attempts after a failure "
      "or error), got '-1'",
      "t.yaml:10:5: step 'log' needs 'message:' (the text to log)",
  };
  EXPECT_EQ(errors, expected);
}

TEST(SequenceErrors, TopLevel) {
  EXPECT_EQ(
      error_of("sequence: t\nmian:\n  - identify\n"),
      "t.yaml:2:1: unknown key 'mian' at the top level (did you mean 'main'?); accepted: "
      "sequence, description, parameters, limits, fixture, duts, on_fail, setup, main, cleanup");
  EXPECT_EQ(error_of("main:\n  - identify\n"),
            "t.yaml:1:1: missing 'sequence: NAME' at the top level; it marks the file as a "
            "sequence and names it");
  EXPECT_EQ(error_of("sequence: t\n"),
            "t.yaml:1:1: missing 'main:', the list of steps the sequence runs for each DUT");
  EXPECT_EQ(error_of("fixture: bench\ndevices: {}\n"),
            "t.yaml:1:1: this is a fixture file (it has 'fixture:'), not a sequence; a sequence "
            "file starts with 'sequence: NAME'");
  EXPECT_EQ(error_of(""),
            "t.yaml: the file holds no sequence; a sequence file starts with 'sequence: NAME'");
  EXPECT_EQ(error_of("- identify\n"),
            "t.yaml:1:1: a sequence file is a mapping that starts with 'sequence: NAME', got a "
            "list");
  EXPECT_EQ(error_of("sequence: t\nmain: []\n"), "t.yaml:2:7: main: expected at least one step");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  step: identify\n"),
            "t.yaml:3:3: main: expected a list of steps (lines starting with '- step: TYPE'), got "
            "a mapping");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - identify\n---\nsequence: u\n"),
            "t.yaml:5:1: a sequence file holds one YAML document; this '---' starts a second one");
  EXPECT_EQ(error_of("sequence: t\non_fail: stop_dt\nmain: [identify]\n"),
            "t.yaml:2:10: on_fail: expected one of stop_dut, stop_all, never, got 'stop_dt' (did "
            "you mean 'stop_dut'?)");
}

TEST(SequenceErrors, Steps) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - name: x\n"),
            "t.yaml:3:5: a step needs 'step: TYPE'; step types: " + step_types);
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: group\n    name: g\n"),
            "t.yaml:3:5: step 'group' needs 'steps:' (a list of steps)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: identify\n    station: true\n"),
            "t.yaml:4:14: station: step 'identify' needs a DUT, so it cannot run as a station "
            "step");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: group\n    station: true\n    steps:\n"
                     "      - step: wait\n        duration: 1 s\n      - step: identify\n"),
            "t.yaml:8:15: step 'identify' needs a DUT, so it cannot run inside a group with "
            "'station: true'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: log\n    message: hi\n    level: loud\n"),
            "t.yaml:5:12: level: expected one of debug, info, warning, got 'loud'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: identify\n    name: [a, b]\n"),
            "t.yaml:4:11: name: expected a single value, got a list");
}

TEST(SequenceErrors, Measure) {
  const std::string head = "sequence: t\nmain:\n  - step: measure\n";
  EXPECT_EQ(error_of(head + "    monitor: temprature\n"),
            "t.yaml:4:14: monitor: unknown monitor 'temprature' (did you mean 'temperature'?); "
            "known monitors: temperature, vcc, tx_bias, tx_power, rx_power, laser_temperature, "
            "tec_current, snr, pre_fec_ber");
  EXPECT_EQ(error_of(head + "    monitor: temperature\n    lanes: [1]\n"),
            "t.yaml:5:5: lanes: monitor 'temperature' is module-level; lanes apply to per-lane "
            "monitors (tx_bias, tx_power, rx_power, laser_temperature, tec_current, snr, "
            "pre_fec_ber)");
  EXPECT_EQ(error_of(head + "    monitor: tx_bias\n    lanes: [1, 9-3, 0]\n"),
            "t.yaml:5:16: lanes: expected 'all', a lane number from 1 to 64, a range like '1-4' or "
            "a list of them, got '9-3'\n"
            "t.yaml:5:21: lanes: expected 'all', a lane number from 1 to 64, a range like '1-4' or "
            "a list of them, got '0'");
  EXPECT_EQ(error_of(head + "    monitor: tx_power\n    side: left\n"),
            "t.yaml:5:11: side: expected one of host, media, got 'left'");
  EXPECT_EQ(error_of(head + "    lanes: all\n"),
            "t.yaml:3:5: step 'measure' needs 'monitor:' (temperature, vcc, tx_bias, tx_power, "
            "rx_power, ...)");
}

TEST(SequenceErrors, Parameters) {
  EXPECT_EQ(error_of("sequence: t\nparameters:\n  n: { description: how many }\nmain:\n"
                     "  - identify\n"),
            "t.yaml:3:3: parameter 'n' has no default, so it must be given with --set n=VALUE");
  EXPECT_EQ(error_of("sequence: t\nparameters:\n  n: { description: how many }\nmain:\n"
                     "  - identify\n",
                     {{"n", "3"}}),
            "");
  EXPECT_EQ(error_of("sequence: t\nparameters:\n  t-max: 70 C\nmain:\n  - identify\n"),
            "t.yaml:3:3: parameter names are made of letters, digits and '_' and do not start with "
            "a digit, got 't-max'");
  EXPECT_EQ(error_of("sequence: t\nparameters:\n  a: 1 s\n  b: ${a}\nmain:\n  - identify\n"),
            "t.yaml:4:6: default: a parameter's default cannot refer to another parameter, got "
            "'${a}'");
  EXPECT_EQ(error_of("sequence: t\nparameters:\n  a: { default: 1 s, unit: s }\nmain:\n"
                     "  - identify\n"),
            "t.yaml:3:22: unknown key 'unit' in parameter 'a'; accepted: default, description");
  // A bad value given with --set is reported where it is used, saying where it came from.
  EXPECT_EQ(error_of("sequence: t\nparameters:\n  settle: 30 s\nmain:\n  - step: wait\n"
                     "    duration: ${settle}\n",
                     {{"settle", "5 V"}}),
            "t.yaml:6:15: duration: expected a time (" + time_units +
                "), got voltage '5 V' (written as '${settle}'; settle given with --set)");
}

TEST(SequenceErrors, BytesYamlCannotHold) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: log\n    message: a\x01"
                     "b\n"),
            "t.yaml:4:15: control character 0x01 is not allowed in a YAML file");
}

TEST(SequenceErrors, CrLfFilesAreLocatedLikeLfFiles) {
  EXPECT_EQ(error_of("sequence: t\r\nmain:\r\n  - step: wait\r\n    duration: 5 V\r\n"),
            "t.yaml:4:15: duration: expected a time (" + time_units + "), got voltage '5 V'");
}

}  // namespace
}  // namespace hilt::seq::test
