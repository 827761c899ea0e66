// The emulated switch ASIC (drivers/emu asic.hpp): counter reads per second through the wire
// handler (docs/asic.md JSON lines, parsed and answered) and through the model directly, and the
// wall time to simulate one minute of PRBS and RS-544 FEC on all 512 lanes of a 51.2T ASIC in
// virtual time (one lazy evaluation per lane and port).
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include "hilt/emu/asic.hpp"
#include "hilt/emu/world.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::emu::emulated_asic;
using hilt::emu::world;

struct rig {
  std::shared_ptr<world> w = std::make_shared<world>(nullptr, 1, 25.0);
  std::shared_ptr<emulated_asic> asic;
  rig() {
    auto o = *hilt::emu::asic_preset("51t2");
    o.loopback = true;  // every lane hears its own Tx: all 512 checkers lock
    o.label = "asic0";
    asic = std::make_shared<emulated_asic>(w, o, 7);
    for (int p = 1; p <= 64; ++p) {
      asic->set_prbs(p, hilt::prbs_pattern::prbs31q, hilt::prbs_config::enable_tx_rx);
      asic->set_fec_mode(p, hilt::fec_mode::rs544);
    }
  }
};

void BM_AsicCounterReadWire(benchmark::State& state) {
  rig r;
  const std::string req =
      R"({"op":"get","port":1,"attrs":["HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS","SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST"]})";
  std::int64_t ns = 0;
  for (auto _ : state) {
    ns += 1000;  // 1 us of virtual time per read: every read evaluates the ASIC
    r.w->set_manual_time(std::chrono::nanoseconds(ns));
    auto reply = r.asic->handle(req);
    benchmark::DoNotOptimize(reply);
  }
  state.counters["reads/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AsicCounterReadWire);

void BM_AsicFecStatsWire(benchmark::State& state) {
  rig r;
  std::string req =
      R"({"op":"stats","port":1,"counters":["SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES","SAI_PORT_STAT_IF_IN_FEC_NOT_CORRECTABLE_FRAMES")";
  for (int k = 0; k <= 16; ++k)
    req += ",\"SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S" + std::to_string(k) + "\"";
  req += "]}";
  std::int64_t ns = 0;
  for (auto _ : state) {
    ns += 1000;
    r.w->set_manual_time(std::chrono::nanoseconds(ns));
    auto reply = r.asic->handle(req);
    benchmark::DoNotOptimize(reply);
  }
  state.counters["reads/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AsicFecStatsWire);

void BM_AsicCounterReadModel(benchmark::State& state) {
  rig r;
  std::int64_t ns = 0;
  for (auto _ : state) {
    ns += 1000;
    r.w->set_manual_time(std::chrono::nanoseconds(ns));
    auto s = r.asic->prbs_read(1);
    benchmark::DoNotOptimize(s);
  }
  state.counters["reads/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AsicCounterReadModel);

// One minute of PRBS + FEC on 64 ports x 8 lanes, then every port's counters read.
void BM_AsicOneMinute512Lanes(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    rig r;
    state.ResumeTiming();
    r.w->set_manual_time(60s);
    std::uint64_t bits = 0;
    for (int p = 1; p <= 64; ++p) {
      for (const auto& l : r.asic->prbs_read(p))
        bits += l.bits;
      benchmark::DoNotOptimize(r.asic->fec_read(p));
    }
    if (bits < 512ull * 60 * 106'000'000'000ull) state.SkipWithError("not every lane locked");
  }
}
BENCHMARK(BM_AsicOneMinute512Lanes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
