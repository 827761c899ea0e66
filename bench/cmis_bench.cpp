// CMIS register access throughput: driver page map -> emulated I2C bus -> emulated CMIS module,
// on one core, synchronous path (the one drivers use for register access).
//
//   cmake --preset release && cmake --build --preset release --target hilt_cmis_bench
//   build/release/bench/hilt_cmis_bench
//
// Goals (release build, one core): >= 1 M one-byte reads/s, >= 200 k 128-byte page reads/s.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "hilt/cmis/page_map.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/emu/world.hpp"

namespace {

struct rig {
  std::shared_ptr<hilt::emu::world> world = std::make_shared<hilt::emu::world>(nullptr, 1, 25.0);
  std::shared_ptr<hilt::emu::emu_i2c_bus> bus = std::make_shared<hilt::emu::emu_i2c_bus>("port1");
  std::unique_ptr<hilt::cmis::page_map> map;
  rig() {
    auto p = hilt::emu::load_profile(std::string(HILT_REPO_DIR) +
                                     "/fixtures/profiles/qsfpdd-400g-dr4.yaml");
    bus->attach(0x50, std::make_shared<hilt::emu::cmis_module>(
                          world, p, hilt::emu::cmis_module_options{}, 1));
    map = std::make_unique<hilt::cmis::page_map>(bus, 0x50);
  }
};

// One byte of lower memory (module state, 00h:3): the polling access.
void bm_read_byte_lower(benchmark::State& state) {
  rig r;
  std::uint8_t b = 0;
  for (auto _ : state) {
    if (r.map->read(0, 0x00, 3, std::span(&b, 1))) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_read_byte_lower);

// One byte of an upper page that stays selected (01h:167).
void bm_read_byte_upper(benchmark::State& state) {
  rig r;
  std::uint8_t b = 0;
  for (auto _ : state) {
    if (r.map->read(0, 0x01, 167, std::span(&b, 1))) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_read_byte_upper);

// A whole 128-byte upper page (static page 00h), page already selected.
void bm_read_page_static(benchmark::State& state) {
  rig r;
  std::vector<std::uint8_t> buf(128);
  for (auto _ : state) {
    if (r.map->read(0, 0x00, 128, buf)) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 128);
}
BENCHMARK(bm_read_page_static);

// Page 11h: lane states and monitors recomputed from the model on every read.
void bm_read_page_monitors(benchmark::State& state) {
  rig r;
  std::vector<std::uint8_t> buf(128);
  for (auto _ : state) {
    if (r.map->read(0, 0x11, 128, buf)) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 128);
}
BENCHMARK(bm_read_page_monitors);

// Alternating pages 00h and 01h: every read pays a PageSelect write.
void bm_read_page_switching(benchmark::State& state) {
  rig r;
  std::vector<std::uint8_t> buf(128);
  std::uint8_t page = 0;
  for (auto _ : state) {
    if (r.map->read(0, page, 128, buf)) state.SkipWithError("read failed");
    page ^= 1;
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_read_page_switching);

// PRBS counters of four media checkers (page 14h, selector 04h): every read settles the lazily
// counted bits and Poisson-drawn errors up to now.
void bm_read_prbs_counters(benchmark::State& state) {
  rig r;
  const std::uint8_t en[] = {0x0F};
  const std::uint8_t sel[] = {0x04};
  if (r.map->write(0, 0x13, 152, en) || r.map->write(0, 0x13, 168, en) ||
      r.map->write(0, 0x14, 128, sel)) {
    state.SkipWithError("setup failed");
  }
  std::vector<std::uint8_t> buf(64);
  std::int64_t t = 0;
  for (auto _ : state) {
    r.world->set_manual_time(hilt::clock::duration(t += 1'000'000));  // 1 ms per read
    if (r.map->read(0, 0x14, 192, buf)) state.SkipWithError("read failed");
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_read_prbs_counters);

// A whole EEPROM dump of the DR4 profile (13 pages in 128-byte reads), as `hilt eeprom dump`.
void bm_dump_pages(benchmark::State& state) {
  rig r;
  std::vector<std::uint8_t> buf(128);
  static constexpr std::uint8_t pages[] = {0x00, 0x01, 0x02, 0x10, 0x11, 0x13, 0x14,
                                           0x20, 0x24, 0x28, 0x2C, 0x2D, 0x2F};
  for (auto _ : state) {
    if (r.map->read(0, 0x00, 0, buf)) state.SkipWithError("read failed");
    for (auto p : pages) {
      if (r.map->read(0, p, 128, buf)) state.SkipWithError("read failed");
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_dump_pages);

}  // namespace

BENCHMARK_MAIN();
