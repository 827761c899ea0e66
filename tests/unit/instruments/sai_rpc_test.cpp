// The sai-rpc driver against a small scripted sai-rpc agent (docs/asic.md) on 127.0.0.1 (port 0),
// in virtual time: opening with `info`, every switch_asic operation and the request lines it
// sends, requested vs actual, and every bad-input path — ok:false statuses, replies that are not
// JSON or lack fields, ports and lanes outside the port groups (refused before anything is
// sent), an agent that stops answering, dropped connections. End-to-end tests against the
// emulated ASIC of drivers/emu live with it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/error.hpp"
#include "hilt/sai_rpc/asic.hpp"
#include "hilt/sai_rpc/driver.hpp"
#include "hilt/sai_rpc/protocol.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::test::has_text;
using hilt::test::inst_bench;
using nlohmann::json;
using asic = hilt::sai_rpc::sai_asic;
namespace asio = boost::asio;

// A sai-rpc agent in miniature: ports 1-4 with 8 lanes at 106.25 Gb/s and ports 5-6 with 4 lanes
// at 53.125 Gb/s. It keeps PRBS and FEC settings and Tx FIR taps per port, and can be told to
// answer the next requests that contain `script_match` with scripted lines (nullopt: silence).
struct fake_agent {
  std::mutex mu;
  std::vector<std::string> requests;
  std::deque<std::optional<std::string>> script;
  std::string script_match;
  struct port_state {
    std::string pattern = "PRBS31";
    std::string config = "SAI_PORT_PRBS_CONFIG_DISABLE";
    std::string fec = "SAI_PORT_FEC_MODE_EXTENDED_NONE";
    std::map<int, json> fir;  // by lane
  };
  std::map<int, port_state> ports;
  std::optional<std::string> fec_reported;  // reported instead of the mode set
  // RX_SIGNAL_DETECT / RX_LOCK_STATUS per lane of any port: {current_status, changed}.
  std::vector<std::pair<bool, bool>> signal{8, {true, false}}, lock{8, {true, false}};
  bool up = true;

  static int lanes_of(int p) { return p >= 1 && p <= 4 ? 8 : p >= 5 && p <= 6 ? 4 : 0; }
  static std::string error(const char* status, const std::string& message) {
    return json{{"ok", false}, {"status", status}, {"message", message}}.dump();
  }

  json get_attr(int port, const std::string& attr, bool& ok) {
    ok = true;
    const auto& st = ports[port];
    const int lanes = lanes_of(port);
    if (attr == "SAI_PORT_ATTR_PRBS_PATTERN") return st.pattern;
    if (attr == "SAI_PORT_ATTR_PRBS_CONFIG") return st.config;
    if (attr == "SAI_PORT_ATTR_FEC_MODE_EXTENDED") return fec_reported ? *fec_reported : st.fec;
    if (attr == "SAI_PORT_ATTR_OPER_STATUS")
      return up ? "SAI_PORT_OPER_STATUS_UP" : "SAI_PORT_OPER_STATUS_DOWN";
    if (attr == "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS") {
      json list = json::array();
      for (int l = 1; l <= lanes; ++l) {
        list.push_back({{"lane", l},
                        {"locked", l != 3},
                        {"lock_lost", l == 3},
                        {"bits", 1000000ull * static_cast<unsigned>(l)},
                        {"errors", static_cast<unsigned>(l)}});
      }
      return list;
    }
    if (attr == "SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST") {
      json list = json::array();
      // The last lane is left out: the driver falls back to errors / bits for it.
      for (int l = 1; l < lanes; ++l)
        list.push_back({{"lane", l}, {"mantissa", 25 * l}, {"exponent", 7}});
      return list;
    }
    if (attr == "SAI_PORT_ATTR_RX_SIGNAL_DETECT" || attr == "SAI_PORT_ATTR_RX_LOCK_STATUS") {
      const auto& src = attr == "SAI_PORT_ATTR_RX_SIGNAL_DETECT" ? signal : lock;
      json list = json::array();
      for (int l = 1; l <= lanes; ++l) {
        const auto& [cur, changed] = src[static_cast<std::size_t>(l - 1)];
        list.push_back({{"lane", l}, {"current_status", cur}, {"changed", changed}});
      }
      return list;
    }
    ok = false;
    return nullptr;
  }

