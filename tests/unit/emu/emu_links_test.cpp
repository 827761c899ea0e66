// Links between emulated devices (drivers/emu link_graph.hpp): validation of the fixture's links,
// the BER waterfall of an attenuation sweep against the Q-factor model, the LPO / DSP / CPO
// physics of issue 7's acceptance, and concurrent module and ASIC access without deadlock.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>
#include <chrono>
#include <cmath>
#include <future>
#include <thread>

#include "hilt/emu/asic.hpp"
#include "hilt/emu/cmis_link.hpp"
#include "hilt/emu/emulation.hpp"
#include "hilt/emu/serdes.hpp"
#include "hilt/error.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::emu::bench_emulation;

const std::string fixture_path = std::string(HILT_REPO_DIR) + "/fixtures/links-test.yaml";

std::unique_ptr<bench_emulation> make(const std::string& yaml) {
  hilt::emulation_env env;
  env.seed = 3;
  env.source = fixture_path;
  auto e = hilt::emu::make_emulation(YAML::Load(yaml), env);
  return std::unique_ptr<bench_emulation>(dynamic_cast<bench_emulation*>(e.release()));
}

hilt::electrical_link elink(std::string asic, int port, std::vector<int> asic_lanes,
                            std::string module, std::vector<int> host_lanes, double loss,
                            std::string where) {
  hilt::electrical_link e;
  e.asic = std::move(asic);
  e.port = port;
  e.asic_lanes = std::move(asic_lanes);
  e.module = std::move(module);
  e.host_lanes = std::move(host_lanes);
  e.loss_db = loss;
  e.where = std::move(where);
  return e;
}

hilt::optical_link olink(std::string a, std::string b, double loss, std::string att,
                         std::string where, std::vector<int> lanes = {}) {
  hilt::optical_link o;
  o.a = std::move(a);
  o.b = std::move(b);
  o.loss_db = loss;
  o.attenuator = std::move(att);
  o.where = std::move(where);
  o.media_lanes = std::move(lanes);
  return o;
}

// I2C helpers on an emulated bus.
struct cage {
  bench_emulation& emu;
  std::string bus;
  std::uint8_t addr = 0x50;
  void write(std::vector<std::uint8_t> b) {
    ASSERT_FALSE(emu.bus(bus)->transfer(addr, b, {})) << bus;
  }
  std::vector<std::uint8_t> read(std::uint8_t off, std::size_t n) {
    std::vector<std::uint8_t> out(n);
    EXPECT_FALSE(emu.bus(bus)->transfer(addr, std::span(&off, 1), out));
    return out;
  }
  void page(std::uint8_t p, std::uint8_t bank = 0) { write({126, bank, p}); }
  // Media generator / checker on media lanes `mask` of bank 0, PRBS-31Q.
  void media_prbs(std::uint8_t gen, std::uint8_t chk) {
    page(0x13);
    write({152, gen});
    write({168, 0});
    write({168, chk});  // (re)enabling restarts the counters
  }
  // Errors and bits of media lane `lane` (1-4).
  std::pair<double, double> media_counts(int lane) {
    page(0x14);
    write({128, 0x04});
    auto d = read(static_cast<std::uint8_t>(192 + 16 * (lane - 1)), 16);
    std::uint64_t e = 0, b = 0;
    for (int i = 7; i >= 0; --i) {
      e = e << 8 | d[static_cast<std::size_t>(i)];
      b = b << 8 | d[static_cast<std::size_t>(8 + i)];
    }
    return {static_cast<double>(e), static_cast<double>(b & ~1ull)};
  }
  bool media_lock_lost(int lane) {
    page(0x14);
    return (read(139, 1)[0] >> (lane - 1)) & 1;
  }
  double rx_power_mw(int lane) {
    page(0x11);
    auto d = read(static_cast<std::uint8_t>(186 + 2 * (lane - 1)), 2);
    return (d[0] << 8 | d[1]) * 1e-4;
  }
};

