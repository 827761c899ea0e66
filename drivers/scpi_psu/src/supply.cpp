#include "hilt/scpi_psu/supply.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "hilt/error.hpp"
#include "hilt/scpi_psu/scpi.hpp"

namespace hilt::scpi_psu {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}
constexpr int max_error_entries = 32;  // SCPI-99 queues hold at least 2; instruments ~20
}  // namespace

scpi_supply::scpi_supply(std::string name, std::string address, hilt::device_context ctx,
                         tcp_target target, supply_options opts)
    : hilt::power_supply(std::move(name), std::move(address), ctx),
      opts_(std::move(opts)),
      model_(opts_.model),
      link_(std::make_unique<tcp_line_client>(ctx.executor, ctx.clock, std::move(target))) {}

scpi_supply::scpi_supply(std::string name, std::string address, hilt::device_context ctx,
                         std::unique_ptr<line_transport> link, supply_options opts)
    : hilt::power_supply(std::move(name), std::move(address), ctx),
      opts_(std::move(opts)),
      model_(opts_.model),
      link_(std::move(link)) {}

scpi_supply::~scpi_supply() = default;

int scpi_supply::channel_count() const noexcept {
  return model_ ? model_->channel_count() : 1;
}

std::error_code scpi_supply::transport_error(const char* op, const std::string& what,
                                             std::error_code ec) {
  log().error("{} ({}): {}: '{}' on {}: {} ({})", name(), address(), op, printable(what),
              link_->describe(), ec.message(), link_->last_error());
  return ec;
}

std::error_code scpi_supply::check_channel(const char* op, int channel) {
  if (channel >= 1 && channel <= channel_count()) return {};
  log().error("{} ({}): {}: channel {} does not exist (this {} has channels 1..{})", name(),
              address(), op, channel, model_ ? model_->name : "supply", channel_count());
  return code(errc::invalid_argument);
}

std::error_code scpi_supply::check_value(const char* op, int channel, quantity q, double value) {
  const char* unit = q == quantity::voltage ? "V" : "A";
  if (!std::isfinite(value) || value < 0) {
    log().error("{} ({}): {} channel {}: {} {} is not a setting (expects a finite value >= 0)",
                name(), address(), op, channel, value, unit);
    return code(errc::invalid_argument);
  }
  auto it = opts_.limits.find(channel);
  if (it == opts_.limits.end()) return {};
  const auto& lim = q == quantity::voltage ? it->second.max_voltage : it->second.max_current;
  if (lim && value > *lim) {
    log().error(
        "{} ({}): {} channel {}: {} {} refused: above the fixture limit {} = {} {} "
        "(nothing was sent)",
        name(), address(), op, channel, value, unit,
        q == quantity::voltage ? "max_voltage" : "max_current", *lim, unit);
    return code(errc::limit_refused);
  }
  return {};
}

task<std::error_code> scpi_supply::drain_errors(const char* op,
                                                const std::vector<std::string>& sent, bool stale) {
  const std::string query_cmd = model_ ? model_->commands.error_query : "SYST:ERR?";
  std::vector<std::string> entries;
  for (int i = 0; i < max_error_entries; ++i) {
    auto r = co_await link_->async_query(query_cmd, opts_.timeout);
    if (!r) co_return transport_error(op, query_cmd, r.error());
    auto e = scpi::parse_error(r.value());
    if (!e) {
      log().error(
          "{} ({}): {}: reply '{}' to '{}' is not an error-queue entry "
          "(expected <code>,\"<text>\")",
          name(), address(), op, printable(r.value()), query_cmd);
      link_->close();
      co_return code(errc::bad_reply);
    }
    if (e->code == 0) break;
    entries.push_back(fmt::format("{},\"{}\"", e->code, e->text));
  }
  if (entries.empty()) co_return std::error_code{};
  if (stale) {
    log().warn("{} ({}): {}: the error queue held entries from before this connection: {}", name(),
               address(), op, fmt::join(entries, "; "));
    co_return std::error_code{};
  }
  log().error("{} ({}): {}: {}: instrument error {}", name(), address(), op, fmt::join(sent, "; "),
              fmt::join(entries, "; "));
  co_return code(errc::instrument_error);
}

