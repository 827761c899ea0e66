// The scpi-voa driver against a small scripted N7762A-style SCPI attenuator on 127.0.0.1 (port 0),
// in virtual time: the range known from the model before anything is sent, set / read with
// requested vs actual, refusals before sending (the message names the range), the SCPI error
// queue after a setting, wavelength units, the shutter and the safe state, reconnects and faults.
// End-to-end tests against the emulated attenuator of drivers/emu live with it.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/error.hpp"
#include "hilt/scpi_voa/attenuator.hpp"
#include "hilt/scpi_voa/driver.hpp"
#include "hilt/scpi_voa/model.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::test::has_text;
using hilt::test::inst_bench;
using voa = hilt::scpi_voa::scpi_attenuator;
namespace asio = boost::asio;

// A two-channel attenuator speaking the N7762A command set: 0..40 dB in steps of 0.001 dB,
// wavelength set in nm and answered in metres, OUTP:STAT as the shutter, an error queue.
struct fake_voa {
  std::mutex mu;
  std::vector<std::string> lines;
  std::deque<std::string> errors;
  std::map<int, double> att{{1, 0.0}, {2, 0.0}};
  std::map<int, double> wav_m{{1, 1310e-9}, {2, 1310e-9}};
  std::map<int, bool> out{{1, true}, {2, true}};
  std::optional<std::string> error_on_next_set;  // pushed instead of applying the next setting
  bool shutter_stuck = false;
  std::string idn = "Keysight Technologies,N7762A,MY12345678,V1.0";
  double max_db = 40;

  static std::string sci(double v) { return fmt::format("{:+.6E}", v); }

  std::optional<std::string> handle(std::string_view line) {
    std::lock_guard lk(mu);
    lines.emplace_back(line);
    const std::string s(line);
    if (s == "*IDN?") return idn;
    if (s == "*CLS") {
      errors.clear();
      return std::nullopt;
    }
    if (s == "*OPC?") return "1";
    if (s == ":SYST:ERR?") {
      if (errors.empty()) return R"(+0,"No error")";
      auto e = errors.front();
      errors.pop_front();
      return e;
    }
    const bool inp = s.rfind(":INP", 0) == 0;
    const bool outp = s.rfind(":OUTP", 0) == 0;
    if (inp || outp) {
      const std::size_t at = inp ? 4 : 5;
      const int ch = at < s.size() ? s[at] - '0' : 0;
      if (ch < 1 || ch > 2) {
        errors.push_back(R"(-114,"Header suffix out of range")");
        return std::nullopt;
      }
      const std::string rest = s.substr(at + 1);
      auto setting = [&](auto apply) {
        if (error_on_next_set) {
          errors.push_back(*error_on_next_set);
          error_on_next_set.reset();
        } else {
          apply();
        }
        return std::nullopt;
      };
      if (inp && rest == ":ATT?") return sci(att[ch]);
      if (inp && rest == ":ATT? MIN") return sci(0);
      if (inp && rest == ":ATT? MAX") return sci(max_db);
      if (inp && rest.rfind(":ATT ", 0) == 0) {
        const double v = std::stod(rest.substr(5));
        return setting([&] {
          if (v < 0 || v > max_db) {
            errors.push_back(R"(-222,"Data out of range")");
          } else {
            att[ch] = std::round(v * 1000) / 1000;
          }
        });
      }
      if (inp && rest == ":WAV?") return sci(wav_m[ch]);
      if (inp && rest.rfind(":WAV ", 0) == 0 && rest.size() > 7 &&
          rest.substr(rest.size() - 2) == "NM") {
        const double nm = std::stod(rest.substr(5, rest.size() - 7));
        return setting([&] { wav_m[ch] = nm * 1e-9; });
      }
      if (outp && rest == ":STAT?") return out[ch] ? "1" : "0";
      if (outp && (rest == ":STAT ON" || rest == ":STAT OFF")) {
        return setting([&] {
          if (!shutter_stuck) out[ch] = rest == ":STAT ON";
        });
      }
    }
    errors.push_back(R"(-113,"Undefined header")");
    return std::nullopt;
  }
};

