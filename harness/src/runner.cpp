#include "hilt/runner.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
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
#include <nlohmann/json.hpp>
#include <set>

#include "hilt/bench.hpp"
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
  device* find_device(std::string_view name) override { return rs_.b.find(name); }

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
    r.identity_json = j.dump();
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

std::string runtime_json(const std::map<std::string, std::string>& params) {
  nlohmann::json j(params);
  return j.dump();
}

}  // namespace

run_summary run_sequence(const run_options& opts, const driver_registry& registry) {
  const auto wall_start = std::chrono::steady_clock::now();
  // 1. Everything that can be checked, before any device is touched.
  const std::filesystem::path fixture_path =
      opts.fixture.empty() ? default_fixture_path() : opts.fixture;
  const fixture fx = load_fixture(fixture_path, &registry);
  const hilt::sequence seq = seq::load_sequence(opts.sequence, seq::load_options{opts.overrides});
  if (auto problems = seq::check_sequence_against_fixture(seq, fx); !problems.empty()) {
    throw problems.front();
  }
  std::set<int> selected;  // the DUT slots the sequence runs on (its `duts:`)
  for (const auto& d : seq::select_duts(seq, fx))
    selected.insert(d.slot);
  if (fx.duts.empty()) {
    throw config_error(fx.path, "the fixture defines no DUTs ('duts:' is empty or missing)");
  }
  const clock_mode mode = opts.clock.value_or(fx.clock);
  const std::uint64_t seed = opts.seed.value_or(fx.seed);

  db::recorder rec(opts.db);

  // 2. The run record, and its log file next to the database.
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
  rr.operator_name = opts.operator_name;
  if (rr.operator_name.empty()) {
    if (const char* u = std::getenv("USER"); u && *u) {
      rr.operator_name = u;
    } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) {
      rr.operator_name = pw->pw_name;
    }
  }
  rr.seed = static_cast<std::int64_t>(seed);
  const std::int64_t run_id = rec.begin_run(rr);

  run_summary summary;
  summary.run_id = run_id;
  {
    const auto dir = std::filesystem::absolute(opts.db).parent_path() / "hilt-logs";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    summary.log_file = dir / fmt::format("run-{}.log", run_id);
    if (!ec) log::add_run_log(summary.log_file);
  }
  auto lg = log::get("runner");
  lg->info("run {}: sequence {} ({}), fixture {} ({}), clock {}, seed {}", run_id, seq.name,
           seq.path, fx.name, fx.path, to_string(mode), seed);

  asio::io_context io;
  hilt::clock clk(io, mode);
  std::unique_ptr<bench> b;
  try {
    b = std::make_unique<bench>(fx, registry, clk, seed);
  } catch (...) {
    rec.end_run(run_id, db::run_end{db::run_status::error, true, exit_code::bad_input, 0.0, {}});
    log::remove_run_log();
    throw;
  }

  for (auto& s : b->devices()) {
    db::run_device_record d;
    d.run_id = run_id;
    d.name = s.name;
    d.address = s.address.text;
    d.driver = s.address.driver;
    d.device_class = s.device ? std::string(to_string(s.device->kind())) : "";
    d.calibration_due = s.calibration_due;
    rec.add_run_device(std::move(d));
  }

  run_state rs{opts, clk, *b, rec, seq, run_id};
  std::vector<std::unique_ptr<dut_state>> duts;
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
    d->dut_id = rec.add_dut(r);
    duts.push_back(std::move(d));
  }

  // 3. Signals: first = cancel and clean up; second = safe state now, exit.
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
        lg->warn("signal {} received: {}", sig,
                 signal_count == 1 ? "stopping the steps, running cleanup and safe state"
                                   : "forcing exit after safe state");
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
                co_await b->async_safe_state();
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

  // 4. One coroutine per DUT; when the last one ends, safe state and close.
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
    unsafe = co_await b->async_safe_state();
    finished = true;
    if (signals) signals->cancel();
    if (ticker) ticker->cancel();
  };
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
    rec.set_dut_status(*d->dut_id, st);
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