  std::optional<std::string> handle(std::string_view line) {
    std::lock_guard lk(mu);
    requests.emplace_back(line);
    if (!script.empty() && line.find(script_match) != std::string_view::npos) {
      auto r = script.front();
      script.pop_front();
      return r;
    }
    const json req = json::parse(line.begin(), line.end(), nullptr, false);
    if (req.is_discarded() || !req.is_object() || !req.contains("op"))
      return error("SAI_STATUS_INVALID_PARAMETER", "not a request");
    const std::string op = req["op"].get<std::string>();
    if (op == "info") {
      return json{{"ok", true},
                  {"vendor", "HILT"},
                  {"model", "TEST-ASIC-12T8"},
                  {"serial", "T0001"},
                  {"firmware", "1.2.3"},
                  {"counter_bits", 48},
                  {"port_groups",
                   {{{"first", 1}, {"count", 4}, {"lanes", 8}, {"lane_rate", 106250000000ull}},
                    {{"first", 5}, {"count", 2}, {"lanes", 4}, {"lane_rate", 53125000000ull}}}}}
          .dump();
    }
    if (!req.contains("port")) {
      if (op != "get") return error("SAI_STATUS_INVALID_PARAMETER", "no port");
      const std::string attr = req.value("attr", "");
      if (attr == "SAI_SWITCH_ATTR_MAX_TEMP") return json{{"ok", true}, {"value", 63.5}}.dump();
      if (attr == "HILT_SWITCH_ATTR_POWER") return json{{"ok", true}, {"value", 312.4}}.dump();
      return error("SAI_STATUS_INVALID_ATTRIBUTE_0", "unknown switch attribute " + attr);
    }
    const int port = req["port"].get<int>();
    if (lanes_of(port) == 0)
      return error("SAI_STATUS_INVALID_PORT_NUMBER", "no port " + std::to_string(port));
    auto& st = ports[port];
    if (req.contains("lane")) {  // SerDes Tx FIR
      const int lane = req["lane"].get<int>();
      if (lane < 1 || lane > lanes_of(port))
        return error("SAI_STATUS_INVALID_ATTR_VALUE_0", "no lane " + std::to_string(lane));
      json& taps = st.fir[lane];
      if (taps.is_null()) {
        taps = {{"SAI_PORT_SERDES_ATTR_TX_FIR_PRE1", 0.0},
                {"SAI_PORT_SERDES_ATTR_TX_FIR_MAIN", 1.0},
                {"SAI_PORT_SERDES_ATTR_TX_FIR_POST1", 0.0}};
      }
      if (op == "set") {
        for (const auto& [k, v] : req["values"].items())
          taps[k] = std::round(v.get<double>() * 64) / 64;  // steps of 1/64
      }
      return json{{"ok", true}, {"values", taps}}.dump();
    }
    if (op == "set") {
      const std::string attr = req["attr"].get<std::string>();
      const std::string value = req["value"].get<std::string>();
      if (attr == "SAI_PORT_ATTR_PRBS_PATTERN") {
        st.pattern = value;
      } else if (attr == "SAI_PORT_ATTR_PRBS_CONFIG") {
        st.config = value;
      } else if (attr == "SAI_PORT_ATTR_FEC_MODE_EXTENDED") {
        st.fec = value;
      } else {
        return error("SAI_STATUS_INVALID_ATTRIBUTE_0", "cannot set " + attr);
      }
      return json{{"ok", true}}.dump();
    }
    if (op == "get") {
      bool ok = true;
      if (req.contains("attrs")) {
        json values = json::object();
        for (const auto& a : req["attrs"]) {
          const std::string name = a.get<std::string>();
          values[name] = get_attr(port, name, ok);
          if (!ok) return error("SAI_STATUS_INVALID_ATTRIBUTE_0", "unknown attribute " + name);
        }
        return json{{"ok", true}, {"values", values}}.dump();
      }
      const std::string name = req["attr"].get<std::string>();
      json v = get_attr(port, name, ok);
      if (!ok) return error("SAI_STATUS_INVALID_ATTRIBUTE_0", "unknown attribute " + name);
      return json{{"ok", true}, {"value", v}}.dump();
    }
    if (op == "stats") {
      json values = json::object();
      for (const auto& c : req["counters"]) {
        const std::string name = c.get<std::string>();
        const std::string bin = "SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S";
        if (name == "SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES") {
          values[name] = 100;
        } else if (name == "SAI_PORT_STAT_IF_IN_FEC_NOT_CORRECTABLE_FRAMES") {
          values[name] = 2;
        } else if (name == "SAI_PORT_STAT_IF_IN_FEC_SYMBOL_ERRORS") {
          values[name] = 150;
        } else if (name == "SAI_PORT_STAT_IF_IN_FEC_CORRECTED_BITS") {
          values[name] = 18446744073709551615ull;  // 2^64 - 1: the widest counter
        } else if (name.rfind(bin, 0) == 0) {
          values[name] = 1u << (20 - std::stoi(name.substr(bin.size())));
        } else {
          return error("SAI_STATUS_INVALID_ATTRIBUTE_0", "unknown counter " + name);
        }
      }
      return json{{"ok", true}, {"values", values}}.dump();
    }
    if (op == "clear_stats") return json{{"ok", true}}.dump();
    return error("SAI_STATUS_INVALID_PARAMETER", "unknown op " + op);
  }
};

// A line server on its own thread (the agent's replies never wait on harness time).
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

struct asic_fixture {
  explicit asic_fixture(const std::string& options = "{timeout: 200 ms}")
      : srv([this](std::string_view l) { return agent.handle(l); }),
        b(""),
        drv(hilt::sai_rpc::make_driver()) {
    address = fmt::format("sai-rpc:tcp:127.0.0.1:{}", srv.server->port());
    dev = b.make_as<asic>(*drv, "asic0", address, options);
  }
  std::vector<std::string> requests() {
    std::lock_guard lk(agent.mu);
    return agent.requests;
  }
  void clear() {
    {
      std::lock_guard lk(agent.mu);
      agent.requests.clear();
    }
    b.clear_log();
  }
  // Answers the next requests containing `match` with `lines` (nullopt: no answer).
  void script(const std::string& match, std::vector<std::optional<std::string>> lines) {
    std::lock_guard lk(agent.mu);
    agent.script_match = match;
    agent.script.assign(lines.begin(), lines.end());
  }
  // Opens the device and forgets what that sent.
  void open() {
    auto id = b.run(dev->async_identify());
    ASSERT_TRUE(id) << b.log();
    clear();
  }
  std::string where() const { return "asic0 (" + address + ")"; }

  fake_agent agent;  // before srv: its handler uses the agent
  server_thread srv;
  inst_bench b;
  std::shared_ptr<const hilt::driver> drv;
  std::string address;
  std::shared_ptr<asic> dev;
};

TEST(SaiRpc, IdentifyOpensTheDeviceWithInfo) {
  asic_fixture f;
  EXPECT_TRUE(f.dev->port_groups().empty()) << "make() sends nothing";
  EXPECT_TRUE(f.requests().empty());
  auto id = f.b.run(f.dev->async_identify());
  ASSERT_TRUE(id) << f.b.log();
  EXPECT_EQ(f.requests(), (std::vector<std::string>{R"({"op":"info"})"}));
  EXPECT_EQ(id.value().vendor, "HILT");
  EXPECT_EQ(id.value().part_number, "TEST-ASIC-12T8");
  EXPECT_EQ(id.value().serial, "T0001");
  EXPECT_EQ(id.value().firmware, "1.2.3");
  EXPECT_EQ(id.value().extra.at("counter_bits"), "48");
  EXPECT_EQ(id.value().extra.at("port_groups"),
            "1-4 x 8 lanes at 106.25 Gb/s; 5-6 x 4 lanes at 53.125 Gb/s");
  ASSERT_EQ(f.dev->port_groups().size(), 2u);
  EXPECT_EQ(f.dev->lanes_of(4), 8);
  EXPECT_EQ(f.dev->lanes_of(6), 4);
  EXPECT_EQ(f.dev->lanes_of(7), 0);
  EXPECT_DOUBLE_EQ(f.dev->lane_rate_of(5), 53.125e9);
  EXPECT_EQ(f.dev->counter_bits(), 48);
  EXPECT_TRUE(has_text(f.b.log(),
                       "HILT TEST-ASIC-12T8 serial T0001 firmware 1.2.3; ports 1-4, "
                       "5-6; 48-bit counters"))
      << f.b.log();
}

