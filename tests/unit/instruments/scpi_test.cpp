// SCPI message helpers (total over any bytes), supply model files (strict, located errors), and
// the emulated supply's SCPI-99 parser on its own: long and short forms, optional nodes, compound
// messages, the error queue and its standard codes.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/error.hpp"
#include "hilt/scpi_psu/model.hpp"
#include "hilt/scpi_psu/scpi.hpp"
#include "test_support.hpp"

namespace {

namespace scpi = hilt::scpi;
using hilt::test::has_text;

TEST(Scpi, NumbersAreNrfOrNothing) {
  EXPECT_EQ(scpi::parse_number("+3.30000000E+00"), 3.3);
  EXPECT_EQ(scpi::parse_number("3.300"), 3.3);
  EXPECT_EQ(scpi::parse_number("  12 \r\n"), 12.0);
  EXPECT_EQ(scpi::parse_number("-1.5e-3"), -0.0015);
  EXPECT_EQ(scpi::parse_number(".5"), 0.5);
  for (const char* bad : {"", " ", "abc", "3.3V", "1e", "inf", "nan", "0x10", "1,2", "--1",
                          "9.91E37", "9.9E37", "+", "."}) {
    EXPECT_FALSE(scpi::parse_number(bad)) << bad;
  }
  const std::string garbage("\x01\xfe#9garbage\x7f\xff", 13);
  EXPECT_FALSE(scpi::parse_number(garbage));
}

TEST(Scpi, Booleans) {
  EXPECT_EQ(scpi::parse_bool("1"), true);
  EXPECT_EQ(scpi::parse_bool("0"), false);
  EXPECT_EQ(scpi::parse_bool("on"), true);
  EXPECT_EQ(scpi::parse_bool("OFF"), false);
  EXPECT_FALSE(scpi::parse_bool("2"));
  EXPECT_FALSE(scpi::parse_bool("yes"));
}

TEST(Scpi, ErrorQueueEntries) {
  auto e = scpi::parse_error("-222,\"Data out of range\"");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, -222);
  EXPECT_EQ(e->text, "Data out of range");
  auto ok = scpi::parse_error("+0,\"No error\"");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->code, 0);
  auto quoted = scpi::parse_error("-300,\"Device-specific error;\"\"OCP\"\"\"");
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->text, "Device-specific error;\"OCP\"");
  for (const char* bad : {"", "0", "No error", "0,No error", "x,\"a\"", "0,\"a", "0,\"a\"b\""}) {
    EXPECT_FALSE(scpi::parse_error(bad)) << bad;
  }
}

TEST(Scpi, Idn) {
  auto id = scpi::parse_idn("Keysight Technologies,E36312A,MY60000001,2.1.3");
  ASSERT_TRUE(id);
  EXPECT_EQ((*id)[0], "Keysight Technologies");
  EXPECT_EQ((*id)[3], "2.1.3");
  EXPECT_FALSE(scpi::parse_idn("a,b,c"));
  EXPECT_FALSE(scpi::parse_idn("a,b,c,d,e"));
  EXPECT_FALSE(scpi::parse_idn(",b,c,d"));
  EXPECT_FALSE(scpi::parse_idn(std::string("a,b\x01,c,d")));
}

TEST(Scpi, CommandTemplates) {
  EXPECT_EQ(scpi::expand("INST:NSEL {channel}", 2), "INST:NSEL 2");
  EXPECT_EQ(scpi::expand("VOLT {value}", 1, 3.3), "VOLT 3.3");
  EXPECT_EQ(scpi::expand("INST OUT{channel};VOLT {value}", 4, 0.0005), "INST OUT4;VOLT 0.0005");
  EXPECT_EQ(scpi::format_value(12.0), "12");
}

TEST(ScpiModels, ShippedModelsLoad) {
  auto names = hilt::scpi_psu::known_models();
  EXPECT_EQ(names, (std::vector<std::string>{"keysight-e36xx", "rs-ngp"}));
  auto k = hilt::scpi_psu::load_named_model("keysight-e36xx");
  EXPECT_EQ(k.channel_count(), 3);
  EXPECT_EQ(k.channels[0].max_voltage, 6.18);
  EXPECT_EQ(k.voltage_resolution, 0.001);
  EXPECT_TRUE(k.matches("Keysight Technologies,E36312A"));
  EXPECT_TRUE(k.matches("Agilent Technologies,E3631A"));
  EXPECT_FALSE(k.matches("Rohde&Schwarz,NGP804"));
  auto r = hilt::scpi_psu::load_named_model("rs-ngp");
  EXPECT_EQ(r.commands.output_on, (std::vector<std::string>{"OUTP:SEL ON", "OUTP:GEN ON"}));
  EXPECT_EQ(r.current_resolution, 0.0001);
}

