#include "hilt/scpi_voa/attenuator.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "hilt/error.hpp"
#include "hilt/scpi_psu/scpi.hpp"

namespace hilt::scpi_voa {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}
constexpr int max_error_entries = 32;  // SCPI-99 queues hold at least 2; instruments ~30
}  // namespace

scpi_attenuator::scpi_attenuator(std::string name, std::string address, hilt::device_context ctx,
                                 tcp_target target, attenuator_options opts)
    : hilt::optical_attenuator(std::move(name), std::move(address), ctx),
      opts_(std::move(opts)),
      link_(std::make_unique<tcp_line_client>(ctx.executor, ctx.clock, std::move(target))) {
  set_range(attenuation_range{opts_.model.min_db, opts_.model.max_db});
}

scpi_attenuator::~scpi_attenuator() = default;

std::string scpi_attenuator::cmd(const std::string& tmpl, double value) const {
  return scpi::expand(tmpl, opts_.channel, value);
}

std::error_code scpi_attenuator::transport_error(const char* op, const std::string& what,
                                                 std::error_code ec) {
  log().error("{} ({}): {}: '{}' on {}: {} ({})", name(), address(), op, printable(what),
              link_->describe(), ec.message(), link_->last_error());
  return ec;
}

std::error_code scpi_attenuator::garbled(const char* op, const std::string& reply,
                                         const std::string& command, const char* expected) {
  log().error("{} ({}): {}: reply '{}' to '{}' is not {}", name(), address(), op, printable(reply),
              command, expected);
  link_->close();  // whatever produced it may have more to say: start clean
  return code(errc::bad_reply);
}

bool scpi_attenuator::retry(const char* op, std::error_code ec, int attempt) {
  if (ec != code(errc::disconnected) || attempt > 0) return false;
  log().warn("{} ({}): {}: connection lost; reconnecting and trying once more", name(), address(),
             op);
  return true;
}

task<std::error_code> scpi_attenuator::drain_errors(const char* op, std::string sent, bool stale) {
  const std::string& query_cmd = opts_.model.commands.error_query;
  std::vector<std::string> entries;
  for (int i = 0; i < max_error_entries; ++i) {
    auto r = co_await link_->async_query(query_cmd, opts_.timeout);
    if (!r) co_return transport_error(op, query_cmd, r.error());
    auto e = scpi::parse_error(r.value());
    if (!e) co_return garbled(op, r.value(), query_cmd, "an error-queue entry <code>,\"<text>\"");
    if (e->code == 0) break;
    entries.push_back(fmt::format("{},\"{}\"", e->code, e->text));
  }
  if (entries.empty()) co_return std::error_code{};
  if (stale) {
    log().warn("{} ({}): {}: the error queue held entries from before this connection: {}", name(),
               address(), op, fmt::join(entries, "; "));
    co_return std::error_code{};
  }
  log().error("{} ({}): {}: {}: instrument error {}", name(), address(), op, sent,
              fmt::join(entries, "; "));
  co_return code(errc::instrument_error);
}

task<std::error_code> scpi_attenuator::prepare(const char* op) {
  if (!link_->is_open()) {
    if (auto ec = co_await link_->async_connect()) {
      log().error("{} ({}): {}: {}", name(), address(), op, link_->last_error());
      co_return ec;
    }
  }
  if (link_->connects() != drained_on_) {
    drained_on_ = link_->connects();
    if (auto ec = co_await drain_errors(op, std::string(), true)) co_return ec;
    const std::string& clear = opts_.model.commands.clear_status;
    if (!clear.empty()) {
      if (auto ec = co_await link_->async_send(clear, opts_.timeout))
        co_return transport_error(op, clear, ec);
    }
  }
  co_return std::error_code{};
}

