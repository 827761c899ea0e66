// The measurement steps (ber, power, thermal_soak) against fakes, and the BER statistics tied to
// the table in cmis-notes §8.1.
#include <gtest/gtest.h>

#include <cmath>

#include "ber/ber.hpp"
#include "ber/ber_stats.hpp"
#include "power/power.hpp"
#include "seq_test_util.hpp"
#include "thermal_soak/thermal_soak.hpp"

namespace hilt::seq::test {
namespace {

namespace bs = ber_stats;

// ---- statistics -------------------------------------------------------------------------------

TEST(BerStats, GammaFunctionsAgreeWithClosedForms) {
  // P(1, x) = 1 - e^-x; Q(2, x) = (1 + x) e^-x.
  for (double x : {0.1, 1.0, 2.5, 10.0}) {
    EXPECT_NEAR(bs::gamma_p(1, x), 1 - std::exp(-x), 1e-12);
    EXPECT_NEAR(bs::gamma_q(2, x), (1 + x) * std::exp(-x), 1e-12);
    EXPECT_NEAR(bs::gamma_p(3.5, x) + bs::gamma_q(3.5, x), 1, 1e-12);
  }
  EXPECT_NEAR(bs::poisson_cdf(2, 3.0), std::exp(-3.0) * (1 + 3 + 4.5), 1e-12);
}

TEST(BerStats, RequiredBitsMatchTheTableOfCmisNotes) {
  // cmis-notes §8.1: 0 errors -> 2.996 / BER at 95 %, 4.605 / BER at 99 %; 1 error -> 4.744 / BER.
  EXPECT_NEAR(bs::required_bits(1e-12, 0.95, 0) * 1e-12, 2.996, 0.001);
  EXPECT_NEAR(bs::required_bits(1e-12, 0.99, 0) * 1e-12, 4.605, 0.001);
  EXPECT_NEAR(bs::required_bits(1e-12, 0.95, 1) * 1e-12, 4.744, 0.001);
  EXPECT_NEAR(bs::required_bits(1e-12, 0.95, 2) * 1e-12, 6.296, 0.001);
  // The confidence reached with exactly those bits is CL.
  EXPECT_NEAR(bs::confidence(1e-12, 2'996'000'000'000ULL, 0), 0.95, 1e-4);
  EXPECT_NEAR(bs::confidence(1e-12, 4'744'000'000'000ULL, 1), 0.95, 1e-4);
}

TEST(BerStats, BoundsAndDecisions) {
  // Many errors: the bounds bracket the estimate.
  const std::uint64_t bits = 1'000'000'000, errors = 1000;
  const double up = bs::upper_bound(bits, errors, 0.95), lo = bs::lower_bound(bits, errors, 0.95);
  EXPECT_GT(up, 1e-6);
  EXPECT_LT(lo, 1e-6);
  EXPECT_NEAR(up, 1.054e-6, 0.01e-6);  // ~ (E + 1.645 sqrt(E)) / N
  EXPECT_EQ(bs::lower_bound(bits, 0, 0.95), 0.0);
  EXPECT_EQ(bs::decide(1e-12, 0.95, 2'990'000'000'000ULL, 0), bs::decision::undecided);
  EXPECT_EQ(bs::decide(1e-12, 0.95, 3'000'000'000'000ULL, 0), bs::decision::proven);
  EXPECT_EQ(bs::decide(1e-9, 0.95, bits, errors), bs::decision::violated);
  EXPECT_EQ(bs::decide(1e-6, 0.95, bits, errors), bs::decision::undecided);
  // Large counts stay finite and consistent.
  EXPECT_NEAR(bs::upper_bound(1'000'000'000'000ULL, 10'000'000, 0.95), 1.0005e-5, 0.0002e-5);
}

// ---- a module with PRBS -----------------------------------------------------------------------

class prbs_module final : public managed_module {
 public:
  explicit prbs_module(device_context ctx)
      : managed_module("dut1", "fake:prbs@0x50", std::move(ctx)) {}
  std::string_view driver_name() const noexcept override { return "fake"; }
  int lane_count() const noexcept override { return 4; }

