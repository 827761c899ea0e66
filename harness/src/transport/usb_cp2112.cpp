#include "hilt/transport/usb_cp2112.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <cmath>

#include "hilt/clock.hpp"
#include "hilt/error.hpp"
#include "hilt/log.hpp"
#include "hilt/units.hpp"

namespace hilt {

namespace {

std::error_code code(errc e) {
  return make_error_code(e);
}

std::shared_ptr<spdlog::logger> lg() {
  return log::get("usb");
}

// HID class requests (HID 1.11 §7.2) on the interface: feature reports.
constexpr std::uint8_t hid_get_report = 0x01;
constexpr std::uint8_t hid_set_report = 0x09;
constexpr std::uint16_t hid_feature = 0x0300;
constexpr std::uint8_t class_in = 0xA1;   // device-to-host, class, interface
constexpr std::uint8_t class_out = 0x21;  // host-to-device, class, interface

void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::string hex(std::span<const std::uint8_t> b, std::size_t max = 16) {
  std::string s;
  for (std::size_t i = 0; i < b.size() && i < max; ++i)
    s += fmt::format("{}{:02x}", i ? " " : "", b[i]);
  if (b.size() > max) s += " ...";
  return s;
}

}  // namespace

namespace cp2112 {

std::array<std::uint8_t, smbus_config_size> encode(const smbus_config& c) {
  std::array<std::uint8_t, smbus_config_size> r{};
  r[0] = report::smbus_configuration;
  r[1] = static_cast<std::uint8_t>(c.clock_hz >> 24);
  r[2] = static_cast<std::uint8_t>(c.clock_hz >> 16);
  r[3] = static_cast<std::uint8_t>(c.clock_hz >> 8);
  r[4] = static_cast<std::uint8_t>(c.clock_hz);
  r[5] = c.own_address;
  r[6] = c.auto_send_read ? 1 : 0;
  put_be16(&r[7], c.write_timeout_ms);
  put_be16(&r[9], c.read_timeout_ms);
  r[11] = c.scl_low_timeout ? 1 : 0;
  put_be16(&r[12], c.retries);
  return r;
}

std::optional<smbus_config> decode_smbus_config(std::span<const std::uint8_t> b) {
  if (b.size() < smbus_config_size || b[0] != report::smbus_configuration) return std::nullopt;
  smbus_config c;
  c.clock_hz =
      (std::uint32_t{b[1]} << 24) | (std::uint32_t{b[2]} << 16) | (std::uint32_t{b[3]} << 8) | b[4];
  c.own_address = b[5];
  c.auto_send_read = b[6] != 0;
  c.write_timeout_ms = be16(&b[7]);
  c.read_timeout_ms = be16(&b[9]);
  c.scl_low_timeout = b[11] != 0;
  c.retries = be16(&b[12]);
  return c;
}

report_bytes write_request(std::uint8_t addr, std::span<const std::uint8_t> data) {
  report_bytes r{};
  r[0] = report::data_write_request;
  r[1] = static_cast<std::uint8_t>(addr << 1);
  const std::size_t n = std::min(data.size(), max_write);
  r[2] = static_cast<std::uint8_t>(n);
  std::copy_n(data.begin(), n, r.begin() + 3);
  return r;
}

report_bytes write_read_request(std::uint8_t addr, std::span<const std::uint8_t> target_address,
                                std::uint16_t read_length) {
  report_bytes r{};
  r[0] = report::data_write_read_request;
  r[1] = static_cast<std::uint8_t>(addr << 1);
  put_be16(&r[2], read_length);
  const std::size_t n = std::min(target_address.size(), max_target_address);
  r[4] = static_cast<std::uint8_t>(n);
  std::copy_n(target_address.begin(), n, r.begin() + 5);
  return r;
}

report_bytes read_request(std::uint8_t addr, std::uint16_t length) {
  report_bytes r{};
  r[0] = report::data_read_request;
  r[1] = static_cast<std::uint8_t>(addr << 1);
  put_be16(&r[2], length);
  return r;
}

report_bytes force_send(std::uint16_t length) {
  report_bytes r{};
  r[0] = report::data_read_force_send;
  put_be16(&r[1], length);
  return r;
}

report_bytes status_request() {
  report_bytes r{};
  r[0] = report::transfer_status_request;
  r[1] = 0x01;
  return r;
}

report_bytes cancel() {
  report_bytes r{};
  r[0] = report::cancel_transfer;
  r[1] = 0x01;
  return r;
}

std::optional<transfer_status> parse_status(std::span<const std::uint8_t> b, std::string* why) {
  if (b.empty()) {
    if (why) *why = "empty report where 0x16 Transfer Status Response was expected";
    return std::nullopt;
  }
  if (b[0] != report::transfer_status_response) {
    if (why) {
      *why = fmt::format(
          "report 0x{:02x} ({} bytes: {}) where 0x16 Transfer Status Response "
          "was expected",
          b[0], b.size(), hex(b));
    }
    return std::nullopt;
  }
  if (b.size() < 7) {
    if (why) {
      *why = fmt::format("short 0x16 Transfer Status Response: {} bytes ({}), expected 7", b.size(),
                         hex(b));
    }
    return std::nullopt;
  }
  transfer_status s;
  s.status0 = b[1];
  s.status1 = b[2];
  s.retries = be16(&b[3]);
  s.length = be16(&b[5]);
  return s;
}

std::optional<read_response> parse_read_response(std::span<const std::uint8_t> b,
                                                 std::string* why) {
  if (b.empty() || b[0] != report::data_read_response) {
    if (why) {
      *why = b.empty() ? std::string("empty report where 0x13 Data Read Response was expected")
                       : fmt::format(
                             "report 0x{:02x} ({} bytes: {}) where 0x13 Data Read "
                             "Response was expected",
                             b[0], b.size(), hex(b));
    }
    return std::nullopt;
  }
  if (b.size() < 3) {
    if (why) *why = fmt::format("short 0x13 Data Read Response: {} bytes", b.size());
    return std::nullopt;
  }
  const std::size_t n = b[2];
  if (n > max_response_data || 3 + n > b.size()) {
    if (why) {
      *why = fmt::format("0x13 Data Read Response claims {} data bytes, the report holds {}", n,
                         b.size() - 3);
    }
    return std::nullopt;
  }
  return read_response{b[1], b.subspan(3, n)};
}

std::error_code status_error(const transfer_status& s) noexcept {
  switch (s.status0) {
    case status_code::complete:
      return {};
    case status_code::error:
      switch (s.status1) {
        case 0:
          return code(errc::nack);
        case 1:
          return code(errc::bus_timeout);
        case 2:
          return code(errc::arbitration_lost);
        case 3:
        case 4:
          return code(errc::io_error);
        default:
          return code(errc::bad_reply);
      }
    default:
      return code(errc::bad_reply);
  }
}

std::string describe(const transfer_status& s) {
  switch (s.status0) {
    case status_code::idle:
      return "idle";
    case status_code::busy:
      return fmt::format("busy ({})", s.status1 == 0   ? "address acknowledged"
                                      : s.status1 == 1 ? "address NACKed, retrying"
                                      : s.status1 == 2 ? "read in progress"
                                      : s.status1 == 3 ? "write in progress"
                                                       : "status1 ?");
    case status_code::complete:
      return fmt::format("complete, {} retries, {} bytes read", s.retries, s.length);
    case status_code::error: {
      const char* what = s.status1 == 0   ? "address NACKed (timeout)"
                         : s.status1 == 1 ? "bus not free (SCL low / bus timeout)"
                         : s.status1 == 2 ? "arbitration lost"
                         : s.status1 == 3 ? "read incomplete"
                         : s.status1 == 4 ? "write incomplete"
                                          : "undefined error";
      return fmt::format("error: {} (status1 {}), {} retries", what, s.status1, s.retries);
    }
    default:
      return fmt::format("undefined status0 {}", s.status0);
  }
}

bus_options bus_options::parse(std::string_view bus_name) {
  auto bad = [&](std::string_view why) {
    return config_error({}, fmt::format("bad CP2112 bus '{}': {}", bus_name, why));
  };
  bus_options o;
  std::string_view rest = bus_name;
  const auto comma = rest.find(',');
  const std::string_view sel = rest.substr(0, comma);
  try {
    o.sel = usb::selector::parse(sel, "CP2112");
  } catch (const config_error& e) {
    throw config_error({}, e.message());
  }
  if (!o.sel.vid) {
    o.sel.vid = vendor_id;
    o.sel.pid = product_id;
  }
  o.name = std::string(sel);
  rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  while (!rest.empty()) {
    const auto c = rest.find(',');
    const std::string_view kv = rest.substr(0, c);
    rest = c == std::string_view::npos ? std::string_view() : rest.substr(c + 1);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) {
      throw bad(fmt::format("setting '{}' is not key=value (keys: clock, timeout, retries)", kv));
    }
    const std::string_view key = kv.substr(0, eq);
    std::string value(kv.substr(eq + 1));
    if (key == "clock") {
      if (!value.empty() && (value.back() == 'k' || value.back() == 'K')) value += "Hz";
      std::string why;
      auto q = parse_quantity(value, &why);
      double hz = 0;
      if (q && q->dim == dimension::frequency) hz = q->value;
      if (q && q->dim == dimension::none) hz = q->value;
      if (!(hz >= 10000 && hz <= 400000) || std::floor(hz) != hz) {
        throw bad(fmt::format("clock '{}' is not a frequency within 10k..400k (Hz), e.g. 100k",
                              kv.substr(eq + 1)));
      }
      o.smbus.clock_hz = static_cast<std::uint32_t>(hz);
    } else if (key == "timeout") {
      auto q = parse_quantity(value);
      double ms = -1;
      if (q && q->dim == dimension::time) ms = q->value * 1000;
      if (q && q->dim == dimension::none) ms = q->value;
      if (!(ms >= 1 && ms <= 1000)) {
        throw bad(fmt::format("timeout '{}' is not a duration within 1..1000 ms, e.g. 50ms",
                              kv.substr(eq + 1)));
      }
      o.smbus.write_timeout_ms = o.smbus.read_timeout_ms = static_cast<std::uint16_t>(ms);
    } else if (key == "retries") {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || v > 1000) {
        throw bad(fmt::format("retries '{}' is not a number within 0..1000", value));
      }
      o.smbus.retries = static_cast<std::uint16_t>(v);
    } else {
      throw bad(fmt::format("unknown setting '{}' (keys: clock, timeout, retries)", key));
    }
  }
  return o;
}

}  // namespace cp2112

