// Bench instruments on loopback: SCPI query round trips and Modbus register round trips per
// second, each through hilt's own transport (and driver) and against a plain blocking client for
// scale. The emulated instrument runs on its own thread, as it does in a bench's emulation.
//
//   cmake -S . -B build/rel -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
//   cmake --build build/rel --target hilt_instruments_bench &&
//   build/rel/bench/hilt_instruments_bench
//
// Reference (docs/platform notes, 2-core machine): a line-based SCPI exchange on Asio ~137 k/s,
// Modbus TCP with libmodbus ~125 k/s.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "hilt/clock.hpp"
#include "hilt/emu/chamber_server.hpp"
#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/modbus_chamber/chamber.hpp"
#include "hilt/modbus_chamber/register_map.hpp"
#include "hilt/scpi_psu/model.hpp"
#include "hilt/scpi_psu/supply.hpp"
#include "hilt/transport/modbus.hpp"
#include "hilt/transport/tcp_line.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// The emulated supply behind a line server, on its own thread.
struct psu_server {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::shared_ptr<hilt::emu::scpi_psu_emulator> psu;
  std::shared_ptr<hilt::emu::line_server> server;
  std::thread th;
  psu_server() {
    hilt::emu::scpi_psu_options o;
    o.load_ohms = 10;
    psu = std::make_shared<hilt::emu::scpi_psu_emulator>(
        hilt::scpi_psu::load_named_model("keysight-e36xx"), o);
    psu->set_output(1, 3.3, 1, true);
    auto p = psu;
    server = std::make_shared<hilt::emu::line_server>(
        io.get_executor(), [p](std::string_view line) { return p->handle(line); });
    server->start();
    th = std::thread([this] { io.run(); });
  }
  ~psu_server() {
    work.reset();
    io.stop();
    th.join();
    server->stop();
  }
};

// The emulated chamber's libmodbus server (its own thread).
struct chamber_server {
  std::shared_ptr<hilt::emu::world> world = std::make_shared<hilt::emu::world>(nullptr, 1, 23.0);
  std::shared_ptr<hilt::emu::chamber_model> chamber =
      std::make_shared<hilt::emu::chamber_model>(world, hilt::emu::chamber_params{});
  hilt::emu::modbus_chamber_server server{chamber,
                                          hilt::modbus_chamber::load_named_map("watlow-f4t")};
  chamber_server() { server.start(); }
};

// Runs `body` as a coroutine on a real-time harness clock, to completion.
template <class F>
void run_on_clock(F body) {
  asio::io_context io;
  hilt::clock clk(io, hilt::clock_mode::real);
  asio::co_spawn(io, body(io, clk), asio::detached);
  io.run();
}

// g++ 12 at -O2 reports Asio's recycling coroutine-frame allocator as -Wmismatched-new-delete
// when a coroutine that owns a device is inlined into its caller; a false positive.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

hilt::task<void> scpi_transport_loop(benchmark::State& state, std::uint16_t port,
                                     asio::io_context& io, hilt::clock& clk) {
  hilt::tcp_line_client link(io.get_executor(), &clk, hilt::tcp_target{"127.0.0.1", port});
  for (auto _ : state) {
    auto r = co_await link.async_query("MEAS:VOLT?", 2s);
    if (!r) state.SkipWithError("query failed");
  }
}

hilt::task<void> scpi_driver_loop(benchmark::State& state, std::uint16_t port, asio::io_context& io,
                                  hilt::clock& clk) {
  hilt::scpi_psu::supply_options o;
  o.model = hilt::scpi_psu::load_named_model("keysight-e36xx");
  auto logger = std::make_shared<spdlog::logger>("bench");
  hilt::scpi_psu::scpi_supply psu("psu1", "scpi-psu:bench", {io.get_executor(), &clk, logger},
                                  hilt::tcp_target{"127.0.0.1", port}, o);
  auto first = co_await psu.async_measure_voltage(1);  // selects the channel once
  if (!first) state.SkipWithError("first measure failed");
  for (auto _ : state) {
    auto r = co_await psu.async_measure_voltage(1);
    if (!r) state.SkipWithError("measure failed");
  }
}