task<std::error_code> scpi_supply::ensure_model(const char* op) {
  if (model_) co_return std::error_code{};
  const std::string idn_cmd = "*IDN?";
  auto r = co_await link_->async_query(idn_cmd, opts_.timeout);
  if (!r) co_return transport_error(op, idn_cmd, r.error());
  auto idn = scpi::parse_idn(r.value());
  if (!idn) {
    log().error("{} ({}): {}: reply '{}' to *IDN? is not manufacturer,model,serial,firmware",
                name(), address(), op, printable(r.value()));
    co_return code(errc::bad_reply);
  }
  const std::string key = (*idn)[0] + "," + (*idn)[1];
  for (const auto& m : opts_.candidates) {
    if (m.matches(key)) {
      model_ = m;
      log().info("{} ({}): *IDN? '{}' -> model {}", name(), address(), printable(r.value()),
                 m.name);
      co_return std::error_code{};
    }
  }
  std::vector<std::string> names;
  for (const auto& m : opts_.candidates)
    names.push_back(m.name);
  log().error(
      "{} ({}): {}: *IDN? '{}' matches no supply model (known: {}); name one with "
      "options: {{model: ...}} or ?model=",
      name(), address(), op, printable(r.value()), fmt::join(names, ", "));
  co_return code(errc::not_supported);
}

task<std::error_code> scpi_supply::prepare(const char* op) {
  if (!link_->is_open()) {
    if (auto ec = co_await link_->async_connect()) {
      log().error("{} ({}): {}: {}", name(), address(), op, link_->last_error());
      co_return ec;
    }
  }
  if (link_->connects() != drained_on_) {
    drained_on_ = link_->connects();
    const std::vector<std::string> nothing_sent;  // named: no temporaries into coroutine references
    if (auto ec = co_await drain_errors(op, nothing_sent, true)) co_return ec;
  }
  co_return co_await ensure_model(op);
}

task<std::error_code> scpi_supply::run_commands(const char* op, int channel,
                                                std::vector<std::string> cmds) {
  std::vector<std::string> sent;
  const auto& select = model_->commands.select_channel;
  const std::uint64_t conn = link_->connects();
  const bool select_needed =
      channel > 0 && !select.empty() && (selected_on_ != conn || selected_channel_ != channel);
  if (select_needed) sent.push_back(scpi::expand(select, channel));
  for (auto& c : cmds)
    sent.push_back(std::move(c));
  if (sent.empty()) co_return std::error_code{};
  selected_on_ = 0;  // unknown until the error check below passes
  for (const auto& c : sent) {
    if (auto ec = co_await link_->async_send(c, opts_.timeout))
      co_return transport_error(op, c, ec);
    if (link_->connects() != conn) {
      // The line went out on a new connection: the ones before it went nowhere.
      log().warn("{} ({}): {}: connection replaced while sending '{}'", name(), address(), op, c);
      co_return code(errc::disconnected);
    }
  }
  if (auto ec = co_await drain_errors(op, sent, false)) co_return ec;
  if (link_->connects() != conn) co_return code(errc::disconnected);
  if (channel > 0) {
    selected_channel_ = channel;
    selected_on_ = conn;
  }
  co_return std::error_code{};
}

task<result<std::string>> scpi_supply::query(const char* op, int channel, std::string cmd) {
  std::vector<std::string> select_only;  // run_commands adds the channel select when needed
  if (auto ec = co_await run_commands(op, channel, std::move(select_only))) co_return failure(ec);
  const std::uint64_t conn = link_->connects();
  auto r = co_await link_->async_query(cmd, opts_.timeout);
  if (!r) co_return failure(transport_error(op, cmd, r.error()));
  if (link_->connects() != conn) co_return failure(code(errc::disconnected));
  co_return std::move(r).value();
}

task<result<double>> scpi_supply::query_number(const char* op, int channel, std::string cmd) {
  auto r = co_await query(op, channel, cmd);
  if (!r) co_return failure(r.error());
  auto v = scpi::parse_number(r.value());
  if (!v) {
    log().error("{} ({}): {} channel {}: reply '{}' to '{}' is not a number", name(), address(), op,
                channel, printable(r.value()), cmd);
    link_->close();  // whatever produced it may have more to say: start clean
    co_return failure(code(errc::bad_reply));
  }
  co_return *v;
}

task<result<double>> scpi_supply::set_and_read_back(const char* op, int channel, quantity q,
                                                    double value) {
  // Refused before anything is sent: a bad value, a fixture limit, a channel a known model lacks.
  if (auto ec = check_value(op, channel, q, value)) co_return failure(ec);
  if (model_) {
    if (auto ec = check_channel(op, channel)) co_return failure(ec);
  }
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) ec = check_channel(op, channel);
    if (!ec) {
      const auto& k = model_->commands;
      std::vector<std::string> cmds{
          scpi::expand(q == quantity::voltage ? k.set_voltage : k.set_current, channel, value)};
      ec = co_await run_commands(op, channel, std::move(cmds));
      if (!ec) {
        auto actual = co_await query_number(
            op, channel,
            scpi::expand(q == quantity::voltage ? k.query_voltage : k.query_current, channel));
        if (actual) {
          const char* unit = q == quantity::voltage ? "V" : "A";
          log().info("{} ({}): {} channel {}: requested {} {}, instrument reports {} {}", name(),
                     address(), op, channel, value, unit, actual.value(), unit);
          co_return actual;
        }
        ec = actual.error();
      }
    }
    if (ec == code(errc::disconnected) && attempt == 0) {
      log().warn("{} ({}): {}: connection lost; reconnecting and trying once more", name(),
                 address(), op);
      continue;
    }
    co_return failure(ec);
  }
}

