#include "fec/fec.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

std::vector<linked_port> linked_ports(step_context& ctx, const managed_module& m,
                                      std::string& error) {
  std::vector<linked_port> out;
  const auto links = ctx.links().electrical_of(m.name());
  if (links.empty()) {
    error = fmt::format("{} is linked to no switch ASIC (fixture 'links:')", describe_device(m));
    return {};
  }
  for (const auto* l : links) {
    auto* asic = dynamic_cast<switch_asic*>(ctx.find_device(l->asic));
    if (asic == nullptr) {
      error = fmt::format("switch ASIC '{}' ({}) is not open on this bench", l->asic, l->where);
      return {};
    }
    bool seen = false;
    for (const auto& p : out)
      seen = seen || (p.asic == asic && p.port == l->port);
    if (!seen) out.push_back({asic, l->port, l->where});
  }
  return out;
}

double fec_window::pre_fec_ber() const noexcept {
  if (codewords == 0) return std::nan("");
  // RS(544,514) and RS(528,514): 10-bit symbols (IEEE 802.3 cl. 91 / 119).
  const double symbols = mode == fec_mode::rs528 ? 528.0 : 544.0;
  const double bits = static_cast<double>(codewords) * symbols * 10.0;
  const double errors =
      static_cast<double>(corrected_bits) +
      static_cast<double>(max_correctable + 1) * static_cast<double>(uncorrectable);
  return errors / bits;
}

void add_window(fec_window& w, const fec_counters& start, const fec_counters& end,
                std::string_view port_name) {
  auto diff = [&](std::uint64_t a, std::uint64_t b, std::string_view name) -> std::uint64_t {
    if (b < a) {
      w.wrapped = true;
      w.wrapped_counters.push_back(fmt::format("{} {}", port_name, name));
      return 0;
    }
    return b - a;
  };
  w.mode = end.mode;
  w.max_correctable = end.max_correctable;
  w.correctable += diff(start.correctable, end.correctable, "correctable");
  w.uncorrectable += diff(start.uncorrectable, end.uncorrectable, "uncorrectable");
  w.symbol_errors += diff(start.symbol_errors, end.symbol_errors, "symbol_errors");
  w.corrected_bits += diff(start.corrected_bits, end.corrected_bits, "corrected_bits");
  if (w.histogram.size() < end.histogram.size()) w.histogram.resize(end.histogram.size());
  for (std::size_t k = 0; k < end.histogram.size(); ++k) {
    const std::uint64_t a = k < start.histogram.size() ? start.histogram[k] : 0;
    const std::uint64_t d = diff(a, end.histogram[k], fmt::format("S{}", k));
    w.histogram[k] += d;
    w.codewords += d;
  }
}

namespace {

std::shared_ptr<const step> parse_fec(parse_context& ctx, const step_spec& spec) {
  const std::size_t errors_before = ctx.error_count();
  fec_step::config cfg;
  cfg.where = ctx.where(spec.node);
  if (const auto* e = spec.options.find("window")) {
    if (auto d = ctx.read_duration(e->value, "window", /*allow_zero=*/false)) cfg.window = *d;
  }
  if (const auto* e = spec.options.find("link_timeout")) {
    if (auto d = ctx.read_duration(e->value, "link_timeout", /*allow_zero=*/false))
      cfg.link_timeout = *d;
  }
  if (const auto* e = spec.options.find("mode")) {
    static constexpr std::array<std::string_view, 3> modes{"none", "rs528", "rs544"};
    if (auto v = ctx.read_choice(e->value, "mode", modes)) cfg.mode = parse_fec_mode(*v);
  }
  if (const auto* e = spec.options.find("max_pre_fec_ber")) {
    static constexpr std::array dims{dimension::none};
    if (auto q = ctx.read_quantity(e->value, "max_pre_fec_ber", dims)) {
      if (!(q->value > 0 && q->value < 0.5)) {
        ctx.error(e->value, fmt::format("max_pre_fec_ber: a BER must be above 0 and below 0.5, "
                                        "got {:g}",
                                        q->value));
      } else {
        cfg.max_pre_fec_ber = q->value;
      }
    }
  }
  if (const auto* e = spec.options.find("max_uncorrectable")) {
    if (auto n = ctx.read_integer(e->value, "max_uncorrectable", 0, 1'000'000'000'000LL,
                                  "uncorrectable codewords allowed in the window")) {
      cfg.max_uncorrectable = static_cast<std::uint64_t>(*n);
    }
  }
  if (cfg.mode && *cfg.mode == fec_mode::none) {
    ctx.error(spec.options.find("mode")->value,
              "mode: none switches FEC off, and then there are no FEC statistics to read");
  }
  if (ctx.error_count() != errors_before) return nullptr;
  return std::make_shared<fec_step>(std::move(cfg));
}

const char* port_text_sep = ", ";

}  // namespace