hilt::task<void> modbus_transport_loop(benchmark::State& state, std::uint16_t port,
                                       asio::io_context& io, hilt::clock& clk) {
  hilt::modbus_tcp_client c(io.get_executor(), &clk, hilt::tcp_target{"127.0.0.1", port});
  for (auto _ : state) {
    auto r = co_await c.async_read_holding(100, 1, 2s);
    if (!r) state.SkipWithError("read failed");
  }
}

hilt::task<void> modbus_driver_loop(benchmark::State& state, std::uint16_t port,
                                    asio::io_context& io, hilt::clock& clk) {
  hilt::modbus_chamber::chamber_options o;
  o.map = hilt::modbus_chamber::load_named_map("watlow-f4t");
  auto logger = std::make_shared<spdlog::logger>("bench");
  hilt::modbus_chamber::modbus_chamber ch("chamber1", "modbus-chamber:bench",
                                          {io.get_executor(), &clk, logger},
                                          hilt::tcp_target{"127.0.0.1", port}, o);
  for (auto _ : state) {
    auto r = co_await ch.async_read_temperature();
    if (!r) state.SkipWithError("read failed");
  }
}

// hilt's TCP line transport: one "MEAS:VOLT?" -> reply per iteration.
void bm_scpi_query_transport(benchmark::State& state) {
  psu_server srv;
  run_on_clock([&](asio::io_context& io, hilt::clock& clk) {
    return scpi_transport_loop(state, srv.server->port(), io, clk);
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_scpi_query_transport)->UseRealTime();

// The scpi-psu driver: measure_voltage (channel already selected: one round trip), through the
// device watchdog and the connection lock.
void bm_scpi_measure_driver(benchmark::State& state) {
  psu_server srv;
  run_on_clock([&](asio::io_context& io, hilt::clock& clk) {
    return scpi_driver_loop(state, srv.server->port(), io, clk);
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_scpi_measure_driver)->UseRealTime();

// For scale: a plain blocking socket doing the same exchange.
void bm_scpi_query_blocking_socket(benchmark::State& state) {
  psu_server srv;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(srv.server->port());
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    state.SkipWithError("connect failed");
    ::close(fd);
    return;
  }
  const std::string q = "MEAS:VOLT?\n";
  char buf[256];
  for (auto _ : state) {
    if (::write(fd, q.data(), q.size()) != static_cast<ssize_t>(q.size())) {
      state.SkipWithError("write failed");
      break;
    }
    ssize_t got = 0;
    while (got == 0 || buf[got - 1] != '\n') {
      const ssize_t n = ::read(fd, buf + got, sizeof buf - static_cast<std::size_t>(got));
      if (n <= 0) break;
      got += n;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_scpi_query_blocking_socket)->UseRealTime();

// hilt's Modbus transport: read one holding register (the process value) per iteration, through
// the worker thread and back to the coroutine.
void bm_modbus_read_transport(benchmark::State& state) {
  chamber_server srv;
  run_on_clock([&](asio::io_context& io, hilt::clock& clk) {
    return modbus_transport_loop(state, srv.server.port(), io, clk);
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_modbus_read_transport)->UseRealTime();

// The modbus-chamber driver: read_temperature (process value + alarms: two transactions).
void bm_modbus_read_temperature_driver(benchmark::State& state) {
  chamber_server srv;
  run_on_clock([&](asio::io_context& io, hilt::clock& clk) {
    return modbus_driver_loop(state, srv.server.port(), io, clk);
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_modbus_read_temperature_driver)->UseRealTime();

// For scale: libmodbus called directly, blocking, on the benchmark thread.
void bm_modbus_read_blocking_libmodbus(benchmark::State& state) {
  chamber_server srv;
  modbus_t* ctx = modbus_new_tcp("127.0.0.1", srv.server.port());
  if (!ctx || modbus_connect(ctx) != 0) {
    state.SkipWithError("connect failed");
    if (ctx) modbus_free(ctx);
    return;
  }
  std::uint16_t reg = 0;
  for (auto _ : state) {
    if (modbus_read_registers(ctx, 100, 1, &reg) != 1) {
      state.SkipWithError("read failed");
      break;
    }
  }
  modbus_close(ctx);
  modbus_free(ctx);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_modbus_read_blocking_libmodbus)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