  double rate = 1e11;         // bits per second per lane
  std::map<int, double> ber;  // per lane, default 0
  clock::duration lock_after = std::chrono::milliseconds(300);
  std::optional<clock::duration> lose_lock_after;  // lane 2 loses lock this long after enable
  bool never_lock = false;
  std::error_code configure_error;
  std::vector<std::string> calls;
  std::vector<monitor_reading> monitors;
  std::function<std::vector<monitor_reading>()> monitors_fn;
  identity id{
      "ACME", "QDD-400G-DR4",
      "SN1",  "1.0",
      "A",    {{"max_power_w", "10.00"}, {"power_class", "5"}, {"applications", "11/1c 8x4"}}};
  module_state state = module_state::ready;

 protected:
  task<result<identity>> do_identify() override { co_return id; }
  task<result<module_state>> do_module_state() override { co_return state; }
  task<result<module_state>> do_set_low_power(bool low) override {
    state = low ? module_state::low_power : module_state::ready;
    calls.push_back(low ? "low_power" : "high_power");
    co_return state;
  }
  task<std::error_code> do_power_up() override {
    state = module_state::ready;
    co_return std::error_code{};
  }
  task<result<std::vector<monitor_reading>>> do_read_monitors() override {
    if (monitors_fn) co_return monitors_fn();
    co_return monitors;
  }
  task<std::error_code> do_prbs_configure(hilt::side s, lane_mask lanes, prbs_pattern p, bool gen,
                                          bool chk) override {
    calls.push_back(
        fmt::format("prbs {} 0x{:x} {} {} {}", to_string(s), lanes, to_string(p), gen, chk));
    if (configure_error) co_return configure_error;
    enabled_ = chk ? lanes : 0;
    since_ = context().clock->now();
    co_return std::error_code{};
  }
  task<result<std::vector<prbs_lane_status>>> do_prbs_read(hilt::side s) override {
    std::vector<prbs_lane_status> out;
    const auto now = context().clock->now();
    for (int l = 1; l <= 8; ++l) {
      if (!(enabled_ >> (l - 1) & 1)) continue;
      prbs_lane_status st;
      st.lane = l;
      st.side = s;
      const auto up = now - since_;
      st.locked = !never_lock && up >= lock_after;
      if (l == 2 && lose_lock_after && up >= *lose_lock_after) {
        st.locked = false;
        st.lost_lock = true;
      }
      if (st.locked) {
        const double secs = std::chrono::duration<double>(up - lock_after).count();
        st.bits = static_cast<std::uint64_t>(secs * rate);
        st.errors = static_cast<std::uint64_t>(static_cast<double>(st.bits) * ber[l]);
      }
      out.push_back(st);
    }
    co_return out;
  }