std::vector<link_need> fec_step::required_links() const {
  return {{link_need::kind::asic, config_.where, "step 'fec'"}};
}

task<step_outcome> fec_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("fec");
  const config& c = config_;
  auto& clk = ctx.clock();
  std::string error;
  const std::vector<linked_port> ports = linked_ports(ctx, *m, error);
  if (ports.empty()) {
    co_return step_outcome{verdict::error, make_error_code(errc::invalid_argument),
                           fmt::format("fec: {} ({})", error, c.where)};
  }
  std::vector<std::string> names;
  for (const auto& p : ports)
    names.push_back(fmt::format("{}/{}", p.asic->name(), p.port));
  const std::string what = fmt::format("FEC on {}", join(names, port_text_sep));

  // 1. Mode (clears the counters).
  if (c.mode) {
    for (const auto& p : ports) {
      auto r = co_await p.asic->async_set_fec_mode(p.port, *c.mode);
      if (!r) {
        co_return device_failure(
            *p.asic, fmt::format("set port {} fec_mode {}", p.port, to_string(*c.mode)), r.error());
      }
      if (r.value() != *c.mode) {
        const std::string msg =
            fmt::format("{}: port {}: FEC mode {} requested, {} in effect",
                        describe_device(*p.asic), p.port, to_string(*c.mode), to_string(r.value()));
        ctx.event(severity::alarm, "fec_mode_mismatch", msg);
        co_return step_outcome{verdict::fail, {}, msg};
      }
    }
  }
  const limit link_limit{.cmp = limit::comparator::eq,
                         .low = 1,
                         .high = 1,
                         .nominal = 1,
                         .unit = "",
                         .source = c.where};

  // 2. Link up.
  const auto deadline = clk.now() + c.link_timeout;
  ctx.progress(deadline, fmt::format("waiting for link up on {}", join(names, port_text_sep)));
  for (;;) {
    std::vector<std::string> down;
    for (const auto& p : ports) {
      auto r = co_await p.asic->async_link_status(p.port);
      if (!r)
        co_return device_failure(*p.asic, fmt::format("read port {} link", p.port), r.error());
      if (r.value().up) continue;
      std::vector<std::string> lanes;
      for (const auto& l : r.value().lanes) {
        if (!l.signal_detect)
          lanes.push_back(fmt::format("lane {} no signal", l.lane));
        else if (!l.cdr_lock)
          lanes.push_back(fmt::format("lane {} no CDR lock", l.lane));
      }
      down.push_back(fmt::format("{}/{} down ({})", p.asic->name(), p.port,
                                 lanes.empty() ? std::string("no lane reported") : join(lanes)));
    }
    if (down.empty()) break;
    if (clk.now() >= deadline) {
      const std::string msg = fmt::format("{}: link not up within {}: {}", describe_device(*m),
                                          format_duration(c.link_timeout), join(down, "; "));
      ctx.event(severity::alarm, "link_down", msg);
      ctx.record(measurement{"link_up", -1, side::host, 0.0, "", link_limit});
      co_return step_outcome{verdict::fail, {}, msg};
    }
    std::error_code ec = make_error_code(errc::cancelled);
    if (!co_await step_cancelled())
      ec = co_await clk.async_sleep(
          std::min<clock::duration>(std::chrono::milliseconds(100), c.link_timeout),
          asio::use_awaitable);
    if (ec) {
      co_return step_outcome{verdict::error, make_error_code(errc::cancelled),
                             "fec: cancelled while waiting for link up"};
    }
  }
  // Reading the link state cleared the latched losses: from here on a latched loss is a flap.

  // 3. Counters at the start, the window, counters at the end.
  std::vector<fec_counters> start;
  for (const auto& p : ports) {
    auto r = co_await p.asic->async_read_fec(p.port);
    if (!r) co_return device_failure(*p.asic, fmt::format("read port {} FEC", p.port), r.error());
    start.push_back(std::move(r.value()));
  }
  const auto t0 = clk.now();
  ctx.progress(t0 + c.window, fmt::format("counting {} for {}", what, format_duration(c.window)));
  {
    std::error_code ec = make_error_code(errc::cancelled);
    if (!co_await step_cancelled()) ec = co_await clk.async_sleep(c.window, asio::use_awaitable);
    if (ec) {
      co_return step_outcome{verdict::error, make_error_code(errc::cancelled),
                             "fec: cancelled during the window"};
    }
  }
  fec_window w;
  std::vector<std::string> flaps;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const auto& p = ports[i];
    auto r = co_await p.asic->async_read_fec(p.port);
    if (!r) co_return device_failure(*p.asic, fmt::format("read port {} FEC", p.port), r.error());
    add_window(w, start[i], r.value(), fmt::format("{}/{}", p.asic->name(), p.port));
    auto st = co_await p.asic->async_link_status(p.port);
    if (!st)
      co_return device_failure(*p.asic, fmt::format("read port {} link", p.port), st.error());
    bool lost = !st.value().up;
    for (const auto& l : st.value().lanes)
      lost = lost || l.signal_lost || l.lock_lost;
    if (lost) flaps.push_back(fmt::format("{}/{}", p.asic->name(), p.port));
  }
  const double window_s = std::chrono::duration<double>(clk.now() - t0).count();

  // 4. Results.
  verdict overall = verdict::pass;
  if (!flaps.empty()) {
    ctx.event(severity::alarm, "link_flap",
              fmt::format("{}: link lost signal or lock during the {} window on {}",
                          describe_device(*m), format_duration(c.window), join(flaps)));
  }
  overall = worst(overall, ctx.record(measurement{"link_up", -1, side::host,
                                                  flaps.empty() ? 1.0 : 0.0, "", link_limit}));
  auto count = [&](const char* name, std::uint64_t v, std::optional<limit> l = std::nullopt) {
    return ctx.record(measurement{name, -1, side::host, static_cast<double>(v), "", std::move(l)});
  };
  count("fec_codewords", w.codewords);
  count("fec_correctable", w.correctable);
  overall = worst(overall, count("fec_uncorrectable", w.uncorrectable,
                                 limit{.cmp = limit::comparator::le,
                                       .high = static_cast<double>(c.max_uncorrectable),
                                       .unit = "",
                                       .source = c.where}));
  count("fec_symbol_errors", w.symbol_errors);
  count("fec_corrected_bits", w.corrected_bits);
  for (std::size_t k = 0; k < w.histogram.size(); ++k) {
    ctx.record(measurement{fmt::format("fec_codeword_errors_s{}", k), -1, side::host,
                           static_cast<double>(w.histogram[k]), "", std::nullopt});
  }
  const double ber = w.pre_fec_ber();
  overall = worst(overall, ctx.record(measurement{"pre_fec_ber", -1, side::host, ber, "",
                                                  limit{.cmp = limit::comparator::le,
                                                        .high = c.max_pre_fec_ber,
                                                        .unit = "",
                                                        .source = c.where}}));
  if (w.codewords == 0) {
    ctx.event(severity::alarm, "fec_no_codewords",
              fmt::format("{}: {} counted no codewords in {}", describe_device(*m), what,
                          format_duration(c.window)));
    overall = worst(overall, verdict::fail);
  }
  if (w.wrapped) {
    ctx.event(severity::alarm, "counter_wrapped",
              fmt::format("{}: {}: counter(s) went backwards during the {} window (wrapped): {}; "
                          "their differences are not trustworthy — use a shorter window",
                          describe_device(*m), what, format_duration(c.window),
                          join(w.wrapped_counters)));
    overall = worst(overall, verdict::fail);
  }
  ctx.log().info(
      "{}: {}: {} codewords in {:.0f} s, {} correctable, {} uncorrectable, pre-FEC BER "
      "{:.3g}",
      describe_device(*m), what, w.codewords, window_s, w.correctable, w.uncorrectable, ber);
  co_return step_outcome{
      overall,
      {},
      fmt::format("{}: {} codewords in {}, {} uncorrectable (max {}), pre-FEC BER {:.3g} (max "
                  "{:g}){}",
                  what, w.codewords, format_duration(c.window), w.uncorrectable,
                  c.max_uncorrectable, ber, c.max_pre_fec_ber,
                  w.wrapped ? "; counters wrapped" : "")};
}

step_type fec_step_type() {
  return step_type{
      .name = "fec",
      .summary =
          "FEC statistics of the switch-ASIC ports linked to the DUT over a window: pre-FEC BER "
          "and uncorrectable codewords judged, the codeword histogram stored",
      .options = {"window", "mode", "max_pre_fec_ber", "max_uncorrectable", "link_timeout"},
      .needs_dut = true,
      .children_key = {},
      .parse = parse_fec,
  };
}

}  // namespace hilt::seq
