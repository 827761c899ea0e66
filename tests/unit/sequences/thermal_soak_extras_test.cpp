// thermal_soak's stabilisation on DUT temperature, module flags as events, periodic BER checks and
// the refused post-FEC limit: every bad option located, and each behaviour against fakes and
// against emulated CMIS modules through the real CMIS driver, in virtual time.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <numbers>
#include <set>

#include "hilt/cmis/module.hpp"
#include "hilt/emu/emulation.hpp"
#include "seq_test_util.hpp"
#include "thermal_soak/thermal_soak.hpp"

namespace hilt::seq::test {
namespace {

using namespace std::chrono_literals;

// ---- fakes ------------------------------------------------------------------------------------

// A module with monitors, latched flags and a PRBS checker whose answers the test sets.
class soak_module final : public managed_module {
 public:
  explicit soak_module(device_context ctx, std::string name = "dut1",
                       std::string driver = "soak-fake")
      : managed_module(name, "fake:" + name + "@0x50", std::move(ctx)),
        driver_(std::move(driver)) {}
  std::string_view driver_name() const noexcept override { return driver_; }
  int lane_count() const noexcept override { return 4; }

  std::function<std::vector<monitor_reading>()> monitors_fn;
  std::function<std::vector<std::string>()> flags_fn;  // latched flags at a read
  int flag_reads = 0;

  // PRBS: lanes lock `lock_after` after enable, count `rate` bits/s with ber[lane] errors per bit.
  double rate = 1e11;
  std::map<int, double> ber;
  clock::duration lock_after = 300ms;
  bool never_lock = false;
  int lose_lock_on_check = 0;  // in this check (1-based), lane 2 loses lock 2 s into the gate
  std::vector<std::string> calls;
  int enables = 0;

  bool has_flags = true;  // false: a driver without a flags read (not_supported)

 protected:
  task<result<std::vector<std::string>>> do_read_flags() override {
    if (!has_flags) co_return failure(make_error_code(errc::not_supported));
    ++flag_reads;
    co_return flags_fn ? flags_fn() : std::vector<std::string>{};
  }
  task<result<std::vector<monitor_reading>>> do_read_monitors() override {
    if (monitors_fn) co_return monitors_fn();
    co_return std::vector<monitor_reading>{};
  }
  task<std::error_code> do_prbs_configure(hilt::side s, lane_mask lanes, prbs_pattern p, bool gen,
                                          bool chk) override {
    calls.push_back(
        fmt::format("prbs {} 0x{:x} {} {} {}", to_string(s), lanes, to_string(p), gen, chk));
    enabled_ = chk ? lanes : 0;
    if (chk) ++enables;
    since_ = context().clock->now();
    co_return std::error_code{};
  }
  task<result<std::vector<prbs_lane_status>>> do_prbs_read(hilt::side s) override {
    std::vector<prbs_lane_status> out;
    const auto up = context().clock->now() - since_;
    for (int l = 1; l <= 8; ++l) {
      if (!(enabled_ >> (l - 1) & 1)) continue;
      prbs_lane_status st;
      st.lane = l;
      st.side = s;
      st.locked = !never_lock && up >= lock_after;
      if (l == 2 && enables == lose_lock_on_check && up >= lock_after + 2s) {
        st.locked = false;
        st.lost_lock = true;
      }
      if (st.locked || st.lost_lock) {
        const double secs = std::chrono::duration<double>(up - lock_after).count();
        st.bits = static_cast<std::uint64_t>(secs * rate);
        st.errors = static_cast<std::uint64_t>(static_cast<double>(st.bits) * ber[l]);
      }
      out.push_back(st);
    }
    co_return out;
  }

