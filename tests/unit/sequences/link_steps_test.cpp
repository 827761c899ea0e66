// Steps that use the fixture's links (issue 7): the fec step against a fake switch ASIC (counts,
// wrap, a link that never comes up), set on attenuators and ASIC lanes, the ber step's ends; and
// their bad options with exact line:col and message.
#include <gtest/gtest.h>

#include "fec/fec.hpp"
#include "seq_test_util.hpp"

namespace hilt::seq::test {
namespace {

using namespace std::chrono_literals;

// A switch ASIC whose answers the test sets: one port of 8 lanes; FEC counters grow with harness
// time at a set rate; the link comes up at a set time.
class fake_asic final : public switch_asic {
 public:
  explicit fake_asic(device_context ctx) : switch_asic("asic0", "fake:asic0", std::move(ctx)) {
    set_port_groups({{1, 4, 8, 106.25e9}});
  }
  std::string_view driver_name() const noexcept override { return "fake"; }

  clock::time_point up_at{};  // link up from this harness time
  bool never_up = false;
  double codewords_per_s = 1e6;  // RS-544 codewords
  double correctable_per_s = 1e3;
  double uncorrectable_per_s = 0;
  int counter_bits = 64;
  fec_mode mode = fec_mode::rs544;
  std::vector<tx_fir> taps_set;
  std::vector<fec_mode> modes_set;

 protected:
  task<result<asic_link_status>> do_link_status(int) override {
    asic_link_status s;
    s.up = !never_up && context().clock->now() >= up_at;
    for (int l = 1; l <= 8; ++l)
      s.lanes.push_back({l, s.up || l > 2, s.up, false, false});
    co_return s;
  }
  task<result<fec_counters>> do_read_fec(int) override {
    const double t = context().clock->now_seconds();
    const std::uint64_t mask =
        counter_bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << counter_bits) - 1;
    auto n = [&](double rate) { return static_cast<std::uint64_t>(rate * t) & mask; };
    fec_counters c;
    c.mode = mode;
    c.max_correctable = 15;
    c.counter_bits = counter_bits;
    c.correctable = n(correctable_per_s);
    c.uncorrectable = n(uncorrectable_per_s);
    c.symbol_errors = n(correctable_per_s);
    c.corrected_bits = n(correctable_per_s);
    c.histogram.assign(17, 0);
    c.histogram[0] = n(codewords_per_s - correctable_per_s - uncorrectable_per_s);
    c.histogram[1] = n(correctable_per_s);
    c.histogram[16] = n(uncorrectable_per_s);
    co_return c;
  }
  task<result<fec_mode>> do_set_fec_mode(int, fec_mode m) override {
    modes_set.push_back(m);
    co_return mode;
  }
  task<result<tx_fir>> do_set_tx_fir(int, int, tx_fir t) override {
    taps_set.push_back(t);
    co_return t;
  }
};

class fake_voa final : public optical_attenuator {
 public:
  explicit fake_voa(device_context ctx) : optical_attenuator("voa1", "fake:voa1", std::move(ctx)) {
    set_range({0, 45});
  }
  std::string_view driver_name() const noexcept override { return "fake"; }
  double att = 0;
  bool closed = false;

