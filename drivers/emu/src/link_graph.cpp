#include "hilt/emu/link_graph.hpp"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "hilt/emu/asic.hpp"
#include "hilt/emu/cmis_link.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/serdes.hpp"
#include "hilt/emu/voa_server.hpp"
#include "hilt/error.hpp"

namespace hilt::emu {

double line_signal::total_ber() const noexcept {
  if (!present) return 0.5;
  double b = ber;
  if (inv_q2 > 0) b += ber_from_q(1.0 / std::sqrt(inv_q2));
  return std::min(0.5, b);
}

line_signal line_signal::retimed() const noexcept {
  line_signal s;
  s.present = present;
  s.pattern = pattern;
  s.ber = present ? total_ber() : 0;
  return s;
}

namespace {

// 1/Q^2 of an electrical segment (a closed eye: no signal gets through).
double channel_inv_q2(const hilt::tx_fir& taps, double loss_db) {
  const double q = serdes_channel(taps, loss_db).q;
  return q > 0 ? 1.0 / (q * q) : HUGE_VAL;
}

}  // namespace

link_graph::link_graph(const hilt::link_map& links, const resolver& r) {
  std::map<std::string, std::string> used;  // "asic0/1 lane 3" -> where first linked
  auto claim = [&](const std::string& where, const std::string& end) {
    auto [it, fresh] = used.emplace(end, where);
    if (!fresh)
      throw config_error(where, fmt::format("{} is already linked at {}", end, it->second));
  };
  std::set<const cmis_module*> seen_modules;
  std::set<const emulated_asic*> seen_asics;
  auto module_of = [&](const std::string& where, const std::string& name) {
    auto m = r.module ? r.module(name) : nullptr;
    if (!m) {
      throw config_error(where, fmt::format("no emulated module '{}' (a module is named by its "
                                            "emu-i2c BUS@0xAA, declared under 'emulation: "
                                            "modules:')",
                                            name));
    }
    auto& ml = modules_[m.get()];
    ml.media.resize(static_cast<std::size_t>(std::max(0, m->profile().media_lanes)));
    ml.host.resize(static_cast<std::size_t>(std::max(0, m->profile().host_lanes)));
    if (seen_modules.insert(m.get()).second) module_list_.push_back(m);
    return m;
  };

  for (const auto& e : links.electrical) {
    auto a = r.asic ? r.asic(e.asic) : nullptr;
    if (!a) {
      throw config_error(e.where, fmt::format("no emulated ASIC '{}' (declare it under "
                                              "'emulation: asics:')",
                                              e.asic));
    }
    if (!a->has_port(e.port)) {
      throw config_error(e.where, fmt::format("ASIC '{}' has no port {}", e.asic, e.port));
    }
    auto m = module_of(e.where, e.module);
    const auto& prof = m->profile();
    if (prof.elsfp.lanes > 0 || prof.host_lanes <= 0) {
      throw config_error(e.where, fmt::format("module '{}' is an external laser source: it has no "
                                              "host lanes to link",
                                              e.module));
    }
    std::vector<int> asic_lanes = e.asic_lanes;
    if (asic_lanes.empty()) {
      for (std::size_t i = 0; i < e.host_lanes.size(); ++i)
        asic_lanes.push_back(static_cast<int>(i) + 1);
    }
    if (asic_lanes.size() != e.host_lanes.size()) {
      throw config_error(e.where,
                         fmt::format("the link names {} ASIC lanes but {} host lanes: they "
                                     "pair up one to one",
                                     asic_lanes.size(), e.host_lanes.size()));
    }
    if (e.host_lanes.empty()) {
      throw config_error(e.where, "the link names no lane");
    }
    const int n_lanes = a->lanes_of(e.port);
    for (std::size_t i = 0; i < asic_lanes.size(); ++i) {
      const int al = asic_lanes[i], hl = e.host_lanes[i];
      if (al < 1 || al > n_lanes) {
        throw config_error(e.where, fmt::format("ASIC '{}' port {} has lanes 1-{}; there is no "
                                                "lane {}",
                                                e.asic, e.port, n_lanes, al));
      }
      if (hl < 1 || hl > prof.host_lanes) {
        throw config_error(e.where, fmt::format("module '{}' has host lanes 1-{}; there is no host "
                                                "lane {}",
                                                e.module, prof.host_lanes, hl));
      }
      claim(e.where, fmt::format("{}/{} lane {}", e.asic, e.port, al));
      claim(e.where, fmt::format("{} host lane {}", e.module, hl));
      electrical_.push_back(electrical_end{a, e.port, al, m, hl - 1, e.loss_db});
      asic_lanes_[{a.get(), e.port, al}] = electrical_.size() - 1;
      modules_[m.get()].host[static_cast<std::size_t>(hl - 1)] = electrical_.size() - 1;
    }
    if (seen_asics.insert(a.get()).second) asic_list_.push_back(a);
  }

  for (const auto& o : links.optical) {
    auto a = module_of(o.where, o.a);
    std::shared_ptr<cmis_module> b = o.loopback() ? a : module_of(o.where, o.b);
    for (const auto& [m, name] : {std::pair{a, o.a}, std::pair{b, o.loopback() ? o.a : o.b}}) {
      if (m->profile().elsfp.lanes > 0 || m->profile().media_lanes <= 0) {
        throw config_error(o.where, fmt::format("module '{}' is an external laser source: it has "
                                                "no media lanes to link",
                                                name));
      }
    }
    std::shared_ptr<voa_emulator> att;
    if (!o.attenuator.empty()) {
      att = r.attenuator ? r.attenuator(o.attenuator) : nullptr;
      if (!att) {
        throw config_error(o.where, fmt::format("no emulated attenuator '{}' (declare it under "
                                                "'emulation: attenuators:')",
                                                o.attenuator));
      }
    }
    const int na = a->profile().media_lanes, nb = b->profile().media_lanes;
    std::vector<int> lanes = o.media_lanes;
    if (lanes.empty()) {
      if (na != nb) {
        throw config_error(o.where,
                           fmt::format("the fiber joins '{}' ({} media lanes) and '{}' ({} "
                                       "media lanes): the lane counts differ; name the "
                                       "lanes with 'media_lanes'",
                                       o.a, na, o.b, nb));
      }
      for (int l = 1; l <= na; ++l)
        lanes.push_back(l);
    }
    for (int l : lanes) {
      for (const auto& [n, name] : {std::pair{na, o.a}, std::pair{nb, o.loopback() ? o.a : o.b}}) {
        if (l < 1 || l > n) {
          throw config_error(o.where, fmt::format("module '{}' has media lanes 1-{}; there is no "
                                                  "media lane {}",
                                                  name, n, l));
        }
      }
      claim(o.where, fmt::format("{} media lane {}", o.a, l));
      if (!o.loopback()) claim(o.where, fmt::format("{} media lane {}", o.b, l));
      const auto i = static_cast<std::size_t>(l - 1);
      if (o.loopback()) {
        modules_[a.get()].media[i] = optical_end{a, l - 1, o.loss_db, att};
      } else {
        // The attenuator sits in the a -> b direction only.
        modules_[b.get()].media[i] = optical_end{a, l - 1, o.loss_db, att};
        modules_[a.get()].media[i] = optical_end{b, l - 1, o.loss_db, {}};
      }
    }
  }
}

bool link_graph::media_linked(const cmis_module* m, int lane) const noexcept {
  auto it = modules_.find(m);
  if (it == modules_.end() || lane < 0 || lane >= static_cast<int>(it->second.media.size()))
    return false;
  return it->second.media[static_cast<std::size_t>(lane)].has_value();
}

bool link_graph::host_linked(const cmis_module* m, int lane) const noexcept {
  auto it = modules_.find(m);
  if (it == modules_.end() || lane < 0 || lane >= static_cast<int>(it->second.host.size()))
    return false;
  return it->second.host[static_cast<std::size_t>(lane)].has_value();
}

bool link_graph::asic_linked(const emulated_asic* a, int port, int lane) const noexcept {
  return asic_lanes_.count({a, port, lane}) > 0;
}

optical_arrival link_graph::media_input(const cmis_module* m, int lane, time_point at) const {
  optical_arrival out;
  auto it = modules_.find(m);
  if (it == modules_.end() || lane < 0 || lane >= static_cast<int>(it->second.media.size()))
    return out;
  const auto& end = it->second.media[static_cast<std::size_t>(lane)];
  if (!end) return out;
  auto far = end->far.lock();
  if (!far) return out;
  const optical_emission tx = far->media_output(end->far_lane, at);
  double loss = end->loss_db;
  if (auto att = end->attenuator.lock()) loss += att->path_loss_db();
  out.rx_mw = std::isfinite(loss) ? tx.tx_mw * std::pow(10.0, -loss / 10.0) : 0.0;
  out.signal = tx.signal;
  if (!(out.rx_mw > 0)) out.signal = line_signal{};
  return out;
}

line_signal link_graph::host_input(const cmis_module* m, int lane, time_point) const {
  auto it = modules_.find(m);
  if (it == modules_.end() || lane < 0 || lane >= static_cast<int>(it->second.host.size()))
    return {};
  const auto& idx = it->second.host[static_cast<std::size_t>(lane)];
  if (!idx) return {};
  const auto& e = electrical_[*idx];
  auto a = e.asic.lock();
  if (!a) return {};
  line_signal s = a->lane_output(e.port, e.lane);
  if (s.present) s.inv_q2 += channel_inv_q2(a->lane_taps(e.port, e.lane), e.loss_db);
  return s;
}

line_signal link_graph::asic_input(const emulated_asic* a, int port, int lane,
                                   time_point at) const {
  auto it = asic_lanes_.find({a, port, lane});
  if (it == asic_lanes_.end()) return {};
  const auto& e = electrical_[it->second];
  auto m = e.module.lock();
  if (!m) return {};
  // The module's host output drives the channel with fixed taps (its own SerDes, not tunable
  // from the ASIC side).
  line_signal s = m->host_output(e.host_lane, at);
  if (s.present) s.inv_q2 += channel_inv_q2(default_fir(), e.loss_db);
  return s;
}

void link_graph::settle(time_point now) const {
  for (const auto& wm : module_list_) {
    if (auto m = wm.lock()) m->settle_links(now);
  }
  for (const auto& wa : asic_list_) {
    if (auto a = wa.lock()) a->settle(now);
  }
}

std::vector<std::shared_ptr<cmis_module>> link_graph::modules() const {
  std::vector<std::shared_ptr<cmis_module>> out;
  for (const auto& w : module_list_) {
    if (auto m = w.lock()) out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::shared_ptr<emulated_asic>> link_graph::asics() const {
  std::vector<std::shared_ptr<emulated_asic>> out;
  for (const auto& w : asic_list_) {
    if (auto a = w.lock()) out.push_back(std::move(a));
  }
  return out;
}

}  // namespace hilt::emu
