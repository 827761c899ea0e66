#include "hilt/emu/world.hpp"

namespace hilt::emu {

world::world(hilt::clock* clk, std::uint64_t seed, double ambient_c)
    : clock_(clk), seed_(seed), ambient_c_(ambient_c) {}

world::world(std::shared_ptr<const world> base, std::function<double(time_point)> ambient)
    : clock_(nullptr),
      base_(std::move(base)),
      ambient_fn_(std::move(ambient)),
      seed_(base_->seed()),
      ambient_c_(base_->ambient_c()) {}

std::uint64_t world::derive_seed(std::uint64_t salt) const noexcept {
  std::uint64_t s = seed_ ^ (salt * 0xD1B54A32D192ED03ull);
  return splitmix64(s);
}

}  // namespace hilt::emu
