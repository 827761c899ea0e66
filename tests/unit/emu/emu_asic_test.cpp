// The emulated switch ASIC (drivers/emu asic.hpp): the docs/asic.md wire protocol request by
// request, bad input, FEC statistics against the binomial expectation (IEEE 802.3 cl.119
// RS(544,514), cl.91 RS(528,514)), counter wrap; the SerDes channel model (serdes.hpp); the
// emulated attenuator's SCPI commands (voa_server.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "hilt/emu/asic.hpp"
#include "hilt/emu/cmis_link.hpp"
#include "hilt/emu/serdes.hpp"
#include "hilt/emu/voa_server.hpp"
#include "hilt/emu/world.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::emu::emulated_asic;
using hilt::emu::world;
using nlohmann::json;

struct asic_rig {
  std::shared_ptr<world> w = std::make_shared<world>(nullptr, 11, 25.0);
  std::shared_ptr<emulated_asic> asic;
  explicit asic_rig(hilt::emu::asic_options o = *hilt::emu::asic_preset("51t2")) {
    o.label = "asic0";
    asic = std::make_shared<emulated_asic>(w, std::move(o), 99);
  }
  void at(hilt::clock::duration t) { w->set_manual_time(t); }
  json ask(const std::string& line) {
    auto r = asic->handle(line);
    EXPECT_TRUE(r.has_value()) << line;
    return json::parse(r.value_or("{}"));
  }
};

// Binomial(n, ps) pmf with the tail above t lumped into bin t+1.
std::vector<double> codeword_pmf(int n, int t, double ber) {
  const double ps = -std::expm1(10.0 * std::log1p(-ber));
  std::vector<double> pmf(static_cast<std::size_t>(t + 2), 0.0);
  double head = 0;
  for (int k = 0; k <= t; ++k) {
    pmf[static_cast<std::size_t>(k)] =
        std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
                 k * std::log(ps) + (n - k) * std::log1p(-ps));
    head += pmf[static_cast<std::size_t>(k)];
  }
  pmf[static_cast<std::size_t>(t + 1)] = std::max(0.0, 1.0 - head);
  return pmf;
}

// Every bin within 5 sigma of N pmf_k, and the chi-square statistic within 5 sigma of its mean.
void expect_binomial(const hilt::fec_counters& c, int n, int t, double ber) {
  const auto pmf = codeword_pmf(n, t, ber);
  ASSERT_EQ(c.histogram.size(), pmf.size());
  const double total = static_cast<double>(c.codewords());
  ASSERT_GT(total, 1000);
  double chi2 = 0;
  int df = -1;
  for (std::size_t k = 0; k < pmf.size(); ++k) {
    const double expect = total * pmf[k];
    const double sigma = std::sqrt(std::max(1.0, total * pmf[k] * (1 - pmf[k])));
    const double got = static_cast<double>(c.histogram[k]);
    EXPECT_NEAR(got, expect, 5 * sigma) << "bin S" << k;
    if (expect >= 5) {
      chi2 += (got - expect) * (got - expect) / expect;
      ++df;
    }
  }
  EXPECT_LT(chi2, df + 5 * std::sqrt(2.0 * df)) << "chi-square over " << df << " dof";
  // The totals are the histogram's.
  std::uint64_t corr = 0, sym = 0;
  for (int k = 1; k <= t; ++k) {
    corr += c.histogram[static_cast<std::size_t>(k)];
    sym += static_cast<std::uint64_t>(k) * c.histogram[static_cast<std::size_t>(k)];
  }
  EXPECT_EQ(c.correctable, corr);
  EXPECT_EQ(c.symbol_errors, sym);
  EXPECT_EQ(c.uncorrectable, c.histogram.back());
  EXPECT_GE(c.corrected_bits, c.symbol_errors);
}