TEST(SaiRpc, PrbsConfigureSetsPatternThenConfigAndOpensFirst) {
  asic_fixture f;
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(2, hilt::prbs_config::enable_tx_rx, hilt::prbs_pattern::prbs31q)))
      << f.b.log();
  EXPECT_EQ(
      f.requests(),
      (std::vector<std::string>{
          R"({"op":"info"})",
          R"({"op":"set","port":2,"attr":"SAI_PORT_ATTR_PRBS_PATTERN","value":"PRBS31Q"})",
          R"({"op":"set","port":2,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX"})"}));
  EXPECT_EQ(f.agent.ports[2].pattern, "PRBS31Q");
  f.clear();
  // Every pattern by its SAI name; disable sends the configuration only.
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(5, hilt::prbs_config::enable_tx, hilt::prbs_pattern::ssprq)));
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(5, hilt::prbs_config::enable_rx, hilt::prbs_pattern::prbs7)));
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(5, hilt::prbs_config::disable, hilt::prbs_pattern::prbs7)));
  EXPECT_EQ(
      f.requests(),
      (std::vector<std::string>{
          R"({"op":"set","port":5,"attr":"SAI_PORT_ATTR_PRBS_PATTERN","value":"SSPRQ"})",
          R"({"op":"set","port":5,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_ENABLE_TX"})",
          R"({"op":"set","port":5,"attr":"SAI_PORT_ATTR_PRBS_PATTERN","value":"PRBS7"})",
          R"({"op":"set","port":5,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_ENABLE_RX"})",
          R"({"op":"set","port":5,"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_DISABLE"})"}));
  EXPECT_TRUE(has_text(f.b.log(), "port 5: PRBS rx PRBS-7")) << f.b.log();
}

TEST(SaiRpc, PrbsReadIsOneRequestWithPerLaneCountersAndBer) {
  asic_fixture f;
  f.open();
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(1, hilt::prbs_config::enable_rx, hilt::prbs_pattern::prbs31q)));
  f.clear();
  auto r = f.b.run(f.dev->async_prbs_read(1));
  ASSERT_TRUE(r) << f.b.log();
  EXPECT_EQ(
      f.requests(),
      (std::vector<std::string>{
          R"({"op":"get","port":1,"attrs":["SAI_PORT_ATTR_PRBS_CONFIG","HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS","SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST"]})"}));
  const auto& lanes = r.value();
  ASSERT_EQ(lanes.size(), 8u);
  for (int l = 1; l <= 8; ++l) {
    const auto& s = lanes[static_cast<std::size_t>(l - 1)];
    EXPECT_EQ(s.lane, l);
    EXPECT_EQ(s.side, hilt::side::none);
    EXPECT_EQ(s.locked, l != 3);
    EXPECT_EQ(s.lost_lock, l == 3);
    EXPECT_EQ(s.bits, 1000000u * static_cast<unsigned>(l));
    EXPECT_EQ(s.errors, static_cast<unsigned>(l));
    // The agent's BER (mantissa x 10^-exponent); lane 8 is not in its list: errors / bits.
    EXPECT_DOUBLE_EQ(s.ber, l < 8 ? 25 * l * 1e-7 : 1e-6) << l;
  }
  // A 4-lane port reads 4 lanes.
  ASSERT_FALSE(f.b.run(f.dev->async_prbs_configure(6, hilt::prbs_config::enable_tx_rx,
                                                   hilt::prbs_pattern::prbs13q)));
  auto r6 = f.b.run(f.dev->async_prbs_read(6));
  ASSERT_TRUE(r6) << f.b.log();
  EXPECT_EQ(r6.value().size(), 4u);
}

TEST(SaiRpc, PrbsReadWithTheCheckerOffIsNotReady) {
  asic_fixture f;
  f.open();
  auto r = f.b.run(f.dev->async_prbs_read(2));
  EXPECT_EQ(r.error(), errc::not_ready);
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(2, hilt::prbs_config::enable_tx, hilt::prbs_pattern::prbs9)));
  EXPECT_EQ(f.b.run(f.dev->async_prbs_read(2)).error(), errc::not_ready);
  EXPECT_TRUE(has_text(f.b.log(), f.where() +
                                      ": prbs_read: port 2: the PRBS checker is not enabled "
                                      "(SAI_PORT_PRBS_CONFIG_ENABLE_TX)"))
      << f.b.log();
}

TEST(SaiRpc, FecModeIsReadBackAndCountersFollowTheMode) {
  asic_fixture f;
  f.open();
  auto m = f.b.run(f.dev->async_set_fec_mode(3, hilt::fec_mode::rs544));
  ASSERT_TRUE(m) << f.b.log();
  EXPECT_EQ(m.value(), hilt::fec_mode::rs544);
  EXPECT_EQ(
      f.requests(),
      (std::vector<std::string>{
          R"({"op":"set","port":3,"attr":"SAI_PORT_ATTR_FEC_MODE_EXTENDED","value":"SAI_PORT_FEC_MODE_EXTENDED_RS544"})",
          R"({"op":"get","port":3,"attr":"SAI_PORT_ATTR_FEC_MODE_EXTENDED"})"}));
  f.clear();
  auto c = f.b.run(f.dev->async_read_fec(3));
  ASSERT_TRUE(c) << f.b.log();
  ASSERT_EQ(f.requests().size(), 2u);
  EXPECT_EQ(f.requests()[0], R"({"op":"get","port":3,"attr":"SAI_PORT_ATTR_FEC_MODE_EXTENDED"})");
  EXPECT_TRUE(has_text(
      f.requests()[1],
      R"({"op":"stats","port":3,"counters":["SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES",)"));
  EXPECT_TRUE(has_text(f.requests()[1], R"("SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S16"]})"));
  const auto& v = c.value();
  EXPECT_EQ(v.mode, hilt::fec_mode::rs544);
  EXPECT_EQ(v.max_correctable, 15);
  EXPECT_EQ(v.counter_bits, 48);
  EXPECT_EQ(v.correctable, 100u);
  EXPECT_EQ(v.uncorrectable, 2u);
  EXPECT_EQ(v.symbol_errors, 150u);
  EXPECT_EQ(v.corrected_bits, 18446744073709551615ull);
  ASSERT_EQ(v.histogram.size(), 17u);
  EXPECT_EQ(v.histogram[0], 1u << 20);
  EXPECT_EQ(v.histogram[16], 1u << 4);

  // RS-528: S0..S8.
  ASSERT_TRUE(f.b.run(f.dev->async_set_fec_mode(3, hilt::fec_mode::rs528)));
  auto c528 = f.b.run(f.dev->async_read_fec(3));
  ASSERT_TRUE(c528) << f.b.log();
  EXPECT_EQ(c528.value().max_correctable, 7);
  EXPECT_EQ(c528.value().histogram.size(), 9u);

  // No FEC, no FEC counters: only the mode is asked.
  ASSERT_TRUE(f.b.run(f.dev->async_set_fec_mode(3, hilt::fec_mode::none)));
  f.clear();
  auto none = f.b.run(f.dev->async_read_fec(3));
  ASSERT_TRUE(none) << f.b.log();
  EXPECT_EQ(none.value().mode, hilt::fec_mode::none);
  EXPECT_TRUE(none.value().histogram.empty());
  EXPECT_EQ(f.requests().size(), 1u);

  f.clear();
  EXPECT_FALSE(f.b.run(f.dev->async_clear_fec(3)));
  EXPECT_EQ(f.requests(), (std::vector<std::string>{R"({"op":"clear_stats","port":3})"}));
}