// ---- the bus --------------------------------------------------------------------------------

cp2112_bus::cp2112_bus(std::shared_ptr<usb::context> ctx, cp2112::bus_options opts,
                       hilt::clock* clk)
    : ctx_(std::move(ctx)), opts_(std::move(opts)), clock_(clk) {}

cp2112_bus::~cp2112_bus() = default;

result<std::shared_ptr<cp2112_bus>> cp2112_bus::open(std::string_view bus_name, hilt::clock* clk,
                                                     std::string* why) {
  auto opts = cp2112::bus_options::parse(bus_name);  // config_error on bad settings
  auto ctx = usb::context::get(why);
  if (!ctx) return failure(ctx.error());
  std::shared_ptr<cp2112_bus> bus(new cp2112_bus(std::move(ctx).value(), std::move(opts), clk));
  auto dev = bus->open_device(why);
  if (!dev) return failure(dev.error());
  bus->dev_ = std::move(dev).value();
  bus->was_open_ = true;
  return bus;
}

std::optional<usb::device_info> cp2112_bus::info() const {
  if (!dev_) return std::nullopt;
  return dev_->info();
}

result<std::shared_ptr<usb::device>> cp2112_bus::open_device(std::string* why) {
  auto d = ctx_->open(usb::cp2112_kind(), opts_.sel, why);
  if (!d) return d;
  auto dev = std::move(d).value();
  const auto& info = dev->info();
  const std::string who =
      fmt::format("{} (CP2112 '{}' at {})", describe(), info.serial, info.where());
  ep_in_ = dev->endpoint(usb::transfer_type::interrupt, true);
  ep_out_ = dev->endpoint(usb::transfer_type::interrupt, false);
  if (!ep_in_ || !ep_out_) {
    if (why) *why = fmt::format("{}: no interrupt IN and OUT endpoints on its HID interface", who);
    return failure(code(errc::not_supported));
  }
  const auto itf = static_cast<std::uint16_t>(info.interface);
  const auto t = std::chrono::milliseconds(500);
  // Get Version (feature 0x05): a CP2112 answers part number 0x0C.
  auto ver =
      dev->control(class_in, hid_get_report, hid_feature | cp2112::get_version, itf, {}, 3, t);
  if (!ver || ver.value().size() < 3 || ver.value()[0] != cp2112::get_version) {
    if (why) {
      *why = fmt::format("{}: no answer to Get Version (feature report 0x05): {}", who,
                         ver ? fmt::format("{} bytes", ver.value().size()) : dev->last_error());
    }
    return failure(ver ? code(errc::bad_reply) : ver.error());
  }
  part_ = ver.value()[1];
  version_ = ver.value()[2];
  if (part_ != 0x0C) {
    lg()->warn("{}: Get Version says part number 0x{:02x}, a CP2112 says 0x0c", who, part_);
  }
  // SMBus configuration (feature 0x06), read back: requested and actual.
  const auto cfg = cp2112::encode(opts_.smbus);
  auto set = dev->control(class_out, hid_set_report, hid_feature | cp2112::smbus_configuration, itf,
                          cfg, 0, t);
  if (!set) {
    if (why) *why = fmt::format("{}: SMBus configuration refused: {}", who, dev->last_error());
    return failure(set.error());
  }
  auto back = dev->control(class_in, hid_get_report, hid_feature | cp2112::smbus_configuration, itf,
                           {}, cp2112::smbus_config_size, t);
  std::optional<cp2112::smbus_config> actual;
  if (back) actual = cp2112::decode_smbus_config(back.value());
  if (!actual) {
    lg()->warn("{}: the SMBus configuration cannot be read back ({})", who,
               back ? "malformed report" : dev->last_error());
  } else if (!(*actual == opts_.smbus)) {
    lg()->warn(
        "{}: SMBus configuration requested {} Hz, timeouts {}/{} ms, {} retries; the bridge "
        "reports {} Hz, timeouts {}/{} ms, {} retries",
        who, opts_.smbus.clock_hz, opts_.smbus.write_timeout_ms, opts_.smbus.read_timeout_ms,
        opts_.smbus.retries, actual->clock_hz, actual->write_timeout_ms, actual->read_timeout_ms,
        actual->retries);
  } else {
    lg()->info("{}: CP2112 version {}, SMBus {} Hz, timeouts {}/{} ms, {} retries", who, version_,
               actual->clock_hz, actual->write_timeout_ms, actual->read_timeout_ms,
               actual->retries);
  }
  // A transfer left over from before (another program, a crash): cancel it and drain its reports.
  const auto c = cp2112::cancel();
  (void)dev->write(usb::transfer_type::interrupt, ep_out_, c, t);
  for (int i = 0; i < 8; ++i) {
    auto r = dev->read(usb::transfer_type::interrupt, ep_in_, cp2112::report_size,
                       std::chrono::milliseconds(2));
    if (!r) break;
  }
  ++opens_;
  return dev;
}