 private:
  std::string driver_;
  lane_mask enabled_ = 0;
  clock::time_point since_{};
};

struct timed_event {
  double t;
  severity level;
  std::string kind, message;
};
struct ber_row {
  int lane;
  std::uint64_t bits, errors;
  double gate;
  std::string pattern;
};

// A context that keeps everything with its harness time.
class soak_context final : public step_context {
 public:
  soak_context(hilt::clock& c, managed_module* m, int slot = 1, std::string name = "dut1")
      : clock_(c), module_(m), slot_(slot), name_(std::move(name)) {
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
  void sample(std::string_view metric, std::string_view, int lane, double) override {
    if (metric == "temperature") sample_times.push_back(clock_.now_seconds());
    (void)lane;
    ++samples;
  }
  void event(severity s, std::string_view kind, std::string_view message,
             std::error_code) override {
    events.push_back({clock_.now_seconds(), s, std::string(kind), std::string(message)});
  }
  void set_identity(const identity& i) override { id = i; }
  const identity* dut_identity() const override { return id ? &*id : nullptr; }
  void ber_counts(int lane, side, std::uint64_t bits, std::uint64_t errors, double gate,
                  std::string_view pattern) override {
    bers.push_back({lane, bits, errors, gate, std::string(pattern)});
  }

  std::vector<const timed_event*> of_kind(const std::string& kind) const {
    std::vector<const timed_event*> out;
    for (const auto& e : events)
      if (e.kind == kind) out.push_back(&e);
    return out;
  }
  std::vector<const recorded*> named(const std::string& name) const {
    std::vector<const recorded*> out;
    for (const auto& r : measurements)
      if (r.m.name == name) out.push_back(&r);
    return out;
  }
  std::string event_text() const {
    std::string s;
    for (const auto& e : events)
      s += fmt::format("{:.0f} {} {}: {}\n", e.t, to_string(e.level), e.kind, e.message);
    return s;
  }

  std::vector<recorded> measurements;
  std::vector<timed_event> events;
  std::vector<double> sample_times;  // of the temperature reading
  long long samples = 0;
  std::vector<ber_row> bers;
  std::map<std::string, device*> devices;
  std::optional<identity> id;
  std::ostringstream log_text;

 private:
  hilt::clock& clock_;
  managed_module* module_;
  int slot_;
  std::string name_;
  std::shared_ptr<spdlog::logger> logger_;
};

struct rig {
  asio::io_context io;
  hilt::clock clk{io, clock_mode::virtual_time};
  std::ostringstream sink;
  std::shared_ptr<spdlog::logger> lg = std::make_shared<spdlog::logger>(
      "dev", std::make_shared<spdlog::sinks::ostream_sink_mt>(sink));
  device_context dctx() { return device_context{io.get_executor(), &clk, lg}; }
  double minutes() const { return clk.now_seconds() / 60; }
};

std::shared_ptr<const step> soak_step(const std::string& options) {
  static std::vector<hilt::sequence> keep;  // steps live as long as the test binary
  keep.push_back(
      load_text("sequence: t\nmain:\n  - step: thermal_soak\n    chamber: chamber\n" + options));
  return keep.back().main.front().impl;
}

// Runs the step for every context at once (one soak, several DUTs) and returns the outcomes.
std::vector<step_outcome> run_all(rig& r, const step& s, const std::vector<soak_context*>& ctxs) {
  std::vector<step_outcome> outs(ctxs.size());
  std::size_t done = 0;
  for (std::size_t i = 0; i < ctxs.size(); ++i) {
    asio::co_spawn(r.io, s.run(*ctxs[i]), [&, i](std::exception_ptr e, step_outcome o) {
      if (e) std::rethrow_exception(e);
      outs[i] = std::move(o);
      ++done;
    });
  }
  r.clk.run();
  EXPECT_EQ(done, ctxs.size());
  return outs;
}

const std::string base = "sequence: t\nmain:\n  - { step: thermal_soak, chamber: c, ";

// ---- bad options ------------------------------------------------------------------------------

TEST(ThermalSoakExtras, StabilizeDutMustBeAPositiveTemperatureDifference) {
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], stabilize: { dut: 0 C } }\n"),
            "t.yaml:3:84: dut: expected the largest change of a DUT's case temperature over "
            "'for' (a temperature difference above 0, like 2 C), got 0 C");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], stabilize: { dut: 2 V } }\n"),
            "t.yaml:3:84: dut: expected a temperature (C, degC, K, F), got voltage '2 V'");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], stabilize: { dutt: 2 C } }\n"),
            "t.yaml:3:79: unknown key 'dutt' in 'stabilize' (did you mean 'dut'?); accepted: "
            "within, for, timeout, dut");
}

TEST(ThermalSoakExtras, FlagsMustBeABoolean) {
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], flags: often }\n"),
            "t.yaml:3:73: flags: expected true or false, got 'often'");
}

TEST(ThermalSoakExtras, BerNeedsEvery) {
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { gate: 10 s } }\n"),
            "t.yaml:3:71: ber: needs 'every:' (the time between two checks in a dwell, like "
            "24 h)");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { evry: 30 min } }\n"),
            "t.yaml:3:73: unknown key 'evry' in 'ber' (did you mean 'every'?); accepted: every, "
            "gate, pattern, side, lanes, max, lock_timeout");
}

TEST(ThermalSoakExtras, BerMustBeAMapping) {
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: 24 h }\n"),
            "t.yaml:3:71: ber must be a mapping of KEY: VALUE, got '24 h'");
}