struct server_thread {
  explicit server_thread(hilt::emu::line_server::handler h)
      : work(io.get_executor()),
        server(std::make_shared<hilt::emu::line_server>(io.get_executor(), std::move(h))) {
    server->start();
    th = std::thread([this] { io.run(); });
  }
  ~server_thread() {
    work.reset();
    io.stop();
    th.join();
    server->stop();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::shared_ptr<hilt::emu::line_server> server;
  std::thread th;
};

struct voa_fixture {
  explicit voa_fixture(const std::string& options = "{timeout: 200 ms}")
      : srv([this](std::string_view l) { return inst.handle(l); }),
        b(""),
        drv(hilt::scpi_voa::make_driver()) {
    address = fmt::format("scpi-voa:tcp:127.0.0.1:{}", srv.server->port());
    dev = b.make_as<voa>(*drv, "voa1", address, options);
  }
  std::vector<std::string> lines() {
    std::lock_guard lk(inst.mu);
    return inst.lines;
  }
  void clear() {
    {
      std::lock_guard lk(inst.mu);
      inst.lines.clear();
    }
    b.clear_log();
  }
  std::string where() const { return "voa1 (" + address + ")"; }

  fake_voa inst;  // before srv: its handler uses the instrument
  server_thread srv;
  inst_bench b;
  std::shared_ptr<const hilt::driver> drv;
  std::string address;
  std::shared_ptr<voa> dev;
};

TEST(ScpiVoa, RangeIsKnownFromTheModelBeforeAnythingIsSent) {
  voa_fixture f;
  ASSERT_TRUE(f.dev);
  EXPECT_DOUBLE_EQ(f.dev->range().min_db, 0);
  EXPECT_DOUBLE_EQ(f.dev->range().max_db, 40);
  EXPECT_EQ(f.dev->model().name, "keysight-n7762a");
  EXPECT_EQ(f.dev->channel(), 1);
  EXPECT_EQ(f.srv.server->connections(), 0u) << "make() talks to nobody";
  EXPECT_EQ(f.dev->kind(), hilt::device_class::optical_attenuator);
  EXPECT_EQ(f.dev->driver_name(), "scpi-voa");
}

TEST(ScpiVoa, IdentifyReportsIdnAndRanges) {
  voa_fixture f;
  auto id = f.b.run(f.dev->async_identify());
  ASSERT_TRUE(id) << id.error().message() << "\n" << f.b.log();
  EXPECT_EQ(id.value().vendor, "Keysight Technologies");
  EXPECT_EQ(id.value().part_number, "N7762A");
  EXPECT_EQ(id.value().serial, "MY12345678");
  EXPECT_EQ(id.value().firmware, "V1.0");
  EXPECT_EQ(id.value().extra.at("model_table"), "keysight-n7762a");
  EXPECT_EQ(id.value().extra.at("channel"), "1");
  EXPECT_EQ(id.value().extra.at("attenuation_range"), "0..40 dB");
  EXPECT_EQ(id.value().extra.at("wavelength_range"), "1260..1640 nm");
  EXPECT_EQ(id.value().extra.at("instrument_attenuation_range"), "0..40 dB");
  EXPECT_FALSE(has_text(f.b.log(), "warn")) << f.b.log();
  // An instrument narrower than its model, or another instrument altogether: warnings.
  f.inst.max_db = 30;
  f.inst.idn = "Acme,VOA-1,1,1";
  ASSERT_TRUE(f.b.run(f.dev->async_identify()));
  EXPECT_TRUE(has_text(f.b.log(),
                       "identify: the instrument reports attenuation 0..30 dB, "
                       "narrower than model keysight-n7762a's 0..40 dB"))
      << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(),
                       "identify: *IDN? 'Acme,VOA-1,1,1' does not look like model "
                       "keysight-n7762a; its ranges may not apply"))
      << f.b.log();
}

