#include "hilt/modbus_chamber/chamber.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "hilt/error.hpp"

namespace hilt::modbus_chamber {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}
}  // namespace

modbus_chamber::modbus_chamber(std::string name, std::string address, hilt::device_context ctx,
                               tcp_target target, chamber_options opts)
    : hilt::thermal_chamber(std::move(name), std::move(address), ctx),
      opts_(std::move(opts)),
      link_(ctx.executor, ctx.clock, std::move(target), modbus_options{opts_.unit_id}) {}

modbus_chamber::~modbus_chamber() = default;

std::error_code modbus_chamber::fail(const char* op, const register_def& r,
                                     const modbus_reply& reply) {
  log().error("{} ({}): {}: register {} ({}) on {}: {}: {}", name(), address(), op, r.name,
              r.address, link_.describe(), reply.ec.message(), reply.detail);
  return reply.ec;
}

task<result<std::vector<std::uint16_t>>> modbus_chamber::read_raw(const char* op,
                                                                  const register_def& r) {
  auto reply = co_await link_.async_read_holding(r.address, r.count, opts_.timeout);
  if (!reply) co_return failure(fail(op, r, reply));
  co_return std::move(reply.registers);
}

task<result<double>> modbus_chamber::read_value(const char* op, const char* reg) {
  const register_def* r = opts_.map.find(reg);
  if (!r) co_return failure(code(errc::not_supported));
  auto raw = co_await read_raw(op, *r);
  if (!raw) co_return failure(raw.error());
  auto v = decode(*r, raw.value(), opts_.map.high_word_first);
  if (!v) {
    log().error("{} ({}): {}: register {} ({}) holds no {} value", name(), address(), op, r->name,
                r->address, r->unit);
    co_return failure(code(errc::bad_reply));
  }
  co_return *v;
}

task<std::error_code> modbus_chamber::write_value(const char* op, const char* reg, double value) {
  const register_def* r = opts_.map.find(reg);
  if (!r) co_return code(errc::not_supported);
  auto raw = encode(*r, value, opts_.map.high_word_first);
  if (!raw) {
    log().error("{} ({}): {}: {} {} does not fit register {} ({})", name(), address(), op, value,
                r->unit, r->name, r->address);
    co_return code(errc::invalid_argument);
  }
  modbus_reply reply;
  if (raw->size() == 1) {
    reply = co_await link_.async_write_register(r->address, (*raw)[0], opts_.timeout);
  } else {
    reply = co_await link_.async_write_registers(r->address, std::move(*raw), opts_.timeout);
  }
  if (!reply) co_return fail(op, *r, reply);
  co_return std::error_code{};
}

task<result<double>> modbus_chamber::do_set_setpoint(double celsius) {
  const char* op = "set_setpoint";
  if (!std::isfinite(celsius)) {
    log().error("{} ({}): {}: {} C is not a temperature", name(), address(), op, celsius);
    co_return failure(code(errc::invalid_argument));
  }
  if ((opts_.min_setpoint && celsius < *opts_.min_setpoint) ||
      (opts_.max_setpoint && celsius > *opts_.max_setpoint)) {
    const bool low = opts_.min_setpoint && celsius < *opts_.min_setpoint;
    log().error("{} ({}): {}: {} C refused: {} the fixture limit {} = {} C (nothing was sent)",
                name(), address(), op, celsius, low ? "below" : "above",
                low ? "min_setpoint" : "max_setpoint",
                low ? *opts_.min_setpoint : *opts_.max_setpoint);
    co_return failure(code(errc::limit_refused));
  }
  if (opts_.ramp_rate && opts_.map.find("ramp_rate")) {
    if (auto ec = co_await write_value(op, "ramp_rate", *opts_.ramp_rate)) co_return failure(ec);
  }
  if (auto ec = co_await write_value(op, "setpoint", celsius)) co_return failure(ec);
  auto actual = co_await read_value(op, "setpoint");
  if (actual) {
    log().info("{} ({}): set point: requested {} C, controller reports {} C", name(), address(),
               celsius, actual.value());
  }
  co_return actual;
}

task<result<double>> modbus_chamber::async_read_setpoint() {
  co_return co_await read_value("read_setpoint", "setpoint");
}