 private:
  lane_mask enabled_ = 0;
  clock::time_point since_{};
};

struct sample_row {
  std::string metric;
  int lane;
  double t, value;
};
struct ber_row {
  int lane;
  std::uint64_t bits, errors;
  double gate;
  std::string pattern;
};

// A context that keeps samples and BER counts too.
class meas_context final : public step_context {
 public:
  meas_context(hilt::clock& c, managed_module* m, int slot = 1)
      : clock_(c), module_(m), slot_(slot) {
    logger_ = std::make_shared<spdlog::logger>(
        "t", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
  }
  hilt::clock& clock() override { return clock_; }
  spdlog::logger& log() override { return *logger_; }
  managed_module* module() override { return module_; }
  int slot() const override { return slot_; }
  const std::string& dut_name() const override { return name_; }
  device* find_device(std::string_view n) override {
    auto it = devices.find(std::string(n));
    return it == devices.end() ? nullptr : it->second;
  }
  verdict record(const measurement& m) override {
    const verdict v = m.limit ? judge(*m.limit, m.value) : verdict::info;
    measurements.push_back({m, v});
    return v;
  }
  void sample(std::string_view metric, std::string_view, int lane, double value) override {
    samples.push_back({std::string(metric), lane, clock_.now_seconds(), value});
  }
  void event(severity s, std::string_view kind, std::string_view message,
             std::error_code) override {
    events.push_back({s, std::string(kind), std::string(message)});
  }
  void set_identity(const identity& i) override { id = i; }
  const identity* dut_identity() const override { return id ? &*id : nullptr; }
  void ber_counts(int lane, side, std::uint64_t bits, std::uint64_t errors, double gate,
                  std::string_view pattern) override {
    bers.push_back({lane, bits, errors, gate, std::string(pattern)});
  }
  task<std::shared_ptr<void>> async_lock(std::string_view n) override {
    locks.emplace_back(n);
    co_return nullptr;
  }

  const recorded* find(const std::string& name, int lane = -1) const {
    for (const auto& r : measurements)
      if (r.m.name == name && r.m.lane == lane) return &r;
    return nullptr;
  }
  bool has_event(const std::string& kind) const {
    for (const auto& e : events)
      if (e.kind == kind) return true;
    return false;
  }

  std::vector<recorded> measurements;
  std::vector<logged_event> events;
  std::vector<sample_row> samples;
  std::vector<ber_row> bers;
  std::vector<std::string> locks;
  std::map<std::string, device*> devices;
  std::optional<identity> id;
  std::ostringstream log_text;

 private:
  hilt::clock& clock_;
  managed_module* module_;
  int slot_;
  std::string name_ = "dut1";
  std::shared_ptr<spdlog::logger> logger_;
};

struct rig {
  asio::io_context io;
  hilt::clock clk{io, clock_mode::virtual_time};
  std::shared_ptr<spdlog::logger> lg = std::make_shared<spdlog::logger>(
      "dev", std::make_shared<spdlog::sinks::ostream_sink_mt>(sink));
  std::ostringstream sink;
  device_context dctx() { return device_context{io.get_executor(), &clk, lg}; }
};

std::shared_ptr<const step> load_step(const std::string& yaml_steps) {
  static std::vector<hilt::sequence> keep;  // steps live as long as the test binary
  keep.push_back(load_text("sequence: t\nmain:\n" + yaml_steps));
  return keep.back().main.front().impl;
}

// ---- ber --------------------------------------------------------------------------------------

TEST(BerStep, ProvesOneE12InTheTimeThePoissonMathSays) {
  rig r;
  prbs_module m(r.dctx());
  meas_context ctx(r.clk, &m);
  auto s = load_step("  - { step: ber, target: 1e-12, max_time: 10 min }\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  ASSERT_EQ(ctx.bers.size(), 4u);  // media lanes of "8x4"
  for (const auto& b : ctx.bers) {
    EXPECT_EQ(b.errors, 0u);
    EXPECT_EQ(b.pattern, "PRBS-31Q");
    // Stopped as soon as 2.996e12 bits were in: at 100 Gb/s, ~30 s, not the 10 min allowed.
    EXPECT_GE(static_cast<double>(b.bits), 2.9957e12);
    EXPECT_LT(static_cast<double>(b.bits), 2 * 2.9957e12);
  }
  ASSERT_NE(ctx.find("ber_upper", 1), nullptr);
  EXPECT_LE(ctx.find("ber_upper", 1)->m.value, 1e-12);
  EXPECT_EQ(ctx.find("ber_upper", 1)->v, verdict::pass);
  EXPECT_EQ(m.calls.front(), "prbs media 0xf PRBS-31Q true true");
  EXPECT_EQ(m.calls.back(), "prbs media 0xf PRBS-31Q false false");
}

TEST(BerStep, ClearViolationStopsEarlyAndFailsTheLane) {
  rig r;
  prbs_module m(r.dctx());
  m.ber[3] = 1e-9;
  meas_context ctx(r.clk, &m);
  auto s =
      load_step("  - { step: ber, target: 1e-12, lanes: [1, 3], side: host, max_time: 1 h }\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_NE(out.message.find("violated on 1"), std::string::npos) << out.message;
  EXPECT_EQ(ctx.find("ber_upper", 1)->v, verdict::pass);
  EXPECT_EQ(ctx.find("ber_upper", 3)->v, verdict::fail);
  EXPECT_LT(r.clk.now_seconds(), 120);  // not the whole hour
  EXPECT_NEAR(ctx.find("ber", 3)->m.value, 1e-9, 1e-11);
}

TEST(BerStep, NotProvenWithinMaxTimeFails) {
  rig r;
  prbs_module m(r.dctx());
  meas_context ctx(r.clk, &m);
  auto s = load_step("  - { step: ber, target: 1e-15, lanes: 1, max_time: 1 min }\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_NE(out.message.find("not proven within max_time on 1"), std::string::npos) << out.message;
}

TEST(BerStep, NoLockAndLossOfLockAreEventsAndFailures) {
  {
    rig r;
    prbs_module m(r.dctx());
    m.never_lock = true;
    meas_context ctx(r.clk, &m);
    auto s = load_step("  - { step: ber, target: 1e-12, lock_timeout: 2 s }\n");
    const auto out = run_step(*s, ctx, r.clk);
    EXPECT_EQ(out.verdict, verdict::fail);
    EXPECT_NE(out.message.find("no lock on lane(s) 1, 2, 3, 4 within 2.000s"), std::string::npos)
        << out.message;
    EXPECT_TRUE(ctx.has_event("prbs_no_lock"));
  }
  {
    rig r;
    prbs_module m(r.dctx());
    m.lose_lock_after = std::chrono::seconds(5);
    meas_context ctx(r.clk, &m);
    auto s = load_step("  - { step: ber, target: 1e-12 }\n");
    const auto out = run_step(*s, ctx, r.clk);
    EXPECT_EQ(out.verdict, verdict::fail);
    EXPECT_NE(out.message.find("lock lost on 1"), std::string::npos) << out.message;
    EXPECT_TRUE(ctx.has_event("prbs_lock_lost"));
    EXPECT_EQ(ctx.find("prbs_lock", 2)->v, verdict::fail);
    EXPECT_EQ(ctx.find("prbs_lock", 1)->v, verdict::pass);
  }
}

TEST(BerStep, DeviceErrorNamesDeviceAndOperation) {
  rig r;
  prbs_module m(r.dctx());
  m.configure_error = make_error_code(errc::not_supported);
  meas_context ctx(r.clk, &m);
  auto s = load_step("  - { step: ber, target: 1e-12, pattern: SSPRQ }\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_NE(out.message.find("dut1 (fake:prbs@0x50): enable media SSPRQ PRBS on lane(s) 1, 2, 3, 4 "
                             "failed"),
            std::string::npos)
      << out.message;
}

TEST(BerStep, BadOptionsAreLocated) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - step: ber\n"),
            "t.yaml:3:5: step 'ber' needs 'target:' (the BER to demonstrate, like 1e-12)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: ber, target: 1e-12, pattern: PRBS-32 }\n"),
            "t.yaml:3:42: pattern: unknown PRBS pattern 'PRBS-32'; known: PRBS-31Q, PRBS-31, "
            "PRBS-23Q, PRBS-23, PRBS-15Q, PRBS-15, PRBS-13Q, PRBS-13, PRBS-9Q, PRBS-9, PRBS-7Q, "
            "PRBS-7, SSPRQ");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: ber, target: 2 }\n"),
            "t.yaml:3:26: target: a BER must be above 0 and below 0.5, got 2");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: ber, target: 1e-12, confidence: 100 % }\n"),
            "t.yaml:3:45: confidence: expected a level above 0 and below 100 % (like 95 % or "
            "0.95), got 1");
  EXPECT_NE(error_of("sequence: t\nmain:\n  - { step: ber, target: 1e-12, max_time: 5 V }\n")
                .find("t.yaml:3:43: max_time:"),
            std::string::npos);
}