TEST(SaiRpc, SetFecModeReturnsWhatTheAsicReports) {
  asic_fixture f;
  f.open();
  f.agent.fec_reported = "SAI_PORT_FEC_MODE_EXTENDED_RS528";
  auto m = f.b.run(f.dev->async_set_fec_mode(1, hilt::fec_mode::rs544));
  ASSERT_TRUE(m) << f.b.log();
  EXPECT_EQ(m.value(), hilt::fec_mode::rs528);
  EXPECT_TRUE(has_text(f.b.log(), "port 1: FEC mode requested rs544, ASIC reports rs528"))
      << f.b.log();
  f.agent.fec_reported = "SAI_PORT_FEC_MODE_EXTENDED_FC";  // a mode hilt does not know
  EXPECT_EQ(f.b.run(f.dev->async_set_fec_mode(1, hilt::fec_mode::rs544)).error(), errc::bad_reply);
  EXPECT_EQ(f.b.run(f.dev->async_read_fec(1)).error(), errc::bad_reply);
  EXPECT_TRUE(has_text(f.b.log(), "'value' is not a FEC mode hilt knows")) << f.b.log();
}

TEST(SaiRpc, LinkStatusFoldsLatchedChangesIntoLost) {
  asic_fixture f;
  f.open();
  // Lane 2's signal went away; lane 3's CDR lock came and went and is back; lane 4 just came up.
  f.agent.signal[1] = {false, true};
  f.agent.lock[2] = {true, true};
  auto s = f.b.run(f.dev->async_link_status(1));
  ASSERT_TRUE(s) << f.b.log();
  EXPECT_EQ(
      f.requests(),
      (std::vector<std::string>{
          R"({"op":"get","port":1,"attrs":["SAI_PORT_ATTR_OPER_STATUS","SAI_PORT_ATTR_RX_SIGNAL_DETECT","SAI_PORT_ATTR_RX_LOCK_STATUS"]})"}));
  EXPECT_TRUE(s.value().up);
  ASSERT_EQ(s.value().lanes.size(), 8u);
  EXPECT_FALSE(s.value().lanes[1].signal_detect);
  EXPECT_TRUE(s.value().lanes[1].signal_lost);
  // First read: the lock of lane 3 was not known to be up before, so "changed" while up now
  // reads as "came up", not lost.
  EXPECT_TRUE(s.value().lanes[2].cdr_lock);
  EXPECT_FALSE(s.value().lanes[2].lock_lost);
  EXPECT_FALSE(s.value().lanes[0].signal_lost);
  // Second read: lane 3 was up at the previous read and changed since: it went and came back.
  f.agent.signal[1] = {false, false};
  auto s2 = f.b.run(f.dev->async_link_status(1));
  ASSERT_TRUE(s2);
  EXPECT_TRUE(s2.value().lanes[2].lock_lost);
  EXPECT_FALSE(s2.value().lanes[1].signal_lost) << "down before and still down";
  f.agent.up = false;
  EXPECT_FALSE(f.b.run(f.dev->async_link_status(1)).value().up);
}