TEST(ThermalSoakExtras, BerPatternSideLanesAndMaxAreChecked) {
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 30 min, pattern: PRBS32 "
                            "} }\n"),
            "t.yaml:3:97: pattern: unknown PRBS pattern 'PRBS32'; known: PRBS-31Q, PRBS-31, "
            "PRBS-23Q, PRBS-23, PRBS-15Q, PRBS-15, PRBS-13Q, PRBS-13, PRBS-9Q, PRBS-9, PRBS-7Q, "
            "PRBS-7, SSPRQ");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 30 min, side: line } }\n"),
            "t.yaml:3:94: side: expected one of host, media, got 'line'");
  EXPECT_EQ(
      error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 30 min, lanes: 40 } }\n"),
      "t.yaml:3:95: lanes: expected 'all', a lane number from 1 to 32, a range like '1-4' or a "
      "list of them, got '40'");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 30 min, max: 0.7 } }\n"),
            "t.yaml:3:93: max: a BER must be above 0 and below 0.5, got 0.7");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 30 min, gate: 0 s } }\n"),
            "t.yaml:3:94: gate: expected a time greater than zero, got '0 s'");
}

TEST(ThermalSoakExtras, BerChecksMustNotOverlapAndMustFitADwell) {
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 15 s } }\n"),
            "t.yaml:3:80: every: a check takes up to lock_timeout + gate (10.000s + 10.000s), so "
            "checks must be further apart than that, got 15.000s");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], ber: { every: 24 h, gate: 2 h } }\n"),
            "t.yaml:3:71: ber: no dwell holds a check: one takes up to lock_timeout + gate "
            "(10.000s + 2h 00m 00.000s), the longest dwell is 1h 00m 00.000s");
}

TEST(ThermalSoakExtras, PostFecLimitOptionsAreChecked) {
  auto s = soak_step(
      "    profile: [{ dwell: 24 h }]\n    max_post_fec_errors: 0\n"
      "    post_fec_window: 2 h\n");
  const auto* soak = dynamic_cast<const thermal_soak_step*>(s.get());
  ASSERT_NE(soak, nullptr);
  ASSERT_TRUE(soak->settings().max_post_fec_errors);
  EXPECT_EQ(*soak->settings().max_post_fec_errors, 0u);
  EXPECT_EQ(soak->settings().post_fec_window, std::chrono::hours(2));
  // It needs the DUT linked to a switch ASIC (checked against the fixture before the run).
  ASSERT_EQ(soak->required_links().size(), 1u);
  EXPECT_EQ(soak->required_links()[0].purpose, "thermal_soak max_post_fec_errors");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], max_post_fec_errors: -1 }\n"),
            "t.yaml:3:87: max_post_fec_errors: expected a whole number from 0 to 1000000000000 "
            "(uncorrectable codewords allowed in any window), got '-1'");
  EXPECT_EQ(error_of(base + "profile: [{ dwell: 1 h }], post_fec_window: 1 h }\n"),
            "t.yaml:3:66: post_fec_window: applies to max_post_fec_errors, which this step does "
            "not set");
}

TEST(ThermalSoakExtras, GoodOptionsLoad) {
  auto s = soak_step(
      "    profile: [{ ramp_to: 85 C }, { dwell: 1000 h }]\n"
      "    stabilize: { within: 1 C, for: 5 min, timeout: 4 h, dut: 2 C }\n"
      "    ber: { every: 24 h, gate: 10 s, pattern: PRBS31Q, side: media, max: 2.4e-4 }\n"
      "    flags: false\n");
  const auto* soak = dynamic_cast<const thermal_soak_step*>(s.get());
  ASSERT_NE(soak, nullptr);
  const auto& c = soak->settings();
  ASSERT_TRUE(c.stable_dut);
  EXPECT_DOUBLE_EQ(*c.stable_dut, 2.0);
  EXPECT_FALSE(c.flags);
  ASSERT_TRUE(c.ber);
  EXPECT_EQ(c.ber->every, std::chrono::hours(24));
  EXPECT_EQ(c.ber->gate, std::chrono::seconds(10));
  EXPECT_EQ(c.ber->pattern, prbs_pattern::prbs31q);
  EXPECT_EQ(c.ber->side, side::media);
  EXPECT_DOUBLE_EQ(*c.ber->max, 2.4e-4);
  EXPECT_EQ(soak->ber_checks(), 42);  // at 0, 24 h, ..., 984 h
  EXPECT_EQ(soak->stabilize_check(), std::chrono::minutes(1));
}

// ---- stabilisation on DUT temperature ---------------------------------------------------------

