#include "hilt/bench.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "hilt/log.hpp"
#include "hilt/transport/i2c.hpp"
#include "hilt/transport/i2c_dev.hpp"
#include "hilt/transport/usb_cp2112.hpp"

namespace hilt {

bench::bench(const fixture& f, const driver_registry& registry, hilt::clock& clk,
             std::uint64_t seed)
    : clock_(clk) {
  auto lg = log::get("bench");
  if (f.emulation.IsMap()) {  // a fixture without the section holds a null node, not "none"
    if (!registry.emulation()) {
      throw config_error(f.path,
                         "the fixture has an 'emulation:' section but no emulation "
                         "factory is registered");
    }
    emulation_ = registry.emulation()(f.emulation, emulation_env{&clk, seed, f.path});
    // The cabling between emulated devices is physics too: before any device is opened.
    emulation_->connect(emulated_links(f));
  }
  links_ = f.links;
  for (const auto& e : f.devices) {
    const auto* reg = registry.find(e.address.driver);
    if (!reg) {
      throw config_error(
          e.where, fmt::format("no driver named '{}' (see `hilt drivers`)", e.address.driver));
    }
    device_slot s;
    s.name = e.name;
    s.address = e.address;
    s.driver_origin = reg->origin;
    s.calibration_due = e.calibration_due;
    make_args args;
    args.name = e.name;
    args.address = e.address;
    args.options = e.options;
    args.source = f.path;
    args.context =
        device_context{clk.context().get_executor(), &clk, log::get(reg->drv->info().name)};
    args.services = this;
    auto made = reg->drv->make(args);  // config_error propagates: a fixture mistake
    if (made) {
      s.device = std::move(made.value());
    } else {
      s.open_error = made.error();
      lg->error("{}: cannot open {}: {}", e.name, e.address.text, s.open_error.message());
    }
    devices_.push_back(std::move(s));
  }
  for (const auto& d : f.duts)
    duts_.push_back(dut{d.slot, d.name, d.module});
  check_links_against_devices();
}

void bench::check_links_against_devices() {
  // What only the opened devices know: an ASIC's ports and lanes, a module's lane count. (The
  // emulation checked its own ends already; this covers real devices too.)
  for (const auto& e : links_.electrical) {
    auto* asic = dynamic_cast<switch_asic*>(find(e.asic));
    if (asic && !asic->port_groups().empty()) {
      const int lanes = asic->lanes_of(e.port);
      if (lanes == 0) {
        throw config_error(e.where, fmt::format("ASIC '{}' has no port {}", e.asic, e.port));
      }
      for (int l : e.asic_lanes) {
        if (l > lanes) {
          throw config_error(e.where, fmt::format("ASIC '{}' port {} has lanes 1-{}; there is no "
                                                  "lane {}",
                                                  e.asic, e.port, lanes, l));
        }
      }
    }
    auto* m = dynamic_cast<managed_module*>(find(e.module));
    if (m && m->lane_count() > 0) {
      for (int l : e.host_lanes) {
        if (l > m->lane_count()) {
          throw config_error(e.where, fmt::format("module '{}' has host lanes 1-{}; there is no "
                                                  "host lane {}",
                                                  e.module, m->lane_count(), l));
        }
      }
    }
  }
}

bench::~bench() = default;

hilt::device* bench::find(std::string_view name) noexcept {
  auto* s = find_slot(name);
  return s ? s->device.get() : nullptr;
}

bench::device_slot* bench::find_slot(std::string_view name) noexcept {
  for (auto& s : devices_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

result<std::shared_ptr<i2c_bus>> bench::i2c(std::string_view transport, std::string_view name) {
  if (transport == "emu-i2c") {
    if (!emulation_) {
      log::get("bench")->error("emu-i2c:{}: this fixture has no emulation section", name);
      return failure(make_error_code(errc::device_not_found));
    }
    return emulation_->i2c(name);
  }
  if (transport == "i2c-dev") {
    // One handle per adapter, shared by every device on it.
    if (auto it = real_i2c_.find(name); it != real_i2c_.end()) return it->second;
    std::string why;
    auto bus = i2c_dev_bus::open(std::string(name), &why);
    if (!bus) {
      log::get("bench")->error("{}", why);
      return failure(bus.error());
    }
    std::shared_ptr<i2c_bus> b = std::move(bus.value());
    real_i2c_.emplace(std::string(name), b);
    return b;
  }
  if (transport == "cp2112") {
    // A CP2112 USB-to-SMBus bridge (docs/usb.md): one handle per bridge, shared likewise.
    const std::string key = "cp2112:" + std::string(name);
    if (auto it = real_i2c_.find(key); it != real_i2c_.end()) return it->second;
    std::string why;
    auto bus = cp2112_bus::open(name, &clock_, &why);
    if (!bus) {
      log::get("bench")->error("cp2112:{}: {}", name, why);
      return failure(bus.error());
    }
    std::shared_ptr<i2c_bus> b = std::move(bus.value());
    real_i2c_.emplace(key, b);
    return b;
  }
  log::get("bench")->error("unknown I2C transport '{}' (known: emu-i2c, i2c-dev, cp2112)",
                           transport);
  return failure(make_error_code(errc::invalid_argument));
}

result<tcp_endpoint> bench::tcp(std::string_view transport, std::string_view name) {
  if (transport != "emu-tcp") {
    log::get("bench")->error("unknown TCP service '{}:{}' (known: emu-tcp)", transport, name);
    return failure(make_error_code(errc::invalid_argument));
  }
  if (!emulation_) {
    log::get("bench")->error("emu-tcp:{}: this fixture has no emulation section", name);
    return failure(make_error_code(errc::device_not_found));
  }
  auto ep = emulation_->tcp(name);
  if (!ep) log::get("bench")->error("emu-tcp:{}: {}", name, ep.error().message());
  return ep;
}

namespace {

// One device's safe state. Parameters by value or pointing into the caller's frame, which waits
// for every such coroutine: a capturing coroutine lambda would dangle.
task<void> safe_one(hilt::clock& clk, bench::device_slot* s, clock::duration per_device,
                    const bench::safe_state_reporter* report, int* unconfirmed) {
  auto lg = log::get("bench");
  const auto t0 = clk.now();
  std::error_code ec;
  try {
    ec = co_await s->device->async_safe_state(per_device);
  } catch (const std::exception& e) {
    lg->error("safe state: {}: {}", s->name, e.what());
    ec = make_error_code(errc::io_error);
  }
  const bool confirmed = !ec || ec == make_error_code(errc::not_supported);
  if (!confirmed) {
    ++*unconfirmed;
    lg->error("safe state: {} ({}) did not confirm: {}", s->name, s->address.text, ec.message());
  } else {
    lg->info("safe state: {} ({}) safe", s->name, s->address.text);
  }
  if (*report) (*report)(*s, ec, std::chrono::duration<double>(clk.now() - t0).count());
}

}  // namespace

task<int> bench::async_safe_state(clock::duration per_device, safe_state_reporter report) {
  int unconfirmed = 0;
  struct join_state {
    std::size_t left = 0;
    std::optional<asio::any_completion_handler<void()>> done;
  } js;
  std::vector<device_slot*> todo;
  // Lasers first: a module left lit is the hazard; supplies and chambers follow. Within a class
  // every device is driven at once, so that a bench of dead devices is still safe within about
  // one `per_device` per class rather than one per device.
  for (auto kind :
       {device_class::managed_module, device_class::optical_attenuator, device_class::switch_asic,
        device_class::power_supply, device_class::power_monitor, device_class::thermal_chamber}) {
    todo.clear();
    for (auto& s : devices_) {
      if (s.device && s.device->kind() == kind) todo.push_back(&s);
    }
    if (todo.empty()) continue;
    // js and todo live at function scope, not in the loop body: g++ 12 mis-destroyed a
    // shared_ptr local to the loop body across the co_await (a double release under valgrind).
    js.left = todo.size();
    for (auto* s : todo) {
      asio::co_spawn(clock_.context(), safe_one(clock_, s, per_device, &report, &unconfirmed),
                     [&js, this](std::exception_ptr e) {
                       if (e) log::get("bench")->error("safe state: harness error");
                       if (--js.left == 0 && js.done) {
                         // Resume the waiting coroutine from the queue, not from inside this
                         // handler.
                         asio::post(clock_.context(), [&js]() {
                           auto h = std::move(*js.done);
                           js.done.reset();
                           std::move(h)();
                         });
                       }
                     });
    }
    if (js.left > 0) {
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
          [&js](auto handler) {
            // Constructed in place: any_completion_handler must never be move-assigned (Asio 1.26).
            js.done.emplace(std::move(handler));
          },
          asio::use_awaitable);
    }
  }
  co_return unconfirmed;
}

}  // namespace hilt