const char* bench_yaml = R"(
asics:
  - { name: asic0, model: 51t2 }
attenuators:
  - { name: voa1, insertion_loss: 1 dB }
modules:
  - { bus: port1, profile: profiles/qsfpdd-400g-dr4.yaml }
  - { bus: port2, profile: profiles/qsfpdd-400g-dr4.yaml }
  - { bus: port3, profile: profiles/osfp-800g-dr8.yaml }
)";

TEST(EmuLinks, ValidationNamesTheLinkAndWhatIsWrong) {
  auto expect_error = [](hilt::link_map links, const std::string& where, const std::string& text) {
    auto emu = make(bench_yaml);
    try {
      emu->connect(links);
      ADD_FAILURE() << "no error for " << text;
    } catch (const hilt::config_error& e) {
      EXPECT_EQ(e.where(), where);
      EXPECT_NE(e.message().find(text), std::string::npos) << e.message();
    }
  };
  hilt::link_map m;
  m.electrical.push_back(elink("asic9", 1, {}, "port1@0x50", {1}, 10, "f.yaml:3:5"));
  expect_error(m, "f.yaml:3:5", "no emulated ASIC 'asic9'");
  m.electrical = {elink("asic0", 1, {}, "port9@0x50", {1}, 10, "f.yaml:4:5")};
  expect_error(m, "f.yaml:4:5", "no emulated module 'port9@0x50'");
  m.electrical = {elink("asic0", 65, {}, "port1@0x50", {1}, 10, "f.yaml:5:5")};
  expect_error(m, "f.yaml:5:5", "ASIC 'asic0' has no port 65");
  m.electrical = {elink("asic0", 1, {9}, "port1@0x50", {1}, 10, "f.yaml:6:5")};
  expect_error(m, "f.yaml:6:5", "ASIC 'asic0' port 1 has lanes 1-8; there is no lane 9");
  m.electrical = {elink("asic0", 1, {}, "port1@0x50", {1, 9}, 10, "f.yaml:7:5")};
  expect_error(m, "f.yaml:7:5", "module 'port1@0x50' has host lanes 1-8; there is no host lane 9");
  m.electrical = {elink("asic0", 1, {1, 2}, "port1@0x50", {1}, 10, "f.yaml:8:5")};
  expect_error(m, "f.yaml:8:5", "names 2 ASIC lanes but 1 host lanes");
  m.electrical = {elink("asic0", 1, {1}, "port1@0x50", {1}, 10, "f.yaml:9:5"),
                  elink("asic0", 1, {1}, "port2@0x50", {1}, 10, "f.yaml:10:5")};
  expect_error(m, "f.yaml:10:5", "asic0/1 lane 1 is already linked at f.yaml:9:5");
  m.electrical.clear();
  m.optical = {olink("port1@0x50", "port3@0x50", 0, "", "f.yaml:11:5")};
  expect_error(m, "f.yaml:11:5", "the lane counts differ");
  m.optical = {olink("port1@0x50", "port2@0x50", 0, "voa9", "f.yaml:12:5")};
  expect_error(m, "f.yaml:12:5", "no emulated attenuator 'voa9'");
  m.optical = {olink("port1@0x50", "port3@0x50", 0, "", "f.yaml:13:5", {5})};
  expect_error(m, "f.yaml:13:5",
               "module 'port1@0x50' has media lanes 1-4; there is no media lane 5");
  m.optical = {olink("port1@0x50", "port2@0x50", 0, "", "f.yaml:14:5"),
               olink("port2@0x50", "", 2, "", "f.yaml:15:5", {2})};
  expect_error(m, "f.yaml:15:5", "port2@0x50 media lane 2 is already linked at f.yaml:14:5");
  // A good map connects.
  m.optical = {olink("port1@0x50", "port2@0x50", 0, "voa1", "f.yaml:16:5")};
  m.electrical = {elink("asic0", 1, {}, "port1@0x50", {1, 2, 3, 4, 5, 6, 7, 8}, 10, "f.yaml:17:5")};
  auto emu = make(bench_yaml);
  EXPECT_NO_THROW(emu->connect(m));
  ASSERT_TRUE(emu->links());
  EXPECT_EQ(emu->links()->modules().size(), 2u);
}