TEST(EmuSerdes, TapTuningHasAnOptimum) {
  using hilt::emu::serdes_channel;
  const hilt::tx_fir def{-0.05, 0.80, -0.15}, none{0, 1, 0};
  const double ber_def = serdes_channel(def, 10).ber;
  EXPECT_GT(ber_def, 1e-9);
  EXPECT_LT(ber_def, 1e-7);
  EXPECT_GT(serdes_channel(none, 10).ber, 100 * ber_def) << "no equalisation is clearly worse";
  double best = 1;
  for (int pre = 0; pre <= 16; ++pre) {
    for (int post = 0; post <= 32; ++post) {
      const hilt::tx_fir t{-pre / 64.0, (64 - pre - post) / 64.0, -post / 64.0};
      best = std::min(best, serdes_channel(t, 10).ber);
      EXPECT_GT(serdes_channel(t, 25).ber, 1e-2) << "25 dB fails whatever the taps";
    }
  }
  EXPECT_LT(best, ber_def / 10) << "the best taps beat the default";
  // Quantisation to 1/64 and the 802.3 constraint.
  const auto q = hilt::emu::quantise_fir({-0.05, 0.8, -0.15});
  EXPECT_DOUBLE_EQ(q.pre1, -3.0 / 64);
  EXPECT_DOUBLE_EQ(q.main, 51.0 / 64);
  EXPECT_DOUBLE_EQ(q.post1, -10.0 / 64);
  EXPECT_TRUE(hilt::emu::fir_valid({-0.1, 0.8, -0.1}));
  EXPECT_FALSE(hilt::emu::fir_valid({-0.1, 0.9, -0.1}));
  EXPECT_FALSE(hilt::emu::fir_valid({0.1, 0.8, 0}));
  EXPECT_FALSE(hilt::emu::fir_valid({0, 0, 0}));
}

TEST(EmuAsicFec, Rs544HistogramIsBinomial) {
  for (double ber : {2e-3, 2.4e-4}) {
    asic_rig r;
    r.asic->force_ber(1, ber);
    r.asic->set_fec_mode(1, hilt::fec_mode::rs544);
    r.at(2ms);  // 8 x 106.25 Gb/s / 5440 bits: 312500 codewords
    const auto c = r.asic->fec_read(1);
    EXPECT_EQ(c.mode, hilt::fec_mode::rs544);
    EXPECT_EQ(c.max_correctable, 15);
    EXPECT_NEAR(static_cast<double>(c.codewords()), 312500, 1);
    expect_binomial(c, 544, 15, ber);
    if (ber > 1e-3) {
      EXPECT_GT(c.uncorrectable, 1000u) << "beyond 15 symbols: uncorrectable";
    }
  }
}

TEST(EmuAsicFec, Rs528HistogramIsBinomialAndLongRunsUseTheNormalBranch) {
  asic_rig r;
  r.asic->force_ber(2, 1e-3);
  r.asic->set_fec_mode(2, hilt::fec_mode::rs528);
  r.at(2ms);
  const auto c = r.asic->fec_read(2);
  EXPECT_EQ(c.histogram.size(), 9u) << "S0..S8, S8 = beyond 7";
  expect_binomial(c, 528, 7, 1e-3);
  EXPECT_GT(c.uncorrectable, 0u);
  // A minute at 1e-5: 9.4e9 codewords, bins drawn with the normal approximation.
  asic_rig l;
  l.asic->force_ber(3, 1e-5);
  l.asic->set_fec_mode(3, hilt::fec_mode::rs544);
  l.at(60s);
  const auto c2 = l.asic->fec_read(3);
  EXPECT_NEAR(static_cast<double>(c2.codewords()), 850e9 * 60 / 5440, 2);
  expect_binomial(c2, 544, 15, 1e-5);
  EXPECT_EQ(c2.uncorrectable, 0u);
}

TEST(EmuAsicFec, NoSignalNoCodewordsAndCountersWrap) {
  asic_rig r;  // no links, no loopback: nothing arrives
  r.asic->set_fec_mode(1, hilt::fec_mode::rs544);
  r.at(1s);
  EXPECT_EQ(r.asic->fec_read(1).codewords(), 0u);
  EXPECT_FALSE(r.asic->link_status(1).up);
  auto o = *hilt::emu::asic_preset("51t2");
  o.counter_bits = 16;
  asic_rig w(o);
  w.asic->force_ber(1, 0.0);
  w.asic->set_fec_mode(1, hilt::fec_mode::rs544);
  w.at(1ms);  // 156250 codewords: 156250 mod 65536 = 25178
  const auto c = w.asic->fec_read(1);
  EXPECT_NEAR(static_cast<double>(c.histogram[0]), 25178, 1);
  const auto j =
      w.ask(R"({"op":"stats","port":1,"counters":["SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0"]})");
  EXPECT_LT(j["values"]["SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0"].get<std::uint64_t>(), 65536u);
  EXPECT_EQ(w.ask(R"({"op":"info"})")["counter_bits"], 16);
}

