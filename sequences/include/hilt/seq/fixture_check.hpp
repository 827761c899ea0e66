// Checks of a loaded sequence against the bench it is about to run on.
//
// The loader does not know the fixture, so two things are only checkable once both are loaded:
//  - the sequence's DUT selection (`duts:` at the top level: `all`, or a list of slots and DUT
//    names) must name DUTs the fixture has;
//  - every fixture device a step names (`device: chamber`) must exist in the fixture.
// `hilt validate SEQUENCE --fixture FIXTURE` and `hilt run` (before any device is touched) call
// check_sequence_against_fixture(); the runner then runs only the DUTs select_duts() returns.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hilt/bench.hpp"
#include "hilt/error.hpp"
#include "hilt/fixture.hpp"
#include "hilt/seq/parse.hpp"
#include "hilt/sequence.hpp"

namespace hilt::seq {

// A fixture device a step needs, by its fixture name.
struct device_need {
  std::string name;     // fixture device name ("chamber")
  std::string where;    // file:line:col of the option naming it
  std::string purpose;  // "set setpoint", "wait until temperature <= 50 C"
  // What only the opened device can tell (its class, an attenuator's range): returns a problem
  // ("attenuation: 70 dB is outside voa1's range 0-45 dB") or "" when the device fits. Run by
  // check_sequence_against_bench(); may be empty.
  std::function<std::string(hilt::device&)> check;
};

// Implemented (besides hilt::step) by step types that drive fixture devices other than the DUT.
class needs_devices {
 public:
  virtual ~needs_devices() = default;
  virtual std::vector<device_need> required_devices() const = 0;
};

// What a step needs of each DUT's cabling (the fixture's `links:`).
struct link_need {
  enum class kind {
    asic,        // the DUT's module has host lanes linked to a switch ASIC
    far_module,  // the DUT's module has media lanes on a fiber to another module
  };
  kind what = kind::asic;
  std::string where;    // file:line:col of the option that needs it
  std::string purpose;  // "ber checker asic"
};
class needs_links {
 public:
  virtual ~needs_links() = default;
  virtual std::vector<link_need> required_links() const = 0;
};

// Every problem of running `seq` on `fx`, as located errors (empty: it fits):
//   "seq.yaml:4:8: duts: no DUT in slot 7 in fixture 'emulated-bench' (fixtures/...yaml); its
//    DUTs: 1 (slot1), 2 (slot2), ..."
//   "seq.yaml:12:13: device: step 'set' needs device 'chamber', which fixture 'emulated-bench'
//    (...) does not have; its devices: m1, m2, m3, m4"
// Never throws config_error.
std::vector<config_error> check_sequence_against_fixture(const hilt::sequence& seq,
                                                         const hilt::fixture& fx);

// The checks only the opened devices can answer (device_need::check): run by `hilt run` once the
// bench is open, before any step, and by `hilt validate --fixture`. Never throws config_error.
std::vector<config_error> check_sequence_against_bench(const hilt::sequence& seq,
                                                       hilt::bench& bench);

// The fixture DUTs the sequence selects (`duts:`; every DUT when the key is absent or `all`), in
// fixture order. Throws the first error of check_sequence_against_fixture's DUT checks.
std::vector<hilt::fixture::dut_entry> select_duts(const hilt::sequence& seq,
                                                  const hilt::fixture& fx);

// The `duts:` value as the loader checks it (no fixture): `all`, or a non-empty list of slots
// (whole numbers >= 1) and DUT names, without repeats. Empty `entries` means all.
struct dut_selection {
  struct entry {
    std::string text;         // as written (substituted)
    std::optional<int> slot;  // a slot number, else a name
    YAML::Node node;
  };
  std::vector<entry> entries;
};
std::optional<dut_selection> read_dut_selection(parse_context& ctx, const YAML::Node& node);

}  // namespace hilt::seq