task<std::error_code> scpi_attenuator::apply(const char* op, std::string command) {
  const std::uint64_t conn = link_->connects();
  if (auto ec = co_await link_->async_send(command, opts_.timeout))
    co_return transport_error(op, command, ec);
  if (link_->connects() != conn) {
    // The line went out on a new connection: the state this unit relied on is gone.
    log().warn("{} ({}): {}: connection replaced while sending '{}'", name(), address(), op,
               command);
    co_return code(errc::disconnected);
  }
  // *OPC? answers once the attenuator has settled (the filter moves for tens of ms): the value
  // read back after it is the one the light sees.
  const std::string& wait = opts_.model.commands.wait;
  if (!wait.empty()) {
    auto r = co_await link_->async_query(wait, opts_.timeout);
    if (!r) co_return transport_error(op, wait, r.error());
    auto done = scpi::parse_bool(r.value());
    if (!done || !*done) co_return garbled(op, r.value(), wait, "1 (operation complete)");
  }
  if (auto ec = co_await drain_errors(op, command, false)) co_return ec;
  if (link_->connects() != conn) co_return code(errc::disconnected);
  co_return std::error_code{};
}

task<result<std::string>> scpi_attenuator::query(const char* op, std::string command) {
  const std::uint64_t conn = link_->connects();
  auto r = co_await link_->async_query(command, opts_.timeout);
  if (!r) co_return failure(transport_error(op, command, r.error()));
  if (link_->connects() != conn) co_return failure(code(errc::disconnected));
  co_return std::move(r).value();
}

task<result<double>> scpi_attenuator::query_number(const char* op, std::string command) {
  auto r = co_await query(op, command);
  if (!r) co_return failure(r.error());
  auto v = scpi::parse_number(r.value());
  if (!v) co_return failure(garbled(op, r.value(), command, "a number"));
  co_return *v;
}

task<result<double>> scpi_attenuator::do_set_attenuation(double db) {
  // optical_attenuator::async_set_attenuation refused anything outside range() already.
  const char* op = "set_attenuation";
  const auto& k = opts_.model.commands;
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) ec = co_await apply(op, cmd(k.set_attenuation, db));
    if (!ec) {
      auto actual = co_await query_number(op, cmd(k.query_attenuation));
      if (actual) {
        log().info("{} ({}): channel {}: attenuation requested {} dB, instrument reports {} dB",
                   name(), address(), opts_.channel, db, actual.value());
        co_return actual;
      }
      ec = actual.error();
    }
    if (retry(op, ec, attempt)) continue;
    co_return failure(ec);
  }
}

task<result<double>> scpi_attenuator::do_read_attenuation() {
  const char* op = "read_attenuation";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) {
      auto v = co_await query_number(op, cmd(opts_.model.commands.query_attenuation));
      if (v) co_return v;
      ec = v.error();
    }
    if (retry(op, ec, attempt)) continue;
    co_return failure(ec);
  }
}

task<result<double>> scpi_attenuator::do_set_wavelength(double nm) {
  const char* op = "set_wavelength";
  const auto& m = opts_.model;
  if (!(nm >= m.min_nm && nm <= m.max_nm)) {
    log().error(
        "{} ({}): {}: {} nm is outside the instrument's wavelength range {}..{} nm (model {}); "
        "nothing was sent",
        name(), address(), op, nm, m.min_nm, m.max_nm, m.name);
    co_return failure(code(errc::invalid_argument));
  }
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) ec = co_await apply(op, cmd(m.commands.set_wavelength, nm));
    if (!ec) {
      auto reply = co_await query_number(op, cmd(m.commands.query_wavelength));
      if (reply) {
        // SCPI answers in its base unit, metres ("+1.310000E-06"): back to nm, rounded to 1 fm so
        // that the conversion's last-bit noise does not show as 1309.9999999999998 nm.
        const double actual = std::round(reply.value() * m.wavelength_reply_scale * 1e6) / 1e6;
        log().info("{} ({}): channel {}: wavelength requested {} nm, instrument reports {} nm",
                   name(), address(), opts_.channel, nm, actual);
        co_return actual;
      }
      ec = reply.error();
    }
    if (retry(op, ec, attempt)) continue;
    co_return failure(ec);
  }
}