// A DUT whose case follows the chamber air with a first-order lag of `tau` (an exact solution for
// a chamber that ramps linearly, then holds).
struct lagging_case {
  fake_chamber* ch;
  double tau_s;
  double t_last = 0, temp = 25;
  double at(double now) {
    // Small steps of the ODE dT/dt = (air - T) / tau, with the air as the chamber reports it.
    while (t_last < now) {
      const double dt = std::min(1.0, now - t_last);
      const double air = std::min(ch->setpoint, 25.0 + ch->ramp_c_per_min * (t_last + dt) / 60.0);
      temp += (air - temp) * dt / tau_s;
      t_last += dt;
    }
    return temp;
  }
};

TEST(ThermalSoakExtras, DwellWaitsUntilEveryDutCaseTemperatureIsSteady) {
  auto first_sample_minute = [](bool with_dut) {
    rig r;
    fake_chamber ch(r.dctx());
    ch.ramp_c_per_min = 5;  // the air reaches 85 C after 12 min
    soak_module fast(r.dctx(), "dut1"), slow(r.dctx(), "dut2");
    lagging_case fast_case{&ch, 30}, slow_case{&ch, 600};  // 30 s vs 10 min
    fast.monitors_fn = [&] {
      return std::vector<monitor_reading>{
          {"temperature", -1, side::none, fast_case.at(r.clk.now_seconds()), "C"}};
    };
    slow.monitors_fn = [&] {
      return std::vector<monitor_reading>{
          {"temperature", -1, side::none, slow_case.at(r.clk.now_seconds()), "C"}};
    };
    soak_context c1(r.clk, &fast, 1, "dut1"), c2(r.clk, &slow, 2, "dut2");
    c1.devices["chamber"] = c2.devices["chamber"] = &ch;
    auto s =
        soak_step(fmt::format("    profile: [{{ ramp_to: 85 C }}, {{ dwell: 1 h }}]\n"
                              "    stabilize: {{ within: 1 C, for: 5 min{} }}\n",
                              with_dut ? ", dut: 0.5 C" : ""));
    const auto outs = run_all(r, *s, {&c1, &c2});
    for (const auto& o : outs)
      EXPECT_EQ(o.verdict, verdict::pass) << o.message;
    EXPECT_EQ(c1.samples, 6);  // still exactly the configured samples
    EXPECT_EQ(c2.samples, 6);
    EXPECT_EQ(c1.sample_times.front(), c2.sample_times.front());  // one dwell for both
    if (with_dut) {
      // At the dwell start the slow DUT moved at most 0.5 C over the last 5 min.
      const double t0 = c2.sample_times.front();
      lagging_case now_case{&ch, 600}, before{&ch, 600};
      EXPECT_LE(now_case.at(t0) - before.at(t0 - 300), 0.5);
    }
    return c2.sample_times.front() / 60;
  };
  const double air_only = first_sample_minute(false);
  const double with_dut = first_sample_minute(true);
  EXPECT_NEAR(air_only, 17, 1.01);  // 12 min of ramp, 5 min stable
  // The slow DUT (time constant 10 min) moves less than 0.5 C per 5 min only ~40 min after the
  // air has settled.
  EXPECT_GT(with_dut, 40);
  EXPECT_LT(with_dut, 60);
}

TEST(ThermalSoakExtras, DutThatNeverSettlesAbortsTheSoakNamingIt) {
  rig r;
  fake_chamber ch(r.dctx());
  ch.ramp_c_per_min = 100;
  soak_module steady(r.dctx(), "dut1"), wobbly(r.dctx(), "dut2");
  steady.monitors_fn = [&] {
    return std::vector<monitor_reading>{{"temperature", -1, side::none, ch.temperature, "C"}};
  };
  wobbly.monitors_fn = [&] {  // ±1.5 C with a 4 min period
    const double t = r.clk.now_seconds();
    return std::vector<monitor_reading>{
        {"temperature", -1, side::none,
         ch.temperature + 1.5 * std::sin(t / 240 * 2 * std::numbers::pi), "C"}};
  };
  soak_context c1(r.clk, &steady, 1, "dut1"), c2(r.clk, &wobbly, 2, "dut2");
  c1.devices["chamber"] = c2.devices["chamber"] = &ch;
  auto s = soak_step(
      "    profile: [{ ramp_to: 85 C }, { dwell: 1 h }]\n"
      "    stabilize: { within: 1 C, for: 5 min, timeout: 1 h, dut: 2 C }\n");
  const auto outs = run_all(r, *s, {&c1, &c2});
  for (const auto& o : outs) {
    EXPECT_EQ(o.verdict, verdict::fail);
    EXPECT_NE(o.message.find("soak aborted: chamber (fake:chamber): DUT case temperatures not "
                             "steady within 2 C over 5m 00.000s after 1h 00m 00.000s (chamber at "
                             "85.0 C; dut2 moved "),
              std::string::npos)
        << o.message;
  }
  EXPECT_EQ(c1.samples, 0);
  EXPECT_EQ(c2.of_kind("soak_abort").size(), 1u);
}