std::error_code cp2112_bus::fail(std::error_code ec, std::string text) {
  last_error_ = std::move(text);
  lg()->debug("{}: {}", describe(), last_error_);
  if (ec == code(errc::disconnected)) {
    if (!reported_gone_) {
      lg()->warn("{}: {} — devices behind this bridge error until it is back", describe(),
                 last_error_);
      reported_gone_ = true;
    }
    dev_.reset();  // the handle is dead; the next transfer opens the bridge again
  } else if (ec != code(errc::nack) && ec != code(errc::bus_timeout) &&
             ec != code(errc::arbitration_lost) && ec != code(errc::invalid_argument)) {
    resync_ = true;  // protocol trouble: start the next transaction from a clean bridge
  }
  return ec;
}

task<std::error_code> cp2112_bus::ensure_open() {
  if (dev_ && !dev_->gone()) co_return std::error_code{};
  dev_.reset();
  struct opened {
    result<std::shared_ptr<usb::device>> dev;
    std::string why;
  };
  std::function<opened()> job = [this]() {
    opened o{failure(code(errc::io_error)), {}};
    o.dev = open_device(&o.why);
    return o;
  };
  auto r = co_await ctx_->async_blocking<opened>(std::move(job));
  if (!r.dev) {
    // Absent after having been open: it was unplugged (and is not back yet).
    const auto ec = was_open_ && r.dev.error() == code(errc::device_not_found)
                        ? code(errc::disconnected)
                        : r.dev.error();
    last_error_ = r.why;
    if (!reported_gone_ || ec != code(errc::disconnected)) {
      lg()->error("{}: {}", describe(), r.why);
    }
    reported_gone_ = reported_gone_ || ec == code(errc::disconnected);
    co_return ec;
  }
  dev_ = std::move(r.dev).value();
  resync_ = false;  // open_device cancelled and drained
  if (was_open_) {
    lg()->warn("{}: the bridge is back ({}); using it again", describe(), dev_->info().where());
  }
  was_open_ = true;
  reported_gone_ = false;
  co_return std::error_code{};
}