TEST(SaiRpc, TxFirReturnsTheTapsTheSerdesApplied) {
  asic_fixture f;
  f.open();
  auto t = f.b.run(f.dev->async_set_tx_fir(2, 8, hilt::tx_fir{-0.05, 0.8, -0.15}));
  ASSERT_TRUE(t) << f.b.log();
  ASSERT_EQ(f.requests().size(), 1u);
  const json sent = json::parse(f.requests()[0]);
  EXPECT_EQ(sent["op"], "set");
  EXPECT_EQ(sent["port"], 2);
  EXPECT_EQ(sent["lane"], 8);
  EXPECT_DOUBLE_EQ(sent["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_PRE1"].get<double>(), -0.05);
  EXPECT_DOUBLE_EQ(sent["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_MAIN"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(sent["values"]["SAI_PORT_SERDES_ATTR_TX_FIR_POST1"].get<double>(), -0.15);
  // Quantised to 1/64 by the SerDes.
  EXPECT_EQ(t.value(), (hilt::tx_fir{-3.0 / 64, 51.0 / 64, -10.0 / 64}));
  EXPECT_TRUE(has_text(f.b.log(),
                       "port 2 lane 8: Tx FIR requested pre1 -0.05 main 0.8 post1 "
                       "-0.15, applied pre1 -0.046875 main 0.796875 post1 -0.15625"))
      << f.b.log();
  f.clear();
  auto back = f.b.run(f.dev->async_read_tx_fir(2, 8));
  ASSERT_TRUE(back) << f.b.log();
  EXPECT_EQ(back.value(), t.value());
  EXPECT_EQ(
      f.requests(),
      (std::vector<std::string>{
          R"({"op":"get","port":2,"lane":8,"attrs":["SAI_PORT_SERDES_ATTR_TX_FIR_PRE1","SAI_PORT_SERDES_ATTR_TX_FIR_MAIN","SAI_PORT_SERDES_ATTR_TX_FIR_POST1"]})"}));
}

TEST(SaiRpc, TxFirOutsideTheConstraintIsRefusedBeforeSending) {
  asic_fixture f;
  f.open();
  for (const auto& taps :
       {hilt::tx_fir{0.1, 0.8, -0.1}, hilt::tx_fir{-0.1, 0.0, -0.1}, hilt::tx_fir{-0.1, 0.8, 0.05},
        hilt::tx_fir{-0.2, 0.7, -0.2}, hilt::tx_fir{NAN, 0.8, 0}}) {
    EXPECT_EQ(f.b.run(f.dev->async_set_tx_fir(1, 1, taps)).error(), errc::invalid_argument);
  }
  EXPECT_TRUE(f.requests().empty());
  EXPECT_TRUE(has_text(
      f.b.log(), f.where() + ": set_tx_fir: port 1 lane 1: taps pre1 -0.2 main 0.7 post1 -0.2 "
                             "break the Tx FIR constraint (pre1 <= 0, main > 0, post1 <= 0, "
                             "|pre1| + main + |post1| <= 1); nothing was sent"))
      << f.b.log();
}

TEST(SaiRpc, DieTemperatureAndPower) {
  asic_fixture f;
  auto t = f.b.run(f.dev->async_die_temperature());
  ASSERT_TRUE(t) << f.b.log();
  EXPECT_DOUBLE_EQ(t.value(), 63.5);
  auto p = f.b.run(f.dev->async_read_power());
  ASSERT_TRUE(p) << f.b.log();
  EXPECT_DOUBLE_EQ(p.value(), 312.4);
  EXPECT_EQ(f.requests(),
            (std::vector<std::string>{R"({"op":"get","attr":"SAI_SWITCH_ATTR_MAX_TEMP"})",
                                      R"({"op":"get","attr":"HILT_SWITCH_ATTR_POWER"})"}));
}

TEST(SaiRpc, PortOrLaneOutsideThePortGroupsIsRefusedBeforeSending) {
  asic_fixture f;
  f.open();
  using hilt::prbs_config;
  using hilt::prbs_pattern;
  EXPECT_EQ(f.b.run(f.dev->async_prbs_configure(0, prbs_config::enable_rx, prbs_pattern::prbs7)),
            errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_prbs_read(7)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_set_fec_mode(-1, hilt::fec_mode::rs544)).error(),
            errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_read_fec(99)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_clear_fec(99)), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_link_status(99)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_set_tx_fir(1, 9, hilt::tx_fir{})).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_read_tx_fir(5, 5)).error(), errc::invalid_argument);
  EXPECT_EQ(f.b.run(f.dev->async_read_tx_fir(5, 0)).error(), errc::invalid_argument);
  EXPECT_TRUE(f.requests().empty()) << "nothing was sent";
  EXPECT_TRUE(has_text(f.b.log(), f.where() +
                                      ": prbs_read: port 7 does not exist (this ASIC has ports "
                                      "1-4, 5-6); nothing was sent"))
      << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), f.where() +
                                      ": read_tx_fir: port 5 has lanes 1-4; there is no lane 5 "
                                      "(nothing was sent)"))
      << f.b.log();
}

TEST(SaiRpc, StatusesMapToErrorCodes) {
  asic_fixture f;
  f.open();
  const std::string match = "SAI_PORT_ATTR_OPER_STATUS";
  auto status_of = [&](const char* status) {
    f.script(match, {fake_agent::error(status, "told to fail")});
    return f.b.run(f.dev->async_link_status(1)).error();
  };
  EXPECT_EQ(status_of("SAI_STATUS_NOT_SUPPORTED"), errc::not_supported);
  EXPECT_EQ(status_of("SAI_STATUS_INVALID_PARAMETER"), errc::invalid_argument);
  EXPECT_EQ(status_of("SAI_STATUS_INVALID_PORT_NUMBER"), errc::invalid_argument);
  EXPECT_EQ(status_of("SAI_STATUS_INVALID_ATTRIBUTE_0"), errc::invalid_argument);
  EXPECT_EQ(status_of("SAI_STATUS_INVALID_ATTR_VALUE_0"), errc::invalid_argument);
  EXPECT_EQ(status_of("SAI_STATUS_FAILURE"), errc::instrument_error);
  EXPECT_EQ(status_of("SAI_STATUS_TABLE_FULL"), errc::instrument_error);
  // ok:false without a status is a failure too.
  f.script(match, {R"({"ok":false})"});
  EXPECT_EQ(f.b.run(f.dev->async_link_status(1)).error(), errc::instrument_error);
  EXPECT_TRUE(has_text(
      f.b.log(),
      f.where() +
          R"(: link_status: '{"op":"get","port":1,"attrs":["SAI_PORT_ATTR_OPER_STATUS","SAI_PORT_ATTR_RX_SIGNAL_DETECT","SAI_PORT_ATTR_RX_LOCK_STATUS"]}': SAI_STATUS_NOT_SUPPORTED: told to fail (not_supported))"))
      << f.b.log();
}

TEST(SaiRpc, RepliesThatAreNotJsonAreBadReplies) {
  asic_fixture f;
  f.open();
  ASSERT_FALSE(f.b.run(
      f.dev->async_prbs_configure(1, hilt::prbs_config::enable_rx, hilt::prbs_pattern::prbs31q)));
  f.script("HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS", {std::string("\x01\xfe#9garbage", 11)});
  auto r = f.b.run(f.dev->async_prbs_read(1));
  EXPECT_EQ(r.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(
      f.b.log(),
      f.where() +
          R"(: prbs_read: reply '\x01\xfe#9garbage' to '{"op":"get","port":1,"attrs":["SAI_PORT_ATTR_PRBS_CONFIG","HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS","SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST"]}': not JSON)"))
      << f.b.log();
  // The connection is replaced and the next request works.
  EXPECT_FALSE(f.dev->transport().is_open());
  f.script("HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS", {R"([1,2,3])", R"({"ok":"yes"})"});
  EXPECT_EQ(f.b.run(f.dev->async_prbs_read(1)).error(), errc::bad_reply);
  EXPECT_EQ(f.b.run(f.dev->async_prbs_read(1)).error(), errc::bad_reply);
  EXPECT_TRUE(has_text(f.b.log(), ": not a JSON object")) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), ": 'ok' is missing or not true/false")) << f.b.log();
  EXPECT_TRUE(f.b.run(f.dev->async_prbs_read(1))) << f.b.log();
  EXPECT_GE(f.dev->transport().connects(), 3u);
}

