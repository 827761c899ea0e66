#include "hilt/runner.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "hilt/bench.hpp"
#include "hilt/calibration.hpp"
#include "hilt/db/database.hpp"
#include "hilt/db/recorder.hpp"
#include "hilt/fixture.hpp"
#include "hilt/log.hpp"
#include "hilt/seq/fixture_check.hpp"
#include "hilt/seq/loader.hpp"
#include "hilt/sequence.hpp"
#include "hilt/version.hpp"

namespace hilt {

namespace {

namespace db = hilt::db;

db::step_verdict to_db(verdict v) {
  switch (v) {
    case verdict::pass:
      return db::step_verdict::pass;
    case verdict::marginal:
      return db::step_verdict::marginal;
    case verdict::fail:
      return db::step_verdict::fail;
    case verdict::error:
      return db::step_verdict::error;
    case verdict::skipped:
      return db::step_verdict::skipped;
    case verdict::info:
      return db::step_verdict::done;
  }
  return db::step_verdict::error;
}

db::measurement_verdict to_db_measurement(verdict v) {
  switch (v) {
    case verdict::pass:
      return db::measurement_verdict::pass;
    case verdict::marginal:
      return db::measurement_verdict::marginal;
    case verdict::fail:
      return db::measurement_verdict::fail;
    case verdict::error:
      return db::measurement_verdict::error;
    case verdict::skipped:
    case verdict::info:
      return db::measurement_verdict::info;
  }
  return db::measurement_verdict::info;
}

db::severity to_db(severity s) {
  switch (s) {
    case severity::debug:
      return db::severity::debug;
    case severity::info:
      return db::severity::info;
    case severity::warning:
      return db::severity::warning;
    case severity::alarm:
      return db::severity::alarm;
    case severity::fault:
      return db::severity::fault;
    case severity::error:
      return db::severity::error;
  }
  return db::severity::error;
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

bool is_cancellation(const std::error_code& ec) {
  return ec == std::errc::operation_canceled || ec == errc::cancelled;
}

// Shared state of one run.
// A FIFO async mutex on the runner's io_context (single-threaded: no locking needed).
struct device_mutex {
  bool locked = false;
  std::deque<asio::any_completion_handler<void()>> waiters;
};

// Where the DUTs meet at a station step: the last one to arrive runs it for all.
struct station_barrier {
  int arrived = 0;
  bool any_active = false;  // at least one arriving DUT was not skipping
  bool started = false;
  bool done = false;
  verdict result = verdict::skipped;
  std::deque<asio::any_completion_handler<void()>> waiters;
  std::function<task<void>()> run;  // runs the step for everyone (set by the first arrival)
};

struct dut_state;

struct run_state {
  const run_options& opts;
  hilt::clock& clk;
  bench& b;
  db::recorder& rec;
  const hilt::sequence& seq;
  std::int64_t run_id = 0;
  std::shared_ptr<spdlog::logger> lg = log::get("runner");
  bool interrupted = false;
  bool stop_all = false;  // stop_all policy tripped
  std::map<std::string, std::int64_t, std::less<>> metric_ids;
  std::map<std::string, device_mutex, std::less<>> locks;
  std::map<std::string, station_barrier, std::less<>> barriers;
  int walkers = 0;  // DUT coroutines walking the sequence (they all meet at station steps)
  std::unique_ptr<dut_state> station;  // the pseudo-DUT station steps run as

  void emit(progress_event e) {
    if (!opts.progress) return;
    e.t = clk.now_seconds();
    opts.progress(e);
  }

  std::int64_t metric(std::string_view name, std::string_view unit) {
    const std::string key = fmt::format("{}\x1f{}", name, unit);
    auto it = metric_ids.find(key);
    if (it != metric_ids.end()) return it->second;
    const auto id = rec.metric(name, unit);
    metric_ids.emplace(key, id);
    return id;
  }
};

struct dut_state {
  int slot = 0;
  std::string name;
  std::string device_name;
  std::optional<std::int64_t> dut_id;  // empty for the station
  managed_module* module = nullptr;
  std::error_code open_error;
  std::optional<hilt::identity> identity;  // as last reported by set_identity (identify)
  verdict overall = verdict::pass;
  bool stop_main = false;  // stop_dut policy tripped for this DUT
  asio::cancellation_signal cancel;
};

class context_impl final : public step_context {
 public:
  context_impl(run_state& rs, dut_state& d, std::int64_t step_id)
      : rs_(rs), d_(d), step_id_(step_id) {}

  hilt::clock& clock() override { return rs_.clk; }
  spdlog::logger& log() override { return *rs_.lg; }
  managed_module* module() override { return d_.module; }
  int slot() const override { return d_.slot; }
  const std::string& dut_name() const override { return d_.name; }
  bool stop_requested() const override { return rs_.interrupted; }
  device* find_device(std::string_view name) override { return rs_.b.find(name); }
  const link_map& links() const override { return rs_.b.links(); }

  verdict record(const measurement& m) override {
    const verdict v = m.limit ? judge(*m.limit, m.value) : verdict::info;
    db::measurement_record r;
    r.run_id = rs_.run_id;
    r.step_id = step_id_;
    r.dut_id = d_.dut_id;
    r.name = m.name;
    if (m.lane >= 0) r.lane = m.lane;
    if (m.side == side::host) r.side = db::lane_side::host;
    if (m.side == side::media) r.side = db::lane_side::media;
    r.t = rs_.clk.now_seconds();
    r.value = m.value;
    r.unit = m.unit;
    if (m.limit) {
      const auto& l = *m.limit;
      r.comparator = std::string(to_string(l.cmp));
      r.limit_low = l.low;
      r.limit_high = l.high;
      r.nominal = l.nominal;
      if (l.marginal && *l.marginal > 0) {
        if (l.low) r.marginal_low = *l.low + *l.marginal;
        if (l.high) r.marginal_high = *l.high - *l.marginal;
      }
      r.limit_source = l.source;
    } else {
      r.comparator = "none";
    }
    r.verdict = to_db_measurement(v);
    rs_.rec.add_measurement(std::move(r));
    rs_.lg->debug("{}: {}{} = {} {} -> {}", d_.name, m.name,
                  m.lane >= 0 ? fmt::format("[lane {}]", m.lane) : "", m.value, m.unit,
                  to_string(v));
    return v;
  }

  void sample(std::string_view metric, std::string_view unit, int lane, double value) override {
    rs_.rec.add_sample(rs_.run_id, d_.dut_id.value_or(db::station_dut), rs_.metric(metric, unit),
                       lane, rs_.clk.now_seconds(), value);
  }

  void ber_counts(int lane, side s, std::uint64_t bits, std::uint64_t errors, double gate_s,
                  std::string_view pattern) override {
    db::ber_record r;
    r.run_id = rs_.run_id;
    r.step_id = step_id_;
    r.dut_id = d_.dut_id;
    r.lane = lane;
    if (s == side::host) r.side = db::lane_side::host;
    if (s == side::media) r.side = db::lane_side::media;
    r.t = rs_.clk.now_seconds();
    r.gate_s = gate_s;
    r.bits = static_cast<std::int64_t>(bits);
    r.errors = static_cast<std::int64_t>(errors);
    r.pattern = std::string(pattern);
    rs_.rec.add_ber_counts(std::move(r));
  }

  task<std::shared_ptr<void>> async_lock(std::string_view device_name) override {
    auto& m = rs_.locks[std::string(device_name)];
    if (m.locked) {
      rs_.lg->debug("{}: waiting for {}", d_.name, device_name);
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
          [&m](auto handler) {
            // Constructed in place: any_completion_handler must never be move-assigned (Asio 1.26).
            m.waiters.emplace_back(std::move(handler));
          },
          asio::use_awaitable);
    }
    m.locked = true;
    auto* rs = &rs_;
    const std::string name(device_name);
    co_return std::shared_ptr<void>(nullptr, [rs, name](void*) {
      auto& mm = rs->locks[name];
      if (mm.waiters.empty()) {
        mm.locked = false;
        return;
      }
      // Hand the instrument straight to the next waiter, in arrival order.
      auto h = std::move(mm.waiters.front());
      mm.waiters.pop_front();
      asio::post(rs->clk.context().get_executor(),
                 [h = std::move(h)]() mutable { std::move(h)(); });
    });
  }

  void progress(clock::time_point until, std::string_view note) override {
    progress_event e;
    e.what = progress_event::kind::step_waiting;
    e.slot = d_.slot;
    e.dut = d_.name;
    e.path = path_;
    e.message = std::string(note);
    e.until = std::chrono::duration<double>(until).count();
    rs_.emit(std::move(e));
  }

  void set_path(std::string p) { path_ = std::move(p); }

  void event(severity s, std::string_view kind, std::string_view message,
             std::error_code code) override {
    db::event_record e;
    e.run_id = rs_.run_id;
    e.dut_id = d_.dut_id;
    e.device = d_.device_name;
    e.t = rs_.clk.now_seconds();
    e.severity = to_db(s);
    e.kind = std::string(kind);
    if (code) e.code = code.value();
    e.message = std::string(message);
    rs_.rec.add_event(std::move(e));
    const auto lvl = s >= severity::alarm ? spdlog::level::warn : spdlog::level::info;
    rs_.lg->log(lvl, "{}: {}: {}", d_.name, kind, message);
  }

  const identity* dut_identity() const override { return d_.identity ? &*d_.identity : nullptr; }

  void set_identity(const identity& id) override {
    if (!d_.dut_id) return;  // the station has no identity of its own
    d_.identity = id;
    db::dut_record r;
    r.name = d_.name;
    r.device = d_.device_name;
    r.vendor = id.vendor;
    r.part_number = id.part_number;
    r.serial = id.serial;
    r.revision = id.revision;
    r.firmware = id.firmware;
    nlohmann::json j(id.extra);
    // Module strings are bytes from a device: never let one that is not UTF-8 abort the run.
    r.identity_json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    r.status = db::dut_status::running;
    rs_.rec.update_dut(*d_.dut_id, std::move(r));
  }

 private:
  run_state& rs_;
  dut_state& d_;
  std::int64_t step_id_;
  std::string path_;
};

// Runs a step under its timeout. Device errors come back as outcomes; exceptions escaping a
// step are harness errors and are turned into an error outcome here, so one DUT's trouble never
// reaches another's coroutine.
task<step_outcome> run_leaf(run_state& rs, const step_node& n, context_impl& ctx) {
  using namespace asio::experimental::awaitable_operators;
  try {
    if (n.timeout) {
      auto r = co_await (n.impl->run(ctx) || rs.clk.async_sleep(*n.timeout, asio::use_awaitable));
      if (r.index() == 0) co_return std::get<0>(std::move(r));
      co_return step_outcome{verdict::error, make_error_code(errc::timeout),
                             fmt::format("step timed out after {}", format_duration(*n.timeout))};
    }
    co_return co_await n.impl->run(ctx);
  } catch (const boost::system::system_error& e) {
    // Asio's awaitables throw boost's system_error when an operation is cancelled (Ctrl-C).
    if (e.code() == boost::asio::error::operation_aborted) {
      co_return step_outcome{verdict::error, make_error_code(errc::cancelled), "interrupted"};
    }
    co_return step_outcome{verdict::error, make_error_code(errc::io_error),
                           fmt::format("harness error: {}", e.what())};
  } catch (const std::system_error& e) {
    if (is_cancellation(e.code())) {
      co_return step_outcome{verdict::error, make_error_code(errc::cancelled), "interrupted"};
    }
    co_return step_outcome{verdict::error, make_error_code(errc::io_error),
                           fmt::format("harness error: {}", e.what())};
  } catch (const std::exception& e) {
    co_return step_outcome{verdict::error, make_error_code(errc::io_error),
                           fmt::format("harness error: {}", e.what())};
  }
}

struct section_ctx {
  std::string section;  // "setup", "main", "cleanup"
  bool stoppable;       // main and setup stop on policy; cleanup never does
};

task<verdict> run_nodes(run_state& rs, dut_state& d, const std::vector<step_node>& nodes,
                        const std::string& prefix, std::optional<std::int64_t> parent,
                        const section_ctx& sc);

bool should_skip(run_state& rs, dut_state& d, const section_ctx& sc) {
  if (!sc.stoppable) return false;
  return d.stop_main || rs.stop_all || rs.interrupted;
}

// Runs one node (a leaf step with its retries, or a group) for `d`, recording it.
task<verdict> execute_node(run_state& rs, dut_state& d, const step_node& n, const std::string& path,
                           int ordinal, std::optional<std::int64_t> parent, const section_ctx& sc) {
  db::step_record sr;
  sr.run_id = rs.run_id;
  sr.dut_id = d.dut_id;
  sr.parent_id = parent;
  sr.ordinal = ordinal;
  sr.path = path;
  sr.name = n.name;
  sr.type = n.type;
  sr.sweep_point_json = n.sweep_point_json;
  sr.started_t = rs.clk.now_seconds();

  if (!n.impl) {  // a group
    const std::optional<std::int64_t> id = rs.rec.begin_step(sr);
    const verdict v = co_await run_nodes(rs, d, n.children, path, id, sc);
    rs.rec.end_step(*id, to_db(v), rs.clk.now_seconds());
    co_return v;
  }

  step_outcome out;
  for (int attempt = 1; attempt <= 1 + n.retries; ++attempt) {
    sr.attempt = attempt;
    sr.started_t = rs.clk.now_seconds();
    const auto id = rs.rec.begin_step(sr);
    context_impl ctx(rs, d, id);
    ctx.set_path(path);
    if (!sc.stoppable && rs.interrupted) {
      // Cleanup after an interrupt: give the cleanup steps a fresh cancellation state.
      co_await asio::this_coro::reset_cancellation_state();
    }
    rs.emit({.what = progress_event::kind::step_started,
             .slot = d.slot,
             .dut = d.name,
             .path = path,
             .step = n.name});
    out = co_await run_leaf(rs, n, ctx);
    const double t_end = rs.clk.now_seconds();
    std::optional<std::int64_t> code;
    if (out.error) code = out.error.value();
    rs.rec.end_step(id, to_db(out.verdict), t_end, code, out.message);
    rs.lg->info("slot {} {}: {} ({}) -> {}{} ({:.3f} s)", d.slot, d.name, path, n.name,
                to_string(out.verdict), out.message.empty() ? "" : ": " + out.message,
                t_end - sr.started_t);
    rs.emit({.what = progress_event::kind::step_finished,
             .slot = d.slot,
             .dut = d.name,
             .path = path,
             .step = n.name,
             .verdict = out.verdict,
             .message = out.message,
             .duration = t_end - sr.started_t});
    if (out.verdict == verdict::error) {
      ctx.event(severity::error, "step_error",
                fmt::format("{} ({}): {}", path, n.where, out.message), out.error);
    }
    const bool ok = out.verdict != verdict::fail && out.verdict != verdict::error;
    if (ok || rs.interrupted || out.error == errc::cancelled) break;
    if (attempt <= n.retries) {
      rs.lg->info("slot {} {}: {} retry {} of {}", d.slot, d.name, path, attempt, n.retries);
    }
  }
  co_return out.verdict;
}

// Runs the station step at `path` once for the bench, then releases everyone waiting at it.
task<void> run_station(run_state& rs, station_barrier& b, const step_node& n,
                       const std::string& path, int ordinal, const section_ctx& sc) {
  b.started = true;
  const std::optional<std::int64_t> no_parent;
  if (b.any_active && !(sc.stoppable && (rs.interrupted || rs.stop_all))) {
    b.result = co_await execute_node(rs, *rs.station, n, path, ordinal, no_parent, sc);
  } else {
    // Every DUT had stopped (or the run was interrupted): the station step is skipped, but still
    // recorded, so the report shows it did not run.
    db::step_record sr;
    sr.run_id = rs.run_id;
    sr.ordinal = ordinal;
    sr.path = path;
    sr.name = n.name;
    sr.type = n.type;
    sr.sweep_point_json = n.sweep_point_json;
    sr.started_t = rs.clk.now_seconds();
    const auto id = rs.rec.begin_step(sr);
    rs.rec.end_step(id, db::step_verdict::skipped, rs.clk.now_seconds());
    b.result = verdict::skipped;
  }
  b.done = true;
  while (!b.waiters.empty()) {
    auto h = std::move(b.waiters.front());
    b.waiters.pop_front();
    asio::post(rs.clk.context().get_executor(), [h = std::move(h)]() mutable { std::move(h)(); });
  }
}

bool contains_station_step(const step_node& n) {
  if (n.station) return true;
  for (const auto& c : n.children) {
    if (contains_station_step(c)) return true;
  }
  return false;
}

task<verdict> run_node(run_state& rs, dut_state& d, const step_node& n, const std::string& path,
                       int ordinal, std::optional<std::int64_t> parent, const section_ctx& sc) {
  const bool skip = should_skip(rs, d, sc);
  // Inside a station group everything already runs as the station: no second barrier.
  if (n.station && &d != rs.station.get()) {
    auto& b = rs.barriers[path];
    if (!b.run) {
      b.run = [&rs, &b, &n, path, ordinal, sc]() {
        return run_station(rs, b, n, path, ordinal, sc);
      };
    }
    ++b.arrived;
    b.any_active = b.any_active || !skip;
    if (!b.started && b.arrived >= rs.walkers) {
      co_await b.run();
    } else if (!b.done) {
      rs.emit({.what = progress_event::kind::message,
               .slot = d.slot,
               .dut = d.name,
               .path = path,
               .step = n.name,
               .message = fmt::format("waiting at station step {} ({} of {} DUTs here)", path,
                                      b.arrived, rs.walkers)});
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
          [&b](auto handler) { b.waiters.emplace_back(std::move(handler)); }, asio::use_awaitable);
    }
    co_return skip ? verdict::skipped : b.result;
  }