 protected:
  task<result<double>> do_set_attenuation(double db) override {
    att = db;
    co_return db + 0.01;  // what the instrument reports back
  }
  task<std::error_code> do_set_shutter(bool c) override {
    closed = c;
    co_return std::error_code{};
  }
};

class LinkSteps : public ::testing::Test {
 protected:
  asio::io_context io;
  hilt::clock clk{io, clock_mode::virtual_time};
  fake_module dut{device_context{io.get_executor(), &clk, nullptr}};
  fake_asic asic{device_context{io.get_executor(), &clk, nullptr}};
  fake_voa voa{device_context{io.get_executor(), &clk, nullptr}};
  fake_context ctx{clk, &dut};
  void SetUp() override {
    ctx.devices = {{"asic0", &asic}, {"voa1", &voa}};
    electrical_link l;
    l.asic = "asic0";
    l.port = 2;
    l.module = "dut1";
    l.asic_lanes = l.host_lanes = {1, 2, 3, 4, 5, 6, 7, 8};
    l.where = "f.yaml:9:5";
    ctx.link_map_value.electrical.push_back(l);
  }
  step_outcome run(const step& s) { return run_step(s, ctx, clk); }
  std::shared_ptr<const step> one(const std::string& yaml) {
    auto seq = load_text("sequence: t\nmain:\n" + yaml);
    return seq.main.at(0).impl;
  }
  const recorded* find(std::string_view name) const {
    for (const auto& r : ctx.measurements) {
      if (r.m.name == name) return &r;
    }
    return nullptr;
  }
  bool has_event(std::string_view kind) const {
    for (const auto& e : ctx.events) {
      if (e.kind == kind) return true;
    }
    return false;
  }
};

TEST_F(LinkSteps, FecCountsOverTheWindowAndJudgesPreAndPostFec) {
  asic.up_at = clock::time_point(3s);
  auto s = one("  - step: fec\n    window: 10 s\n    mode: rs544\n");
  const auto out = run(*s);
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  ASSERT_EQ(asic.modes_set.size(), 1u);
  EXPECT_EQ(asic.modes_set[0], fec_mode::rs544);
  ASSERT_NE(find("fec_codewords"), nullptr);
  // 10 s of 1e6 codewords/s (counted from the first read after link up, at ~3 s).
  EXPECT_NEAR(find("fec_codewords")->m.value, 1e7, 2e5);
  EXPECT_NEAR(find("fec_correctable")->m.value, 1e4, 200);
  EXPECT_EQ(find("fec_uncorrectable")->m.value, 0);
  EXPECT_EQ(find("fec_uncorrectable")->v, verdict::pass);
  // pre-FEC BER = corrected bits / (codewords x 5440).
  EXPECT_NEAR(find("pre_fec_ber")->m.value, 1e4 / (1e7 * 5440), 1e-9);
  EXPECT_EQ(find("pre_fec_ber")->v, verdict::pass);
  EXPECT_NE(find("fec_codeword_errors_s16"), nullptr);
  EXPECT_EQ(find("link_up")->m.value, 1);
}

TEST_F(LinkSteps, FecUncorrectableCodewordsFail) {
  asic.uncorrectable_per_s = 2;
  const auto out = run(*one("  - step: fec\n    window: 10 s\n"));
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_EQ(find("fec_uncorrectable")->m.value, 20);
  EXPECT_EQ(find("fec_uncorrectable")->v, verdict::fail);
  EXPECT_NE(out.message.find("20 uncorrectable (max 0)"), std::string::npos) << out.message;
}

TEST_F(LinkSteps, FecCounterThatWrapsIsAnEventAndAFailNotAWrongCount) {
  asic.counter_bits = 24;               // 2^24 codewords: S0 wraps at ~16.8 s at 1e6/s ...
  asic.up_at = clock::time_point(15s);  // ... inside the window that starts at 15 s
  const auto out = run(*one("  - step: fec\n    window: 20 s\n    link_timeout: 30 s\n"));
  EXPECT_EQ(out.verdict, verdict::fail);
  ASSERT_TRUE(has_event("counter_wrapped"));
  for (const auto& e : ctx.events) {
    if (e.kind == "counter_wrapped") {
      EXPECT_NE(e.message.find("asic0/2 S0"), std::string::npos) << e.message;
      EXPECT_NE(e.message.find("use a shorter window"), std::string::npos) << e.message;
    }
  }
}

TEST_F(LinkSteps, FecLinkThatNeverComesUpFailsWithinTheTimeoutAndNamesTheLanes) {
  asic.never_up = true;
  const auto out = run(*one("  - step: fec\n    link_timeout: 5 s\n"));
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_LE(clk.now_seconds(), 5.2);
  EXPECT_TRUE(has_event("link_down"));
  EXPECT_NE(out.message.find("asic0/2 down (lane 1 no signal, lane 2 no signal, lane 3 no CDR "
                             "lock"),
            std::string::npos)
      << out.message;
  EXPECT_EQ(find("link_up")->v, verdict::fail);
}

TEST_F(LinkSteps, FecWithoutALinkIsAnErrorNamingTheModule) {
  ctx.link_map_value = {};
  const auto out = run(*one("  - step: fec\n"));
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_NE(out.message.find("is linked to no switch ASIC (fixture 'links:')"), std::string::npos)
      << out.message;
}

TEST_F(LinkSteps, SetAttenuationShutterAndAsicLanes) {
  auto out =
      run(*one("  - step: set\n    device: voa1\n    attenuation: 12 dB\n"
               "    shutter: open\n"));
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  EXPECT_DOUBLE_EQ(voa.att, 12);
  EXPECT_FALSE(voa.closed);
  EXPECT_NE(out.message.find("attenuation: requested 12 dB, actual 12.01 dB"), std::string::npos)
      << out.message;
  out = run(*one("  - step: set\n    tx_fir: {pre1: -0.05, main: 0.8, post1: -0.15}\n"));
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  ASSERT_EQ(asic.taps_set.size(), 8u);  // every linked lane
  EXPECT_DOUBLE_EQ(asic.taps_set[0].post1, -0.15);
  out = run(*one("  - step: set\n    fec_mode: rs528\n"));
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  EXPECT_EQ(asic.modes_set.back(), fec_mode::rs528);
  EXPECT_NE(out.message.find("port 2 fec_mode: requested rs528, actual rs544"), std::string::npos)
      << out.message;
}

TEST_F(LinkSteps, AttenuationOutsideTheInstrumentRangeIsCaughtOnTheOpenedBench) {
  auto s = one("  - step: set\n    device: voa1\n    attenuation: 50 dB\n");
  const auto* user = dynamic_cast<const needs_devices*>(s.get());
  ASSERT_NE(user, nullptr);
  const auto needs = user->required_devices();
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_EQ(needs[0].where, "t.yaml:4:13");  // the device: it is its range
  EXPECT_EQ(needs[0].check(voa),
            "attenuation: 50 dB is outside the range of attenuator 'voa1' (0 dB to 45 dB)");
  EXPECT_EQ(needs[0].check(asic),
            "device: 'voa1' is a switch_asic; attenuation is a setting of an optical attenuator");
}

TEST_F(LinkSteps, BadOptionsAreLocated) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: voa1\n"
                     "    attenuation: -3 dB\n"),
            "t.yaml:5:18: attenuation: expected 0 dB or more, got -3 dB");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: voa1\n"
                     "    wavelength: 5 m\n"),
            "t.yaml:5:17: wavelength: expected an optical wavelength from 200 nm to 2000 nm, got "
            "5 m");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: voa1\n    shutter: ajar\n"),
            "t.yaml:5:14: shutter: expected one of open, closed, got 'ajar'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    tx_fir: {pre1: 0.1, main: 0.8, "
                     "post1: -0.15}\n"),
            "t.yaml:4:13: tx_fir: pre1 0.1, main 0.8, post1 -0.15 are not a valid FIR: expected "
            "pre1 <= 0, main > 0, post1 <= 0 and |pre1| + main + |post1| <= 1");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    tx_fir: {pre1: -0.1, main: 0.8}\n"),
            "t.yaml:4:13: tx_fir: needs 'post1' (pre1, main and post1: IEEE 802.3 normalised "
            "coefficients, like pre1: -0.05, main: 0.8, post1: -0.15)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    device: asic0\n"
                     "    fec_mode: rs544\n"),
            "t.yaml:5:5: fec_mode: is a setting of the switch-ASIC lanes linked to the DUT; it "
            "does not go with 'device:' (write it in a 'set' step of its own)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: set\n    fec_mode: rs999\n"),
            "t.yaml:4:15: fec_mode: expected one of none, rs528, rs544, got 'rs999'");
  EXPECT_EQ(
      error_of("sequence: t\nmain:\n  - step: ber\n    target: 1e-12\n"
               "    generator: bert\n"),
      "t.yaml:5:16: generator: expected one of module, asic, far_module, far_asic, got 'bert'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: ber\n    target: 1e-12\n"
                     "    generator: asic\n    checker: asic\n    side: host\n"),
            "t.yaml:7:5: side: chooses the side of the DUT module's generator or checker; this "
            "test uses neither (generator and checker are 'asic', 'far_module' or 'far_asic')");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: ber\n    target: 1e-12\n"
                     "    generator: far_module\n    side: host\n"),
            "t.yaml:6:11: side: host with a far end: the far module and its ASIC are reached "
            "through the fiber, so the DUT's end must be on its media side");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: fec\n    mode: none\n"),
            "t.yaml:4:11: mode: none switches FEC off, and then there are no FEC statistics to "
            "read");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: fec\n    max_pre_fec_ber: 0.7\n"),
            "t.yaml:4:22: max_pre_fec_ber: a BER must be above 0 and below 0.5, got 0.7");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: fec\n    window: 0 s\n").substr(0, 17),
            "t.yaml:4:13: wind");
}

TEST_F(LinkSteps, StepsThatNeedLinksSayWhichDutLacksThem) {
  temp_dir dir;
  const auto fx_path = dir.write("f.yaml", R"(fixture: bench
devices:
  - { name: m1, address: "cmis:emu-i2c:port1@0x50" }
  - { name: m2, address: "cmis:emu-i2c:port2@0x50" }
duts:
  - { slot: 1, module: m1 }
)");
  const auto fx = load_fixture(fx_path);
  const auto seq = load_text(
      "sequence: t\nmain:\n  - step: ber\n    target: 1e-12\n    checker: asic\n"
      "    generator: asic\n  - step: fec\n");
  const auto errors = check_sequence_against_fixture(seq, fx);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].where(), "t.yaml:6:16");
  EXPECT_NE(std::string(errors[0].message())
                .find("ber (asic end) needs DUT slot1 (module 'm1') linked to a switch ASIC, and "
                      "fixture 'bench'"),
            std::string::npos)
      << errors[0].message();
  EXPECT_NE(std::string(errors[1].message()).find("step 'fec' needs DUT slot1"), std::string::npos)
      << errors[1].message();
}

}  // namespace
}  // namespace hilt::seq::test
