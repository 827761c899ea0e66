// Steps: the interface between the sequence runner and the step types in sequences/.
//
// A step type registers a name, checks its options when the sequence is loaded (so `hilt validate`
// catches every bad option before a run, with file:line:col), and later runs once per DUT (or
// once per station for station steps) through a step_context that gives it the DUT's devices,
// the harness clock and the result sinks. Steps never talk to SQLite or to transports directly.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/device.hpp"
#include "hilt/links.hpp"

namespace spdlog {
class logger;
}

namespace hilt {

enum class verdict { pass, marginal, fail, error, skipped, info };
std::string_view to_string(verdict v) noexcept;
// Combines two verdicts: error > fail > marginal > pass; info and skipped do not count.
verdict worst(verdict a, verdict b) noexcept;

// A limit a value is judged against; every verdict stores the limit and where it came from.
struct limit {
  enum class comparator { none, ge, le, range, eq, tol_abs, tol_pct };
  comparator cmp = comparator::none;
  std::optional<double> low, high;  // resolved bounds (for tol_*: nominal -/+ tolerance)
  std::optional<double> nominal;
  std::optional<double> tolerance;  // absolute value or percent, per cmp
  std::optional<double> marginal;   // width of the marginal band inside the limit, same unit
  std::string unit;                 // the unit the bounds are expressed in
  std::string source;               // "sequences/library/bringup.yaml:12:7" or a limit-set name
};
std::string_view to_string(limit::comparator c) noexcept;
// pass / marginal / fail (info when the limit has no comparator).
verdict judge(const limit& l, double value) noexcept;

enum class severity { debug, info, warning, alarm, fault, error };
std::string_view to_string(severity s) noexcept;

struct measurement {
  std::string name;
  int lane = -1;  // 1-based; -1 = module-level
  hilt::side side = side::none;
  double value = 0;
  std::string unit;
  std::optional<hilt::limit> limit;
};

// Everything a running step may use. One context per (step, DUT).
class step_context {
 public:
  virtual ~step_context() = default;

  virtual hilt::clock& clock() = 0;
  virtual spdlog::logger& log() = 0;
  // The DUT this step runs for; nullptr for a station step.
  virtual managed_module* module() = 0;
  virtual int slot() const = 0;  // DUT slot, 0 for station steps
  virtual const std::string& dut_name() const = 0;
  // Any device of the bench by fixture name (instruments, chambers); nullptr if absent.
  virtual device* find_device(std::string_view name) = 0;
  // The bench's cabling (the fixture's `links:`); empty when it has none.
  virtual const link_map& links() const {
    static const link_map none;
    return none;
  }

  // Result sinks. record() judges the value against its limit, stores it with the verdict and the
  // limit, and returns the verdict.
  virtual verdict record(const measurement& m) = 0;
  virtual void sample(std::string_view metric, std::string_view unit, int lane, double value) = 0;
  virtual void event(severity s, std::string_view kind, std::string_view message,
                     std::error_code code = {}) = 0;
  // Identity of the DUT, once known (the identify step reports it).
  virtual void set_identity(const identity& id) = 0;
  // Raw BER counts of one lane over a gate (the ber step): bits compared and errors among them,
  // the gate in harness seconds and the pattern ("PRBS-31Q"). Default: not stored.
  virtual void ber_counts(int lane, side s, std::uint64_t bits, std::uint64_t errors, double gate_s,
                          std::string_view pattern) {
    (void)lane, (void)s, (void)bits, (void)errors, (void)gate_s, (void)pattern;
  }
  // The identity last reported with set_identity() for this DUT; nullptr before that, and for a
  // station step. Steps use it to choose per-part limits (the part number).
  virtual const identity* dut_identity() const { return nullptr; }

  // Exclusive use of a shared instrument (a supply feeding several DUTs, a chamber): two DUTs
  // never drive one instrument at the same time. Waits (on the harness's own queue, FIFO) until
  // the instrument is free; the instrument is released when the returned guard is destroyed.
  // The default (a context without sharing, e.g. in a unit test) does not wait.
  virtual task<std::shared_ptr<void>> async_lock(std::string_view device_name);

  // True once the runner has asked the steps to stop (Ctrl-C, SIGTERM, a stop_all policy): a
  // long step checks it between waits as well as relying on the cancellation of its waits.
  virtual bool stop_requested() const { return false; }

  // Tells the runner what the step is waiting for, for live progress and the ETA: the harness
  // time it expects to end at and a short note ("soak at 85 C"). Optional; default ignores it.
  virtual void progress(clock::time_point until, std::string_view note);
};

// The outcome of one step for one DUT. error is set when a device error stopped the step.
struct step_outcome {
  hilt::verdict verdict = verdict::pass;
  std::error_code error;
  std::string message;  // for error: what failed, naming the device and operation
};

class step {
 public:
  virtual ~step() = default;
  // const: one step object serves every DUT, concurrently (interleaved coroutines).
  virtual task<step_outcome> run(step_context& ctx) const = 0;
};

// Where a YAML node sits: "file:line:col" (1-based), for config_error.
std::string where(const std::string& file, const YAML::Node& node);
std::string where(const std::string& file, const YAML::Mark& mark);

}  // namespace hilt