std::string model_error(const std::string& yaml) {
  try {
    hilt::scpi_psu::parse_model(YAML::Load(yaml), "m.yaml");
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ScpiModels, MistakesAreLocated) {
  const std::string cmds =
      "commands: {set_voltage: 'VOLT {value}', query_voltage: 'VOLT?', set_current: 'CURR "
      "{value}', query_current: 'CURR?', output_on: 'OUTP ON', output_off: 'OUTP OFF', "
      "query_output: 'OUTP?', measure_voltage: 'MEAS:VOLT?', measure_current: 'MEAS:CURR?'}\n";
  const std::string head =
      "model: x\n"
      "dialect: keysight\n"
      "channels: [{max_voltage: 6 V, max_current: 5 A}]\n"
      "resolution: {voltage: 1 mV, current: 1 mA}\n";
  EXPECT_EQ(model_error(head + cmds), "no error");
  EXPECT_EQ(model_error(head + cmds + "colour: red\n"),
            "m.yaml:6:1: unknown key 'colour' in a supply model; expected one of: model, "
            "description, dialect, match, identity, channels, resolution, commands");
  EXPECT_EQ(model_error("model: x\ndialect: tektronix\n"),
            "m.yaml:2:10: 'dialect' expects keysight or rs-ngp, got 'tektronix'");
  EXPECT_EQ(model_error(
                "model: x\ndialect: keysight\nchannels: [{max_voltage: 6 A, max_current: 5 A}]\n"),
            "m.yaml:3:26: 'max_voltage' expects a voltage above 0 and at most 10000 V (units: V, "
            "mV, uV)");
  EXPECT_EQ(model_error(head + "commands: {set_voltage: 'VOLT 1'}\n"),
            "m.yaml:5:11: missing required key 'query_voltage' in commands");
  EXPECT_EQ(model_error("model: x\ndialect: keysight\nmatch: '(['\n"),
            model_error("model: x\ndialect: keysight\nmatch: '(['\n"));  // stable
  EXPECT_TRUE(has_text(model_error("model: x\ndialect: keysight\nmatch: '(['\n"),
                       "m.yaml:3:8: 'match' is not a regular expression"));
  EXPECT_EQ(
      model_error(
          "model: x\ndialect: keysight\nchannels: [{max_voltage: 6 V, max_current: 5 A}, "
          "{max_voltage: 6 V, max_current: 5 A}]\nresolution: {voltage: 1 mV, current: 1 mA}\n" +
          cmds),
      "m.yaml:5:11: a model with more than one channel needs 'select_channel'");
  try {
    hilt::scpi_psu::load_named_model("../etc/passwd");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown supply model '../etc/passwd'; known: keysight-e36xx, rs-ngp");
  }
}

// The emulator's parser, straight (no socket).
struct emulated {
  explicit emulated(const char* model = "keysight-e36xx")
      : psu(hilt::scpi_psu::load_named_model(model)) {}
  std::string ask(std::string_view m) { return psu.handle(m).value_or("<none>"); }
  hilt::emu::scpi_psu_emulator psu;
};

TEST(ScpiEmulator, LongAndShortFormsAndOptionalNodes) {
  emulated e;
  for (const char* cmd : {"VOLT 1.5", "volt 1.5", "VOLTAGE 1.5", "SOUR:VOLT 1.5",
                          ":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 1.5", "VOLT:LEV 1500 mV"}) {
    e.psu.set_output(1, 0, 1, false);
    EXPECT_EQ(e.ask(cmd), "<none>") << cmd;
    EXPECT_DOUBLE_EQ(e.psu.channel(1).voltage, 1.5) << cmd;
  }
  EXPECT_TRUE(e.psu.errors().empty());
  EXPECT_EQ(e.ask("VOLTA 1"), "<none>");  // neither the short nor the long form
  EXPECT_EQ(e.ask("SYST:ERR?"), "-113,\"Undefined header\"");
  EXPECT_EQ(e.ask("VOLT? MAX"), "+6.18000000E+00");
  EXPECT_EQ(e.ask("SYST:ERR?"), "+0,\"No error\"");
}

TEST(ScpiEmulator, CompoundMessagesAnswerInOrder) {
  emulated e;
  EXPECT_EQ(e.ask("INST:NSEL 2;VOLT 12;VOLT?;INST:NSEL?;*IDN?"),
            "+1.20000000E+01;2;Keysight Technologies,E36312A,MY60000001,2.1.3-1.0.4-1.12");
  EXPECT_EQ(e.ask("INST CH3;INST?"), "CH3");
  EXPECT_EQ(e.ask("INST N25V;INST?"), "CH3");
}

TEST(ScpiEmulator, StandardErrorCodes) {
  emulated e;
  e.ask("VOLT");         // -109 missing parameter
  e.ask("VOLT 1,2");     // -108 parameter not allowed
  e.ask("VOLT abc");     // -104 data type error
  e.ask("VOLT 100");     // -222 data out of range
  e.ask("OUTP MAYBE");   // -224 illegal parameter value
  e.ask("VOLT 1 A");     // -131 invalid suffix
  e.ask("INST:NSEL 9");  // -222
  e.ask("MEAS:VOLT 1");  // -113: MEASure is a query only
  e.ask("VOLT::LEV 1");  // -102 syntax error
  std::vector<int> codes;
  for (const auto& x : e.psu.errors())
    codes.push_back(x.code);
  EXPECT_EQ(codes, (std::vector<int>{-109, -108, -104, -222, -224, -131, -222, -113, -102}));
  EXPECT_EQ(e.ask("*STB?"), "4");
  e.ask("*CLS");
  EXPECT_TRUE(e.psu.errors().empty());
  EXPECT_EQ(e.ask("*STB?"), "0");
}

TEST(ScpiEmulator, ErrorQueueOverflowKeepsTheNewestAsMinus350) {
  emulated e;
  for (int i = 0; i < 25; ++i)
    e.ask("NOPE");
  auto q = e.psu.errors();
  ASSERT_EQ(q.size(), hilt::emu::scpi_psu_emulator::error_queue_size);
  EXPECT_EQ(q.front().code, -113);
  EXPECT_EQ(q.back().code, -350);
}

TEST(ScpiEmulator, FailedQueriesProduceNoResponse) {
  emulated e;
  EXPECT_EQ(e.ask("MEAS:FOO?"), "<none>");
  EXPECT_EQ(e.ask("MEAS:FOO?;*OPC?"), "1");
}

TEST(ScpiEmulator, RohdeSchwarzOutputNeedsSelectAndMaster) {
  emulated e("rs-ngp");
  EXPECT_EQ(e.ask("INST OUT2;VOLT 5;OUTP:SEL ON;OUTP?"), "0");  // master still off
  EXPECT_EQ(e.ask("OUTP:GEN ON;OUTP?;MEAS?"), "1;5.000");
  EXPECT_EQ(e.ask("INST?"), "OUT2");
  EXPECT_EQ(e.ask("INST OUTP3;INST?;INST 1;INST?"), "OUT3;OUT1");
  EXPECT_TRUE(e.psu.errors().empty());
}

}  // namespace