TEST(EmuAsicWire, EveryRequestOfTheProtocol) {
  auto o = *hilt::emu::asic_preset("51t2");
  o.loopback = true;  // every lane hears its own Tx through a 10 dB plug
  asic_rig r(o);
  auto info = r.ask(R"({"op":"info"})");
  EXPECT_EQ(info["ok"], true);
  EXPECT_EQ(info["vendor"], "HILT");
  EXPECT_EQ(info["model"], "EMU-ASIC-51T2");
  EXPECT_EQ(info["serial"], "ASIC0001");
  EXPECT_EQ(info["counter_bits"], 64);
  EXPECT_EQ(info["port_groups"][0]["first"], 1);
  EXPECT_EQ(info["port_groups"][0]["count"], 64);
  EXPECT_EQ(info["port_groups"][0]["lanes"], 8);
  EXPECT_EQ(info["port_groups"][0]["lane_rate"], 106250000000ull);

  EXPECT_EQ(
      r.ask(R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_PRBS_PATTERN","value":"PRBS31Q"})")["ok"],
      true);
  EXPECT_EQ(r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_PRBS_PATTERN"})")["value"],
            "PRBS31Q");
  EXPECT_EQ(
      r.ask(
          R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX"})")
          ["ok"],
      true);
  EXPECT_EQ(r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_PRBS_CONFIG"})")["value"],
            "SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX");
  r.at(1s);
  auto v = r.ask(
      R"({"op":"get","port":1,"attrs":["HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS","SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST"]})");
  ASSERT_EQ(v["ok"], true) << v.dump();
  const auto& lanes = v["values"]["HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS"];
  ASSERT_EQ(lanes.size(), 8u);
  EXPECT_EQ(lanes[0]["lane"], 1);
  EXPECT_EQ(lanes[0]["locked"], true);
  EXPECT_EQ(lanes[0]["lock_lost"], false);
  EXPECT_NEAR(lanes[0]["bits"].get<double>(), 106.25e9, 1);
  const double expect_ber = hilt::emu::serdes_channel(hilt::emu::default_fir(), 10).ber;
  EXPECT_NEAR(lanes[0]["errors"].get<double>(), 106.25e9 * expect_ber,
              6 * std::sqrt(106.25e9 * expect_ber) + 1);
  const auto& bers = v["values"]["SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST"];
  ASSERT_EQ(bers.size(), 8u);
  const double ber =
      bers[0]["mantissa"].get<double>() * std::pow(10.0, -bers[0]["exponent"].get<double>());
  EXPECT_NEAR(ber, expect_ber, expect_ber * 0.2);

  EXPECT_EQ(
      r.ask(
          R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_FEC_MODE_EXTENDED","value":"SAI_PORT_FEC_MODE_EXTENDED_RS544"})")
          ["ok"],
      true);
  EXPECT_EQ(r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_FEC_MODE_EXTENDED"})")["value"],
            "SAI_PORT_FEC_MODE_EXTENDED_RS544");
  EXPECT_EQ(r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_OPER_STATUS"})")["value"],
            "SAI_PORT_OPER_STATUS_UP");
  auto sd = r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_RX_SIGNAL_DETECT"})");
  ASSERT_EQ(sd["value"].size(), 8u);
  EXPECT_EQ(sd["value"][0]["current_status"], true);
  EXPECT_EQ(sd["value"][0]["changed"], true) << "it came up since the start";
  sd = r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_RX_SIGNAL_DETECT"})");
  EXPECT_EQ(sd["value"][0]["changed"], false) << "cleared by the get";
  auto lk = r.ask(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_RX_LOCK_STATUS"})");
  EXPECT_EQ(lk["value"][3]["current_status"], true);

  auto fir = r.ask(
      R"({"op":"set","port":1,"lane":2,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_PRE1":-0.06,"SAI_PORT_SERDES_ATTR_TX_FIR_MAIN":0.7,"SAI_PORT_SERDES_ATTR_TX_FIR_POST1":-0.24}})");
  ASSERT_EQ(fir["ok"], true) << fir.dump();
  EXPECT_DOUBLE_EQ(fir["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_PRE1"].get<double>(), -4.0 / 64);
  EXPECT_DOUBLE_EQ(fir["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_MAIN"].get<double>(), 45.0 / 64);
  EXPECT_DOUBLE_EQ(fir["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_POST1"].get<double>(), -15.0 / 64);
  auto firg =
      r.ask(R"({"op":"get","port":1,"lane":2,"attrs":["SAI_PORT_SERDES_ATTR_TX_FIR_MAIN"]})");
  EXPECT_DOUBLE_EQ(firg["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_MAIN"].get<double>(), 45.0 / 64);
  EXPECT_EQ(firg["values"].size(), 1u);

  r.at(1100ms);
  auto st = r.ask(
      R"({"op":"stats","port":1,"counters":["SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES","SAI_PORT_STAT_IF_IN_FEC_NOT_CORRECTABLE_FRAMES","SAI_PORT_STAT_IF_IN_FEC_SYMBOL_ERRORS","SAI_PORT_STAT_IF_IN_FEC_CORRECTED_BITS","SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0","SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S16"]})");
  ASSERT_EQ(st["ok"], true) << st.dump();
  EXPECT_NEAR(st["values"]["SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0"].get<double>(),
              850e9 * 0.1 / 5440, 850e9 * 0.1 / 5440 * 1e-3);
  EXPECT_EQ(r.ask(R"({"op":"clear_stats","port":1})")["ok"], true);
  st =
      r.ask(R"({"op":"stats","port":1,"counters":["SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0"]})");
  EXPECT_EQ(st["values"]["SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S0"], 0);

  auto temp = r.ask(R"({"op":"get","attr":"SAI_SWITCH_ATTR_MAX_TEMP"})");
  EXPECT_GT(temp["value"].get<double>(), 25.0);
  auto power = r.ask(R"({"op":"get","attr":"HILT_SWITCH_ATTR_POWER"})");
  EXPECT_NEAR(power["value"].get<double>(), 180 + 0.25 * 8, 0.1) << "one active port";

  // A checker on a pattern nobody sends never locks, reports so and never hangs.
  r.ask(
      R"({"op":"set","port":2,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_ENABLE_RX"})");
  r.at(2s);
  auto nl = r.ask(R"({"op":"get","port":2,"attr":"HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS"})");
  EXPECT_EQ(nl["value"][0]["locked"], false);
  EXPECT_EQ(nl["value"][0]["lock_lost"], true);
  EXPECT_EQ(nl["value"][0]["bits"], 0);
}