// Replies that are JSON but lack a field, or carry one of the wrong type: bad_reply with the
// reason, never a crash.
TEST(SaiRpc, RepliesThatLackFieldsAreBadReplies) {
  asic_fixture f;
  f.open();
  ASSERT_FALSE(f.b.run(f.dev->async_prbs_configure(1, hilt::prbs_config::enable_tx_rx,
                                                   hilt::prbs_pattern::prbs31q)));
  struct bad_case {
    std::string reply;
    std::string why;
  };
  const std::string cfg = R"("SAI_PORT_ATTR_PRBS_CONFIG":"SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX")";
  const std::string ber = R"("SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST":[])";
  auto prbs = [&](const std::string& counters, const std::string& bers) {
    return R"({"ok":true,"values":{)" + cfg + R"(,"HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS":)" +
           counters + R"(,"SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST":)" + bers + "}}";
  };
  const std::string lane1 = R"({"lane":1,"locked":true,"lock_lost":false,"bits":10,"errors":0})";
  const std::vector<bad_case> cases = {
      {R"({"ok":true})", "'values' is missing or not an object"},
      {R"({"ok":true,"values":[]})", "'values' is missing or not an object"},
      {R"({"ok":true,"values":{)" + cfg + "," + ber + "}}",
       "'values' has no 'HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS'"},
      {R"({"ok":true,"values":{"SAI_PORT_ATTR_PRBS_CONFIG":7,"HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS":[],)" +
           ber + "}}",
       "'SAI_PORT_ATTR_PRBS_CONFIG' is not a sai_port_prbs_config_t name"},
      {prbs("{}", "[]"), "'HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS' is missing or not a list"},
      {prbs("[]", "null"), "'SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST' is missing or not a list"},
      {prbs(R"([{"lane":9,"locked":true,"lock_lost":false,"bits":1,"errors":0}])", "[]"),
       "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS: an entry's 'lane' is missing or not a lane number "
       "within 1..8"},
      {prbs("[" + lane1 + "," + lane1 + "]", "[]"),
       "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS: lane 1 is listed twice"},
      {prbs(R"([{"lane":1,"locked":1,"lock_lost":false,"bits":1,"errors":0}])", "[]"),
       "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS lane 1: 'locked' is missing or not true/false"},
      {prbs(R"([{"lane":1,"locked":true,"lock_lost":false,"errors":0}])", "[]"),
       "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS lane 1: 'bits' is missing or not a non-negative "
       "integer"},
      {prbs(R"([{"lane":1,"locked":true,"lock_lost":false,"bits":1,"errors":-4}])", "[]"),
       "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS lane 1: 'errors' is missing or not a non-negative "
       "integer"},
      {prbs(R"([{"lane":1,"locked":true,"lock_lost":false,"bits":1.5,"errors":0}])", "[]"),
       "'bits' is missing or not a non-negative integer"},
      {prbs(R"([{"lane":1,"locked":true,"lock_lost":false,"bits":1e400,"errors":0}])", "[]"),
       "not JSON"},
      {prbs("[" + lane1 + "]", R"([{"lane":1,"mantissa":3,"exponent":300}])"),
       "SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST lane 1: 'exponent' is missing or not within 0..255"},
      {prbs("[" + lane1 + "]", R"([{"lane":1,"exponent":3}])"),
       "SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST lane 1: 'mantissa' is missing or not a non-negative "
       "integer"},
      {prbs("[" + lane1 + "]", R"([{"mantissa":3,"exponent":3}])"),
       "SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST: an entry's 'lane' is missing"},
  };
  for (const auto& c : cases) {
    f.clear();
    f.script("HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS", {c.reply});
    auto r = f.b.run(f.dev->async_prbs_read(1));
    EXPECT_EQ(r.error(), errc::bad_reply) << c.reply;
    EXPECT_TRUE(has_text(f.b.log(), c.why)) << c.reply << "\n" << f.b.log();
  }

  // The other operations' replies.
  auto expect_bad = [&](const std::string& match, const std::string& reply, auto op,
                        const std::string& why) {
    f.clear();
    f.script(match, {reply});
    auto r = f.b.run(op());
    EXPECT_EQ(r.error(), errc::bad_reply) << reply;
    EXPECT_TRUE(has_text(f.b.log(), why)) << reply << "\n" << f.b.log();
  };
  expect_bad(
      "MAX_TEMP", R"({"ok":true,"value":"hot"})", [&] { return f.dev->async_die_temperature(); },
      "'value' is missing or not a number");
  expect_bad(
      "HILT_SWITCH_ATTR_POWER", R"({"ok":true})", [&] { return f.dev->async_read_power(); },
      "'value' is missing or not a number");
  expect_bad(
      "FEC_MODE", R"({"ok":true,"value":3})", [&] { return f.dev->async_read_fec(1); },
      "'value' is missing or not a string");
  f.agent.ports[1].fec = "SAI_PORT_FEC_MODE_EXTENDED_RS528";
  expect_bad(
      "\"stats\"", R"({"ok":true,"values":{"SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES":1}})",
      [&] { return f.dev->async_read_fec(1); },
      "'values' has no 'SAI_PORT_STAT_IF_IN_FEC_NOT_CORRECTABLE_FRAMES'");
  expect_bad(
      "OPER_STATUS",
      R"({"ok":true,"values":{"SAI_PORT_ATTR_OPER_STATUS":"SIDEWAYS","SAI_PORT_ATTR_RX_SIGNAL_DETECT":[],"SAI_PORT_ATTR_RX_LOCK_STATUS":[]}})",
      [&] { return f.dev->async_link_status(1); },
      "'SAI_PORT_ATTR_OPER_STATUS' is not SAI_PORT_OPER_STATUS_UP or _DOWN");
  expect_bad(
      "OPER_STATUS",
      R"({"ok":true,"values":{"SAI_PORT_ATTR_OPER_STATUS":"SAI_PORT_OPER_STATUS_UP","SAI_PORT_ATTR_RX_SIGNAL_DETECT":[{"lane":1,"current_status":true}],"SAI_PORT_ATTR_RX_LOCK_STATUS":[]}})",
      [&] { return f.dev->async_link_status(1); },
      "SAI_PORT_ATTR_RX_SIGNAL_DETECT lane 1: 'changed' is missing or not true/false");
  expect_bad(
      "TX_FIR", R"({"ok":true,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_PRE1":0}})",
      [&] { return f.dev->async_read_tx_fir(1, 1); },
      "'values' has no 'SAI_PORT_SERDES_ATTR_TX_FIR_MAIN'");
  expect_bad(
      "TX_FIR",
      R"({"ok":true,"values":{"SAI_PORT_SERDES_ATTR_TX_FIR_PRE1":0,"SAI_PORT_SERDES_ATTR_TX_FIR_MAIN":"1","SAI_PORT_SERDES_ATTR_TX_FIR_POST1":0}})",
      [&] { return f.dev->async_set_tx_fir(1, 1, hilt::tx_fir{}); },
      "'SAI_PORT_SERDES_ATTR_TX_FIR_MAIN' is not a number");
}