task<std::error_code> cp2112_bus::send(const cp2112::report_bytes& r, const char* what) {
  auto w =
      co_await dev_->async_write(usb::transfer_type::interrupt, ep_out_,
                                 std::vector<std::uint8_t>(r.begin(), r.end()), report_timeout_);
  ++usb_transfers_;
  if (!w) co_return fail(w.error(), fmt::format("sending {}: {}", what, dev_->last_error()));
  co_return std::error_code{};
}

task<result<std::vector<std::uint8_t>>> cp2112_bus::receive(const char* what) {
  auto r = co_await dev_->async_read(usb::transfer_type::interrupt, ep_in_, cp2112::report_size,
                                     report_timeout_);
  ++usb_transfers_;
  if (!r) {
    co_return failure(fail(r.error(), fmt::format("waiting for {}: {}", what, dev_->last_error())));
  }
  co_return std::move(r).value();
}

task<std::error_code> cp2112_bus::resync() {
  // A halted (stalled) endpoint stays halted until the host clears it: clear both, then cancel
  // whatever the bridge is doing and drop input reports nobody asked for.
  {
    std::function<std::error_code()> job = [d = dev_.get(), in = ep_in_, out = ep_out_]() {
      if (auto ec = d->clear_halt(in)) return ec;
      return d->clear_halt(out);
    };
    if (auto ec = co_await ctx_->async_blocking<std::error_code>(std::move(job))) {
      co_return fail(ec, fmt::format("clearing the endpoint halts: {}", dev_->last_error()));
    }
  }
  if (auto ec = co_await send(cp2112::cancel(), "0x17 Cancel Transfer")) co_return ec;
  for (int i = 0; i < 8; ++i) {
    auto r = co_await dev_->async_read(usb::transfer_type::interrupt, ep_in_, cp2112::report_size,
                                       std::chrono::milliseconds(5));
    ++usb_transfers_;
    if (!r) {
      if (r.error() == code(errc::disconnected)) {
        co_return fail(r.error(), dev_->last_error());
      }
      break;  // timed out: nothing left
    }
    lg()->debug("{}: dropped a stale input report ({})", describe(), hex(r.value()));
  }
  resync_ = false;
  co_return std::error_code{};
}