TEST(EmuAsicWire, BadInputAnswersOkFalseAndNeverThrows) {
  asic_rig r;
  auto status = [&](const std::string& line) {
    auto j = r.ask(line);
    EXPECT_EQ(j["ok"], false) << line;
    EXPECT_TRUE(j["message"].is_string()) << line;
    return j["status"].get<std::string>();
  };
  EXPECT_EQ(status("not json"), "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status("[1,2]"), "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status("{}"), "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status(R"({"op":5})"), "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status(R"({"op":"frobnicate"})"), "SAI_STATUS_NOT_SUPPORTED");
  EXPECT_EQ(status(R"({"op":"get","port":1,"attr":"SAI_PORT_ATTR_NOPE"})"),
            "SAI_STATUS_INVALID_ATTRIBUTE_0");
  EXPECT_EQ(status(R"({"op":"get","attr":"SAI_SWITCH_ATTR_NOPE"})"),
            "SAI_STATUS_INVALID_ATTRIBUTE_0");
  EXPECT_EQ(status(R"({"op":"get","port":65,"attr":"SAI_PORT_ATTR_OPER_STATUS"})"),
            "SAI_STATUS_INVALID_PORT_NUMBER");
  EXPECT_EQ(status(R"({"op":"get","port":0,"attr":"SAI_PORT_ATTR_OPER_STATUS"})"),
            "SAI_STATUS_INVALID_PORT_NUMBER");
  EXPECT_EQ(status(R"({"op":"get","port":"1","attr":"SAI_PORT_ATTR_OPER_STATUS"})"),
            "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status(R"({"op":"get","attr":"SAI_PORT_ATTR_OPER_STATUS"})"),
            "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status(R"({"op":"get","port":1})"), "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status(R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_PRBS_PATTERN","value":"PRBS99"})"),
            "SAI_STATUS_INVALID_ATTR_VALUE_0");
  EXPECT_EQ(status(R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":3})"),
            "SAI_STATUS_INVALID_ATTR_VALUE_0");
  EXPECT_EQ(
      status(
          R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_FEC_MODE_EXTENDED","value":"SAI_PORT_FEC_MODE_EXTENDED_FC"})"),
      "SAI_STATUS_INVALID_ATTR_VALUE_0");
  EXPECT_EQ(status(R"({"op":"set","port":1,"attr":"SAI_PORT_ATTR_OPER_STATUS","value":"x"})"),
            "SAI_STATUS_INVALID_ATTRIBUTE_0");
  EXPECT_EQ(
      status(R"({"op":"set","port":1,"lane":9,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_MAIN":0.5}})"),
      "SAI_STATUS_INVALID_ATTR_VALUE_0");
  EXPECT_EQ(
      status(R"({"op":"set","port":1,"lane":1,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_MAIN":1.2}})"),
      "SAI_STATUS_INVALID_ATTR_VALUE_0");
  EXPECT_EQ(
      status(R"({"op":"set","port":1,"lane":1,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_PRE1":0.1}})"),
      "SAI_STATUS_INVALID_ATTR_VALUE_0");
  EXPECT_EQ(
      status(R"({"op":"set","port":1,"lane":1,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_NOPE":0.1}})"),
      "SAI_STATUS_INVALID_ATTRIBUTE_0");
  EXPECT_EQ(
      status(
          R"({"op":"set","port":1,"lane":1,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_MAIN":"big"}})"),
      "SAI_STATUS_INVALID_PARAMETER");
  EXPECT_EQ(status(R"({"op":"stats","port":1,"counters":["SAI_PORT_STAT_NOPE"]})"),
            "SAI_STATUS_INVALID_ATTRIBUTE_0");
  EXPECT_EQ(
      status(
          R"({"op":"stats","port":1,"counters":["SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S17"]})"),
      "SAI_STATUS_INVALID_ATTRIBUTE_0");
  EXPECT_EQ(status(R"({"op":"stats","port":1})"), "SAI_STATUS_INVALID_PARAMETER");
  // The taps were not changed by the refused requests.
  EXPECT_EQ(r.asic->tx_fir(1, 1), hilt::emu::default_fir());
  // Arbitrary bytes never throw.
  std::uint64_t s = 5;
  for (int i = 0; i < 500; ++i) {
    std::string line;
    const int n = static_cast<int>(hilt::emu::splitmix64(s) % 60);
    for (int k = 0; k < n; ++k)
      line.push_back(static_cast<char>(hilt::emu::splitmix64(s) & 0xFF));
    if (i % 3 == 0) line = R"({"op":"get","port":)" + line + "}";
    auto reply = r.asic->handle(line);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(json::parse(*reply)["ok"], false);
  }
}