TEST(SaiRpc, InfoThatLacksFieldsIsABadReply) {
  struct bad_case {
    std::string reply;
    std::string why;
  };
  const std::vector<bad_case> cases = {
      {R"({"ok":true,"vendor":"V","model":"M","serial":"S","firmware":"F"})",
       "'port_groups' is missing or not a non-empty list"},
      {R"({"ok":true,"vendor":"V","model":"M","serial":"S","firmware":"F","port_groups":[]})",
       "'port_groups' is missing or not a non-empty list"},
      {R"({"ok":true,"model":"M","serial":"S","firmware":"F","port_groups":[]})",
       "'vendor' is missing or not a string"},
      {R"({"ok":true,"vendor":"V","model":"M","serial":"S","firmware":"F","counter_bits":65,"port_groups":[]})",
       "'counter_bits' is not a number within 1..64"},
      {R"({"ok":true,"vendor":"V","model":"M","serial":"S","firmware":"F","port_groups":[{"first":1,"count":4,"lanes":0,"lane_rate":1}]})",
       "port group 1 is not {first >= 1, count >= 1, lanes 1..32, lane_rate > 0}"},
      {R"({"ok":true,"vendor":"V","model":"M","serial":"S","firmware":"F","port_groups":[{"first":1,"count":4,"lanes":8,"lane_rate":1},{"first":4,"count":1,"lanes":8,"lane_rate":1}]})",
       "port groups overlap at port 4"},
  };
  for (const auto& c : cases) {
    asic_fixture f;
    f.script("info", {c.reply});
    auto r = f.b.run(f.dev->async_prbs_read(1));
    EXPECT_EQ(r.error(), errc::bad_reply) << c.reply;
    EXPECT_TRUE(has_text(f.b.log(), c.why)) << c.reply << "\n" << f.b.log();
    EXPECT_FALSE(f.dev->is_open());
    EXPECT_EQ(f.requests().size(), 1u) << "nothing after a bad info";
  }
}

TEST(SaiRpc, AnAgentThatStopsAnsweringTimesOut) {
  asic_fixture f;
  f.open();
  f.script("OPER_STATUS", {std::nullopt});
  auto r = f.b.run(f.dev->async_link_status(1));
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_TRUE(has_text(f.b.log(), f.where() + R"(: link_status: '{"op":"get","port":1,)"))
      << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "' on tcp:127.0.0.1:")) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "no reply within 0.200s")) << f.b.log();
  EXPECT_TRUE(f.b.run(f.dev->async_link_status(1))) << "a new connection after the timeout";
  // A stalled agent: the guard of the public call bounds it too.
  f.srv.server->inject(hilt::emu::line_fault::stall, -1);
  EXPECT_EQ(f.b.run(f.dev->async_die_temperature()).error(), errc::timeout);
  f.srv.server->inject(hilt::emu::line_fault::none);
}

TEST(SaiRpc, ADroppedConnectionIsRetriedOnce) {
  asic_fixture f;
  f.open();
  EXPECT_EQ(f.dev->transport().connects(), 1u);
  f.srv.server->inject(hilt::emu::line_fault::drop);
  auto r = f.b.run(f.dev->async_read_fec(2));
  ASSERT_TRUE(r) << f.b.log();
  EXPECT_EQ(f.dev->transport().connects(), 2u);
  EXPECT_TRUE(has_text(f.b.log(), f.where() + ": read_fec: connection lost (")) << f.b.log();
  EXPECT_TRUE(has_text(f.b.log(), "reconnecting and sending '")) << f.b.log();
  // An agent that drops every line: disconnected, after one more try.
  f.srv.server->inject(hilt::emu::line_fault::drop, -1);
  EXPECT_EQ(f.b.run(f.dev->async_clear_fec(2)), errc::disconnected);
  EXPECT_TRUE(has_text(f.b.log(), "clear_fec: '{\"op\":\"clear_stats\",\"port\":2}' on tcp:"))
      << f.b.log();
  f.srv.server->inject(hilt::emu::line_fault::none);
  EXPECT_FALSE(f.b.run(f.dev->async_clear_fec(2)));
}

TEST(SaiRpc, SafeStateDisablesPrbsOnEveryPort) {
  asic_fixture f;
  // Never opened: safe state asks `info` first, to know the ports.
  EXPECT_FALSE(f.b.run(f.dev->async_safe_state())) << f.b.log();
  auto req = f.requests();
  ASSERT_EQ(req.size(), 7u);
  EXPECT_EQ(req[0], R"({"op":"info"})");
  for (int p = 1; p <= 6; ++p) {
    EXPECT_EQ(
        req[static_cast<std::size_t>(p)],
        fmt::format(
            R"({{"op":"set","port":{},"attr":"SAI_PORT_ATTR_PRBS_CONFIG","value":"SAI_PORT_PRBS_CONFIG_DISABLE"}})",
            p));
  }
  ASSERT_FALSE(f.b.run(f.dev->async_prbs_configure(4, hilt::prbs_config::enable_tx_rx,
                                                   hilt::prbs_pattern::prbs31q)));
  EXPECT_EQ(f.agent.ports[4].config, "SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX");
  f.clear();
  EXPECT_FALSE(f.b.run(f.dev->async_safe_state()));
  EXPECT_EQ(f.requests().size(), 6u);
  EXPECT_EQ(f.agent.ports[4].config, "SAI_PORT_PRBS_CONFIG_DISABLE");
  EXPECT_TRUE(
      has_text(f.b.log(), "info " + f.where() + ": safe state: PRBS disabled on all 6 ports"))
      << f.b.log();
  EXPECT_FALSE(has_text(f.b.log(), "info " + f.where() + ": port 4: PRBS disable"))
      << "one line, not one per port";
  // A port the agent refuses: the others are still done, the first error is reported.
  f.clear();
  f.script(R"("port":2,)", {fake_agent::error("SAI_STATUS_FAILURE", "port 2 is wedged")});
  EXPECT_EQ(f.b.run(f.dev->async_safe_state()), errc::instrument_error);
  EXPECT_EQ(f.requests().size(), 6u);
}