TEST(ScpiVoa, SetAttenuationReturnsWhatTheInstrumentReports) {
  voa_fixture f;
  auto a = f.b.run(f.dev->async_set_attenuation(10.0004));
  ASSERT_TRUE(a) << f.b.log();
  EXPECT_DOUBLE_EQ(a.value(), 10.0);  // the instrument's 0.001 dB steps
  EXPECT_EQ(f.lines(), (std::vector<std::string>{":SYST:ERR?", "*CLS", ":INP1:ATT 10.0004", "*OPC?",
                                                 ":SYST:ERR?", ":INP1:ATT?"}));
  EXPECT_TRUE(has_text(f.b.log(), f.where() + ": channel 1: attenuation requested 10.0004 dB, "
                                              "instrument reports 10 dB"))
      << f.b.log();
  f.clear();
  auto r = f.b.run(f.dev->async_read_attenuation());
  ASSERT_TRUE(r) << f.b.log();
  EXPECT_DOUBLE_EQ(r.value(), 10.0);
  EXPECT_EQ(f.lines(), (std::vector<std::string>{":INP1:ATT?"}));
  // Both ends of the range are settings.
  EXPECT_DOUBLE_EQ(f.b.run(f.dev->async_set_attenuation(0)).value(), 0);
  EXPECT_DOUBLE_EQ(f.b.run(f.dev->async_set_attenuation(40)).value(), 40);
}

TEST(ScpiVoa, AttenuationOutsideTheRangeIsRefusedBeforeSending) {
  voa_fixture f;
  EXPECT_EQ(f.b.run(f.dev->async_set_attenuation(45)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_set_attenuation(-0.5)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_set_attenuation(NAN)).error(), errc::invalid_argument);
  EXPECT_TRUE(f.lines().empty());
  EXPECT_EQ(f.srv.server->connections(), 0u);
  EXPECT_TRUE(
      has_text(f.b.log(), "voa1: attenuation 45 dB is outside the instrument's range 0..40 dB"))
      << f.b.log();
}

TEST(ScpiVoa, ScpiErrorAfterASetIsAnInstrumentError) {
  voa_fixture f;
  ASSERT_TRUE(f.b.run(f.dev->async_set_attenuation(5)));
  f.inst.error_on_next_set = R"(-221,"Settings conflict;attenuator busy")";
  auto r = f.b.run(f.dev->async_set_attenuation(12));
  EXPECT_EQ(r.error(), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(), f.where() + R"(: set_attenuation: :INP1:ATT 12: instrument )"
                                              R"(error -221,"Settings conflict;attenuator busy")"))
      << f.b.log();
  EXPECT_DOUBLE_EQ(f.b.run(f.dev->async_read_attenuation()).value(), 5) << "unchanged";
  // The same for the other settings.
  f.inst.error_on_next_set = R"(-222,"Data out of range")";
  EXPECT_EQ(f.b.run(f.dev->async_set_wavelength(1550)).error(), errc::instrument_error);
  f.inst.error_on_next_set = R"(-200,"Execution error")";
  EXPECT_EQ(f.b.run(f.dev->async_set_shutter(true)), errc::instrument_error);
  EXPECT_TRUE(has_text(f.b.log(), R"(shutter_close: :OUTP1:STAT OFF: instrument error )"
                                  R"(-200,"Execution error")"))
      << f.b.log();
}

TEST(ScpiVoa, StaleErrorsAtConnectAreLoggedNotBlamed) {
  voa_fixture f;
  f.inst.errors.push_back(R"(-410,"Query INTERRUPTED")");
  auto a = f.b.run(f.dev->async_set_attenuation(3));
  ASSERT_TRUE(a) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(),
                       "set_attenuation: the error queue held entries from before "
                       "this connection: -410,\"Query INTERRUPTED\""))
      << f.b.log();
}

TEST(ScpiVoa, WavelengthIsSetInNanometresAndReadBackFromMetres) {
  voa_fixture f;
  auto w = f.b.run(f.dev->async_set_wavelength(1550));
  ASSERT_TRUE(w) << f.b.log();
  EXPECT_DOUBLE_EQ(w.value(), 1550);
  const auto l = f.lines();
  ASSERT_EQ(l.size(), 6u);
  EXPECT_EQ(l[2], ":INP1:WAV 1550NM");
  EXPECT_EQ(l[5], ":INP1:WAV?");
  EXPECT_DOUBLE_EQ(f.inst.wav_m[1], 1550e-9);
  EXPECT_TRUE(has_text(f.b.log(),
                       "channel 1: wavelength requested 1550 nm, instrument reports "
                       "1550 nm"))
      << f.b.log();
  EXPECT_DOUBLE_EQ(f.b.run(f.dev->async_set_wavelength(1310.5)).value(), 1310.5);
  // Outside the model's wavelength range: refused, the message names the range.
  f.clear();
  EXPECT_EQ(f.b.run(f.dev->async_set_wavelength(1700)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_set_wavelength(850)).error(), errc::invalid_argument);
  EXPECT_TRUE(f.lines().empty());
  EXPECT_TRUE(has_text(f.b.log(), f.where() +
                                      ": set_wavelength: 1700 nm is outside the instrument's "
                                      "wavelength range 1260..1640 nm (model keysight-n7762a); "
                                      "nothing was sent"))
      << f.b.log();
}