// ---- power ------------------------------------------------------------------------------------

TEST(PowerStep, SupplyPowerPerStateJudgedAgainstTheAdvertisedMaximum) {
  rig r;
  prbs_module m(r.dctx());
  fake_supply psu(r.dctx());
  psu.volts[2] = 3.3;
  psu.measured_current = 2.5;  // 8.25 W: within 10 W, not within the 1.5 W of low power
  meas_context ctx(r.clk, &m);
  ctx.devices["psu1"] = &psu;
  auto s = load_step(
      "  - { step: power, states: [low_power, high_power, prbs], supply: psu1, channel: 2, "
      "limit: { max: 8 W } }\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::fail) << out.message;
  ASSERT_NE(ctx.find("power.high_power"), nullptr);
  EXPECT_NEAR(ctx.find("power.high_power")->m.value, 8.25, 1e-9);
  EXPECT_EQ(ctx.find("power.high_power")->m.unit, "W");
  EXPECT_EQ(ctx.find("power.high_power")->v, verdict::pass);
  EXPECT_EQ(*ctx.find("power.high_power")->m.limit->high, 10.0);
  EXPECT_EQ(ctx.find("power.low_power")->v, verdict::fail);
  EXPECT_EQ(ctx.find("power_limit.prbs")->v, verdict::fail);  // 8.25 W > 8 W
  EXPECT_NEAR(ctx.find("supply_voltage.prbs")->m.value, 3.3, 1e-9);
  EXPECT_EQ(ctx.locks, (std::vector<std::string>{"psu1", "psu1", "psu1"}));
  EXPECT_EQ(m.state, module_state::ready);  // left in high power, as found
  EXPECT_NE(std::find(m.calls.begin(), m.calls.end(), "prbs media 0xf PRBS-31Q true true"),
            m.calls.end());
}

TEST(PowerStep, WithoutAnInstrumentSaysTheModuleReportsNoPower) {
  rig r;
  prbs_module m(r.dctx());
  meas_context ctx(r.clk, &m);
  auto s = load_step("  - step: power\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::error);
  EXPECT_EQ(out.message,
            "dut1 (fake:prbs@0x50): the module reports no power monitor (CMIS defines none); "
            "name the supply feeding it ('supply:') or its PMBus rail ('rail:')");
}

TEST(PowerStep, PerSlotSupplyAndBadOptions) {
  rig r;
  prbs_module m(r.dctx());
  fake_supply psu(r.dctx());
  psu.volts[3] = 3.3;
  meas_context ctx(r.clk, &m, 2);
  ctx.devices["psu1"] = &psu;
  auto s = load_step("  - { step: power, supply: { 1: psu1/1, 2: psu1/3 } }\n");
  const auto out = run_step(*s, ctx, r.clk);
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;
  EXPECT_NEAR(ctx.find("power.high_power")->m.value, 3.3 * 0.8, 1e-9);

  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: power, states: [idle] }\n"),
            "t.yaml:3:29: states: unknown state 'idle'; known states: low_power, high_power, prbs");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: power, supply: { 1: psu1 } }\n"),
            "t.yaml:3:33: supply: expected SUPPLY/CHANNEL like 'psu1/2' for slot 1, got 'psu1'");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: power, channel: 2 }\n"),
            "t.yaml:3:20: channel: applies to 'supply:' (the channel feeding the DUT)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: power, states: [prbs, prbs] }\n"),
            "t.yaml:3:35: states: 'prbs' is listed twice");
}