namespace {

// Whatever bytes arrive, the parsers answer (DESIGN.md rule 6): seeded random lines, some built
// from SCPI-looking pieces, through the response parsers and the emulator's command parser.
TEST(ScpiRobustness, RandomBytesNeverCrash) {
  std::uint64_t rng = 42;
  auto next = [&] { return hilt::emu::splitmix64(rng); };
  const char* pieces[] = {"VOLT", ":",   "?",       " ",    ",",    ";",    "\"",
                          "1e",   "-",   "+",       "*IDN", "(@1)", "MEAS", "OUTP",
                          "INST", "E99", "9.91E37", "\x01", "\xff", "ON",   "\t"};
  emulated e;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const auto n = next() % 40;
    for (std::uint64_t k = 0; k < n; ++k) {
      if (next() % 2)
        s += pieces[next() % (sizeof pieces / sizeof *pieces)];
      else
        s.push_back(static_cast<char>(next() & 0xFF));
    }
    (void)scpi::parse_number(s);
    (void)scpi::parse_bool(s);
    (void)scpi::parse_error(s);
    (void)scpi::parse_idn(s);
    (void)e.psu.handle(s);
  }
  EXPECT_LE(e.psu.errors().size(), hilt::emu::scpi_psu_emulator::error_queue_size);
}

}  // namespace