// ---- module flags -----------------------------------------------------------------------------

TEST(ThermalSoakExtras, EachNewlyRaisedFlagIsOneEventNamingMonitorAndLane) {
  rig r;
  fake_chamber ch(r.dctx());
  soak_module m(r.dctx());
  m.monitors_fn = [] {
    return std::vector<monitor_reading>{{"temperature", -1, side::none, 76.25, "C"},
                                        {"tx_power", 3, side::media, -9.12, "dBm"}};
  };
  m.flags_fn = [&]() -> std::vector<std::string> {
    const double h = r.clk.now_seconds() / 3600;
    if (h < 2) return {"module_state_changed", "dp_state_changed lane 1"};
    if (h < 5) return {"temperature_high_warn"};
    if (h < 8) return {"temperature_high_warn", "tx_power_low_alarm lane 3", "rx_los lane 2"};
    return {};
  };
  soak_context ctx(r.clk, &m);
  ctx.devices["chamber"] = &ch;
  auto s = soak_step("    profile: [{ dwell: 10 h }]\n    interval: 1 h\n");
  const auto out = run_all(r, *s, {&ctx}).front();
  EXPECT_EQ(out.verdict, verdict::pass) << out.message;  // flags are events, not verdicts
  EXPECT_EQ(out.message,
            "10 sample instants over 1 cycle(s); module flags raised: 2 alarm(s), 1 warning(s)");
  EXPECT_EQ(m.flag_reads, 10);
  const auto warns = ctx.of_kind("module_warning");
  ASSERT_EQ(warns.size(), 1u) << ctx.event_text();
  EXPECT_EQ(warns[0]->level, severity::warning);
  EXPECT_EQ(warns[0]->t, 2 * 3600);
  EXPECT_EQ(warns[0]->message, "temperature_high_warn raised (temperature = 76.25 C)");
  const auto alarms = ctx.of_kind("module_alarm");
  ASSERT_EQ(alarms.size(), 2u) << ctx.event_text();
  EXPECT_EQ(alarms[0]->level, severity::alarm);
  EXPECT_EQ(alarms[0]->t, 5 * 3600);
  EXPECT_EQ(alarms[0]->message, "tx_power_low_alarm lane 3 raised (tx_power lane 3 = -9.12 dBm)");
  EXPECT_EQ(alarms[1]->message, "rx_los lane 2 raised");
  const auto cleared = ctx.of_kind("module_flag_cleared");
  ASSERT_EQ(cleared.size(), 3u) << ctx.event_text();
  for (const auto* e : cleared)
    EXPECT_EQ(e->t, 8 * 3600);
  EXPECT_TRUE(ctx.of_kind("module_flags_unavailable").empty());
}

TEST(ThermalSoakExtras, ModuleWithoutAFlagsReadSaysSoOnceAndFlagsFalseReadsNone) {
  {
    rig r;
    fake_chamber ch(r.dctx());
    soak_module m(r.dctx(), "dut1", "flagless");
    m.has_flags = false;
    soak_context ctx(r.clk, &m);
    ctx.devices["chamber"] = &ch;
    auto s = soak_step("    profile: [{ dwell: 2 h }]\n");
    EXPECT_EQ(run_all(r, *s, {&ctx}).front().verdict, verdict::pass);
    const auto un = ctx.of_kind("module_flags_unavailable");
    ASSERT_EQ(un.size(), 1u);
    EXPECT_EQ(un[0]->message,
              "dut1 (fake:dut1@0x50): module flags not read: driver 'flagless' has no flags "
              "read");
  }
  {
    rig r;
    fake_chamber ch(r.dctx());
    soak_module m(r.dctx());
    m.flags_fn = [] { return std::vector<std::string>{"temperature_high_alarm"}; };
    soak_context ctx(r.clk, &m);
    ctx.devices["chamber"] = &ch;
    auto s = soak_step("    profile: [{ dwell: 2 h }]\n    flags: false\n");
    EXPECT_EQ(run_all(r, *s, {&ctx}).front().verdict, verdict::pass);
    EXPECT_EQ(m.flag_reads, 0);
    EXPECT_TRUE(ctx.events.size() == 1 && ctx.events[0].kind == "soak_phase") << ctx.event_text();
  }
}