  if (skip) {
    db::step_record sr;
    sr.run_id = rs.run_id;
    sr.dut_id = d.dut_id;
    sr.parent_id = parent;
    sr.ordinal = ordinal;
    sr.path = path;
    sr.name = n.name;
    sr.type = n.type;
    sr.sweep_point_json = n.sweep_point_json;
    sr.started_t = rs.clk.now_seconds();
    const auto id = rs.rec.begin_step(sr);
    if (!n.impl && contains_station_step(n)) {
      // The other DUTs wait at the station steps inside this group until every DUT still
      // walking the sequence has arrived: walk it (skipping) so that this DUT arrives too.
      // Without this a DUT stopped by its policy or by Ctrl-C left the others waiting forever.
      co_await run_nodes(rs, d, n.children, path, id, sc);
    }
    rs.rec.end_step(id, db::step_verdict::skipped, rs.clk.now_seconds());
    co_return verdict::skipped;
  }
  co_return co_await execute_node(rs, d, n, path, ordinal, parent, sc);
}

task<verdict> run_nodes(run_state& rs, dut_state& d, const std::vector<step_node>& nodes,
                        const std::string& prefix, std::optional<std::int64_t> parent,
                        const section_ctx& sc) {
  verdict v = verdict::skipped;
  int ordinal = 0;
  for (const auto& n : nodes) {
    ++ordinal;
    const std::string path = fmt::format("{}/{}/{}", prefix, ordinal, n.type);
    const verdict r = co_await run_node(rs, d, n, path, ordinal, parent, sc);
    if (r == verdict::info || r == verdict::pass) {
      if (v == verdict::skipped) v = verdict::pass;
    } else {
      v = worst(v, r);
    }
    if ((r == verdict::fail || r == verdict::error) && sc.stoppable) {
      switch (rs.seq.on_fail) {
        case stop_policy::stop_dut:
          d.stop_main = true;
          break;
        case stop_policy::stop_all:
          rs.stop_all = true;
          break;
        case stop_policy::never:
          break;
      }
    }
  }
  co_return v;
}

// The DUT is done with the sequence: its lasers go dark now rather than when the last DUT ends
// (the others may soak for weeks). Recorded as a safe_state event, like the bench's.
task<void> dut_safe_state(run_state& rs, dut_state& d) {
  // After an interrupt this coroutine's cancellation state is still set: clear it, or the
  // safe-state write would be cancelled before it is sent.
  co_await asio::this_coro::reset_cancellation_state();
  const auto t0 = rs.clk.now();
  std::error_code ec;
  try {
    ec = co_await d.module->async_safe_state(std::chrono::seconds(2));
  } catch (const std::exception& e) {
    rs.lg->error("slot {} {}: safe state: {}", d.slot, d.name, e.what());
    ec = make_error_code(errc::io_error);
  }
  const double took = std::chrono::duration<double>(rs.clk.now() - t0).count();
  db::event_record e;
  e.run_id = rs.run_id;
  e.dut_id = d.dut_id;
  e.device = d.device_name;
  e.t = rs.clk.now_seconds();
  e.kind = "safe_state";
  if (!ec || ec == make_error_code(errc::not_supported)) {
    e.severity = db::severity::info;
    e.message =
        fmt::format("{}: DUT done, module in its safe state ({:.3f} s)", d.device_name, took);
  } else {
    e.severity = db::severity::error;
    e.code = ec.value();
    e.message = fmt::format("{}: DUT done, safe state NOT confirmed after {:.3f} s: {}",
                            d.device_name, took, ec.message());
    rs.lg->error("slot {} {}: {}", d.slot, d.name, e.message);
  }
  rs.rec.add_event(std::move(e));
}

task<void> run_dut(run_state& rs, dut_state& d) {
  // An interrupt cancels the operation in flight (the step ends with an error) and nothing else:
  // without this, every later co_await in this coroutine would throw, and cleanup could not run.
  co_await asio::this_coro::throw_if_cancelled(false);
  if (!d.module) {
    // The module could not be opened: every step of this DUT is an error, the others go on.
    db::event_record e;
    e.run_id = rs.run_id;
    e.dut_id = d.dut_id;
    e.device = d.device_name;
    e.t = rs.clk.now_seconds();
    e.severity = db::severity::error;
    e.kind = "device_open_failed";
    if (d.open_error) e.code = d.open_error.value();
    e.message = fmt::format("{}: cannot open: {}", d.device_name,
                            d.open_error ? d.open_error.message() : "not a managed module");
    rs.rec.add_event(std::move(e));
    d.overall = verdict::error;
    rs.emit({.what = progress_event::kind::dut_finished,
             .slot = d.slot,
             .dut = d.name,
             .verdict = verdict::error,
             .message = fmt::format("cannot open {}", d.device_name)});
    co_return;
  }
  // Named locals, not temporaries, in the co_await expressions: g++ 12 destroys temporaries
  // bound to a coroutine's reference parameters twice (GCC PR 100611 family).
  const std::string setup = "setup", main = "main", cleanup = "cleanup";
  const section_ctx setup_ctx{setup, true}, main_ctx{main, true}, cleanup_ctx{cleanup, false};
  const std::optional<std::int64_t> top;
  const verdict s = co_await run_nodes(rs, d, rs.seq.setup, setup, top, setup_ctx);
  d.overall = worst(d.overall, s);
  const verdict m = co_await run_nodes(rs, d, rs.seq.main, main, top, main_ctx);
  d.overall = worst(d.overall, m);
  const verdict c = co_await run_nodes(rs, d, rs.seq.cleanup, cleanup, top, cleanup_ctx);
  d.overall = worst(d.overall, c);
  co_await dut_safe_state(rs, d);
  rs.emit({.what = progress_event::kind::dut_finished,
           .slot = d.slot,
           .dut = d.name,
           .verdict = d.overall});
}

// A DUT stopped walking the sequence (its coroutine died): station steps that were waiting only
// for it run now.
void leave_barriers(run_state& rs) {
  --rs.walkers;
  for (auto& [path, b] : rs.barriers) {
    if (!b.started && b.arrived > 0 && b.arrived >= rs.walkers && b.run) {
      b.started = true;
      asio::co_spawn(rs.clk.context(), b.run(), asio::detached);
    }
  }
}

// Writes every emulated device's own account of its state to $HILT_EMU_STATE (one line per
// device), for the safe-state tests: they check the emulators, not what the harness believes.
void write_emulator_state(bench& b) {
  const char* file = std::getenv("HILT_EMU_STATE");
  if (!file || !*file || !b.emulation()) return;
  std::ofstream out(file, std::ios::trunc);
  for (const auto& line : b.emulation()->describe())
    out << line << '\n';
}

// hilt-logs/run-N.lock, held (flock) for as long as the run is open. Never unlinked: removing a
// lock file that another process may be opening races; a stale file is harmless (the lock, not
// the file, tells).
class run_lock {
 public:
  run_lock() = default;
  run_lock(const run_lock&) = delete;
  run_lock& operator=(const run_lock&) = delete;
  ~run_lock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Locks `file`. Returns false, with the holder's pid when it wrote one, if another process
  // holds it; true also when the file cannot be created (no lock is better than no run).
  bool acquire(const std::filesystem::path& file, std::string& holder) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return true;
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      const auto n = ::pread(fd_, buf, sizeof buf - 1, 0);
      holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    const auto pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // The pid is a courtesy for the message above; the lock itself is what counts.
    }
    return true;
  }

 private:
  int fd_ = -1;
};