task<result<double>> modbus_chamber::do_read_temperature() {
  const char* op = "read_temperature";
  auto pv = co_await read_value(op, "process_value");
  if (!pv) co_return pv;
  if (const register_def* a = opts_.map.find("alarms")) {
    auto raw = co_await read_raw(op, *a);
    if (!raw) co_return failure(raw.error());
    const std::uint16_t bits = raw.value().empty() ? 0 : raw.value()[0];
    if (bits != 0) {
      std::vector<std::string> names;
      bool fault = false;
      for (int b = 0; b < 16; ++b) {
        if (!(bits & (1u << b))) continue;
        auto it = opts_.map.alarm_bits.find(b);
        const std::string n =
            it != opts_.map.alarm_bits.end() ? it->second : fmt::format("bit{}", b);
        fault = fault || n == "sensor_fault" || n == "over_temperature";
        names.push_back(n);
      }
      if (fault) {
        log().error("{} ({}): {}: register {} ({}) = 0x{:04x}: alarm {} (process value {} C)",
                    name(), address(), op, a->name, a->address, bits, fmt::join(names, ", "),
                    pv.value());
        co_return failure(code(errc::device_fault));
      }
      log().debug("{} ({}): alarms {}", name(), address(), fmt::join(names, ", "));
    }
  }
  co_return pv;
}

task<std::error_code> modbus_chamber::do_set_running(bool run) {
  const char* op = run ? "run" : "stop";
  if (!run) {
    // Stop at a safe set point: whoever starts the chamber again starts it there.
    if (auto ec = co_await write_value(op, "setpoint", safe_setpoint())) co_return ec;
  }
  const double want = run ? opts_.map.run_value : opts_.map.stop_value;
  if (auto ec = co_await write_value(op, "run_state", want)) co_return ec;
  auto state = co_await read_value(op, "run_state");
  if (!state) co_return state.error();
  if (state.value() != want) {
    log().error("{} ({}): {}: register run_state reads {} after writing {}", name(), address(), op,
                state.value(), want);
    co_return code(errc::device_fault);
  }
  log().info("{} ({}): {}{}", name(), address(), run ? "running" : "stopped",
             run ? "" : fmt::format(" (set point {} C)", safe_setpoint()));
  co_return std::error_code{};
}

task<result<hilt::identity>> modbus_chamber::do_identify() {
  const char* op = "identify";
  hilt::identity id = opts_.identity;
  if (id.vendor.empty()) id.vendor = opts_.map.vendor;
  if (id.part_number.empty()) id.part_number = opts_.map.model;
  id.extra["register_map"] = opts_.map.name;
  id.extra["endpoint"] = link_.describe();
  bool any = false;
  if (const register_def* r = opts_.map.find("part_number")) {
    auto raw = co_await read_raw(op, *r);
    if (!raw) co_return failure(raw.error());
    const std::string pn = decode_string(raw.value());
    if (!pn.empty()) id.part_number = pn;
    any = true;
  }
  if (opts_.map.find("serial_number")) {
    auto v = co_await read_value(op, "serial_number");
    if (!v) co_return failure(v.error());
    if (id.serial.empty()) id.serial = fmt::format("{}", v.value());
    any = true;
  }
  if (opts_.map.find("software_version")) {
    auto v = co_await read_value(op, "software_version");
    if (!v) co_return failure(v.error());
    if (id.firmware.empty()) id.firmware = fmt::format("{}", v.value());
    any = true;
  }
  if (opts_.map.find("hardware_id")) {
    auto v = co_await read_value(op, "hardware_id");
    if (!v) co_return failure(v.error());
    id.extra["hardware_id"] = fmt::format("{}", v.value());
    any = true;
  }
  if (!any) {
    // No identity registers: prove the controller answers by reading the process value.
    auto pv = co_await read_value(op, "process_value");
    if (!pv) co_return failure(pv.error());
  }
  co_return id;
}

task<result<double>> modbus_chamber::async_wait_settled(std::chrono::nanoseconds hold,
                                                        std::chrono::nanoseconds timeout,
                                                        std::chrono::nanoseconds poll) {
  const char* op = "wait_settled";
  auto* clk = context().clock;
  if (!clk) {
    log().error("{} ({}): {}: no harness clock to wait on", name(), address(), op);
    co_return failure(code(errc::not_ready));
  }
  auto sp = co_await read_value(op, "setpoint");
  if (!sp) co_return sp;
  const auto deadline = clk->now() + timeout;
  std::optional<clock::time_point> in_band_since;
  for (;;) {
    auto pv = co_await do_read_temperature();
    if (!pv) co_return pv;
    const auto now = clk->now();
    if (std::abs(pv.value() - sp.value()) <= opts_.deadband) {
      if (!in_band_since) in_band_since = now;
      if (now - *in_band_since >= hold) co_return pv;
    } else {
      in_band_since.reset();
    }
    if (now >= deadline) {
      log().error(
          "{} ({}): {}: process value {} C not within {} C of the set point {} C for {} "
          "after {}",
          name(), address(), op, pv.value(), opts_.deadband, sp.value(), format_duration(hold),
          format_duration(timeout));
      co_return failure(code(errc::state_timeout));
    }
    co_await clk->async_sleep(std::min<clock::duration>(poll, deadline - now), asio::use_awaitable);
  }
}

}  // namespace hilt::modbus_chamber