// ---- periodic BER -----------------------------------------------------------------------------

TEST(ThermalSoakExtras, PeriodicBerStoresCountsAndJudgesEveryLaneOfEveryCheck) {
  rig r;
  fake_chamber ch(r.dctx());
  soak_module m(r.dctx());
  m.ber[3] = 1e-3;  // lane 3 above the limit
  m.monitors_fn = [] {
    return std::vector<monitor_reading>{{"temperature", -1, side::none, 50, "C"}};
  };
  soak_context ctx(r.clk, &m);
  ctx.devices["chamber"] = &ch;
  auto s = soak_step(
      "    profile: [{ dwell: 48 h }, { dwell: 30 h }]\n"
      "    interval: 1 h\n"
      "    ber: { every: 24 h, gate: 10 s, pattern: PRBS31Q, side: media, max: 2.4e-4 }\n");
  const auto* soak = dynamic_cast<const thermal_soak_step*>(s.get());
  EXPECT_EQ(soak->ber_checks(), 4);  // 0 h, 24 h of the first dwell; 0 h, 24 h of the second
  const auto out = run_all(r, *s, {&ctx}).front();
  EXPECT_EQ(out.verdict, verdict::fail);
  EXPECT_EQ(out.message, "78 sample instants over 1 cycle(s); 4 BER check(s), 4 failed");
  EXPECT_EQ(ctx.samples, 78);       // samples are not disturbed by the checks
  ASSERT_EQ(ctx.bers.size(), 16u);  // 4 checks x 4 lanes
  for (const auto& b : ctx.bers) {
    EXPECT_EQ(b.pattern, "PRBS-31Q");
    EXPECT_NEAR(b.gate, 10.0, 1e-9);
    EXPECT_EQ(b.bits, 1'000'000'000'000u);  // 10 s at 100 Gb/s
    EXPECT_EQ(b.errors, b.lane == 3 ? 1'000'000'000u : 0u);
  }
  const auto bers = ctx.named("ber");
  ASSERT_EQ(bers.size(), 16u);
  for (const auto* b : bers) {
    EXPECT_EQ(b->v, b->m.lane == 3 ? verdict::fail : verdict::pass);
    EXPECT_EQ(b->m.side, side::media);
    ASSERT_TRUE(b->m.limit);
    EXPECT_DOUBLE_EQ(*b->m.limit->high, 2.4e-4);
  }
  EXPECT_EQ(ctx.named("prbs_lock").size(), 16u);
  // Enabled and switched off once per check, on the media lanes.
  ASSERT_EQ(m.calls.size(), 8u);
  EXPECT_EQ(m.calls[0], "prbs media 0xf PRBS-31Q true true");
  EXPECT_EQ(m.calls[1], "prbs media 0xf PRBS-31Q false false");
  EXPECT_TRUE(ctx.of_kind("prbs_lock_lost").empty());
}

TEST(ThermalSoakExtras, LossOfLockAndNoLockAreEventsAndFailures) {
  {
    rig r;
    fake_chamber ch(r.dctx());
    soak_module m(r.dctx());
    m.lose_lock_on_check = 2;
    soak_context ctx(r.clk, &m);
    ctx.devices["chamber"] = &ch;
    auto s = soak_step(
        "    profile: [{ dwell: 3 h }]\n"
        "    ber: { every: 1 h, gate: 1 min, lanes: [1, 2] }\n");
    const auto out = run_all(r, *s, {&ctx}).front();
    EXPECT_EQ(out.verdict, verdict::fail);
    EXPECT_EQ(out.message, "18 sample instants over 1 cycle(s); 3 BER check(s), 1 failed");
    const auto lost = ctx.of_kind("prbs_lock_lost");
    ASSERT_EQ(lost.size(), 1u) << ctx.event_text();
    EXPECT_EQ(lost[0]->level, severity::alarm);
    EXPECT_NE(lost[0]->message.find("dut1 (fake:dut1@0x50): soak BER check 2: media PRBS-31Q "
                                    "PRBS on lane(s) 1, 2 lane 2 lost lock during the "
                                    "1m 00.000s gate"),
              std::string::npos)
        << lost[0]->message;
    int failed_locks = 0;
    for (const auto* l : ctx.named("prbs_lock"))
      if (l->v == verdict::fail) ++failed_locks;
    EXPECT_EQ(failed_locks, 1);
    // Without max: the BER is recorded, not judged.
    for (const auto* b : ctx.named("ber"))
      EXPECT_EQ(b->v, verdict::info);
  }
  {
    rig r;
    fake_chamber ch(r.dctx());
    soak_module m(r.dctx());
    m.never_lock = true;
    soak_context ctx(r.clk, &m);
    ctx.devices["chamber"] = &ch;
    auto s = soak_step(
        "    profile: [{ dwell: 2 h }]\n"
        "    ber: { every: 1 h, lock_timeout: 2 s, lanes: 1 }\n");
    const auto out = run_all(r, *s, {&ctx}).front();
    EXPECT_EQ(out.verdict, verdict::fail);
    const auto none = ctx.of_kind("prbs_no_lock");
    ASSERT_EQ(none.size(), 2u) << ctx.event_text();
    EXPECT_EQ(none[0]->message,
              "dut1 (fake:dut1@0x50): soak BER check 1: media PRBS-31Q PRBS on lane(s) 1: no "
              "lock on lane(s) 1 within 2.000s");
    EXPECT_TRUE(ctx.bers.empty());
    EXPECT_EQ(m.calls.back(), "prbs media 0x1 PRBS-31Q false false");  // switched off again
  }
}

// ---- interrupted (Ctrl-C) --------------------------------------------------------------------

// The step as the runner runs it: in a coroutine whose cancellation slot the runner's signal
// handler emits on, with throw_if_cancelled(false).
task<step_outcome> run_as_runner(const step* s, soak_context* ctx) {
  co_await asio::this_coro::throw_if_cancelled(false);
  co_return co_await s->run(*ctx);
}

// Emits a terminal cancellation on `sig` at harness time `at`.
task<void> emit_at(hilt::clock* clk, clock::duration at, asio::cancellation_signal* sig) {
  (void)co_await clk->async_wait_until(at, asio::use_awaitable);
  sig->emit(asio::cancellation_type::terminal);
}

struct interrupted_run {
  step_outcome out;
  double ended_min = -1;  // harness time when the step returned
};

interrupted_run run_interrupted_at(rig& r, const step& s, soak_context& ctx, clock::duration at) {
  asio::cancellation_signal sig;
  interrupted_run res;
  // The emitter's wait is registered first: at an instant where the DUT also wakes up, the
  // emitter runs first, while the DUT's wake-up is already queued (its wait can no longer be
  // cancelled), exactly as a SIGINT handled between two completions.
  asio::co_spawn(r.io, emit_at(&r.clk, at, &sig), asio::detached);
  asio::co_spawn(
      r.io, run_as_runner(&s, &ctx),
      asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e, step_outcome o) {
        if (e) std::rethrow_exception(e);
        res.out = std::move(o);
        res.ended_min = r.minutes();
      }));
  r.clk.run();
  return res;
}