std::filesystem::path logs_dir(const std::filesystem::path& db) {
  return std::filesystem::absolute(db).parent_path() / "hilt-logs";
}

// What a resume needs of the stored run.
struct stored_run {
  std::string sequence_path, sequence_text, fixture_path, fixture_text, parameters_json;
  std::string clock_mode, status;
  bool closed_cleanly = false;
  std::optional<std::int64_t> seed;
};

stored_run load_stored_run(const std::filesystem::path& db_path, std::int64_t id) {
  db::database rd(db_path, db::open_options{.mode = db::open_mode::read_only});
  db::statement q(rd,
                  "SELECT sequence_path, sequence_text, fixture_path, fixture_text, "
                  "parameters_json, clock_mode, status, closed_cleanly, seed FROM runs "
                  "WHERE id = ?1");
  q.bind(1, id);
  if (!q.step()) {
    throw config_error(db_path.string(), fmt::format("run {} is not in this database (`hilt runs "
                                                     "--db {}` lists the runs it holds)",
                                                     id, db_path.string()));
  }
  stored_run r;
  r.sequence_path = q.column_text(0);
  r.sequence_text = q.column_text(1);
  r.fixture_path = q.column_text(2);
  r.fixture_text = q.column_text(3);
  r.parameters_json = q.column_text(4);
  r.clock_mode = q.column_text(5);
  r.status = q.column_text(6);
  r.closed_cleanly = q.column_int64(7) != 0;
  r.seed = q.column_opt_int64(8);
  return r;
}