TEST(EmuLinks, UnknownKeysInTheNewSectionsNameTheirPlace) {
  try {
    make("asics:\n  - { name: asic0, portz: 3 }\n");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("links-test.yaml:2:"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("portz"), std::string::npos);
  }
  try {
    make("attenuators:\n  - { name: voa1, attenuation: 70 dB }\n");
    ADD_FAILURE();
  } catch (const hilt::config_error& e) {
    EXPECT_NE(std::string(e.what()).find("links-test.yaml:2:"), std::string::npos) << e.what();
  }
  auto emu = make(bench_yaml);
  const auto lines = emu->describe();
  EXPECT_NE(lines[lines.size() - 2].find("asic0 EMU-ASIC-51T2 ports=64 lanes=512"),
            std::string::npos);
  EXPECT_NE(lines.back().find("voa1 N7762A"), std::string::npos);
}

TEST(EmuLinks, AttenuationSweepGivesAQFactorWaterfall) {
  auto emu = make(bench_yaml);
  hilt::link_map m;
  m.optical = {olink("port1@0x50", "port2@0x50", 0.5, "voa1", "f.yaml:1:1")};
  emu->connect(m);
  auto& w = emu->the_world();
  cage near{*emu, "port1"}, far{*emu, "port2"};
  near.media_prbs(0x0F, 0x00);
  auto voa = emu->attenuator("voa1")->voa;
  const auto prof = emu->module_by_label("port2@0x50")->profile();
  const double q_floor = hilt::emu::q_from_ber(prof.ber_floor);
  std::vector<double> ber, prx, qn;
  auto t = 1s;
  for (double att = 0.0; att <= 7.01; att += 0.5) {
    ASSERT_FALSE(voa->handle(fmt::format(":INP1:ATT {:.2f}", att)).has_value());
    w.set_manual_time(t);
    far.media_prbs(0x00, 0x0F);
    t += 1s;
    w.set_manual_time(t);
    const auto [e, b] = far.media_counts(1);
    ASSERT_GT(b, 1e11) << "locked the whole second at " << att << " dB";
    const double p = far.rx_power_mw(1);
    ber.push_back(e / b);
    prx.push_back(p);
    if (e >= 200 && e / b < 1e-2) {
      // The DSP floor adds as 1/Q^2: take it out, the rest is the receiver's Q.
      const double q = hilt::emu::q_from_ber(e / b);
      qn.push_back(1.0 / std::sqrt(1.0 / (q * q) - 1.0 / (q_floor * q_floor)) / p);
    }
  }
  for (std::size_t i = 1; i < ber.size(); ++i) {
    EXPECT_GT(ber[i], ber[i - 1]) << "monotonic waterfall, step " << i;
    EXPECT_LT(prx[i], prx[i - 1]);
  }
  EXPECT_LT(ber.front(), 1e-6);
  EXPECT_GT(ber.back(), 1e-3);
  ASSERT_GE(qn.size(), 6u);
  // Q proportional to received power: Q / P_rx is the same at every point (Q_ref / P_sens).
  double mean = 0;
  for (double v : qn)
    mean += v;
  mean /= static_cast<double>(qn.size());
  for (double v : qn)
    EXPECT_NEAR(v, mean, 0.03 * mean);
  const double sens_mw = std::pow(10.0, prof.rx_sensitivity_dbm / 10.0);
  EXPECT_NEAR(mean, hilt::emu::q_from_ber(prof.reference_ber) / sens_mw, 0.05 * mean);
  // Shutter closed: no light, the checker loses lock.
  ASSERT_FALSE(voa->handle(":OUTP1:STAT 0").has_value());
  far.media_prbs(0x00, 0x0F);
  t += 1s;
  w.set_manual_time(t);
  EXPECT_TRUE(far.media_lock_lost(1));
  EXPECT_EQ(far.media_counts(1).second, 0);
}