TEST(EmuAsic, PowerAndTemperatureFollowTheLoad) {
  asic_rig r;
  const double idle_t = r.asic->die_temperature_c();
  EXPECT_NEAR(idle_t, 25 + 180 * 0.08, 0.01);
  for (int p = 1; p <= 64; ++p)
    r.asic->set_prbs(p, hilt::prbs_pattern::prbs31q, hilt::prbs_config::enable_tx);
  EXPECT_NEAR(r.asic->power_w(), 180 + 512 * 0.25, 1e-9);
  r.at(20s);  // one time constant
  const double steady = 25 + (180 + 128) * 0.08;
  EXPECT_NEAR(r.asic->die_temperature_c(), steady + (idle_t - steady) * std::exp(-1.0), 0.01);
}

TEST(EmuVoa, ScpiCommandsAndErrors) {
  hilt::emu::voa_emulator v{hilt::emu::voa_options{}};
  int changes = 0;
  v.set_on_change([&] { ++changes; });
  EXPECT_EQ(v.handle("*IDN?"), "Keysight Technologies,N7762A,MY00000001,V1.0");
  EXPECT_EQ(v.handle(":INP1:ATT?"), "+0.000000E+00");
  EXPECT_FALSE(v.handle(":INP1:ATT 10").has_value());
  EXPECT_EQ(v.handle(":inp1:att?"), "+1.000000E+01");
  EXPECT_EQ(changes, 1);
  EXPECT_FALSE(v.handle(":INPut:ATTenuation 12.5DB").has_value());
  EXPECT_DOUBLE_EQ(v.attenuation_db(), 12.5);
  EXPECT_DOUBLE_EQ(v.path_loss_db(), 13.5) << "insertion loss 1 dB";
  EXPECT_EQ(v.handle(":INP1:ATT? MIN"), "+0.000000E+00");
  EXPECT_EQ(v.handle(":INP1:ATT? MAX"), "+4.000000E+01");
  EXPECT_FALSE(v.handle(":INP1:ATT 70").has_value());
  EXPECT_DOUBLE_EQ(v.attenuation_db(), 12.5) << "out of range: not changed";
  EXPECT_EQ(v.handle(":SYST:ERR?"), "-222,\"Data out of range\"");
  EXPECT_EQ(v.handle(":SYST:ERR?"), "+0,\"No error\"");
  EXPECT_FALSE(v.handle(":INP1:WAV 1550NM").has_value());
  EXPECT_EQ(v.handle(":INP1:WAV?"), "+1.550000E-06");
  EXPECT_FALSE(v.handle(":INPUT1:WAVELENGTH 1.31E-6").has_value());
  EXPECT_DOUBLE_EQ(v.wavelength_nm(), 1310);
  EXPECT_FALSE(v.handle(":OUTP1:STAT OFF").has_value());
  EXPECT_TRUE(v.shutter_closed());
  EXPECT_TRUE(std::isinf(v.path_loss_db())) << "no light passes";
  EXPECT_EQ(v.handle(":OUTP1:STAT?"), "0");
  EXPECT_FALSE(v.handle(":output1:state 1").has_value());
  EXPECT_EQ(v.handle(":OUTP?"), "1");
  EXPECT_FALSE(v.handle(":FOO:BAR 1").has_value());
  EXPECT_FALSE(v.handle(":INP2:ATT 1").has_value());
  EXPECT_FALSE(v.handle(":INP1:ATT 3 W").has_value());
  EXPECT_FALSE(v.handle(":INP1:ATT abc").has_value());
  EXPECT_FALSE(v.handle(":OUTP1:STAT MAYBE").has_value());
  EXPECT_EQ(v.handle(":SYST:ERR?"), "-113,\"Undefined header\"");
  EXPECT_EQ(v.handle(":SYST:ERR?"), "-114,\"Header suffix out of range\"");
  EXPECT_EQ(v.handle(":SYST:ERR?"), "-131,\"Invalid suffix\"");
  EXPECT_EQ(v.handle(":SYST:ERR?"), "-104,\"Data type error\"");
  EXPECT_EQ(v.handle(":SYST:ERR?"), "-224,\"Illegal parameter value\"");
  EXPECT_FALSE(v.handle(":FOO").has_value());
  EXPECT_FALSE(v.handle("*CLS").has_value());
  EXPECT_EQ(v.handle(":SYST:ERR?"), "+0,\"No error\"");
  EXPECT_EQ(v.handle("*OPC?"), "1");
  EXPECT_EQ(v.handle(":INP1:ATT 5;:INP1:ATT?"), "+5.000000E+00");
  EXPECT_FALSE(v.handle("*RST").has_value());
  EXPECT_DOUBLE_EQ(v.attenuation_db(), 0);
  EXPECT_NE(v.describe("voa1").find("voa1 N7762A att=0.000dB"), std::string::npos);
}

}  // namespace