TEST(ScpiVoa, ShutterClosesAndOpens) {
  voa_fixture f;
  EXPECT_FALSE(f.b.run(f.dev->async_set_shutter(true))) << f.b.log();
  EXPECT_FALSE(f.inst.out[1]);
  const auto l = f.lines();
  ASSERT_EQ(l.size(), 6u);
  EXPECT_EQ(l[2], ":OUTP1:STAT OFF");
  EXPECT_EQ(l[5], ":OUTP1:STAT?");
  EXPECT_FALSE(f.b.run(f.dev->async_set_shutter(false)));
  EXPECT_TRUE(f.inst.out[1]);
  EXPECT_TRUE(has_text(f.b.log(), f.where() + ": channel 1: shutter open")) << f.b.log();
}

TEST(ScpiVoa, AShutterThatDoesNotFollowIsADeviceFault) {
  voa_fixture f;
  f.inst.shutter_stuck = true;
  EXPECT_EQ(f.b.run(f.dev->async_set_shutter(true)), errc::device_fault);
  EXPECT_TRUE(has_text(f.b.log(), f.where() + ": shutter_close: channel 1: the instrument "
                                              "reports the shutter still open"))
      << f.b.log();
}

TEST(ScpiVoa, SafeStateClosesTheShutter) {
  voa_fixture f;
  ASSERT_TRUE(f.inst.out[1]);
  EXPECT_FALSE(f.b.run(f.dev->async_safe_state())) << f.b.log();
  EXPECT_FALSE(f.inst.out[1]);
  EXPECT_TRUE(f.inst.out[2]) << "another channel is another device";
}

TEST(ScpiVoa, ChannelOptionSelectsTheInputAndOutput) {
  voa_fixture f("{channel: 2, timeout: 200 ms}");
  EXPECT_EQ(f.dev->channel(), 2);
  ASSERT_TRUE(f.b.run(f.dev->async_set_attenuation(7.5)));
  EXPECT_FALSE(f.b.run(f.dev->async_safe_state()));
  EXPECT_DOUBLE_EQ(f.inst.att[2], 7.5);
  EXPECT_DOUBLE_EQ(f.inst.att[1], 0);
  EXPECT_FALSE(f.inst.out[2]);
  EXPECT_TRUE(f.inst.out[1]);
  EXPECT_TRUE(has_text(fmt::format("{}", fmt::join(f.lines(), "|")), ":INP2:ATT 7.5|*OPC?"));
}

TEST(ScpiVoa, GarbageRepliesAreBadReplies) {
  voa_fixture f;
  ASSERT_TRUE(f.b.run(f.dev->async_set_attenuation(1)));
  f.srv.server->inject(hilt::emu::line_fault::garbage);
  auto r = f.b.run(f.dev->async_read_attenuation());
  EXPECT_EQ(r.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(f.b.log(), f.where() +
                                      ": read_attenuation: reply "
                                      "'\\x01\\xfe#9garbage\\x7f\\xff' to ':INP1:ATT?' is not a "
                                      "number"))
      << f.b.log();
  EXPECT_TRUE(f.b.run(f.dev->async_read_attenuation())) << "a new connection";
  // A garbled *OPC? or error-queue entry.
  f.srv.server->inject(hilt::emu::line_fault::garbage);
  EXPECT_EQ(f.b.run(f.dev->async_set_attenuation(2)).error(), errc::bad_reply);
  EXPECT_TRUE(has_text(f.b.log(), "to '*OPC?' is not 1 (operation complete)")) << f.b.log();
}