// ASIC port 1 -> module A host -> A media -> fiber -> B media -> B host -> ASIC port 2.
struct chain {
  std::unique_ptr<bench_emulation> emu;
  std::shared_ptr<hilt::emu::emulated_asic> asic;
  explicit chain(const std::string& profile) {
    emu = make(fmt::format(R"(
asics:
  - {{ name: asic0, model: 51t2 }}
modules:
  - {{ bus: port1, profile: profiles/{0} }}
  - {{ bus: port2, profile: profiles/{0} }}
)",
                           profile));
    hilt::link_map m;
    const int hosts = emu->module_by_label("port1@0x50")->profile().host_lanes;
    std::vector<int> lanes;
    for (int l = 1; l <= hosts; ++l)
      lanes.push_back(l);
    m.electrical = {elink("asic0", 1, lanes, "port1@0x50", lanes, 10, "f:1:1"),
                    elink("asic0", 2, lanes, "port2@0x50", lanes, 10, "f:2:1")};
    m.optical = {olink("port1@0x50", "port2@0x50", 1.0, "", "f:3:1")};
    emu->connect(m);
    asic = emu->asic("asic0")->asic;
    asic->set_prbs(1, hilt::prbs_pattern::prbs31q, hilt::prbs_config::enable_tx);
  }
  // ASIC port 2 BER of lane 1 over one second from `t`.
  double asic_ber(std::chrono::seconds t) {
    emu->the_world().set_manual_time(t);
    asic->set_prbs(2, hilt::prbs_pattern::prbs31q, hilt::prbs_config::enable_rx);
    emu->the_world().set_manual_time(t + 1s);
    const auto s = asic->prbs_read(2);
    EXPECT_TRUE(s[0].locked);
    return s[0].ber;
  }
  // Far module's media checker BER of lane 1 over one second from `t` (near media generator on).
  double media_ber(std::chrono::seconds t) {
    cage near{*emu, "port1"}, far{*emu, "port2"};
    emu->the_world().set_manual_time(t);
    near.media_prbs(0x01, 0x00);
    far.media_prbs(0x00, 0x01);
    emu->the_world().set_manual_time(t + 1s);
    const auto [e, b] = far.media_counts(1);
    EXPECT_GT(b, 1e11);
    return e / b;
  }
};

TEST(EmuLinks, LpoBerFollowsTheAsicTapsAndDspMediaSideDoesNot) {
  chain lpo("osfp-800g-lpo.yaml");
  const double with_default = lpo.asic_ber(1s);
  for (int l = 1; l <= 8; ++l)
    lpo.asic->set_tx_fir(1, l, {0, 1, 0});
  const double without_eq = lpo.asic_ber(3s);
  EXPECT_GT(without_eq, 3 * with_default) << "the linear path carries the ASIC's ISI";
  const double lpo_media_noeq = lpo.media_ber(5s);
  for (int l = 1; l <= 8; ++l)
    lpo.asic->set_tx_fir(1, l, hilt::emu::default_fir());
  const double lpo_media_def = lpo.media_ber(7s);
  EXPECT_GT(lpo_media_noeq, 3 * lpo_media_def) << "LPO: even its media checker sees the host noise";

  chain dsp("osfp-800g-dr8.yaml");
  const double dsp_def = dsp.media_ber(1s);
  for (int l = 1; l <= 8; ++l)
    dsp.asic->set_tx_fir(1, l, {0, 1, 0});
  const double dsp_noeq = dsp.media_ber(3s);
  EXPECT_GT(dsp_def, 0);
  EXPECT_NEAR(dsp_noeq, dsp_def, 0.1 * dsp_def) << "a DSP retimes: its media side is its own";
  // End to end through DSPs the segments add: the first electrical segment's errors (no
  // equalisation at 10 dB) are carried to the far ASIC.
  cage{*dsp.emu, "port1"}.media_prbs(0x00, 0x00);  // the near DSP sends the ASIC's data again
  const double seg = hilt::emu::serdes_channel({0, 1, 0}, 10).ber;
  const double e2e = dsp.asic_ber(5s);
  EXPECT_GT(e2e, 0.8 * seg);
  EXPECT_LT(e2e, 1.5 * seg);
}

