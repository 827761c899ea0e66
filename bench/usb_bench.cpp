// Transfers per second through the USB device models (tests/usb): hilt's CP2112 and USBTMC
// transports on the real libusb, against the umockdev models in the same process — what a CI run
// of the CMIS and SCPI drivers over USB costs. Real hardware is slower per transaction (a CP2112
// interrupt transfer takes a 1 ms USB frame); these figures measure hilt + libusb + umockdev.
//
//   build/release/bench/hilt_usb_bench            (re-executes itself with libumockdev-preload)
//
// Counters: usb_transfers/s (libusb transfers: interrupt reports, bulk messages), and the
// transactions per second of the benchmark's name (one CMIS page read = one CP2112 write-read
// transaction = 1 request + status polls + 3 force-send/response pairs; one SCPI query = 3 bulk
// transfers).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cp2112_model.hpp"
#include "hilt/clock.hpp"
#include "hilt/emu/emulation.hpp"
#include "hilt/transport/usb_cp2112.hpp"
#include "hilt/transport/usb_tmc.hpp"
#include "usbtmc_model.hpp"

namespace {

namespace asio = boost::asio;

struct world {
  asio::io_context io;
  hilt::clock clk{io, hilt::clock_mode::real};
  std::unique_ptr<hilt::emulation> emulation;
  hilt::emu::bench_emulation* emu = nullptr;
  std::unique_ptr<hilt::usbtest::testbed> bed;
  std::shared_ptr<hilt::usbtest::cp2112_model> bridge;
  std::shared_ptr<hilt::usbtest::usbtmc_model> psu;

  world() {
    const std::string yaml = std::string("modules:\n  - { bus: cage1, profile: ") + HILT_REPO_DIR +
                             "/fixtures/profiles/qsfpdd-400g-dr4.yaml }\n"
                             "supplies:\n  - { name: psu1, model: keysight-e36xx }\n";
    emulation =
        hilt::emu::make_emulation(YAML::Load(yaml), hilt::emulation_env{nullptr, 1, "usb_bench"});
    emu = dynamic_cast<hilt::emu::bench_emulation*>(emulation.get());
    bed = std::make_unique<hilt::usbtest::testbed>();
    bridge = std::make_shared<hilt::usbtest::cp2112_model>("BENCH2112", emu->bus("cage1"));
    psu = std::make_shared<hilt::usbtest::usbtmc_model>(0x2A8D, 0x1102, "BENCHPSU",
                                                        emu->supply("psu1")->psu);
    bed->plug(bridge);
    bed->plug(psu);
  }

  template <class T>
  T run(asio::awaitable<T> op) {
    std::optional<T> out;
    asio::co_spawn(
        io,
        [&out, op = std::move(op)]() mutable -> asio::awaitable<void> {
          out.emplace(co_await std::move(op));
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run();
    io.restart();
    return std::move(*out);
  }
};

world& the_world() {
  static world w;
  return w;
}

void BM_Cp2112CmisPageRead(benchmark::State& state) {
  auto& w = the_world();
  std::string why;
  auto bus = hilt::cp2112_bus::open("BENCH2112", &w.clk, &why);
  if (!bus) {
    state.SkipWithError(why.c_str());
    return;
  }
  auto b = std::move(bus).value();
  const std::uint8_t ptr = 0x80;  // upper page 00h: 128 bytes in one write-read transaction
  std::vector<std::uint8_t> page(128);
  const auto usb0 = b->usb_transfers();
  std::int64_t n = 0;
  for (auto _ : state) {
    auto ec = w.run(b->async_transfer(0x50, std::span(&ptr, 1), page));
    if (ec) {
      state.SkipWithError(b->last_error().c_str());
      return;
    }
    ++n;
  }
  state.counters["page_reads/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["usb_transfers/s"] = benchmark::Counter(
      static_cast<double>(b->usb_transfers() - usb0), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Cp2112CmisPageRead)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

void BM_Cp2112RegisterWrite(benchmark::State& state) {
  auto& w = the_world();
  std::string why;
  auto bus = hilt::cp2112_bus::open("BENCH2112", &w.clk, &why);
  if (!bus) {
    state.SkipWithError(why.c_str());
    return;
  }
  auto b = std::move(bus).value();
  const std::uint8_t sel[2] = {0x7F, 0x00};  // PageSelect = 00h
  const auto usb0 = b->usb_transfers();
  std::int64_t n = 0;
  for (auto _ : state) {
    auto ec = w.run(b->async_transfer(0x50, std::span(sel, 2), {}));
    if (ec) {
      state.SkipWithError(b->last_error().c_str());
      return;
    }
    ++n;
  }
  state.counters["writes/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["usb_transfers/s"] = benchmark::Counter(
      static_cast<double>(b->usb_transfers() - usb0), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Cp2112RegisterWrite)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

void BM_UsbtmcScpiQuery(benchmark::State& state) {
  auto& w = the_world();
  hilt::usbtmc_client link(w.io.get_executor(), &w.clk, hilt::usb::selector::parse("BENCHPSU"));
  if (auto ec = w.run(link.async_connect())) {
    state.SkipWithError(link.last_error().c_str());
    return;
  }
  const auto usb0 = link.usb_transfers();
  std::int64_t n = 0;
  for (auto _ : state) {
    auto r = w.run(link.async_query("MEAS:VOLT?", std::chrono::seconds(2)));
    if (!r) {
      state.SkipWithError(link.last_error().c_str());
      return;
    }
    ++n;
  }
  state.counters["queries/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["usb_transfers/s"] = benchmark::Counter(
      static_cast<double>(link.usb_transfers() - usb0), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_UsbtmcScpiQuery)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // The models need libumockdev-preload.so: re-execute with it unless it is loaded already.
  const char* pre = std::getenv("LD_PRELOAD");
  if (!(pre && std::string(pre).find("libumockdev-preload") != std::string::npos) &&
      !std::getenv("HILT_USB_REEXEC")) {
    if (void* h = dlopen("libumockdev-preload.so.0", RTLD_LAZY | RTLD_LOCAL)) {
      dlclose(h);
      std::string p = "libumockdev-preload.so.0";
      if (pre && *pre) p += std::string(":") + pre;
      setenv("LD_PRELOAD", p.c_str(), 1);
      setenv("HILT_USB_REEXEC", "1", 1);
      execv("/proc/self/exe", argv);
    }
    std::fprintf(stderr, "hilt_usb_bench: umockdev is not installed (libumockdev-preload.so.0)\n");
    return 77;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