task<result<double>> scpi_supply::measure(const char* op, int channel, quantity q) {
  if (model_) {
    if (auto ec = check_channel(op, channel)) co_return failure(ec);
  }
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) ec = check_channel(op, channel);
    if (!ec) {
      const auto& k = model_->commands;
      auto r = co_await query_number(
          op, channel,
          scpi::expand(q == quantity::voltage ? k.measure_voltage : k.measure_current, channel));
      if (r) co_return r;
      ec = r.error();
    }
    if (ec == code(errc::disconnected) && attempt == 0) {
      log().warn("{} ({}): {}: connection lost; reconnecting and trying once more", name(),
                 address(), op);
      continue;
    }
    co_return failure(ec);
  }
}

task<result<double>> scpi_supply::do_set_voltage(int channel, double volts) {
  co_return co_await set_and_read_back("set_voltage", channel, quantity::voltage, volts);
}

task<result<double>> scpi_supply::do_set_current_limit(int channel, double amps) {
  co_return co_await set_and_read_back("set_current_limit", channel, quantity::current, amps);
}

task<result<double>> scpi_supply::do_measure_voltage(int channel) {
  co_return co_await measure("measure_voltage", channel, quantity::voltage);
}

task<result<double>> scpi_supply::do_measure_current(int channel) {
  co_return co_await measure("measure_current", channel, quantity::current);
}

task<std::error_code> scpi_supply::do_set_output(int channel, bool on) {
  const char* op = on ? "output_on" : "output_off";
  if (model_) {
    if (auto ec = check_channel(op, channel)) co_return ec;
  }
  auto guard = co_await link_->async_lock();
  if (!guard) co_return code(errc::cancelled);
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) ec = check_channel(op, channel);
    if (!ec) {
      const auto& k = model_->commands;
      std::vector<std::string> cmds;
      for (const auto& t : on ? k.output_on : k.output_off)
        cmds.push_back(scpi::expand(t, channel));
      ec = co_await run_commands(op, channel, std::move(cmds));
      if (!ec) {
        // Read the state back: an output that trips the moment it turns on must not pass.
        auto state = co_await query(op, channel, scpi::expand(k.query_output, channel));
        if (state) {
          auto b = scpi::parse_bool(state.value());
          if (!b) {
            log().error("{} ({}): {} channel {}: reply '{}' to '{}' is not 0/1/ON/OFF", name(),
                        address(), op, channel, printable(state.value()), k.query_output);
            link_->close();
            co_return code(errc::bad_reply);
          }
          if (*b != on) {
            log().error("{} ({}): {} channel {}: the instrument reports the output {}", name(),
                        address(), op, channel, *b ? "still on" : "off");
            co_return code(errc::device_fault);
          }
          log().info("{} ({}): channel {} output {}", name(), address(), channel,
                     on ? "on" : "off");
          co_return std::error_code{};
        }
        ec = state.error();
      }
    }
    if (ec == code(errc::disconnected) && attempt == 0) {
      log().warn("{} ({}): {}: connection lost; reconnecting and trying once more", name(),
                 address(), op);
      continue;
    }
    co_return ec;
  }
}

task<result<hilt::identity>> scpi_supply::do_identify() {
  const char* op = "identify";
  auto guard = co_await link_->async_lock();
  if (!guard) co_return failure(code(errc::cancelled));
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = co_await prepare(op);
    if (!ec) {
      auto r = co_await query(op, 0, model_->commands.identify);
      if (r) {
        auto idn = scpi::parse_idn(r.value());
        if (!idn) {
          log().error("{} ({}): {}: reply '{}' to '{}' is not manufacturer,model,serial,firmware",
                      name(), address(), op, printable(r.value()), model_->commands.identify);
          co_return failure(code(errc::bad_reply));
        }
        hilt::identity id;
        id.vendor = (*idn)[0];
        id.part_number = (*idn)[1];
        id.serial = (*idn)[2];
        id.firmware = (*idn)[3];
        id.extra["model_table"] = model_->name;
        id.extra["channels"] = std::to_string(model_->channel_count());
        id.extra["resolution"] =
            fmt::format("{} V, {} A", model_->voltage_resolution, model_->current_resolution);
        id.extra["endpoint"] = link_->describe();
        co_return id;
      }
      ec = r.error();
    }
    if (ec == code(errc::disconnected) && attempt == 0) continue;
    co_return failure(ec);
  }
}

}  // namespace hilt::scpi_psu