// ---- thermal_soak -----------------------------------------------------------------------------

TEST(ThermalSoak, EveryDutTakesExactlyTheConfiguredSamples) {
  rig r;
  fake_chamber ch(r.dctx());
  ch.ramp_c_per_min = 5;
  std::vector<std::unique_ptr<prbs_module>> mods;
  std::vector<std::unique_ptr<meas_context>> ctxs;
  auto s = load_step(
      "  - step: thermal_soak\n"
      "    chamber: chamber\n"
      "    profile: [{ ramp_to: 85 C, rate: 2 C/min }, { dwell: 100 h }, { ramp_to: -40 C }, "
      "{ dwell: 20 h }]\n"
      "    cycles: 2\n"
      "    interval: 10 min\n"
      "    stabilize: { within: 1 C, for: 5 min }\n"
      "    limits: { temperature: { max: 80 C } }\n"
      "    max_flaps: 1\n"
      "    max_drift: { tx_power: 0.01 dB }\n");
  const auto* soak = dynamic_cast<const thermal_soak_step*>(s.get());
  ASSERT_NE(soak, nullptr);
  EXPECT_EQ(soak->samples_per_reading(), 2 * (600 + 120));
  for (int i = 0; i < 3; ++i) {
    mods.push_back(std::make_unique<prbs_module>(r.dctx()));
    mods.back()->monitors_fn = [&ch] {
      return std::vector<monitor_reading>{{"temperature", -1, side::none, ch.temperature + 2, "C"},
                                          {"tx_power", 1, side::media, 1.0, "dBm"}};
    };
    ctxs.push_back(std::make_unique<meas_context>(r.clk, mods.back().get(), i + 1));
    ctxs.back()->devices["chamber"] = &ch;
  }
  std::vector<step_outcome> outs(3);
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(r.io, s->run(*ctxs[static_cast<std::size_t>(i)]),
                   [&, i](std::exception_ptr, step_outcome o) {
                     outs[static_cast<std::size_t>(i)] = o;
                     ++done;
                   });
  }
  r.clk.run();
  ASSERT_EQ(done, 3);
  for (int i = 0; i < 3; ++i) {
    const auto& c = *ctxs[static_cast<std::size_t>(i)];
    EXPECT_EQ(c.samples.size(), 2u * 2 * 720) << i;  // 2 readings x 1440 instants
    // 85 C dwells: temperature 87 C is outside 80 C, twice (once per cycle) -> 2 excursions.
    EXPECT_EQ(c.find("excursions.temperature")->m.value, 2);
    EXPECT_EQ(c.find("excursions.temperature")->v, verdict::fail);
    EXPECT_EQ(c.find("drift_per_h.tx_power", 1)->v, verdict::pass);
    EXPECT_EQ(c.find("soak_samples")->m.value, 1440);
    EXPECT_EQ(outs[static_cast<std::size_t>(i)].verdict, verdict::fail);
    EXPECT_TRUE(c.has_event("soak_limit_excursion"));
  }
  EXPECT_EQ(ctxs[0]->locks, (std::vector<std::string>{"chamber"}));  // only one drives it
  EXPECT_DOUBLE_EQ(ch.setpoint, -40);
}