TEST(SaiRpc, UnreachableAgent) {
  inst_bench b("");
  auto drv = hilt::sai_rpc::make_driver();
  const auto port = hilt::test::closed_port();
  auto dev = b.make_as<asic>(*drv, "asic9", fmt::format("sai-rpc:tcp:127.0.0.1:{}", port));
  auto id = b.run(dev->async_identify());
  EXPECT_EQ(id.error(), errc::unreachable);
  EXPECT_TRUE(has_text(b.log(), fmt::format("asic9 (sai-rpc:tcp:127.0.0.1:{}): identify: cannot "
                                            "connect to 127.0.0.1:{}: Connection refused",
                                            port, port)))
      << b.log();
  EXPECT_EQ(b.run(dev->async_safe_state()), errc::unreachable);
}

TEST(SaiRpc, EmulatedAsicThatDoesNotExist) {
  inst_bench b("");
  auto drv = hilt::sai_rpc::make_driver();
  auto d = b.make(*drv, "asic0", "sai-rpc:emu-tcp:asic0");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), errc::device_not_found);
  EXPECT_EQ(drv->info().name, "sai-rpc");
  EXPECT_EQ(drv->info().classes, std::vector<hilt::device_class>{hilt::device_class::switch_asic});
}

std::string make_error(const std::string& address, const std::string& options) {
  inst_bench b("");
  auto drv = hilt::sai_rpc::make_driver();
  try {
    (void)b.make(*drv, "asic0", address, options);
  } catch (const hilt::config_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SaiRpcConfig, MistakesAreLocated) {
  const std::string src = hilt::test::repo_path("fixtures/test-fixture.yaml");
  EXPECT_EQ(make_error("sai-rpc:tcp:10.0.0.1:9559", "{timeout: 2 s, ports: 4}"),
            src +
                ":1:16: device 'asic0': unknown option 'ports' for driver sai-rpc; expected one "
                "of: timeout");
  EXPECT_EQ(make_error("sai-rpc:tcp:10.0.0.1:9559", "{timeout: 2 V}"),
            src +
                ":1:11: device 'asic0': option 'timeout' expects a time above 0 and at most 600 "
                "s, e.g. '2 s'");
  EXPECT_EQ(make_error("sai-rpc:tcp:10.0.0.1", ""),
            src +
                ": device 'asic0': bad TCP target '10.0.0.1': the port is missing; expected "
                "HOST:PORT");
  EXPECT_EQ(make_error("sai-rpc:i2c-dev:/dev/i2c-1", ""),
            src +
                ": device 'asic0': address 'sai-rpc:i2c-dev:/dev/i2c-1': driver sai-rpc speaks "
                "transports tcp and emu-tcp, not 'i2c-dev'");
  EXPECT_EQ(make_error("sai-rpc:tcp:10.0.0.1:9559?model=x", ""),
            src +
                ": device 'asic0': address 'sai-rpc:tcp:10.0.0.1:9559?model=x': unknown option "
                "'model'; driver sai-rpc takes none in the address");
  EXPECT_EQ(make_error("sai-rpc:tcp:10.0.0.1:9559", "{timeout: 5 s}"), "no error");
}

TEST(SaiRpcProtocol, NamesRoundTrip) {
  using namespace hilt::sai_rpc;
  for (auto p :
       {hilt::prbs_pattern::prbs31q, hilt::prbs_pattern::prbs31, hilt::prbs_pattern::prbs23q,
        hilt::prbs_pattern::prbs23, hilt::prbs_pattern::prbs15q, hilt::prbs_pattern::prbs15,
        hilt::prbs_pattern::prbs13q, hilt::prbs_pattern::prbs13, hilt::prbs_pattern::prbs9q,
        hilt::prbs_pattern::prbs9, hilt::prbs_pattern::prbs7q, hilt::prbs_pattern::prbs7,
        hilt::prbs_pattern::ssprq}) {
    EXPECT_EQ(parse_sai_prbs_pattern(sai_name(p)), p) << sai_name(p);
  }
  EXPECT_EQ(sai_name(hilt::prbs_pattern::prbs13q), "PRBS13Q");
  EXPECT_FALSE(parse_sai_prbs_pattern("PRBS-31"));
  for (auto c : {hilt::prbs_config::disable, hilt::prbs_config::enable_tx_rx,
                 hilt::prbs_config::enable_rx, hilt::prbs_config::enable_tx}) {
    EXPECT_EQ(parse_sai_prbs_config(sai_name(c)), c);
  }
  for (auto m : {hilt::fec_mode::none, hilt::fec_mode::rs528, hilt::fec_mode::rs544})
    EXPECT_EQ(parse_sai_fec_mode(sai_name(m)), m);
  EXPECT_EQ(fec_counter_names(hilt::fec_mode::rs544).size(), 4u + 17u);
  EXPECT_EQ(fec_counter_names(hilt::fec_mode::rs528).size(), 4u + 9u);
  EXPECT_TRUE(fec_counter_names(hilt::fec_mode::none).empty());
  EXPECT_EQ(status_errc("SAI_STATUS_NOT_SUPPORTED"), errc::not_supported);
  EXPECT_EQ(status_errc("SAI_STATUS_INVALID_OBJECT_ID"), errc::invalid_argument);
  EXPECT_EQ(status_errc(""), errc::instrument_error);
  std::string why;
  EXPECT_FALSE(parse_reply("", why));
  EXPECT_EQ(why, "not JSON");
  EXPECT_FALSE(parse_reply(std::string(10000, '['), why)) << "deep nesting is no crash";
  EXPECT_FALSE(parse_reply("{\"ok\":true,\"x\":\"\xff\"}", why)) << "invalid UTF-8";
}

}  // namespace
