#include "hilt/emu/emulation.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "hilt/error.hpp"
#include "hilt/step.hpp"
#include "hilt/units.hpp"
#include "yaml_checked.hpp"

namespace hilt::emu {

using detail::as_bool;
using detail::as_int;
using detail::as_number;
using detail::as_quantity;
using detail::as_string;
using detail::checked_map;
using detail::fail_at;

// ---------------------------------------------------------------------------------------------
// bench_emulation

bench_emulation::bench_emulation(std::shared_ptr<world> w) : world_(std::move(w)) {}

bench_emulation::~bench_emulation() {
  // The libmodbus servers first (their threads read the chamber models), then the socket thread;
  // the line servers are closed once nothing runs them any more.
  for (auto& [name, c] : chambers_) {
    if (c.server) c.server->stop();
  }
  if (net_io_) {
    net_work_.reset();
    net_io_->stop();
    if (net_thread_.joinable()) net_thread_.join();
  }
  for (auto& [name, s] : supplies_) {
    if (s.server) s.server->stop();
  }
  for (auto& [name, a] : asics_) {
    if (a.server) a.server->stop();
  }
  for (auto& [name, v] : attenuators_) {
    if (v.server) v.server->stop();
  }
}

result<std::shared_ptr<hilt::i2c_bus>> bench_emulation::i2c(std::string_view name) {
  auto it = buses_.find(name);
  if (it == buses_.end()) return failure(make_error_code(errc::device_not_found));
  return std::shared_ptr<hilt::i2c_bus>(it->second);
}

boost::asio::any_io_executor bench_emulation::net_executor() {
  if (!net_io_) {
    net_io_ = std::make_unique<boost::asio::io_context>(1);
    net_work_.emplace(net_io_->get_executor());
    net_thread_ = std::thread([io = net_io_.get()] { io->run(); });
  }
  return net_io_->get_executor();
}

result<hilt::tcp_endpoint> bench_emulation::tcp(std::string_view name) {
  if (auto* s = supply(name)) {
    if (!s->server) {
      auto psu = s->psu;
      auto w = world_;
      const auto offline_at = s->offline_at;
      auto server = std::make_shared<line_server>(
          net_executor(),
          [psu, w, offline_at](std::string_view line) -> std::optional<std::string> {
            // Off the network: the line never reaches the instrument, nothing answers.
            if (offline_at && w->now() >= hilt::clock::time_point(*offline_at)) {
              return std::nullopt;
            }
            return psu->handle(line);
          },
          [psu] { psu->input_overrun(); });
      try {
        server->start("127.0.0.1", 0);
      } catch (const std::exception&) {
        return failure(make_error_code(errc::io_error));
      }
      s->server = std::move(server);
    }
    return hilt::tcp_endpoint{"127.0.0.1", s->server->port()};
  }
  if (auto* a = asic(name)) {
    if (!a->server) {
      auto model = a->asic;
      auto server = std::make_shared<line_server>(
          net_executor(), [model](std::string_view line) { return model->handle(line); });
      try {
        server->start("127.0.0.1", 0);
      } catch (const std::exception&) {
        return failure(make_error_code(errc::io_error));
      }
      a->server = std::move(server);
    }
    return hilt::tcp_endpoint{"127.0.0.1", a->server->port()};
  }
  if (auto* v = attenuator(name)) {
    if (!v->server) {
      auto voa = v->voa;
      auto server = std::make_shared<line_server>(
          net_executor(), [voa](std::string_view line) { return voa->handle(line); },
          [voa] { voa->input_overrun(); });
      try {
        server->start("127.0.0.1", 0);
      } catch (const std::exception&) {
        return failure(make_error_code(errc::io_error));
      }
      v->server = std::move(server);
    }
    return hilt::tcp_endpoint{"127.0.0.1", v->server->port()};
  }
  if (auto* c = chamber(name)) {
    if (!c->server) {
      auto server = std::make_unique<modbus_chamber_server>(c->chamber, c->map);
      if (c->errors_at) {
        auto w = world_;
        const auto at = *c->errors_at;
        server->fail_when([w, at] { return w->now() >= hilt::clock::time_point(at); });
      }
      try {
        server->start("127.0.0.1", 0);
      } catch (const std::exception&) {
        return failure(make_error_code(errc::io_error));
      }
      c->server = std::move(server);
    }
    return hilt::tcp_endpoint{"127.0.0.1", c->server->port()};
  }
  return failure(make_error_code(errc::device_not_found));
}

std::vector<std::string> bench_emulation::describe() const {
  std::vector<std::string> out;
  out.reserve(modules_.size() + supplies_.size() + chambers_.size() + regulators_.size());
  for (const auto& m : modules_)
    out.push_back(m->describe());
  for (const auto& [name, s] : supplies_)
    out.push_back(s.psu->describe(name));
  for (const auto& [name, c] : chambers_)
    out.push_back(c.chamber->describe(name));
  for (const auto& r : regulators_) {
    out.push_back(r.regulator->describe(fmt::format("{} {}", r.name, r.label)));
  }
  for (const auto& [name, a] : asics_)
    out.push_back(a.asic->describe());
  for (const auto& [name, v] : attenuators_)
    out.push_back(v.voa->describe(name));
  return out;
}

void bench_emulation::add_asic(std::string name, std::shared_ptr<emulated_asic> a) {
  asics_.emplace(std::move(name), asic_entry{std::move(a), nullptr});
}

void bench_emulation::add_attenuator(std::string name, std::shared_ptr<voa_emulator> v) {
  attenuators_.emplace(std::move(name), attenuator_entry{std::move(v), nullptr});
}

bench_emulation::asic_entry* bench_emulation::asic(std::string_view name) {
  auto it = asics_.find(name);
  return it == asics_.end() ? nullptr : &it->second;
}

bench_emulation::attenuator_entry* bench_emulation::attenuator(std::string_view name) {
  auto it = attenuators_.find(name);
  return it == attenuators_.end() ? nullptr : &it->second;
}

std::shared_ptr<cmis_module> bench_emulation::module_by_label(std::string_view label) const {
  for (const auto& m : modules_) {
    if (m->label() == label) return m;
  }
  return nullptr;
}

void bench_emulation::connect(const hilt::link_map& links) {
  if (links.empty()) return;  // every module keeps its default loopback, as before links
  link_graph::resolver r;
  r.module = [this](std::string_view n) { return module_by_label(n); };
  r.asic = [this](std::string_view n) {
    auto* a = asic(n);
    return a ? a->asic : nullptr;
  };
  r.attenuator = [this](std::string_view n) {
    auto* v = attenuator(n);
    return v ? v->voa : nullptr;
  };
  auto g = std::make_shared<const link_graph>(links, r);
  graph_ = g;
  // Every module gets the graph, linked or not: a write to an unlinked one (an ELSFP feeding a
  // linked CPO engine) settles the linked devices before it changes anything.
  for (const auto& m : modules_)
    m->attach_links(g);
  for (auto& [name, a] : asics_)
    a.asic->attach_links(g);
  for (auto& [name, v] : attenuators_) {
    std::weak_ptr<const link_graph> wg = g;
    auto w = world_;
    v.voa->set_on_change([wg, w] {
      if (auto graph = wg.lock()) {
        std::lock_guard lock(w->coupling_mutex());
        graph->settle(w->now());
      }
    });
  }
}

std::shared_ptr<emu_i2c_bus> bench_emulation::bus(const std::string& name) {
  auto it = buses_.find(name);
  if (it != buses_.end()) return it->second;
  auto b = std::make_shared<emu_i2c_bus>(name);
  buses_.emplace(name, b);
  return b;
}

void bench_emulation::add_supply(std::string name, std::shared_ptr<scpi_psu_emulator> psu) {
  supply_entry e;
  for (int ch = 1; ch <= psu->channel_count(); ++ch) {
    auto rail = std::make_shared<power_rail>(fmt::format("{}/{}", name, ch));
    psu->set_rail(ch, rail);
    e.rails.push_back(std::move(rail));
  }
  e.psu = std::move(psu);
  supplies_.emplace(std::move(name), std::move(e));
}

void bench_emulation::add_chamber(std::string name, std::shared_ptr<chamber_model> c,
                                  modbus_chamber::register_map map) {
  chamber_entry e;
  e.inside = std::make_shared<world>(world_,
                                     [c](world::time_point t) { return c->air_temperature_at(t); });
  e.chamber = std::move(c);
  e.map = std::move(map);
  chambers_.emplace(std::move(name), std::move(e));
}

bench_emulation::supply_entry* bench_emulation::supply(std::string_view name) {
  auto it = supplies_.find(name);
  return it == supplies_.end() ? nullptr : &it->second;
}

bench_emulation::chamber_entry* bench_emulation::chamber(std::string_view name) {
  auto it = chambers_.find(name);
  return it == chambers_.end() ? nullptr : &it->second;
}

bench_emulation::regulator_entry* bench_emulation::regulator(std::string_view name) {
  for (auto& r : regulators_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::shared_ptr<power_rail> bench_emulation::rail(std::string_view name) {
  if (auto* r = regulator(name)) return r->rail;
  const auto slash = name.find('/');
  const std::string_view supply_name = name.substr(0, slash);
  auto* s = supply(supply_name);
  if (!s) return nullptr;
  int ch = 1;
  if (slash != std::string_view::npos) {
    const std::string_view num = name.substr(slash + 1);
    ch = 0;
    for (char c : num) {
      if (c < '0' || c > '9' || ch > 1000) return nullptr;
      ch = ch * 10 + (c - '0');
    }
    if (num.empty()) return nullptr;
  }
  if (ch < 1 || ch > static_cast<int>(s->rails.size())) return nullptr;
  return s->rails[static_cast<std::size_t>(ch - 1)];
}

// ---------------------------------------------------------------------------------------------
// The factory

namespace {

std::string instrument_name(const checked_map& m, const std::string& src, const char* what) {
  const YAML::Node n = m.require("name");
  const std::string name = as_string(n, src, "name");
  if (name.empty() || name.find_first_of("/: \t?&") != std::string::npos) {
    fail_at(src, n,
            fmt::format("{} name '{}' must be non-empty without '/', ':', '?', '&' or "
                        "blanks",
                        what, name));
  }
  return name;
}

// Instrument names share one namespace (the emu-tcp endpoints); the value says where each is.
using name_table = std::map<std::string, std::string>;

void claim_name(name_table& names, const std::string& name, const YAML::Node& at,
                const std::string& src, const char* what) {
  auto [it, fresh] = names.emplace(name, hilt::where(src, at));
  if (!fresh) {
    fail_at(src, at, fmt::format("{} name '{}' is already used at {}", what, name, it->second));
  }
}

void build_chambers(const YAML::Node& list, const std::string& src, double ambient,
                    bench_emulation& emu, name_table& tcp_names) {
  if (!list.IsSequence()) fail_at(src, list, "'chambers' expects a list");
  for (const auto& cn : list) {
    checked_map m(
        cn, src, "emulated chamber",
        {"name", "map", "room", "setpoint", "running", "max_ramp", "ramp", "time_constant",
         "off_time_constant", "load_coupling", "capacity", "limits", "serial", "faults"});
    const std::string name = instrument_name(m, src, "chamber");
    claim_name(tcp_names, name, m.get("name"), src, "instrument");
    modbus_chamber::register_map map;
    if (auto n = m.get("map"); n.IsDefined()) {
      try {
        map = modbus_chamber::load_named_map(as_string(n, src, "map"));
      } catch (const config_error& e) {
        if (!e.where().empty()) throw;
        fail_at(src, n, e.message());
      }
    } else {
      map = modbus_chamber::load_named_map("watlow-f4t");
    }
    chamber_params p;
    p.room_c = ambient;
    using hilt::dimension;
    if (auto n = m.get("room"); n.IsDefined())
      p.room_c = as_quantity(n, src, "room", dimension::temperature, -60, 150);
    if (auto n = m.get("limits"); n.IsDefined()) {
      checked_map l(n, src, "limits", {"min", "max"});
      if (auto x = l.get("min"); x.IsDefined())
        p.min_setpoint_c = as_quantity(x, src, "min", dimension::temperature, -200, 500);
      if (auto x = l.get("max"); x.IsDefined())
        p.max_setpoint_c = as_quantity(x, src, "max", dimension::temperature, -200, 500);
      if (p.min_setpoint_c >= p.max_setpoint_c) fail_at(src, n, "'min' must be below 'max'");
      p.over_temperature_c = p.max_setpoint_c + 10;
    }
    p.setpoint_c = 25.0;
    if (auto n = m.get("setpoint"); n.IsDefined())
      p.setpoint_c = as_quantity(n, src, "setpoint", dimension::temperature, p.min_setpoint_c,
                                 p.max_setpoint_c);
    if (auto n = m.get("running"); n.IsDefined()) p.running = as_bool(n, src, "running");
    if (auto n = m.get("max_ramp"); n.IsDefined())
      p.max_ramp_c_per_min = as_number(n, src, "max_ramp", 0.01, 1000);
    if (auto n = m.get("ramp"); n.IsDefined())
      p.ramp_c_per_min = as_number(n, src, "ramp", 0, 1000);
    if (auto n = m.get("time_constant"); n.IsDefined())
      p.time_constant_s = as_quantity(n, src, "time_constant", dimension::time, 1, 86400);
    if (auto n = m.get("off_time_constant"); n.IsDefined())
      p.off_time_constant_s = as_quantity(n, src, "off_time_constant", dimension::time, 1, 864000);
    if (auto n = m.get("load_coupling"); n.IsDefined())
      p.load_coupling_c_per_w = as_number(n, src, "load_coupling", 0, 10);
    if (auto n = m.get("capacity"); n.IsDefined())
      p.capacity_w = as_quantity(n, src, "capacity", dimension::power, 0, 1e6);
    if (auto n = m.get("serial"); n.IsDefined())
      p.serial = static_cast<std::int32_t>(as_int(n, src, "serial", 1, 2147483647));
    auto model = std::make_shared<chamber_model>(emu.world_ptr(), p);
    emu.add_chamber(name, std::move(model), std::move(map));
    if (auto fn = m.get("faults"); fn.IsDefined()) {
      checked_map f(fn, src, "faults", {"errors_at"});
      if (auto n = f.get("errors_at"); n.IsDefined()) {
        emu.chamber(name)->errors_at =
            std::chrono::duration_cast<hilt::clock::duration>(std::chrono::duration<double>(
                as_quantity(n, src, "errors_at", hilt::dimension::time, 0, 1e8)));
      }
    }
  }
}

void build_supplies(const YAML::Node& list, const std::string& src, bench_emulation& emu,
                    name_table& tcp_names) {
  if (!list.IsSequence()) fail_at(src, list, "'supplies' expects a list");
  const std::filesystem::path base = std::filesystem::path(src).parent_path();
  for (const auto& sn : list) {
    checked_map m(sn, src, "emulated supply",
                  {"name", "model", "model_file", "serial", "channels", "outputs", "faults"});
    const std::string name = instrument_name(m, src, "supply");
    claim_name(tcp_names, name, m.get("name"), src, "instrument");
    scpi_psu::psu_model model;
    const YAML::Node model_node = m.get("model"), file_node = m.get("model_file");
    if (model_node.IsDefined() == file_node.IsDefined()) {
      fail_at(src, sn, "an emulated supply needs 'model' or 'model_file' (one of them)");
    }
    if (file_node.IsDefined()) {
      const std::string rel = as_string(file_node, src, "model_file");
      const auto path = (base / rel).lexically_normal();
      if (!std::filesystem::exists(path)) {
        fail_at(src, file_node,
                fmt::format("model file '{}' not found (looked for {})", rel, path.string()));
      }
      model = scpi_psu::load_model(path);
    } else {
      try {
        model = scpi_psu::load_named_model(as_string(model_node, src, "model"));
      } catch (const config_error& e) {
        if (!e.where().empty()) throw;
        fail_at(src, model_node, e.message());
      }
    }
    scpi_psu_emulator::options opts;
    if (auto n = m.get("serial"); n.IsDefined()) opts.serial = as_string(n, src, "serial");
    if (auto n = m.get("channels"); n.IsDefined())
      opts.channels = static_cast<int>(as_int(n, src, "channels", 1, 16));
    auto psu = std::make_shared<scpi_psu_emulator>(model, opts);
    if (auto outs = m.get("outputs"); outs.IsDefined()) {
      if (!outs.IsMap()) {
        fail_at(src, outs,
                "'outputs' expects a mapping of output number to "
                "{voltage, current, on}");
      }
      for (auto it = outs.begin(); it != outs.end(); ++it) {
        const YAML::Node k = it->first;
        const YAML::Node v = it->second;
        const int ch = static_cast<int>(as_int(k, src, "output", 1, psu->channel_count()));
        checked_map o(v, src, fmt::format("output {}", ch), {"voltage", "current", "on"});
        const auto& rating =
            psu->model()
                .channels[static_cast<std::size_t>(std::min(ch, psu->model().channel_count()) - 1)];
        double volts = 0, amps = rating.max_current;
        bool on = false;
        if (auto x = o.get("voltage"); x.IsDefined())
          volts = as_quantity(x, src, "voltage", hilt::dimension::voltage, 0, rating.max_voltage);
        if (auto x = o.get("current"); x.IsDefined())
          amps = as_quantity(x, src, "current", hilt::dimension::current, 0, rating.max_current);
        if (auto x = o.get("on"); x.IsDefined()) on = as_bool(x, src, "on");
        psu->set_output(ch, volts, amps, on);
      }
    }
    emu.add_supply(name, std::move(psu));
    if (auto fn = m.get("faults"); fn.IsDefined()) {
      checked_map f(fn, src, "faults", {"offline_at"});
      if (auto n = f.get("offline_at"); n.IsDefined()) {
        emu.supply(name)->offline_at =
            std::chrono::duration_cast<hilt::clock::duration>(std::chrono::duration<double>(
                as_quantity(n, src, "offline_at", hilt::dimension::time, 0, 1e8)));
      }
    }
  }
}

void build_regulators(const YAML::Node& list, const std::string& src, bench_emulation& emu,
                      std::set<std::pair<std::string, unsigned>>& taken, name_table& rail_names) {
  if (!list.IsSequence()) fail_at(src, list, "'regulators' expects a list");
  std::uint64_t index = 0;
  for (const auto& rn : list) {
    checked_map m(rn, src, "emulated regulator",
                  {"name", "bus", "address", "vin", "vout", "vout_exponent", "efficiency", "idle",
                   "iout_limit", "mfr", "unsupported", "faults"});
    const std::string name = instrument_name(m, src, "regulator");
    claim_name(rail_names, name, m.get("name"), src, "rail");
    const std::string bus_name = as_string(m.require("bus"), src, "bus");
    if (bus_name.empty()) fail_at(src, rn, "'bus' must not be empty");
    unsigned addr = 0x40;
    auto addr_node = m.get("address");
    if (addr_node.IsDefined())
      addr = static_cast<unsigned>(as_int(addr_node, src, "address", 0x03, 0x77));
    if (!taken.emplace(bus_name, addr).second) {
      fail_at(src, addr_node.IsDefined() ? addr_node : YAML::Node(rn),
              fmt::format("bus '{}' already has a device at 0x{:02x}", bus_name, addr));
    }
    regulator_params p;
    using hilt::dimension;
    if (auto n = m.get("vin"); n.IsDefined())
      p.vin = as_quantity(n, src, "vin", dimension::voltage, 0.5, 100);
    if (auto n = m.get("vout_exponent"); n.IsDefined())
      p.vout_exponent = static_cast<int>(as_int(n, src, "vout_exponent", -16, 15));
    const double vout_max = 65535.0 * std::ldexp(1.0, p.vout_exponent);
    if (auto n = m.get("vout"); n.IsDefined())
      p.vout = as_quantity(n, src, "vout", dimension::voltage, 0, std::min(60.0, vout_max));
    if (auto n = m.get("efficiency"); n.IsDefined())
      p.efficiency = as_number(n, src, "efficiency", 0.3, 1.0);
    double idle = 0;
    if (auto n = m.get("idle"); n.IsDefined())
      idle = as_quantity(n, src, "idle", dimension::power, 0, 5000);
    if (auto n = m.get("iout_limit"); n.IsDefined())
      p.iout_limit = as_quantity(n, src, "iout_limit", dimension::current, 0.001, 1000);
    if (auto n = m.get("mfr"); n.IsDefined()) {
      checked_map f(n, src, "mfr", {"id", "model", "revision", "serial"});
      auto text = [&](const char* key, std::string& out) {
        if (auto x = f.get(key); x.IsDefined()) {
          out = as_string(x, src, key);
          if (out.size() > 32)
            fail_at(src, x, fmt::format("'{}' is longer than 32 bytes (an SMBus block)", key));
        }
      };
      text("id", p.mfr_id);
      text("model", p.mfr_model);
      text("revision", p.mfr_revision);
      text("serial", p.mfr_serial);
    }
    if (auto n = m.get("unsupported"); n.IsDefined()) {
      if (!n.IsSequence()) fail_at(src, n, "'unsupported' expects a list of command codes");
      for (const auto& c : n)
        p.unsupported.insert(static_cast<std::uint8_t>(as_int(c, src, "unsupported", 0, 255)));
    }
    target_faults faults;
    if (auto fn = m.get("faults"); fn.IsDefined()) {
      checked_map f(fn, src, "faults", {"nack_rate"});
      if (auto n = f.get("nack_rate"); n.IsDefined())
        faults.nack_rate = as_number(n, src, "nack_rate", 0.0, 1.0);
    }
    faults.seed = emu.the_world().derive_seed(0x5EED0000u + index++);
    auto rail = std::make_shared<power_rail>(name);
    rail->set_idle_watts(idle);
    rail->set_nominal_volts(p.vout);
    auto reg = std::make_shared<pmbus_regulator>(emu.world_ptr(), rail, p);
    emu.bus(bus_name)->attach(static_cast<std::uint8_t>(addr), reg, faults);
    emu.add_regulator(bench_emulation::regulator_entry{
        name, fmt::format("{}@0x{:02x}", bus_name, addr), std::move(reg), std::move(rail)});
  }
}

void build_asics(const YAML::Node& list, const std::string& src, bench_emulation& emu,
                 name_table& tcp_names,
                 std::map<std::string, std::vector<std::weak_ptr<emulated_asic>>>& in_chamber) {
  if (!list.IsSequence()) fail_at(src, list, "'asics' expects a list");
  using hilt::dimension;
  std::uint64_t index = 0;
  for (const auto& an : list) {
    checked_map m(
        an, src, "emulated ASIC",
        {"name", "model", "ports", "lanes", "lane_rate", "serial", "firmware", "counter_bits",
         "power", "thermal", "loopback", "loopback_loss", "chamber", "faults"});
    const std::string name = instrument_name(m, src, "ASIC");
    claim_name(tcp_names, name, m.get("name"), src, "instrument");
    asic_options o = *asic_preset("51t2");
    if (auto n = m.get("model"); n.IsDefined()) {
      const std::string model = as_string(n, src, "model");
      auto preset = asic_preset(model);
      if (!preset) {
        std::string names;
        for (const auto& p : asic_preset_names())
          names += (names.empty() ? "" : ", ") + p;
        fail_at(src, n, fmt::format("unknown ASIC model '{}'; expected one of: {}", model, names));
      }
      o = *preset;
    }
    auto& g = o.port_groups.front();
    if (auto n = m.get("ports"); n.IsDefined())
      g.count = static_cast<int>(as_int(n, src, "ports", 1, 1024));
    if (auto n = m.get("lanes"); n.IsDefined())
      g.lanes = static_cast<int>(as_int(n, src, "lanes", 1, 32));
    if (auto n = m.get("lane_rate"); n.IsDefined())
      g.lane_rate = as_quantity(n, src, "lane_rate", dimension::bit_rate, 1e6, 1e12);
    o.port_groups.resize(1);
    if (auto n = m.get("serial"); n.IsDefined()) {
      o.serial = as_string(n, src, "serial");
      if (o.serial.empty() || o.serial.size() > 32)
        fail_at(src, n, "'serial' must be 1 to 32 characters");
    }
    if (auto n = m.get("firmware"); n.IsDefined()) o.firmware = as_string(n, src, "firmware");
    if (auto n = m.get("counter_bits"); n.IsDefined())
      o.counter_bits = static_cast<int>(as_int(n, src, "counter_bits", 8, 64));
    if (auto pn = m.get("power"); pn.IsDefined()) {
      checked_map p(pn, src, "power", {"idle", "per_lane"});
      if (auto n = p.get("idle"); n.IsDefined())
        o.idle_w = as_quantity(n, src, "idle", dimension::power, 0, 5000);
      if (auto n = p.get("per_lane"); n.IsDefined())
        o.lane_w = as_quantity(n, src, "per_lane", dimension::power, 0, 50);
    }
    if (auto tn = m.get("thermal"); tn.IsDefined()) {
      checked_map t(tn, src, "thermal", {"resistance", "time_constant"});
      if (auto n = t.get("resistance"); n.IsDefined())
        o.thermal_resistance_c_per_w = as_number(n, src, "resistance", 0, 10);
      if (auto n = t.get("time_constant"); n.IsDefined())
        o.thermal_time_constant_s =
            as_quantity(n, src, "time_constant", dimension::time, 0.1, 86400);
    }
    if (auto n = m.get("loopback"); n.IsDefined()) o.loopback = as_bool(n, src, "loopback");
    if (auto n = m.get("loopback_loss"); n.IsDefined())
      o.loopback_loss_db = as_quantity(n, src, "loopback_loss", dimension::ratio_db, 0, 60);
    const int ports = g.count;
    if (auto fn = m.get("faults"); fn.IsDefined()) {
      checked_map f(fn, src, "faults", {"no_lock", "forced_ber"});
      if (auto n = f.get("no_lock"); n.IsDefined()) {
        if (!n.IsSequence()) fail_at(src, n, "'no_lock' expects a list of port numbers");
        for (const auto& pn : n)
          o.no_lock_ports.insert(static_cast<int>(as_int(pn, src, "no_lock", 1, ports)));
      }
      if (auto n = f.get("forced_ber"); n.IsDefined()) {
        if (!n.IsMap()) fail_at(src, n, "'forced_ber' expects a mapping of port number to BER");
        for (auto it = n.begin(); it != n.end(); ++it) {
          const int port = static_cast<int>(as_int(it->first, src, "forced_ber", 1, ports));
          o.forced_ber[port] = as_number(it->second, src, "forced_ber", 0, 0.5);
        }
      }
    }
    std::shared_ptr<const world> asic_world = emu.world_ptr();
    std::string chamber_name;
    if (auto n = m.get("chamber"); n.IsDefined()) {
      chamber_name = as_string(n, src, "chamber");
      auto* c = emu.chamber(chamber_name);
      if (!c) {
        fail_at(src, n,
                fmt::format("no emulated chamber named '{}' (declare it under 'chambers:')",
                            chamber_name));
      }
      asic_world = c->inside;
    }
    o.label = name;
    auto a = std::make_shared<emulated_asic>(asic_world, std::move(o),
                                             emu.the_world().derive_seed(0xA51C0000u + index++));
    if (!chamber_name.empty()) in_chamber[chamber_name].push_back(a);
    emu.add_asic(name, std::move(a));
  }
}

void build_attenuators(const YAML::Node& list, const std::string& src, bench_emulation& emu,
                       name_table& tcp_names) {
  if (!list.IsSequence()) fail_at(src, list, "'attenuators' expects a list");
  using hilt::dimension;
  for (const auto& vn : list) {
    checked_map m(
        vn, src, "emulated attenuator",
        {"name", "range", "insertion_loss", "attenuation", "wavelength", "output", "serial"});
    const std::string name = instrument_name(m, src, "attenuator");
    claim_name(tcp_names, name, m.get("name"), src, "instrument");
    voa_options o;
    if (auto rn = m.get("range"); rn.IsDefined()) {
      checked_map r(rn, src, "range", {"min", "max"});
      if (auto n = r.get("min"); n.IsDefined())
        o.min_db = as_quantity(n, src, "min", dimension::ratio_db, 0, 100);
      if (auto n = r.get("max"); n.IsDefined())
        o.max_db = as_quantity(n, src, "max", dimension::ratio_db, 0, 100);
      if (o.min_db >= o.max_db) {
        fail_at(src, rn,
                fmt::format("'range' min ({} dB) must be below max ({} dB)", o.min_db, o.max_db));
      }
    }
    if (auto n = m.get("insertion_loss"); n.IsDefined())
      o.insertion_loss_db = as_quantity(n, src, "insertion_loss", dimension::ratio_db, 0, 20);
    o.attenuation_db = o.min_db;
    if (auto n = m.get("attenuation"); n.IsDefined())
      o.attenuation_db =
          as_quantity(n, src, "attenuation", dimension::ratio_db, o.min_db, o.max_db);
    if (auto n = m.get("wavelength"); n.IsDefined())
      o.wavelength_nm =
          as_quantity(n, src, "wavelength", dimension::length, 1260e-9, 1640e-9) * 1e9;
    if (auto n = m.get("output"); n.IsDefined()) o.output_on = as_bool(n, src, "output");
    if (auto n = m.get("serial"); n.IsDefined()) {
      o.serial = as_string(n, src, "serial");
      if (o.serial.empty() || o.serial.size() > 32 ||
          o.serial.find_first_of(",;\n") != std::string::npos) {
        fail_at(src, n, "'serial' must be 1 to 32 characters without ',' or ';'");
      }
    }
    emu.add_attenuator(name, std::make_shared<voa_emulator>(o));
  }
}

}  // namespace

std::unique_ptr<hilt::emulation> make_emulation(const YAML::Node& section,
                                                const hilt::emulation_env& env) {
  const std::string& src = env.source;
  checked_map top(
      section, src, "emulation",
      {"ambient", "modules", "chambers", "supplies", "regulators", "asics", "attenuators"});
  double ambient = 25.0;
  if (auto n = top.get("ambient"); n.IsDefined()) {
    ambient = as_quantity(n, src, "ambient", hilt::dimension::temperature, -60, 150);
  }
  auto w = std::make_shared<world>(env.clock, env.seed, ambient);
  auto emu = std::make_unique<bench_emulation>(w);

  // Instruments first: modules refer to them by name.
  name_table tcp_names, rail_names;
  std::set<std::pair<std::string, unsigned>> taken;
  if (auto n = top.get("chambers"); n.IsDefined() && !n.IsNull()) {
    build_chambers(n, src, ambient, *emu, tcp_names);
  }
  if (auto n = top.get("supplies"); n.IsDefined() && !n.IsNull()) {
    build_supplies(n, src, *emu, tcp_names);
    for (const auto& [name, at] : tcp_names) {
      if (emu->supply(name)) rail_names.emplace(name, at);
    }
  }
  if (auto n = top.get("regulators"); n.IsDefined() && !n.IsNull()) {
    build_regulators(n, src, *emu, taken, rail_names);
  }
  std::map<std::string, std::vector<std::weak_ptr<emulated_asic>>> asics_in_chamber;
  if (auto n = top.get("asics"); n.IsDefined() && !n.IsNull()) {
    build_asics(n, src, *emu, tcp_names, asics_in_chamber);
  }
  if (auto n = top.get("attenuators"); n.IsDefined() && !n.IsNull()) {
    build_attenuators(n, src, *emu, tcp_names);
  }

  const YAML::Node modules_node = top.get("modules");
  const bool has_modules = modules_node.IsDefined() && !modules_node.IsNull();
  if (has_modules && !modules_node.IsSequence()) {
    fail_at(src, modules_node, "'modules' expects a list");
  }
  const YAML::Node module_list = has_modules ? modules_node : YAML::Node(YAML::NodeType::Sequence);

  // Profile paths are relative to the fixture file.
  const std::filesystem::path base = std::filesystem::path(src).parent_path();
  std::map<std::string, module_profile> profiles;
  std::map<std::string, std::vector<std::shared_ptr<cmis_module>>> in_chamber;
  std::uint64_t index = 0;
  for (const auto& mn : module_list) {
    checked_map m(mn, src, "emulated module",
                  {"bus", "address", "profile", "serial", "lpmode_pin", "boot", "rx_loss", "faults",
                   "chamber", "rail"});
    const std::string bus_name = as_string(m.require("bus"), src, "bus");
    if (bus_name.empty()) fail_at(src, mn, "'bus' must not be empty");
    unsigned addr = 0x50;
    auto addr_node = m.get("address");
    if (addr_node.IsDefined())
      addr = static_cast<unsigned>(as_int(addr_node, src, "address", 0x03, 0x77));

    auto pn = m.require("profile");
    const std::string rel = as_string(pn, src, "profile");
    const std::string path = (base / rel).lexically_normal().string();
    if (!profiles.count(path)) {
      if (!std::filesystem::exists(path)) {
        fail_at(src, pn, fmt::format("profile '{}' not found (looked for {})", rel, path));
      }
      profiles.emplace(path, load_profile(path));
    }

    cmis_module_options opts;
    opts.label = fmt::format("{}@0x{:02x}", bus_name, addr);
    if (auto n = m.get("serial"); n.IsDefined()) {
      opts.serial = as_string(n, src, "serial");
      if (opts.serial.empty() || opts.serial.size() > 16) {
        fail_at(src, n, "'serial' must be 1 to 16 characters (00h:166-181)");
      }
      for (char c : opts.serial) {
        if (c < 0x20 || c > 0x7E) fail_at(src, n, "'serial' must be printable ASCII");
      }
    }
    if (auto n = m.get("lpmode_pin"); n.IsDefined())
      opts.lpmode_pin = as_bool(n, src, "lpmode_pin");
    if (auto n = m.get("boot"); n.IsDefined()) {
      const std::string b = as_string(n, src, "boot");
      if (b == "cold") {
        opts.cold_boot = true;
      } else if (b != "settled") {
        fail_at(src, n, fmt::format("'boot' expects 'settled' or 'cold', got '{}'", b));
      }
    }
    if (auto n = m.get("rx_loss"); n.IsDefined()) {
      opts.rx_loss_db = as_quantity(n, src, "rx_loss", hilt::dimension::ratio_db, 0, 40);
    }
    target_faults faults;
    if (auto fn = m.get("faults"); fn.IsDefined()) {
      // The module's own faults (stuck states, a dying lane, ModuleFault at a time...) add to
      // its profile's; nack_rate is the bus's, for this target.
      opts.faults = parse_module_faults(fn, src, profiles.at(path).faults, {"nack_rate"});
      if (auto n = fn["nack_rate"]; n.IsDefined()) {
        faults.nack_rate = as_number(n, src, "nack_rate", 0.0, 1.0);
      }
    }
    std::shared_ptr<const world> module_world = w;
    std::string chamber_name;
    if (auto n = m.get("chamber"); n.IsDefined()) {
      chamber_name = as_string(n, src, "chamber");
      auto* c = emu->chamber(chamber_name);
      if (!c) {
        fail_at(src, n,
                fmt::format("no emulated chamber named '{}' (declare it under "
                            "'chambers:')",
                            chamber_name));
      }
      module_world = c->inside;
    }
    std::shared_ptr<power_rail> rail;
    if (auto n = m.get("rail"); n.IsDefined()) {
      const std::string rail_name = as_string(n, src, "rail");
      rail = emu->rail(rail_name);
      if (!rail) {
        fail_at(src, n,
                fmt::format("no power rail '{}': expected SUPPLY/OUTPUT (e.g. psu1/1), "
                            "SUPPLY (output 1) or a regulator's name",
                            rail_name));
      }
    }

    if (!taken.emplace(bus_name, addr).second) {
      fail_at(src, addr_node.IsDefined() ? addr_node : YAML::Node(mn),
              fmt::format("bus '{}' already has a module at 0x{:02x}", bus_name, addr));
    }
    const std::uint64_t module_seed = w->derive_seed(2 * index + 1);
    faults.seed = w->derive_seed(2 * index + 2);
    auto mod = std::make_shared<cmis_module>(module_world, profiles.at(path), opts, module_seed);
    emu->bus(bus_name)->attach(static_cast<std::uint8_t>(addr), mod, faults);
    if (rail) rail->add_module(mod);
    if (!chamber_name.empty()) in_chamber[chamber_name].push_back(mod);
    emu->add_module(std::move(mod));
    ++index;
  }
  // Heat from the load: a chamber sums the dissipation of the modules inside it.
  // Weak references: the modules see the chamber through their world, so strong ones would make
  // a cycle.
  std::set<std::string> heated;
  for (const auto& [name, mods] : in_chamber)
    heated.insert(name);
  for (const auto& [name, asics] : asics_in_chamber)
    heated.insert(name);
  for (const auto& name : heated) {
    std::vector<std::weak_ptr<cmis_module>> weak;
    if (auto it = in_chamber.find(name); it != in_chamber.end())
      weak.assign(it->second.begin(), it->second.end());
    std::vector<std::weak_ptr<emulated_asic>> weak_asics;
    if (auto it = asics_in_chamber.find(name); it != asics_in_chamber.end())
      weak_asics = it->second;
    emu->chamber(name)->chamber->set_load_source([weak, weak_asics] {
      double watts = 0;
      for (const auto& wm : weak) {
        if (auto m = wm.lock()) watts += m->dissipation_w();
      }
      for (const auto& wa : weak_asics) {
        if (auto a = wa.lock()) watts += a->power_w();
      }
      return watts;
    });
  }
  return emu;
}

}  // namespace hilt::emu