TEST(ScpiVoa, ReconnectsAfterADroppedConnection) {
  voa_fixture f;
  ASSERT_TRUE(f.b.run(f.dev->async_set_attenuation(1)));
  EXPECT_EQ(f.dev->transport().connects(), 1u);
  f.srv.server->inject(hilt::emu::line_fault::drop);
  auto r = f.b.run(f.dev->async_set_attenuation(2));
  ASSERT_TRUE(r) << f.b.log();
  EXPECT_DOUBLE_EQ(r.value(), 2);
  EXPECT_EQ(f.dev->transport().connects(), 2u);
  EXPECT_TRUE(has_text(f.b.log(),
                       "set_attenuation: connection lost; reconnecting and trying once "
                       "more"))
      << f.b.log();
  f.srv.server->inject(hilt::emu::line_fault::drop, -1);
  EXPECT_EQ(f.b.run(f.dev->async_read_attenuation()).error(), errc::disconnected);
  f.srv.server->inject(hilt::emu::line_fault::none);
}

TEST(ScpiVoa, AnInstrumentThatStopsAnsweringTimesOut) {
  voa_fixture f;
  ASSERT_TRUE(f.b.run(f.dev->async_set_attenuation(1)));
  f.srv.server->inject(hilt::emu::line_fault::stall, -1);
  auto r = f.b.run(f.dev->async_read_attenuation());
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_TRUE(has_text(f.b.log(), f.where() + ": read_attenuation: ':INP1:ATT?' on tcp:127.0.0.1:"))
      << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "no reply within 0.200s")) << f.b.log();
  f.srv.server->inject(hilt::emu::line_fault::none);
  EXPECT_TRUE(f.b.run(f.dev->async_read_attenuation()));
}

TEST(ScpiVoa, UnreachableAndMissingInstruments) {
  inst_bench b("");
  auto drv = hilt::scpi_voa::make_driver();
  const auto port = hilt::test::closed_port();
  auto dev = b.make_as<voa>(*drv, "voa9", fmt::format("scpi-voa:tcp:127.0.0.1:{}", port));
  EXPECT_EQ(b.run(dev->async_safe_state()), errc::unreachable);
  EXPECT_TRUE(has_text(b.log(), fmt::format("voa9 (scpi-voa:tcp:127.0.0.1:{}): shutter_close: "
                                            "cannot connect to 127.0.0.1:{}: Connection refused",
                                            port, port)))
      << b.log();
  auto d = b.make(*drv, "voa1", "scpi-voa:emu-tcp:voa1");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), errc::device_not_found);
}

// Options and addresses: every mistake is a config_error naming the place and what was expected.
std::string make_error(const std::string& address, const std::string& options) {
  inst_bench b("");
  auto drv = hilt::scpi_voa::make_driver();
  try {
    (void)b.make(*drv, "voa1", address, options);
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ScpiVoaConfig, MistakesAreLocated) {
  const std::string src = hilt::test::repo_path("fixtures/test-fixture.yaml");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1", "{model: keysight-n9999}"),
            src +
                ":1:9: device 'voa1': unknown attenuator model 'keysight-n9999'; known: "
                "keysight-n7762a");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1", "{channel: 3}"),
            src +
                ":1:11: device 'voa1': option 'channel' expects a channel number within 1..2 "
                "(model keysight-n7762a)");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1", "{channel: one}"),
            src +
                ":1:11: device 'voa1': option 'channel' expects a channel number within 1..2 "
                "(model keysight-n7762a)");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1", "{range: 60 dB}"),
            src +
                ":1:2: device 'voa1': unknown option 'range' for driver scpi-voa; expected one "
                "of: model, model_file, channel, timeout");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1?model=keysight-n7762a", "{model: other}"),
            src +
                ":1:9: device 'voa1': option 'model' says 'other' but the address says "
                "'keysight-n7762a'");
  EXPECT_EQ(make_error("scpi-voa:usbtmc:*", ""),
            src +
                ": device 'voa1': address 'scpi-voa:usbtmc:*': driver scpi-voa speaks transports "
                "tcp and emu-tcp, not 'usbtmc'");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1?chan=2", ""),
            src +
                ": device 'voa1': address 'scpi-voa:tcp:10.0.0.1?chan=2': unknown option 'chan'; "
                "expected: model");
  EXPECT_EQ(make_error("scpi-voa:tcp:10.0.0.1:5025?model=keysight-n7762a", "{channel: 2}"),
            "no error");
}