std::string runtime_json(const std::map<std::string, std::string>& params) {
  nlohmann::json j(params);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

namespace {

// Blocks SIGINT and SIGTERM for the runner's thread (and every thread it starts) until the
// handlers are installed, and restores the caller's mask at the end.
class signal_block {
 public:
  explicit signal_block(bool active) : active_(active) {
    if (!active_) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  // The handlers are in place: let pending and future signals through to them.
  void release() {
    if (!active_ || released_) return;
    released_ = true;
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ~signal_block() { release(); }
  signal_block(const signal_block&) = delete;
  signal_block& operator=(const signal_block&) = delete;

 private:
  bool active_;
  bool released_ = false;
  sigset_t old_{};
};

}  // namespace

run_summary run_sequence(const run_options& opts, const driver_registry& registry) {
  const auto wall_start = std::chrono::steady_clock::now();
  signal_block blocked(opts.handle_signals);
  const bool resuming = opts.resume.has_value();

  // 1. Everything that can be checked, before any device is touched.
  std::optional<stored_run> stored;
  run_lock lock;
  std::map<std::string, std::string> overrides = opts.overrides;
  if (resuming) {
    if (!opts.sequence.empty() || !opts.fixture.empty() || !opts.overrides.empty() || opts.clock ||
        opts.seed) {
      throw config_error(opts.db.string(),
                         "a resumed run uses its stored sequence, fixture, "
                         "parameters, clock and seed: give none of them");
    }
    stored = load_stored_run(opts.db, *opts.resume);
    const auto id = *opts.resume;
    if (stored->status != "running") {
      throw config_error(
          opts.db.string(),
          fmt::format("run {} ended ({}{}): only a run that never recorded its end (its process "
                      "was killed, crashed or lost power) can be resumed; start it again with "
                      "`hilt run`",
                      id, stored->status, stored->closed_cleanly ? ", closed cleanly" : ""));
    }
    std::string holder;
    std::error_code ec;
    std::filesystem::create_directories(logs_dir(opts.db), ec);
    if (!lock.acquire(logs_dir(opts.db) / fmt::format("run-{}.lock", id), holder)) {
      throw config_error(opts.db.string(),
                         fmt::format("run {} is still running{}: resume it only once that process "
                                     "has ended",
                                     id, holder.empty() ? "" : fmt::format(" (pid {})", holder)));
    }
    if (stored->clock_mode != "virtual") {
      throw config_error(
          opts.db.string(),
          fmt::format("run {} ran in {} time: resume re-creates a run by replaying it in virtual "
                      "time on its emulated bench, which a real-time run cannot be; its results "
                      "up to the interruption are kept (`hilt show {}`)",
                      id, stored->clock_mode, id));
    }
    if (stored->sequence_text.empty() || stored->fixture_text.empty()) {
      throw config_error(opts.db.string(),
                         fmt::format("run {} does not hold its sequence and fixture text", id));
    }
    if (!stored->parameters_json.empty()) {
      try {
        const auto params = nlohmann::json::parse(stored->parameters_json);
        for (const auto& [k, v] : params.items()) {
          overrides[k] = v.is_string() ? v.get<std::string>() : v.dump();
        }
      } catch (const nlohmann::json::exception& e) {
        throw config_error(opts.db.string(),
                           fmt::format("run {}: stored parameters unreadable: {}", id, e.what()));
      }
    }
  }
  const hilt::sequence seq =
      resuming ? seq::load_sequence_text(stored->sequence_text, stored->sequence_path,
                                         seq::load_options{overrides})
               : seq::load_sequence(opts.sequence, seq::load_options{overrides});
  // The bench: --fixture, else the one the sequence names (`fixture:`), else the default.
  const std::filesystem::path fixture_path = resuming ? std::filesystem::path(stored->fixture_path)
                                             : !opts.fixture.empty() ? opts.fixture
                                             : !seq.fixture.empty()
                                                 ? std::filesystem::path(seq.fixture)
                                                 : default_fixture_path();
  const fixture fx = resuming ? load_fixture_text(stored->fixture_text, fixture_path, &registry)
                              : load_fixture(fixture_path, &registry);
  if (auto problems = seq::check_sequence_against_fixture(seq, fx); !problems.empty()) {
    throw problems.front();
  }
  std::set<int> selected;  // the DUT slots the sequence runs on (its `duts:`)
  for (const auto& d : seq::select_duts(seq, fx))
    selected.insert(d.slot);
  if (fx.duts.empty()) {
    throw config_error(fx.path, "the fixture defines no DUTs ('duts:' is empty or missing)");
  }
  // Overdue calibrations: `refuse` throws here, before anything is touched.
  const auto calibration = check_calibration(fx, today_utc());
  const clock_mode mode = resuming ? clock_mode::virtual_time : opts.clock.value_or(fx.clock);
  const std::uint64_t seed =
      resuming
          ? static_cast<std::uint64_t>(stored->seed.value_or(static_cast<std::int64_t>(fx.seed)))
          : opts.seed.value_or(fx.seed);

  db::recorder rec(opts.db);

  // 2. The run record (or the resumed one), and its log file next to the database.
  std::string operator_name = opts.operator_name;
  if (operator_name.empty()) {
    if (const char* u = std::getenv("USER"); u && *u) {
      operator_name = u;
    } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) {
      operator_name = pw->pw_name;
    }
  }
  auto calibration_event = [&](const calibration_finding& f, std::int64_t run) {
    db::event_record e;
    e.run_id = run;
    e.device = f.device;
    e.severity = db::severity::warning;
    e.kind = "calibration_overdue";
    e.message = f.message;
    return e;
  };
  std::int64_t run_id = 0;
  db::replay_summary replay;
  if (resuming) {
    run_id = *opts.resume;
    db::event_record e;
    e.severity = db::severity::warning;
    e.message = fmt::format(
        "run resumed by {} on {} (hilt {}): re-running it in virtual time from the start with "
        "seed {}; rows already stored are kept and not written again",
        operator_name, hostname(), version, seed);
    std::vector<db::event_record> preamble;
    for (const auto& f : calibration)
      preamble.push_back(calibration_event(f, run_id));
    replay = rec.begin_replay(run_id, std::move(e), std::move(preamble));
  } else {
    db::run_record rr;
    rr.sequence_name = seq.name;
    rr.sequence_path = seq.path;
    rr.sequence_text = seq.text;
    rr.fixture_path = fx.path;
    rr.fixture_text = fx.text;
    rr.parameters_json = runtime_json(seq.parameters);
    rr.hilt_version = version;
    rr.clock_mode = std::string(to_string(mode));
    rr.host = hostname();
    rr.operator_name = operator_name;
    rr.seed = static_cast<std::int64_t>(seed);
    run_id = rec.begin_run(rr);
  }

  run_summary summary;
  summary.run_id = run_id;
  summary.replayed_rows = replay.rows;
  {
    const auto dir = logs_dir(opts.db);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    summary.log_file = dir / fmt::format("run-{}.log", run_id);
    if (!ec) log::add_run_log(summary.log_file);
    std::string holder;
    if (!resuming) lock.acquire(dir / fmt::format("run-{}.lock", run_id), holder);
  }
  auto lg = log::get("runner");
  if (resuming) {
    lg->warn(
        "run {}: resuming {} ({}) on fixture {} in virtual time, seed {}: {} rows ({} "
        "samples) already stored, up to harness time {}",
        run_id, seq.name, seq.path, fx.path, seed, replay.rows, replay.samples,
        format_duration(std::chrono::duration_cast<clock::duration>(
            std::chrono::duration<double>(replay.last_t))));
  } else {
    lg->info("run {}: sequence {} ({}), fixture {} ({}), clock {}, seed {}", run_id, seq.name,
             seq.path, fx.name, fx.path, to_string(mode), seed);
  }
  for (const auto& f : calibration) {
    lg->warn("{}: {}", f.where, f.message);
    if (!resuming) rec.add_event(calibration_event(f, run_id));
  }

  asio::io_context io;
  hilt::clock clk(io, mode);
  std::unique_ptr<bench> b;
  try {
    b = std::make_unique<bench>(fx, registry, clk, seed);
    // What only the opened devices know (an attenuator's range, a device's class), before any
    // step touches them.
    if (auto problems = seq::check_sequence_against_bench(seq, *b); !problems.empty()) {
      throw problems.front();
    }
  } catch (...) {
    if (!resuming) {
      rec.end_run(run_id, db::run_end{db::run_status::error, true, exit_code::bad_input, 0.0, {}});
    }
    log::remove_run_log();
    throw;
  }

  run_state rs{opts, clk, *b, rec, seq, run_id};
  std::vector<std::unique_ptr<dut_state>> duts;
  std::vector<db::dut_record> dut_rows;
  for (const auto& fd : b->duts()) {
    if (!selected.contains(fd.slot)) continue;
    auto d = std::make_unique<dut_state>();
    d->slot = fd.slot;
    d->name = fd.name;
    d->device_name = fd.module;
    if (auto* slot = b->find_slot(fd.module)) {
      d->module = dynamic_cast<managed_module*>(slot->device.get());
      d->open_error = slot->open_error;
      if (slot->device && !d->module) {
        throw config_error(fx.path, fmt::format("DUT '{}' (slot {}) uses device '{}', which is "
                                                "not a managed module",
                                                fd.name, fd.slot, fd.module));
      }
    }
    db::dut_record r;
    r.run_id = run_id;
    r.slot = fd.slot;
    r.name = fd.name;
    r.device = fd.module;
    dut_rows.push_back(std::move(r));
    duts.push_back(std::move(d));
  }

  // 3. Signals: first = cancel and clean up; second = safe state now, exit.
  auto safe_state_event = [&](const bench::device_slot& dev, std::error_code ec, double took) {
    db::event_record e;
    e.run_id = run_id;
    e.device = dev.name;
    e.t = clk.now_seconds();
    e.kind = "safe_state";
    if (!ec || ec == make_error_code(errc::not_supported)) {
      e.severity = db::severity::info;
      e.message = fmt::format("{} ({}): safe ({:.3f} s)", dev.name, dev.address.text, took);
    } else {
      e.severity = db::severity::error;
      e.code = ec.value();
      e.message = fmt::format("{} ({}): safe state NOT confirmed after {:.3f} s: {}", dev.name,
                              dev.address.text, took, ec.message());
    }
    rec.add_event(std::move(e));
  };
  std::optional<asio::signal_set> signals;
  int signal_count = 0;
  bool finished = false;
  std::function<void()> arm_signals;
  if (opts.handle_signals) {
    signals.emplace(io, SIGINT, SIGTERM);
    arm_signals = [&]() {
      signals->async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec || finished) return;
        ++signal_count;
        rs.interrupted = true;
        const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
        lg->warn("{} received: {}", name,
                 signal_count == 1 ? "stopping the steps, running cleanup and safe state"
                                   : "forcing exit after safe state");
        db::event_record ev;
        ev.run_id = run_id;
        ev.t = clk.now_seconds();
        ev.severity = db::severity::warning;
        ev.kind = "interrupted";
        ev.message = signal_count == 1
                         ? fmt::format("{}: stopping the steps, then cleanup and safe state", name)
                         : fmt::format("{} again: safe state now, cleanup abandoned", name);
        rec.add_event(std::move(ev));
        rs.emit({.what = progress_event::kind::message,
                 .message = signal_count == 1
                                ? "interrupted: stopping, running cleanup, then safe state "
                                  "(Ctrl-C again to skip cleanup)"
                                : "interrupted again: safe state, then exit"});
        if (signal_count == 1) {
          for (auto& d : duts)
            d->cancel.emit(asio::cancellation_type::terminal);
          arm_signals();
        } else {
          asio::co_spawn(
              io,
              [&]() -> task<void> {
                co_await b->async_safe_state(std::chrono::seconds(2), safe_state_event);
                write_emulator_state(*b);
                rec.end_run(run_id, db::run_end{db::run_status::interrupted,
                                                false,
                                                exit_code::interrupted,
                                                clk.now_seconds(),
                                                {}});
                rec.close();
                log::remove_run_log();
                std::_Exit(exit_code::interrupted);
              },
              asio::detached);
        }
      });
    };
    arm_signals();
  }
  blocked.release();

  // 4. Instruments' identities, then one coroutine per DUT; when the last one ends, safe state
  //    and close.
  std::size_t running = duts.size();
  int unsafe = 0;
  rs.station = std::make_unique<dut_state>();
  rs.station->name = "station";
  for (const auto& d : duts) {
    if (d->module) ++rs.walkers;
  }
  // In real time nothing may happen for a long while (a soak): tick the progress display.
  std::optional<asio::steady_timer> ticker;
  std::function<void()> arm_ticker;
  if (mode == clock_mode::real && opts.progress) {
    ticker.emplace(io);
    arm_ticker = [&]() {
      ticker->expires_after(std::chrono::seconds(1));
      ticker->async_wait([&](const boost::system::error_code& ec) {
        if (ec || finished) return;
        rs.emit({.what = progress_event::kind::tick});
        arm_ticker();
      });
    };
    arm_ticker();
  }
  auto finish = [&]() -> task<void> {
    unsafe = co_await b->async_safe_state(std::chrono::seconds(2), safe_state_event);
    write_emulator_state(*b);
    finished = true;
    if (signals) signals->cancel();
    if (ticker) ticker->cancel();
  };
  auto start = [&]() -> task<void> {
    for (auto& s : b->devices()) {
      db::run_device_record d;
      d.run_id = run_id;
      d.name = s.name;
      d.address = s.address.text;
      d.driver = s.address.driver;
      d.device_class = s.device ? std::string(to_string(s.device->kind())) : "";
      d.calibration_due = s.calibration_due;
      // DUT modules are read by the identify step, as part of the sequence.
      if (s.device && s.device->kind() != device_class::managed_module && !rs.interrupted) {
        auto id = co_await s.device->async_identify(std::chrono::seconds(5));
        if (id) {
          const identity& v = id.value();
          d.vendor = v.vendor;
          d.model = v.part_number;
          d.serial = v.serial;
          d.firmware = v.firmware.empty() ? v.revision : v.firmware;
          if (!v.extra.empty()) {
            d.identity_json = nlohmann::json(v.extra).dump(
                -1, ' ', false, nlohmann::json::error_handler_t::replace);
          }
          lg->info("{}: {} {} serial {} firmware {}", s.name, d.vendor, d.model, d.serial,
                   d.firmware);
        } else if (id.error() != make_error_code(errc::not_supported)) {
          db::event_record e;
          e.run_id = run_id;
          e.device = s.name;
          e.t = clk.now_seconds();
          e.severity = db::severity::warning;
          e.kind = "identify_failed";
          e.code = id.error().value();
          e.message = fmt::format("{} ({}): identity not read: {}", s.name, s.address.text,
                                  id.error().message());
          lg->warn("{}", e.message);
          rec.add_run_device(std::move(d));
          rec.add_event(std::move(e));
          continue;
        }
      }
      rec.add_run_device(std::move(d));
    }
    for (std::size_t i = 0; i < duts.size(); ++i)
      duts[i]->dut_id = rec.add_dut(dut_rows[i]);
    for (auto& d : duts) {
      asio::co_spawn(
          io, run_dut(rs, *d),
          asio::bind_cancellation_slot(d->cancel.slot(), [&, dp = d.get()](std::exception_ptr e) {
            if (e) {
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& ex) {
                lg->error("slot {}: harness error: {}", dp->slot, ex.what());
              }
              dp->overall = verdict::error;
              // It will not reach the station steps ahead: do not wait for it.
              if (dp->module) leave_barriers(rs);
            }
            if (--running == 0) asio::co_spawn(io, finish(), asio::detached);
          }));
    }
    if (duts.empty()) asio::co_spawn(io, finish(), asio::detached);
  };
  asio::co_spawn(io, start(), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      lg->error("harness error while starting the run: {}", ex.what());
    }
    asio::co_spawn(io, finish(), asio::detached);
  });
  clk.run();

  // 5. Close the run.
  bool any_fail = false, any_error = unsafe > 0;
  for (auto& d : duts) {
    db::dut_status st = db::dut_status::ok;
    if (d->overall == verdict::fail) {
      any_fail = true;
      st = db::dut_status::failed;
    } else if (d->overall == verdict::error) {
      any_error = true;
      st = db::dut_status::error;
    }
    if (d->dut_id) rec.set_dut_status(*d->dut_id, st);
  }
  if (resuming && rec.replaying()) {
    // The re-run did not re-create everything the database held: the stored run came from a
    // different build, fixture files or sequence includes than this one. Nothing stored is
    // overwritten; say so loudly.
    summary.replay_diverged = true;
    any_error = true;
    db::event_record e;
    e.run_id = run_id;
    e.t = clk.now_seconds();
    e.severity = db::severity::error;
    e.kind = "replay_diverged";
    e.message =
        "the resumed run did not re-create every stored row: the stored run was made "
        "with different code or input files; its stored rows are kept as they were";
    lg->error("{}", e.message);
    rec.add_event(std::move(e));
  }
  db::run_status status = db::run_status::passed;
  summary.exit_code = exit_code::passed;
  if (rs.interrupted) {
    status = db::run_status::interrupted;
    summary.exit_code = exit_code::interrupted;
  } else if (any_error) {
    status = db::run_status::error;
    summary.exit_code = exit_code::device_error;
  } else if (any_fail) {
    status = db::run_status::failed;
    summary.exit_code = exit_code::failed;
  }
  summary.status = std::string(db::to_string(status));
  summary.duration_s = clk.now_seconds();
  rec.end_run(run_id, db::run_end{status, true, summary.exit_code, summary.duration_s, {}});
  lg->info("run {} ended: {} (harness time {})", run_id, summary.status,
           format_duration(clk.now()));
  rec.close();
  log::remove_run_log();
  summary.wall_duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return summary;
}

}  // namespace hilt