task<std::error_code> scpi_attenuator::do_set_shutter(bool closed) {
  const char* op = closed ? "shutter_close" : "shutter_open";
  const auto& k = opts_.model.commands;
  // Function scope, not the loop body: no owning local of a loop iteration across a suspension.
  const std::string set_cmd = cmd(closed ? k.output_off : k.output_on);
  const std::string q = cmd(k.query_output);
  auto guard = co_await link_->async_lock();
  if (!guard) co_return code(errc::cancelled);
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    // Output state OFF is the shutter closed: no light passes.
    if (!ec) ec = co_await apply(op, set_cmd);
    if (!ec) {
      auto state = co_await query(op, q);
      if (state) {
        auto on = scpi::parse_bool(state.value());
        if (!on) co_return garbled(op, state.value(), q, "0/1/ON/OFF");
        if (*on == closed) {
          log().error("{} ({}): {}: channel {}: the instrument reports the shutter still {}",
                      name(), address(), op, opts_.channel, *on ? "open" : "closed");
          co_return code(errc::device_fault);
        }
        log().info("{} ({}): channel {}: shutter {}", name(), address(), opts_.channel,
                   closed ? "closed" : "open");
        co_return std::error_code{};
      }
      ec = state.error();
    }
    if (retry(op, ec, attempt)) continue;
    co_return ec;
  }
}

task<std::error_code> scpi_attenuator::identify_once(const char* op, hilt::identity& id) {
  const auto& m = opts_.model;
  auto r = co_await query(op, m.commands.identify);
  if (!r) co_return r.error();
  auto idn = scpi::parse_idn(r.value());
  if (!idn) {
    co_return garbled(op, r.value(), m.commands.identify, "manufacturer,model,serial,firmware");
  }
  if (!m.match.empty() && !m.matches((*idn)[0] + "," + (*idn)[1])) {
    log().warn("{} ({}): {}: *IDN? '{}' does not look like model {}; its ranges may not apply",
               name(), address(), op, printable(r.value()), m.name);
  }
  id.vendor = (*idn)[0];
  id.part_number = (*idn)[1];
  id.serial = (*idn)[2];
  id.firmware = (*idn)[3];
  id.extra["model_table"] = m.name;
  id.extra["channel"] = std::to_string(opts_.channel);
  id.extra["attenuation_range"] = fmt::format("{}..{} dB", m.min_db, m.max_db);
  id.extra["wavelength_range"] = fmt::format("{}..{} nm", m.min_nm, m.max_nm);
  id.extra["endpoint"] = link_->describe();
  if (m.commands.query_attenuation_min.empty() || m.commands.query_attenuation_max.empty()) {
    co_return std::error_code{};
  }
  // The instrument's own account of its range, against the model's (which `hilt validate` judged
  // the sequence by): a narrower instrument is worth a warning.
  auto lo = co_await query_number(op, cmd(m.commands.query_attenuation_min));
  if (!lo) co_return lo.error();
  auto hi = co_await query_number(op, cmd(m.commands.query_attenuation_max));
  if (!hi) co_return hi.error();
  id.extra["instrument_attenuation_range"] = fmt::format("{}..{} dB", lo.value(), hi.value());
  if (lo.value() > m.min_db + 1e-9 || hi.value() < m.max_db - 1e-9) {
    log().warn(
        "{} ({}): {}: the instrument reports attenuation {}..{} dB, narrower than model {}'s "
        "{}..{} dB",
        name(), address(), op, lo.value(), hi.value(), m.name, m.min_db, m.max_db);
  }
  co_return std::error_code{};
}

task<result<hilt::identity>> scpi_attenuator::do_identify() {
  const char* op = "identify";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  hilt::identity id;  // function scope: filled by reference, never a temporary
  for (int attempt = 0;; ++attempt) {
    id = hilt::identity{};
    std::error_code ec = co_await prepare(op);
    if (!ec) ec = co_await identify_once(op, id);
    if (!ec) co_return id;
    if (retry(op, ec, attempt)) continue;
    co_return failure(ec);
  }
}

}  // namespace hilt::scpi_voa