task<std::error_code> cp2112_bus::run(std::uint8_t addr, std::vector<std::uint8_t> write,
                                      std::size_t read_len, std::vector<std::uint8_t>& out) {
  if (auto ec = co_await ensure_open()) co_return ec;
  if (resync_) {
    if (auto ec = co_await resync()) co_return ec;
  }
  const std::string target = fmt::format("0x{:02x}", addr);
  cp2112::report_bytes request;
  const char* kind = "";
  if (!write.empty() && read_len > 0) {
    request = cp2112::write_read_request(addr, write, static_cast<std::uint16_t>(read_len));
    kind = "0x11 Data Write-Read Request";
  } else if (!write.empty()) {
    request = cp2112::write_request(addr, write);
    kind = "0x14 Data Write Request";
  } else {
    request = cp2112::read_request(addr, static_cast<std::uint16_t>(read_len));
    kind = "0x10 Data Read Request";
  }
  if (auto ec = co_await send(request, kind)) co_return ec;

  // Poll the transfer status until the bridge says complete or error.
  const auto budget =
      std::chrono::milliseconds(opts_.smbus.write_timeout_ms + opts_.smbus.read_timeout_ms) +
      status_margin_;
  const auto start = std::chrono::steady_clock::now();
  cp2112::transfer_status st;
  int polls = 0;
  while (true) {
    if (auto ec = co_await send(cp2112::status_request(), "0x15 Transfer Status Request")) {
      co_return ec;
    }
    auto rep = co_await receive("0x16 Transfer Status Response");
    if (!rep) co_return rep.error();
    ++polls;
    std::string why;
    auto s = cp2112::parse_status(rep.value(), &why);
    if (!s) {
      co_return fail(code(errc::bad_reply), fmt::format("{} to target {}: {}", kind, target, why));
    }
    st = *s;
    if (st.status0 == cp2112::complete || st.status0 == cp2112::error) break;
    if (st.status0 != cp2112::idle && st.status0 != cp2112::busy) {
      co_return fail(code(errc::bad_reply), fmt::format("{} to target {}: transfer status {}", kind,
                                                        target, cp2112::describe(st)));
    }
    if (std::chrono::steady_clock::now() - start > budget) {
      // The bridge never finishes: cancel the transfer so the next one starts clean.
      (void)co_await send(cp2112::cancel(), "0x17 Cancel Transfer");
      co_return fail(code(errc::timeout),
                     fmt::format("{} to target {}: the transfer status stayed {} for {} polls "
                                 "({} ms); transfer cancelled",
                                 kind, target, cp2112::describe(st), polls, budget.count()));
    }
  }
  if (auto ec = cp2112::status_error(st)) {
    const std::string text = fmt::format("{} to target {}: {}", kind, target, cp2112::describe(st));
    if (ec == code(errc::bad_reply) || ec == code(errc::io_error)) co_return fail(ec, text);
    last_error_ = text;  // an I2C-level answer (NACK, bus timeout, arbitration): nothing to clean
    co_return ec;
  }
  if (read_len == 0) co_return std::error_code{};
  if (st.length < read_len) {
    co_return fail(code(errc::io_error),
                   fmt::format("{} to target {}: the bridge read {} of {} bytes", kind, target,
                               st.length, read_len));
  }
  // Fetch the data, at most 61 bytes per response.
  out.clear();
  while (out.size() < read_len) {
    const auto want = static_cast<std::uint16_t>(
        std::min<std::size_t>(read_len - out.size(), cp2112::max_response_data));
    if (auto ec = co_await send(cp2112::force_send(want), "0x12 Data Read Force Send")) {
      co_return ec;
    }
    auto rep = co_await receive("0x13 Data Read Response");
    if (!rep) co_return rep.error();
    std::string why;
    auto r = cp2112::parse_read_response(rep.value(), &why);
    if (!r) {
      co_return fail(code(errc::bad_reply), fmt::format("{} to target {}: {}", kind, target, why));
    }
    if (r->status == cp2112::error) {
      co_return fail(
          code(errc::io_error),
          fmt::format("{} to target {}: the read response reports an error", kind, target));
    }
    if (r->data.empty() || r->data.size() > want) {
      co_return fail(code(errc::bad_reply),
                     fmt::format("{} to target {}: a read response with {} data bytes where "
                                 "1..{} were asked for",
                                 kind, target, r->data.size(), want));
    }
    out.insert(out.end(), r->data.begin(), r->data.end());
  }
  co_return std::error_code{};
}

