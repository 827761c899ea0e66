// power_up, low_power, tx_disable, wait_until, prompt and set: run against the fake module, fake
// instruments and the fake step context on the harness clock in virtual time; and their bad
// options with exact line:col and message.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>

#include "low_power/low_power.hpp"
#include "power_up/power_up.hpp"
#include "prompt/prompt.hpp"
#include "seq_test_util.hpp"
#include "set/set.hpp"
#include "tx_disable/tx_disable.hpp"
#include "wait_until/wait_until.hpp"

namespace hilt::seq::test {
namespace {

using namespace std::chrono_literals;

class SmallSteps : public ::testing::Test {
 protected:
  asio::io_context io;
  hilt::clock clk{io, clock_mode::virtual_time};
  fake_module dut{device_context{io.get_executor(), &clk, nullptr}};
  fake_chamber chamber{device_context{io.get_executor(), &clk, nullptr}};
  fake_supply psu{device_context{io.get_executor(), &clk, nullptr}};
  fake_context ctx{clk, &dut};

  void SetUp() override {
    ::unsetenv("HILT_PROMPT_AUTO");
    ctx.devices = {{"chamber", &chamber}, {"psu1", &psu}};
  }
  void TearDown() override { ::unsetenv("HILT_PROMPT_AUTO"); }

  step_outcome run(const step& s) { return run_step(s, ctx, clk); }