// SafeState.SigintAtRandomInstantsOfEveryLibrarySequence (asan preset): a SIGINT handled while
// the DUTs' sample wake-ups were queued reached no wait, and the 1000 h soak ran to its end.
TEST(ThermalSoakExtras, CancellationBetweenTwoWaitsStopsTheDwellAtTheNextWait) {
  rig r;
  fake_chamber ch(r.dctx());
  soak_module m(r.dctx());
  m.monitors_fn = [] {
    return std::vector<monitor_reading>{{"temperature", -1, side::none, 40.0, "C"}};
  };
  soak_context ctx(r.clk, &m);
  ctx.devices["chamber"] = &ch;
  auto s = soak_step("    profile: [{ dwell: 10 h }]\n    interval: 10 min\n");
  const auto res = run_interrupted_at(r, *s, ctx, std::chrono::minutes(30));
  EXPECT_EQ(res.out.verdict, verdict::error) << res.out.message;
  EXPECT_EQ(res.out.error, make_error_code(errc::cancelled));
  EXPECT_EQ(res.out.message, "thermal_soak: cancelled");
  // The sample due at 30 min was already on its way; none after it.
  EXPECT_EQ(ctx.sample_times, (std::vector<double>{0, 600, 1200, 1800}));
  EXPECT_EQ(res.ended_min, 30);
}