task<std::error_code> cp2112_bus::async_transfer(std::uint8_t addr,
                                                 std::span<const std::uint8_t> write,
                                                 std::span<std::uint8_t> read) {
  if (write.empty() && read.empty()) co_return std::error_code{};
  if (read.size() > cp2112::max_read || (read.empty() && write.size() > cp2112::max_write) ||
      (!read.empty() && write.size() > cp2112::max_target_address)) {
    co_return fail(code(errc::invalid_argument),
                   fmt::format("transfer to 0x{:02x}: write {} / read {} bytes; a CP2112 "
                               "carries up to 61 written bytes, or a pointer of up to 16 bytes "
                               "and up to 512 read bytes",
                               addr, write.size(), read.size()));
  }
  // Copies: the caller's spans are not touched while the USB transfers are in flight.
  std::vector<std::uint8_t> w(write.begin(), write.end());
  const std::size_t read_len = read.size();
  auto self = shared_from_this();  // the bus outlives this transaction
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  auto guard = co_await lock_.async_lock();
  if (!guard) co_return code(errc::cancelled);
  ++transactions_;
  std::vector<std::uint8_t> out;
  std::error_code ec;
  try {
    ec = co_await run(addr, std::move(w), read_len, out);
  } catch (const boost::system::system_error&) {
    // The awaiting coroutine was cancelled (watchdog, Ctrl-C) between two USB transfers.
    ec = fail(code(errc::cancelled), "transfer cancelled");
  }
  if (!ec && read_len > 0) std::copy_n(out.begin(), read_len, read.begin());
  co_return ec;
}

std::error_code cp2112_bus::transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                                     std::span<std::uint8_t> read) {
  asio::io_context io;
  std::error_code ec = code(errc::io_error);
  // No harness clock here: this runs outside any run's io_context.
  auto* saved = clock_;
  clock_ = nullptr;
  asio::co_spawn(
      io, [&]() -> task<void> { ec = co_await async_transfer(addr, write, read); },
      [](std::exception_ptr) {});
  io.run();
  clock_ = saved;
  return ec;
}

}  // namespace hilt