const char* const custom_model =
    "model: lab-voa\n"
    "channels: 1\n"
    "attenuation: { min: 1.5 dB, max: 60 dB }\n"
    "wavelength: { min: 1500 nm, max: 1600 nm, reply_unit: nm }\n"
    "commands:\n"
    "  set_attenuation: \"ATT {value}\"\n"
    "  query_attenuation: \"ATT?\"\n"
    "  set_wavelength: \"WAV {value}\"\n"
    "  query_wavelength: \"WAV?\"\n"
    "  output_on: \"OUTP ON\"\n"
    "  output_off: \"OUTP OFF\"\n"
    "  query_output: \"OUTP?\"\n";

TEST(ScpiVoaConfig, ModelFileSetsTheRange) {
  hilt::test::tmp_dir t;
  t.write("lab/my-voa.yaml", custom_model);
  inst_bench b("", hilt::clock_mode::virtual_time, t.dir.string());
  auto drv = hilt::scpi_voa::make_driver();
  auto dev = b.make_as<voa>(*drv, "voa1", "scpi-voa:tcp:10.0.0.1", "{model_file: lab/my-voa.yaml}");
  ASSERT_TRUE(dev);
  EXPECT_DOUBLE_EQ(dev->range().min_db, 1.5);
  EXPECT_DOUBLE_EQ(dev->range().max_db, 60);
  EXPECT_DOUBLE_EQ(dev->model().wavelength_reply_scale, 1);
  EXPECT_EQ(dev->model().commands.wait, "*OPC?") << "defaults";
}

TEST(ScpiVoaModel, MistakesInAModelFileAreLocated) {
  hilt::test::tmp_dir t;
  auto error_of = [&](const std::string& text) -> std::string {
    const auto p = t.write("m.yaml", text);
    try {
      (void)hilt::scpi_voa::load_model(p);
    } catch (const hilt::config_error& e) {
      return std::string(e.what()).substr(p.size());
    }
    return "no error";
  };
  std::string m = custom_model;
  EXPECT_EQ(error_of(m), "no error");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = m;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_EQ(error_of(with("max: 60 dB", "max: 60 V")),
            ":3:34: 'max' expects a ratio (dB) within 0..200 dB (units: dB)");
  EXPECT_EQ(error_of(with("max: 60 dB", "max: 1 dB")),
            ":3:14: attenuation 'max' must be above 'min'");
  EXPECT_EQ(error_of(with("max: 1600 nm", "max: 1600 V")),
            ":4:34: 'max' expects a length within 200..2000 nm (units: m, mm, um, nm, km)");
  EXPECT_EQ(error_of(with("reply_unit: nm", "reply_unit: pm")),
            ":4:55: 'reply_unit' expects m or nm, got 'pm'");
  EXPECT_EQ(error_of(with("channels: 1", "channels: 0")),
            ":2:11: 'channels' expects a number of channels within 1..16");
  EXPECT_EQ(error_of(with("ATT {value}", "ATT")), ":6:3: 'ATT' has no {value} placeholder");
  EXPECT_EQ(error_of(with("  query_output: \"OUTP?\"\n", "")),
            ":6:3: missing required key 'query_output' in commands");
  EXPECT_EQ(error_of(m + "shutter: yes\n"),
            ":13:1: unknown key 'shutter' in an attenuator model; expected one of: model, "
            "description, match, identity, channels, attenuation, wavelength, commands");
  // The shipped model loads.
  auto n = hilt::scpi_voa::load_named_model("keysight-n7762a");
  EXPECT_EQ(n.channels, 2);
  EXPECT_DOUBLE_EQ(n.min_nm, 1260);
  EXPECT_DOUBLE_EQ(n.max_nm, 1640);
  EXPECT_DOUBLE_EQ(n.default_nm, 1310);
  EXPECT_EQ(n.identity.model, "N7762A");
  EXPECT_TRUE(n.matches("Keysight Technologies,N7762A"));
  EXPECT_TRUE(n.matches("Agilent Technologies,81576A"));
  EXPECT_FALSE(n.matches("Acme,VOA"));
}

}  // namespace