TEST(ThermalSoak, AbortsOnDutTemperatureAndOnAnUnstableChamber) {
  {
    rig r;
    fake_chamber ch(r.dctx());
    ch.ramp_c_per_min = 5;
    prbs_module m(r.dctx());
    m.monitors_fn = [&ch] {
      return std::vector<monitor_reading>{
          {"temperature", -1, side::none, ch.temperature + 20, "C"}};
    };
    meas_context ctx(r.clk, &m);
    ctx.devices["chamber"] = &ch;
    auto s = load_step(
        "  - { step: thermal_soak, chamber: chamber, profile: [{ ramp_to: 85 C }, "
        "{ dwell: 10 h }], abort: { temperature: 100 C } }\n");
    const auto out = run_step(*s, ctx, r.clk);
    EXPECT_EQ(out.verdict, verdict::fail);
    EXPECT_EQ(out.message,
              "dut1 (fake:prbs@0x50): module temperature 105.0 C above the abort limit 100 C");
    EXPECT_TRUE(ctx.has_event("soak_abort"));
    EXPECT_EQ(ctx.samples.size(), 1u);
  }
  {
    rig r;
    fake_chamber ch(r.dctx());  // never moves
    prbs_module m(r.dctx());
    meas_context ctx(r.clk, &m);
    ctx.devices["chamber"] = &ch;
    auto s = load_step(
        "  - { step: thermal_soak, chamber: chamber, profile: [{ ramp_to: 85 C }, "
        "{ dwell: 10 h }], stabilize: { timeout: 1 h } }\n");
    const auto out = run_step(*s, ctx, r.clk);
    EXPECT_EQ(out.verdict, verdict::fail);
    EXPECT_NE(out.message.find("soak aborted: chamber (fake:chamber): not stable within ±1 C of "
                               "85 C for 5m 00.000s after 1h 00m 00.000s (at 25.0 C)"),
              std::string::npos)
        << out.message;
  }
}

TEST(ThermalSoak, BadOptionsAreLocated) {
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: thermal_soak, chamber: c, profile: [] }\n"),
            "t.yaml:3:48: profile: expected a non-empty list of { ramp_to: T, rate: R } and "
            "{ dwell: D }");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: thermal_soak, chamber: c, profile: "
                     "[{ ramp_to: 85 C, rate: 2 C }, { dwell: 1 h }] }\n"),
            "t.yaml:3:72: rate: expected a ramp rate like '2 C/min' or '60 C/h', got '2 C' (no "
            "'/min', '/h' or '/s')");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: thermal_soak, chamber: c, profile: "
                     "[{ ramp_to: 85 C, dwell: 1 h }] }\n"),
            "t.yaml:3:49: profile: each segment is either { ramp_to: T[, rate: R] } or "
            "{ dwell: D }");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: thermal_soak, chamber: c, profile: "
                     "[{ dwell: 5 min }] }\n"),
            "t.yaml:3:5: step 'thermal_soak' takes no samples: no dwell is as long as the "
            "interval (10m 00.000s)");
  EXPECT_EQ(error_of("sequence: t\nmain:\n  - { step: thermal_soak, chamber: c, profile: "
                     "[{ dwell: 1 h }], limits: { tx_pwr: { max: 3 dBm } } }\n"),
            "t.yaml:3:76: limits: unknown monitor 'tx_pwr'; known monitors: temperature, vcc, "
            "tx_bias, tx_power, rx_power, laser_temperature, tec_current, snr, pre_fec_ber");
}

}  // namespace
}  // namespace hilt::seq::test
