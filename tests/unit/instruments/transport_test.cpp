// The TCP line and Modbus TCP transports on their own, against loopback servers on their own
// threads: framing, bounds in both clock modes, drops, overlong and unreachable peers.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <thread>

#include "hilt/emu/chamber_server.hpp"
#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/error.hpp"
#include "hilt/transport/modbus.hpp"
#include "hilt/transport/tcp_line.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::test::has_text;
namespace asio = boost::asio;

TEST(TcpTarget, Parse) {
  auto t = hilt::tcp_target::parse("192.168.1.20:5025");
  EXPECT_EQ(t.host, "192.168.1.20");
  EXPECT_EQ(t.port, 5025);
  EXPECT_EQ(hilt::tcp_target::parse("psu.lab", 5025).port, 5025);
  EXPECT_EQ(hilt::tcp_target::parse("[::1]:502").host, "::1");
  EXPECT_EQ(hilt::tcp_target::parse("[::1]:502").str(), "[::1]:502");
  auto bad = [](const char* text) -> std::string {
    try {
      hilt::tcp_target::parse(text);
    } catch (const hilt::config_error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(bad("10.0.0.1"), "bad TCP target '10.0.0.1': the port is missing; expected HOST:PORT");
  EXPECT_EQ(bad(":5025"),
            "bad TCP target ':5025': the host is empty; expected HOST:PORT, e.g. "
            "192.168.1.20:5025");
  EXPECT_EQ(bad("h:0"), "bad TCP target 'h:0': port '0' is not a number within 1..65535");
  EXPECT_EQ(bad("h:50x"), "bad TCP target 'h:50x': port '50x' is not a number within 1..65535");
  EXPECT_EQ(bad("::1:5"), "bad TCP target '::1:5': write an IPv6 address as [ADDR]:PORT");
}

TEST(TcpLine, PrintableEscapesDeviceBytes) {
  EXPECT_EQ(hilt::printable("OK"), "OK");
  EXPECT_EQ(hilt::printable(std::string("a\x01\xff\\\r\n", 6)), "a\\x01\\xff\\\\\\r\\n");
  EXPECT_EQ(hilt::printable(std::string(100, 'x'), 4), "xxxx...");
}

// A line server on its own thread.
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

std::optional<std::string> reply_for(std::string_view line) {
  if (line == "LONG?") return std::string(5000, 'x');
  if (line == "CRLF?") return std::string("abc\r");
  if (line == "TWO?") return std::string("one\ntwo");
  if (line == "SILENT") return std::nullopt;
  return "echo:" + std::string(line);
}

struct client_fixture {
  explicit client_fixture(hilt::clock_mode mode = hilt::clock_mode::virtual_time)
      : srv(reply_for),
        b("", mode),
        link(b.io.get_executor(), &b.clk, hilt::tcp_target{"127.0.0.1", srv.server->port()}) {}
  server_thread srv;
  hilt::test::inst_bench b;
  hilt::tcp_line_client link;
};

TEST(TcpLine, QueriesAndFraming) {
  client_fixture f;
  auto r = f.b.run(f.link.async_query("HELLO?", 1s));
  ASSERT_TRUE(r) << f.link.last_error();
  EXPECT_EQ(r.value(), "echo:HELLO?");
  EXPECT_EQ(f.b.run(f.link.async_query("CRLF?", 1s)).value(), "abc");
  EXPECT_EQ(f.link.connects(), 1u);
  // A reply with two lines: the second is stale by the next query, and is discarded.
  EXPECT_EQ(f.b.run(f.link.async_query("TWO?", 1s)).value(), "one");
  EXPECT_EQ(f.b.run(f.link.async_query("X?", 1s)).value(), "echo:X?");
}

TEST(TcpLine, OverlongReplyIsABadReply) {
  client_fixture f;
  auto r = f.b.run(f.link.async_query("LONG?", 1s));
  EXPECT_EQ(r.error(), errc::bad_reply);
  EXPECT_EQ(f.link.last_error(), "reply: reply longer than 4096 bytes without a line end");
  EXPECT_FALSE(f.link.is_open());
  EXPECT_TRUE(f.b.run(f.link.async_query("X?", 1s)));
  EXPECT_EQ(f.link.connects(), 2u);
}

TEST(TcpLine, NoReplyTimesOutInVirtualTime) {
  client_fixture f;
  auto r = f.b.run(f.link.async_query("SILENT", 100ms));
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_EQ(f.link.last_error(), "no reply within 0.100s");
  EXPECT_EQ(f.b.clk.now(), hilt::clock::duration::zero()) << "harness time did not move";
}

TEST(TcpLine, NoReplyTimesOutInRealTime) {
  client_fixture f(hilt::clock_mode::real);
  auto r = f.b.run(f.link.async_query("SILENT", 100ms));
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_FALSE(f.link.is_open());
}

TEST(TcpLine, PeerThatDropsTheConnection) {
  client_fixture f;
  ASSERT_TRUE(f.b.run(f.link.async_query("A?", 1s)));
  f.srv.server->inject(hilt::emu::line_fault::drop);
  auto r = f.b.run(f.link.async_query("B?", 1s));
  EXPECT_EQ(r.error(), errc::disconnected);
  EXPECT_TRUE(has_text(f.link.last_error(), "connection closed by the peer"))
      << f.link.last_error();
  EXPECT_TRUE(f.b.run(f.link.async_query("C?", 1s))) << "reconnects";
  EXPECT_EQ(f.link.connects(), 2u);
}

TEST(TcpLine, Unreachable) {
  hilt::test::inst_bench b("");
  hilt::tcp_line_client link(b.io.get_executor(), &b.clk,
                             hilt::tcp_target{"127.0.0.1", hilt::test::closed_port()});
  EXPECT_EQ(b.run(link.async_query("X?", 1s)).error(), errc::unreachable);
  EXPECT_TRUE(has_text(link.last_error(), "Connection refused")) << link.last_error();
  hilt::tcp_line_client nowhere(b.io.get_executor(), &b.clk,
                                hilt::tcp_target{"no-such-host.invalid", 5025});
  EXPECT_EQ(b.run(nowhere.async_connect()), errc::unreachable);
  EXPECT_TRUE(has_text(nowhere.last_error(), "cannot resolve 'no-such-host.invalid'"))
      << nowhere.last_error();
}

TEST(TcpLine, ExchangesAreServedInOrder) {
  client_fixture f;
  std::vector<std::string> order;
  auto one = [&](std::string q) -> hilt::task<int> {
    auto guard = co_await f.link.async_lock();
    auto r = co_await f.link.async_query(q, 1s);
    order.push_back(r ? r.value() : r.error().message());
    co_return 0;
  };
  f.b.run([&]() -> hilt::task<int> {
    using namespace asio::experimental::awaitable_operators;
    co_await (one("1?") && one("2?") && one("3?"));
    co_return 0;
  }());
  EXPECT_EQ(order, (std::vector<std::string>{"echo:1?", "echo:2?", "echo:3?"}));
}

TEST(ModbusClient, CountsOutsideTheProtocolAreRefused) {
  hilt::test::inst_bench b("");
  hilt::modbus_tcp_client c(b.io.get_executor(), &b.clk, hilt::tcp_target{"127.0.0.1", 1});
  auto r = b.run(c.async_read_holding(0, 126, 1s));
  EXPECT_EQ(r.ec, errc::invalid_argument);
  EXPECT_EQ(r.detail, "126 registers requested; Modbus allows 1..125 (V1.1b3 §6.3, §6.12)");
  EXPECT_EQ(c.connects(), 0u);
}

TEST(ModbusClient, UnreachableAndTimeout) {
  hilt::test::inst_bench b("chambers:\n  - { name: c1 }\n");
  const auto port = hilt::test::closed_port();
  hilt::modbus_tcp_client nobody(b.io.get_executor(), &b.clk, hilt::tcp_target{"127.0.0.1", port});
  auto r = b.run(nobody.async_read_holding(100, 1, 1s));
  EXPECT_EQ(r.ec, errc::unreachable);
  EXPECT_EQ(r.detail, fmt::format("cannot connect to 127.0.0.1:{}: Connection refused", port));

  auto ep = b.emulation->tcp("c1");
  ASSERT_TRUE(ep);
  auto& server = *b.emu->chamber("c1")->server;
  hilt::modbus_tcp_client c(b.io.get_executor(), &b.clk,
                            hilt::tcp_target{"127.0.0.1", ep.value().port});
  auto pv = b.run(c.async_read_holding(100, 1, 1s));
  ASSERT_TRUE(pv) << pv.detail;
  EXPECT_EQ(pv.registers, (std::vector<std::uint16_t>{250}));
  server.inject(hilt::emu::modbus_fault::stall);
  auto t = b.run(c.async_read_holding(100, 1, 150ms));
  EXPECT_EQ(t.ec, errc::timeout);
  EXPECT_EQ(t.detail, "no reply within 0.150s");
  EXPECT_EQ(b.clk.now(), hilt::clock::duration::zero());
  auto again = b.run(c.async_read_holding(100, 1, 1s));
  EXPECT_TRUE(again) << again.detail;
  EXPECT_EQ(c.connects(), 2u) << "a new connection after the timeout";
  // Writes: one register, then several.
  EXPECT_TRUE(b.run(c.async_write_register(300, 400, 1s)));
  EXPECT_TRUE(b.run(c.async_write_registers(300, {450, 20}, 1s)));
  EXPECT_DOUBLE_EQ(b.emu->chamber("c1")->chamber->setpoint_c(), 45.0);
  EXPECT_DOUBLE_EQ(b.emu->chamber("c1")->chamber->ramp_c_per_min(), 2.0);
  auto ill = b.run(c.async_write_register(100, 1, 1s));  // the process value is read-only
  EXPECT_EQ(ill.ec, errc::instrument_error);
  EXPECT_EQ(ill.exception, 2);
  EXPECT_EQ(hilt::modbus_exception_name(ill.exception), std::string("illegal data address"));
}

}  // namespace