  // The step of a one-step sequence (main: [ <yaml> ]).
  std::shared_ptr<const step> one(const std::string& yaml) {
    auto seq = load_text("sequence: t\nmain:\n" + yaml);
    return seq.main.at(0).impl;
  }
};

// ---------------------------------------------------------------------------------------------
// power_up

TEST_F(SmallSteps, PowerUpRecordsTheTimeToModuleReady) {
  dut.state = module_state::low_power;
  dut.power_up_time = 2500ms;
  const auto s = one("  - step: power_up\n    limit: { max: 5 s, marginal: 1 s }\n");
  const auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(out.message, "ModuleReady after 2.500s");
  EXPECT_EQ(dut.state, module_state::ready);
  ASSERT_EQ(ctx.measurements.size(), 1u);
  const auto& m = ctx.measurements[0].m;
  EXPECT_EQ(m.name, "power_up_time");
  EXPECT_EQ(m.lane, -1);
  EXPECT_DOUBLE_EQ(m.value, 2.5);
  EXPECT_EQ(m.unit, "s");
  EXPECT_EQ(m.limit->source, "t.yaml:4:12");
  EXPECT_EQ(clk.now(), clock::time_point(2500ms));

  // Slower than the limit's marginal band, then slower than the limit.
  dut.state = module_state::low_power;
  dut.power_up_time = 4500ms;
  EXPECT_EQ(run(*s).verdict, verdict::marginal);
  dut.state = module_state::low_power;
  dut.power_up_time = 6s;
  EXPECT_EQ(run(*s).verdict, verdict::fail);
}

TEST_F(SmallSteps, PowerUpWithoutALimitIsInfoAndPasses) {
  dut.state = module_state::low_power;
  const auto out = run(*one("  - power_up\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  ASSERT_EQ(ctx.measurements.size(), 1u);
  EXPECT_EQ(ctx.measurements[0].v, verdict::info);
}

TEST_F(SmallSteps, PowerUpDeviceErrorNamesDeviceAndOperation) {
  dut.power_error = make_error_code(errc::state_timeout);
  const auto out = run(*one("  - power_up\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::state_timeout));
  EXPECT_EQ(out.message, "dut1 (fake:port1@0x50): power up failed: " +
                             make_error_code(errc::state_timeout).message() +
                             " [state_timeout, hilt 20]");
  EXPECT_TRUE(ctx.measurements.empty());
}

TEST_F(SmallSteps, PowerUpLimitMustBeATime) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: power_up\n    limit: { max: 5 V }\n"),
            "t.yaml:4:19: max: expected a time (s, ms, us, ns, min, h, d, sec, hr), got voltage "
            "'5 V'");
}

// ---------------------------------------------------------------------------------------------
// low_power, tx_disable

TEST_F(SmallSteps, LowPowerRequestsAndReleases) {
  auto out = run(*one("  - low_power\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(out.message, "module state after the request: ModuleLowPwr");
  EXPECT_EQ(dut.state, module_state::low_power);
  out = run(*one("  - step: low_power\n    release: true\n"));
  EXPECT_EQ(out.message, "module state after the request: ModuleReady");

  dut.state = module_state::fault;
  out = run(*one("  - low_power\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::device_fault));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): request low power: module state after the "
            "request: ModuleFault");

  dut.power_error = make_error_code(errc::nack);
  out = run(*one("  - low_power\n"));
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): request low power failed: I2C target did not "
            "acknowledge (NACK) [nack, hilt 4]");
}

TEST_F(SmallSteps, TxDisablePerLane) {
  auto out = run(*one("  - step: tx_disable\n    lanes: [1, 3-4]\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(out.message, "disable Tx on lane(s) 1, 3, 4");
  EXPECT_EQ(dut.tx_disabled, 0b1101u);
  out = run(*one("  - step: tx_disable\n    lanes: 3\n    disable: off\n"));
  EXPECT_EQ(out.message, "enable Tx on lane(s) 3");
  EXPECT_EQ(dut.tx_disabled, 0b1001u);
  // All: every lane the module has.
  dut.lanes = 4;
  run(*one("  - tx_disable\n"));
  EXPECT_EQ(dut.tx_disabled, 0b1111u);

  dut.tx_error = make_error_code(errc::not_supported);
  out = run(*one("  - tx_disable\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.message, "dut1 (fake:port1@0x50): disable Tx on lane(s) all failed: " +
                             make_error_code(errc::not_supported).message() +
                             " [not_supported, hilt 1]");
}

TEST_F(SmallSteps, TxDisableBadOptions) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: tx_disable\n    lanes: 33\n"
                     "    disable: maybe\n"),
            "t.yaml:4:12: lanes: expected 'all', a lane number from 1 to 32, a range like '1-4' "
            "or a list of them, got '33'\n"
            "t.yaml:5:14: disable: expected true or false, got 'maybe'");
}

// ---------------------------------------------------------------------------------------------
// wait_until

TEST_F(SmallSteps, WaitUntilPollsTheMonitorUntilTheConditionHolds) {
  // Cools 1 C per second from 60 C.
  dut.monitors_fn = [this] {
    const double t = 60.0 - std::chrono::duration<double>(clk.now()).count();
    return std::vector<monitor_reading>{{"temperature", -1, side::none, t, "C"}};
  };
  const auto s =
      one("  - step: wait_until\n    condition: temperature <= 50 C\n"
          "    timeout: 1 min\n    interval: 2 s\n");
  const auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(out.message, "'temperature <= 50 C' met after 10.000s (temperature 50 C)");
  EXPECT_EQ(clk.now(), clock::time_point(10s));
}

TEST_F(SmallSteps, WaitUntilTimeoutFailsWithTheLastReading) {
  dut.monitors = {{"temperature", -1, side::none, 55.25, "C"}};
  const auto s =
      one("  - step: wait_until\n    condition: temperature <= 50 C\n"
          "    timeout: 1 min\n    interval: 7 s\n");
  const auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_FALSE(out.error);
  EXPECT_EQ(out.message,
            "'temperature <= 50 C' not met within 1m 00.000s (last: temperature 55.25 C)");
  EXPECT_EQ(clk.now(), clock::time_point(1min));  // the last poll is at the deadline
}

TEST_F(SmallSteps, WaitUntilTheStepsOwnTimeoutIsNotTheRunnersTimeout) {
  auto seq = load_text(
      "sequence: t\nmain:\n  - step: wait_until\n"
      "    condition: module_state == ready\n    timeout: 10 s\n"
      "  - step: wait\n    duration: 1 s\n    timeout: 10 s\n");
  EXPECT_FALSE(seq.main[0].timeout);  // a failed condition, not a harness timeout
  EXPECT_EQ(seq.main[1].timeout, clock::duration(10s));
}

TEST_F(SmallSteps, WaitUntilModuleStateToleratesANackWhileBusy) {
  dut.state = module_state::ready;
  dut.state_nacks = 2;  // MgmtInit: the first two reads are not answered
  const auto out =
      run(*one("  - step: wait_until\n    condition: module_state == ready\n"
               "    timeout: 5 s\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(out.message, "'module_state == ready' met after 2.000s (module_state ModuleReady)");

  dut.state = module_state::low_power;
  const auto fail =
      run(*one("  - step: wait_until\n    condition: module_state == ready\n"
               "    timeout: 3 s\n"));
  EXPECT_EQ(fail.verdict, verdict::fail);
  EXPECT_EQ(fail.message,
            "'module_state == ready' not met within 3.000s (last: module_state ModuleLowPwr)");

  dut.power_error = make_error_code(errc::bus_timeout);  // not transient: an error at once
  const auto err =
      run(*one("  - step: wait_until\n    condition: module_state != fault\n"
               "    timeout: 3 s\n"));
  EXPECT_EQ(err.verdict, verdict::error);
  EXPECT_EQ(err.message,
            "dut1 (fake:port1@0x50): read module state failed: I2C bus timeout "
            "[bus_timeout, hilt 5]");
}

TEST_F(SmallSteps, WaitUntilPerLaneEveryLaneMustHold) {
  dut.monitors = {{"tx_power", 1, side::media, 1.0, "mW"},   // 0 dBm
                  {"tx_power", 2, side::media, 0.1, "mW"}};  // -10 dBm
  auto out =
      run(*one("  - step: wait_until\n    condition: tx_power >= -3 dBm\n"
               "    timeout: 2 s\n"));
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_EQ(out.message,
            "'tx_power >= -3 dBm' not met within 2.000s (last: tx_power lane 2 -10 "
            "dBm)");
  out =
      run(*one("  - step: wait_until\n    condition: tx_power >= -3 dBm\n    lanes: 1\n"
               "    timeout: 2 s\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  out = run(*one("  - step: wait_until\n    condition: rx_power >= -3 dBm\n    timeout: 2 s\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.message,
            "dut1 (fake:port1@0x50): read monitors: the module reports no "
            "'rx_power'");
}

TEST_F(SmallSteps, WaitUntilAChamberReachesItsSetPoint) {
  chamber.setpoint = 85;
  chamber.ramp_c_per_min = 6;  // 25 -> 85 C in 10 min
  const auto s =
      one("  - step: wait_until\n    device: chamber\n"
          "    condition: temperature >= 85 C\n    timeout: 30 min\n"
          "    interval: 1 min\n");
  const auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  EXPECT_EQ(out.message, "'temperature >= 85 C' met after 10m 00.000s (chamber temperature 85 C)");
  EXPECT_EQ(ctx.locks.front(), "chamber");  // held while reading
  const auto& need = dynamic_cast<const wait_until_step&>(*s).required_devices();
  ASSERT_EQ(need.size(), 1u);
  EXPECT_EQ(need[0].name, "chamber");
  EXPECT_EQ(need[0].where, "t.yaml:4:13");

  // A supply's measured voltage on channel 2; the wrong class is an error.
  psu.volts[2] = 3.3;
  EXPECT_EQ(run(*one("  - step: wait_until\n    device: psu1\n    channel: 2\n"
                     "    condition: voltage > 3.2 V\n    timeout: 1 s\n"))
                .verdict,
            verdict::pass);
  const auto wrong =
      run(*one("  - step: wait_until\n    device: psu1\n"
               "    condition: temperature < 30 C\n    timeout: 1 s\n"));
  EXPECT_EQ(wrong.verdict, verdict::error);
  EXPECT_EQ(wrong.message,
            "psu1 (fake:psu1): is a power_supply, and 'temperature' is read from a "
            "thermal chamber");
  const auto missing =
      run(*one("  - step: wait_until\n    device: oven\n"
               "    condition: temperature < 30 C\n    timeout: 1 s\n"));
  EXPECT_EQ(missing.error, make_error_code(errc::device_not_found));
  EXPECT_EQ(missing.message, "wait_until: no device 'oven' on this bench (t.yaml:4:13)");
}

TEST(WaitUntilErrors, BadConditionsAreLocatedAndExplained) {
  const std::string head = "sequence: t\nmain:\n  - step: wait_until\n    timeout: 1 min\n";
  EXPECT_EQ(error_of(head + "    condition: temperature 50 C\n"),
            "t.yaml:5:16: condition: expected 'NAME OP VALUE' (OP one of <=, >=, <, >, ==, !=) "
            "like 'temperature <= 50 C' or 'module_state == ready', got 'temperature 50 C'");
  EXPECT_EQ(error_of(head + "    condition: temprature <= 50 C\n"),
            "t.yaml:5:16: condition: unknown quantity 'temprature' (did you mean "
            "'temperature'?); known: module_state, temperature, vcc, tx_bias, tx_power, "
            "rx_power, laser_temperature, tec_current, snr, pre_fec_ber");
  EXPECT_EQ(error_of(head + "    condition: temperature <= 50 V\n"),
            "t.yaml:5:16: condition: expected a temperature (C, degC, K, F) for 'temperature', got "
            "voltage '50 V'");
  EXPECT_EQ(
      error_of(head + "    condition: temperature <= 50\n"),
      "t.yaml:5:16: condition: expected a temperature (C, degC, K, F) for 'temperature', got '50' "
      "with no unit");
  EXPECT_EQ(error_of(head + "    condition: module_state >= ready\n"),
            "t.yaml:5:16: condition: module_state is compared with == or !=, got '>='");
  EXPECT_EQ(error_of(head + "    condition: module_state == redy\n"),
            "t.yaml:5:16: condition: expected a module state (low_power, powering_up, ready, "
            "powering_down, fault), got 'redy' (did you mean 'ready'?)");
  EXPECT_EQ(error_of(head + "    device: chamber\n    condition: vcc < 3 V\n"),
            "t.yaml:6:16: condition: unknown quantity 'vcc' on a device; known: temperature, "
            "voltage, current");
  EXPECT_EQ(error_of(head + "    condition: temperature <= 50 C\n    lanes: 1\n"),
            "t.yaml:6:5: lanes: 'temperature' is not a per-lane monitor of the module; lanes "
            "apply to tx_bias, tx_power, rx_power, ...");
  EXPECT_EQ(error_of(head + "    condition: temperature <= 50 C\n    channel: 1\n"),
            "t.yaml:6:5: channel: applies to a power supply's voltage or current, read with "
            "'device: NAME'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: wait_until\n"
                     "    condition: module_state == ready\n"),
            "t.yaml:3:5: step 'wait_until' needs 'timeout:' (how long to wait for the condition, "
            "like '10 min'; not met by then fails the step)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: wait_until\n    station: true\n"
                     "    condition: temperature <= 50 C\n    timeout: 0 s\n"),
            "t.yaml:3:5: step 'wait_until' without 'device:' reads the DUT's module, which a "
            "station step does not have; name a fixture device with 'device:'\n"
            "t.yaml:6:14: timeout: expected a time greater than zero, got '0 s'");
}

// ---------------------------------------------------------------------------------------------
// prompt

class fake_console final : public prompt_console {
 public:
  bool terminal = true;
  std::vector<std::string> answers;  // given in order; nullopt once they run out
  std::vector<std::string> asked;
  bool interactive() const override { return terminal; }
  task<std::optional<std::string>> ask(step_context&, std::string text) override {
    asked.push_back(text);
    if (answers.empty()) co_return std::nullopt;
    std::string a = answers.front();
    answers.erase(answers.begin());
    co_return a;
  }
};

TEST_F(SmallSteps, PromptIsAnsweredAutomaticallyWithoutATerminal) {
  auto console = std::make_shared<fake_console>();
  console->terminal = false;
  const prompt_step p("Is the LED green?", prompt_step::kind::yes_no, console);
  const auto out = run(p);
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_TRUE(console->asked.empty());  // never waits
  ASSERT_EQ(ctx.events.size(), 1u);
  EXPECT_EQ(ctx.events[0].kind, "prompt");
  EXPECT_EQ(ctx.events[0].message,
            "prompt 'Is the LED green?' answered automatically: yes (stdin is not a terminal)");
}

TEST_F(SmallSteps, PromptAutoAnswerFromTheEnvironment) {
  auto console = std::make_shared<fake_console>();  // a terminal, but CI says no
  ::setenv("HILT_PROMPT_AUTO", "no", 1);
  auto out = run(prompt_step("Is the LED green?", prompt_step::kind::yes_no, console));
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_EQ(out.message, "'Is the LED green?' answered no (automatically: HILT_PROMPT_AUTO=no)");
  EXPECT_EQ(ctx.events.at(0).message,
            "prompt 'Is the LED green?' answered automatically: no (HILT_PROMPT_AUTO=no)");
  // An Enter prompt has nothing to refuse: it continues.
  out = run(prompt_step("Insert the module", prompt_step::kind::enter, console));
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_TRUE(console->asked.empty());

  ::setenv("HILT_PROMPT_AUTO", "maybe", 1);
  out = run(prompt_step("Insert the module", prompt_step::kind::enter, console));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.message, "HILT_PROMPT_AUTO: expected yes or no, got 'maybe'");
}

TEST_F(SmallSteps, PromptAsksTheOperatorOnATerminal) {
  auto console = std::make_shared<fake_console>();
  console->answers = {"perhaps", "N"};
  auto out = run(prompt_step("Is the LED green?", prompt_step::kind::yes_no, console));
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_EQ(out.message, "'Is the LED green?' answered no by the operator");
  EXPECT_EQ(console->asked,
            (std::vector<std::string>{"[dut1] Is the LED green? [y/n] ",
                                      "[dut1] please answer y or n: Is the LED green? [y/n] "}));
  EXPECT_EQ(ctx.locks, (std::vector<std::string>{"operator console"}));
  EXPECT_EQ(ctx.events.at(0).message, "prompt 'Is the LED green?' answered by the operator: no");

  console->answers = {""};
  out = run(prompt_step("Insert the module", prompt_step::kind::enter, console));
  EXPECT_EQ(out.verdict, verdict::pass);

  console->answers = {};  // input closed
  out = run(prompt_step("Insert the module", prompt_step::kind::enter, console));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.error, make_error_code(errc::cancelled));
  EXPECT_EQ(out.message, "prompt 'Insert the module': no answer (input closed or interrupted)");
}

TEST(PromptErrors, Options) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: prompt\n    ask: maybe\n"),
            "t.yaml:3:5: step 'prompt' needs 'message:' (the question or instruction)\n"
            "t.yaml:4:10: ask: expected one of enter, yes_no, got 'maybe'");
  const auto seq = load_text(
      "sequence: t\nmain:\n  - step: prompt\n    station: true\n"
      "    message: Close the chamber door\n");
  EXPECT_TRUE(seq.main[0].station);
  EXPECT_EQ(dynamic_cast<const prompt_step&>(*seq.main[0].impl).asks(), prompt_step::kind::enter);
}

// ---------------------------------------------------------------------------------------------
// set

TEST_F(SmallSteps, SetModuleParametersInOrder) {
  const auto out =
      run(*one("  - step: set\n    tx_disable: on\n    lanes: 2\n"
               "    low_power: on\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_EQ(out.message, "tx_disable on on lane(s) 2; low_power on (module state ModuleLowPwr)");
  EXPECT_EQ(dut.tx_disabled, 0b10u);
  EXPECT_EQ(dut.state, module_state::low_power);
}

TEST_F(SmallSteps, SetInstruments) {
  auto s =
      one("  - step: set\n    device: psu1\n    channel: 2\n    voltage: 3465 mV\n"
          "    current_limit: 2 A\n    output: on\n");
  auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  EXPECT_DOUBLE_EQ(psu.volts[2], 3.465);
  EXPECT_DOUBLE_EQ(psu.amps_limit[2], 2.0);
  EXPECT_TRUE(psu.output[2]);
  EXPECT_EQ(ctx.locks, (std::vector<std::string>{"psu1"}));
  ASSERT_EQ(ctx.events.size(), 3u);
  EXPECT_EQ(ctx.events[0].kind, "set");
  EXPECT_EQ(ctx.events[0].message,
            "psu1 (fake:psu1): channel 2 voltage: requested 3.465 V, actual 3.464 V");
  EXPECT_EQ(dynamic_cast<const set_step&>(*s).required_devices().at(0).purpose,
            "set voltage, current_limit, output");

  out = run(*one("  - step: set\n    device: chamber\n    setpoint: 185 F\n"));
  EXPECT_EQ(out.verdict, verdict::pass);
  EXPECT_DOUBLE_EQ(chamber.setpoint, 85.0);
  EXPECT_EQ(out.message, "setpoint: requested 85 C, actual 85 C");

  out = run(*one("  - step: set\n    device: psu1\n    setpoint: 85 C\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.message,
            "psu1 (fake:psu1): is a power_supply; setpoint is a setting of a thermal "
            "chamber");
}

TEST(SetErrors, OnlyWhatTheDeviceClassesCanSet) {
  const std::string note =
      "; hilt's device interfaces can set: a DUT module's low_power and tx_disable (with "
      "lanes); the switch-ASIC lanes linked to the DUT (fixture 'links:'): fec_mode and tx_fir "
      "{pre1, main, post1}; with 'device: NAME', a thermal chamber's setpoint, a power "
      "supply's voltage, current_limit and output (with channel), and an optical attenuator's "
      "attenuation, wavelength and shutter (open/closed)";
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    vcc: 3.4 V\n"),
            "t.yaml:4:5: unknown option 'vcc' for step 'set'; accepted: low_power, tx_disable, "
            "lanes, device, setpoint, voltage, current_limit, output, channel, attenuation, "
            "wavelength, shutter, fec_mode, tx_fir, step, name, timeout, retry, station" +
                note);
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    voltage: 3.4 V\n"),
            "t.yaml:4:5: voltage: is a setting of a power supply; name it with 'device: NAME' (a "
            "module's supply voltage is set on the supply feeding it, not through the module)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: psu1\n    low_power: on\n"),
            "t.yaml:5:5: low_power: is a setting of the DUT's module; it does not go with "
            "'device:' (write it in a 'set' step of its own)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: x\n    setpoint: 85 C\n"
                     "    voltage: 3 V\n"),
            "t.yaml:6:5: voltage: is a setting of a power supply, and 'setpoint' one of a thermal "
            "chamber: one device per 'set' step");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    name: nothing\n"),
            "t.yaml:3:5: step 'set' needs something to set" + note);
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    low_power: maybe\n    lanes: 1\n"),
            "t.yaml:4:16: low_power: expected true or false, got 'maybe'\n"
            "t.yaml:5:5: lanes: applies to tx_disable (the lanes whose transmitters to set)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: chamber\n"
                     "    setpoint: 85 V\n"),
            "t.yaml:5:15: setpoint: expected a temperature (C, degC, K, F), got voltage '85 V'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    station: true\n    tx_disable: on\n"),
            "t.yaml:3:5: step 'set' without 'device:' sets the DUT's module or its ASIC lanes, "
            "which a station step does not have");
}

}  // namespace
}  // namespace hilt::seq::test