// A DUT waiting for the chamber to stabilise is waiting on the soak, not on a timer: the
// cancellation must still end its wait (in real time a stabilisation can take hours).
TEST(ThermalSoakExtras, CancellationWhileTheChamberStabilisesStopsTheStep) {
  rig r;
  fake_chamber ch(r.dctx());
  ch.ramp_c_per_min = 0.5;  // 85 C after 2 h
  soak_module m(r.dctx());
  soak_context ctx(r.clk, &m);
  ctx.devices["chamber"] = &ch;
  auto s = soak_step(
      "    profile: [{ ramp_to: 85 C }, { dwell: 10 h }]\n"
      "    stabilize: { within: 1 C, for: 5 min, timeout: 4 h }\n");
  const auto res = run_interrupted_at(r, *s, ctx, std::chrono::minutes(30));
  EXPECT_EQ(res.out.verdict, verdict::error) << res.out.message;
  EXPECT_EQ(res.out.error, make_error_code(errc::cancelled));
  EXPECT_EQ(ctx.samples, 0);
  EXPECT_EQ(res.ended_min, 30);
}

// ---- emulated CMIS modules through the CMIS driver --------------------------------------------

// Emulated modules behind emulated I2C buses, with the real CMIS driver on top, in virtual time.
struct emu_rig {
  rig r;
  std::unique_ptr<hilt::emulation> emulation;
  std::vector<std::shared_ptr<hilt::cmis::cmis_module>> modules;

  explicit emu_rig(const std::string& emulation_yaml) {
    emulation = hilt::emu::make_emulation(
        YAML::Load(emulation_yaml),
        hilt::emulation_env{&r.clk, 1,
                            std::string(HILT_SEQUENCE_LIBRARY) + "/../../fixtures/test.yaml"});
  }
  // Identifies the module as the identify step would, so that `lanes: all` means its media lanes.
  void identify(hilt::cmis::cmis_module& m, soak_context& ctx) {
    asio::co_spawn(
        r.io,
        [&]() -> task<void> {
          auto id = co_await m.async_identify();
          if (id) ctx.set_identity(id.value());
        },
        [](std::exception_ptr ex) {
          if (ex) std::rethrow_exception(ex);
        });
    r.clk.run();
    r.io.restart();
  }
  hilt::cmis::cmis_module& module(const std::string& bus) {
    modules.push_back(std::make_shared<hilt::cmis::cmis_module>(
        "dut1", "cmis:emu-i2c:" + bus + "@0x50", r.dctx(), emulation->i2c(bus).value(), 0x50));
    return *modules.back();
  }
};

TEST(ThermalSoakExtras, EmulatedHotModuleRaisesATemperatureWarningEventAndPeriodicBerCounts) {
  // 55 C around a 400G-DR4 (9.2 W x 2.5 C/W): 78 C, above its 75 C warning, below its 80 C alarm.
  emu_rig e(
      "ambient: 55 C\n"
      "modules:\n"
      "  - { bus: port1, profile: profiles/qsfpdd-400g-dr4.yaml, serial: EMU400G0001 }\n");
  fake_chamber ch(e.r.dctx());
  auto& m = e.module("port1");
  soak_context ctx(e.r.clk, &m);
  ctx.devices["chamber"] = &ch;
  e.identify(m, ctx);
  ASSERT_NE(ctx.dut_identity(), nullptr);
  auto s = soak_step(
      "    profile: [{ dwell: 2 h }]\n"
      "    ber: { every: 30 min, gate: 10 s, max: 2.4e-4 }\n");
  const auto out = run_all(e.r, *s, {&ctx}).front();
  EXPECT_EQ(out.verdict, verdict::pass) << out.message << "\n" << ctx.event_text();
  EXPECT_EQ(ctx.sample_times.size(), 12u);
  ASSERT_FALSE(ctx.named("soak_samples").empty());
  EXPECT_EQ(ctx.named("soak_samples").front()->m.value, 12);
  const auto warns = ctx.of_kind("module_warning");
  bool temperature_warning = false;
  for (const auto* w : warns) {
    if (w->message.starts_with("temperature_high_warn raised (temperature = 78")) {
      temperature_warning = true;
      EXPECT_EQ(w->t, 0);  // at the first sample
    }
  }
  EXPECT_TRUE(temperature_warning) << ctx.event_text();
  for (const auto* a : ctx.of_kind("module_alarm"))
    EXPECT_FALSE(a->message.starts_with("temperature")) << a->message;
  // Four checks (0, 30, 60, 90 min) of the four media lanes, 10 s at 106.25 Gb/s each.
  ASSERT_EQ(ctx.bers.size(), 16u) << ctx.event_text();
  for (const auto& b : ctx.bers) {
    EXPECT_NEAR(static_cast<double>(b.bits), 106.25e9 * 10, 106.25e9 * 0.05);
    EXPECT_EQ(b.pattern, "PRBS-31Q");
  }
  for (const auto* b : ctx.named("ber"))
    EXPECT_EQ(b->v, verdict::pass) << b->m.lane << " " << b->m.value;
}

}  // namespace
}  // namespace hilt::seq::test
