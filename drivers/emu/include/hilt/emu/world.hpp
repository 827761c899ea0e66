// The world model: the physical surroundings emulated devices share.
//
// This first slice holds the ambient temperature and the time. Time is harness time
// (hilt::clock::now(), real or virtual; DESIGN.md rule 4); without a clock (unit tests, benchmarks)
// it is a manual time that only moves when set_manual_time() is called. Emulated devices never
// run timers: they evaluate their state lazily from now() whenever they are accessed, so virtual
// time works without any callback.
//
// Coupling: devices inside an emulated chamber get a view of the world (same time, same seed)
// whose ambient temperature is the chamber's air temperature at the moment they ask
// (world(base, ambient)). Supplies and regulators feed power rails (power_rail.hpp) whose load is
// the modelled dissipation of the devices on them. Every random draw derives from seed().
//
// Threading: now() and ambient_c() may be called from any thread (the clock is atomic; an ambient
// source locks itself).
//
// Coupling lock: devices whose state depends on each other (modules on one bus — a CPO engine and
// its ELSFP —, modules joined by fibers, an ASIC and the modules on its lanes; link_graph.hpp)
// answer each other's questions while they evaluate themselves. They all lock the one recursive
// coupling_mutex() of their base world instead of a mutex of their own, so a chain of queries
// (module -> far module -> ASIC -> module) can never deadlock. Lock order: supply -> rail ->
// coupling lock -> chamber / attenuator (a chamber or an attenuator never calls into a device
// while holding its own lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "hilt/clock.hpp"

namespace hilt::emu {

class world {
 public:
  using time_point = hilt::clock::time_point;

  // `clk` may be null: the world then runs on manual time starting at zero.
  world(hilt::clock* clk, std::uint64_t seed, double ambient_c);
  // A view of `base` (its time, its seed) whose ambient temperature is `ambient(now)`: the air of
  // a chamber the devices sit in. `ambient` must not call back into the devices that read it.
  world(std::shared_ptr<const world> base, std::function<double(time_point)> ambient);

  time_point now() const noexcept {
    return base_ ? base_->now() : clock_ ? clock_->now() : manual_now_;
  }
  // Manual time (no clock); for a view, set it on the base world.
  void set_manual_time(time_point t) noexcept { manual_now_ = t; }
  bool has_clock() const noexcept { return base_ ? base_->has_clock() : clock_ != nullptr; }

  // Ambient (air) temperature around the devices, degrees C. A change takes effect from the
  // moment each device next evaluates its state.
  double ambient_c() const noexcept { return ambient_fn_ ? ambient_fn_(now()) : ambient_c_; }
  // The fixed ambient (room) temperature of a world without an ambient source.
  void set_ambient_c(double c) noexcept { ambient_c_ = c; }

  std::uint64_t seed() const noexcept { return seed_; }

  // The one coupling lock of the base world (a view forwards to its base): see above.
  std::recursive_mutex& coupling_mutex() const noexcept {
    return base_ ? base_->coupling_mutex() : coupling_mu_;
  }
  // A seed for one named consumer (a module, a bus target), stable for a given world seed.
  std::uint64_t derive_seed(std::uint64_t salt) const noexcept;

 private:
  hilt::clock* clock_;
  std::shared_ptr<const world> base_;
  std::function<double(time_point)> ambient_fn_;
  time_point manual_now_{};
  std::uint64_t seed_;
  double ambient_c_;
  mutable std::recursive_mutex coupling_mu_;
};

// splitmix64: small, fast, good enough for noise and fault decisions; deterministic everywhere.
inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// A uniform double in [0, 1) from a generator state.
inline double uniform01(std::uint64_t& state) noexcept {
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}

}  // namespace hilt::emu