TEST(EmuLinks, CpoBerFollowsItsLaserSource) {
  auto emu = make(R"(
modules:
  - { bus: cpo1, profile: profiles/cpo-engine-3.2t.yaml }
  - { bus: cpo1, address: 0x51, profile: profiles/elsfp-8ch.yaml }
)");
  hilt::link_map m;
  m.optical = {olink("cpo1@0x50", "", 2.0, "", "f:1:1", {1, 2, 3, 4})};
  emu->connect(m);
  cage engine{*emu, "cpo1", 0x50}, laser{*emu, "cpo1", 0x51};
  auto& w = emu->the_world();
  w.set_manual_time(1s);
  engine.media_prbs(0x0F, 0x0F);
  w.set_manual_time(2s);
  const auto [e1, b1] = engine.media_counts(1);
  ASSERT_GT(b1, 1e11);
  // Laser lane 1 (feeding media lanes 1-4) turned down 4 dB: 1Bh:144 power set point, 10 uW.
  const auto code = static_cast<std::uint16_t>(std::lround(std::pow(10.0, 1.3) * 100));
  laser.page(0x1B);
  laser.write({144, static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code & 0xFF)});
  engine.media_prbs(0x0F, 0x0F);
  w.set_manual_time(3s);
  const auto [e2, b2] = engine.media_counts(1);
  ASSERT_GT(b2, 1e11);
  EXPECT_GT(e2 / b2, 100 * (e1 + 1) / b1) << "a dimmer laser, a higher BER";
  // Laser lane 1 disabled (1Ah:220 bit 0): no light on media lanes 1-4, the link fails.
  laser.page(0x1A);
  laser.write({220, 0xFE});
  engine.media_prbs(0x0F, 0x0F);
  w.set_manual_time(4s);
  EXPECT_TRUE(engine.media_lock_lost(1));
  EXPECT_EQ(engine.media_counts(1).second, 0);
}

TEST(EmuLinks, ConcurrentModuleAndAsicAccessDoesNotDeadlock) {
  chain c("osfp-800g-lpo.yaml");
  c.asic->set_prbs(2, hilt::prbs_pattern::prbs31q, hilt::prbs_config::enable_rx);
  auto modules = std::async(std::launch::async, [&] {
    cage near{*c.emu, "port1"}, far{*c.emu, "port2"};
    for (int i = 0; i < 300; ++i) {
      far.media_counts(1);
      near.rx_power_mw(2);
      c.emu->module_by_label("port2@0x50")->link_ber(1, true);
    }
  });
  auto asic = std::async(std::launch::async, [&] {
    for (int i = 0; i < 300; ++i) {
      c.asic->handle(
          R"({"op":"get","port":2,"attrs":["HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS","SAI_PORT_ATTR_OPER_STATUS"]})");
      c.asic->set_tx_fir(1, 1 + i % 8, i % 2 ? hilt::tx_fir{0, 1, 0} : hilt::emu::default_fir());
      c.emu->the_world().set_manual_time(std::chrono::milliseconds(i));
    }
  });
  ASSERT_EQ(modules.wait_for(60s), std::future_status::ready) << "deadlock";
  ASSERT_EQ(asic.wait_for(60s), std::future_status::ready) << "deadlock";
}

}  // namespace
