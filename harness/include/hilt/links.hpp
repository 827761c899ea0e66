// Links: the cabling of a bench (a fixture's `links:` list), described once and used twice — by
// the steps (which ASIC lanes see a DUT's module, which attenuator sits in front of it) and by the
// emulation (the physics of the chain ASIC SerDes -> module host side -> module media side ->
// fiber / attenuator -> far module -> far ASIC; drivers/emu/README.md).
//
//   links:
//     - asic: asic0/1          # electrical: ASIC device / port ...
//       asic_lanes: 1-8        #   its lanes (optional, default 1..n for n host lanes)
//       module: m1             #   ... to these host lanes of a module (or CPO engine)
//       host_lanes: 1-8
//       loss: 12 dB            #   channel loss at Nyquist (optional, default 10 dB)
//     - module: m1             # media side: a loopback plug, media lane i back to lane i
//       loopback: 2 dB         #   its loss
//       media_lanes: 1-4       #   (optional, default every media lane)
//       attenuator: voa1       #   (optional) an attenuator in the loop
//     - fiber: [m2, m3]        # media side: a fiber pair, m2 media lane i <-> m3 media lane i
//       media_lanes: 1-4       #   (optional, default every media lane)
//       loss: 3 dB             #   each direction (optional, default 0 dB)
//       attenuator: voa1       #   (optional) in the m2 -> m3 direction only
//
// Lane lists: "1-8", "1,3,5-7", a number or a YAML list of numbers; lanes count from 1.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hilt {

struct electrical_link {
  std::string asic;  // switch_asic device name
  int port = 0;
  std::vector<int> asic_lanes;  // same length as host_lanes: asic_lanes[i] <-> host_lanes[i]
  std::string module;           // managed_module device name
  std::vector<int> host_lanes;
  double loss_db = 10.0;
  std::string where;  // file:line:col of the entry
};

struct optical_link {
  std::string a;                 // module device name
  std::string b;                 // far module; empty for a loopback plug on `a`
  std::vector<int> media_lanes;  // empty: every media lane of the module(s)
  double loss_db = 0;
  std::string attenuator;  // optical_attenuator device name, or empty
  std::string where;
  bool loopback() const noexcept { return b.empty(); }
};

struct link_map {
  std::vector<electrical_link> electrical;
  std::vector<optical_link> optical;

  bool empty() const noexcept { return electrical.empty() && optical.empty(); }
  // The electrical links ending at `module`'s host lanes (in fixture order).
  std::vector<const electrical_link*> electrical_of(std::string_view module) const;
  // The optical links with `module` at either end.
  std::vector<const optical_link*> optical_of(std::string_view module) const;
};

// Parses "1-8", "1,3,5-7" or "4" into lane numbers (ascending as written, each >= 1 and <= 64).
// Returns an empty vector and sets `error` on a malformed list.
std::vector<int> parse_lane_list(std::string_view text, std::string& error);

}  // namespace hilt
