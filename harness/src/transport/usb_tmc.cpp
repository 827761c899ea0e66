#include "hilt/transport/usb_tmc.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "hilt/error.hpp"
#include "hilt/log.hpp"
#include "hilt/transport/tcp_line.hpp"  // printable()

namespace hilt {

namespace {

std::error_code code(errc e) {
  return make_error_code(e);
}

std::shared_ptr<spdlog::logger> lg() {
  return log::get("usb");
}

constexpr std::uint8_t class_in = 0xA1;  // device-to-host, class, interface

void put_le32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

std::chrono::milliseconds to_ms(clock::duration d) {
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

namespace usbtmc {

std::vector<std::uint8_t> dev_dep_msg_out(std::uint8_t tag, std::string_view message, bool eom) {
  std::vector<std::uint8_t> out(header_size + ((message.size() + 3) & ~std::size_t{3}), 0);
  out[0] = msg::dev_dep_msg_out;
  out[1] = tag;
  out[2] = static_cast<std::uint8_t>(~tag);
  put_le32(&out[4], static_cast<std::uint32_t>(message.size()));
  out[8] = eom ? 0x01 : 0x00;
  std::copy(message.begin(), message.end(), out.begin() + header_size);
  return out;
}

std::array<std::uint8_t, header_size> request_dev_dep_msg_in(std::uint8_t tag,
                                                             std::uint32_t max_size,
                                                             std::optional<char> term_char) {
  std::array<std::uint8_t, header_size> h{};
  h[0] = msg::request_dev_dep_msg_in;
  h[1] = tag;
  h[2] = static_cast<std::uint8_t>(~tag);
  put_le32(&h[4], max_size);
  if (term_char) {
    h[8] = 0x02;  // TermCharEnabled
    h[9] = static_cast<std::uint8_t>(*term_char);
  }
  return h;
}

std::optional<dev_dep_msg_in_view> parse_dev_dep_msg_in(std::span<const std::uint8_t> b,
                                                        std::uint8_t tag, std::string* why) {
  auto no = [&](std::string text) -> std::optional<dev_dep_msg_in_view> {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  if (b.size() < header_size) {
    return no(
        fmt::format("a bulk-IN transfer of {} bytes, shorter than the 12-byte "
                    "DEV_DEP_MSG_IN header",
                    b.size()));
  }
  if (b[0] != msg::dev_dep_msg_in) {
    return no(fmt::format("bulk-IN MsgID {} where DEV_DEP_MSG_IN (2) was expected", b[0]));
  }
  if (b[1] != tag || b[2] != static_cast<std::uint8_t>(~tag)) {
    return no(fmt::format("bulk-IN bTag {} (inverse 0x{:02x}) answers a request with bTag {}", b[1],
                          b[2], tag));
  }
  const std::uint32_t size = le32(&b[4]);
  if (size > b.size() - header_size) {
    return no(fmt::format("DEV_DEP_MSG_IN says TransferSize {} but {} data bytes arrived", size,
                          b.size() - header_size));
  }
  return dev_dep_msg_in_view{b.subspan(header_size, size), (b[8] & 0x01) != 0};
}

std::optional<capabilities> parse_capabilities(std::span<const std::uint8_t> b, std::string* why) {
  if (b.size() < 6) {
    if (why) *why = fmt::format("GET_CAPABILITIES answered {} bytes, expected 24", b.size());
    return std::nullopt;
  }
  if (b[0] != status::success) {
    if (why) *why = fmt::format("GET_CAPABILITIES status 0x{:02x}, expected SUCCESS", b[0]);
    return std::nullopt;
  }
  capabilities c;
  c.bcd_usbtmc = static_cast<std::uint16_t>(b[2] | (b[3] << 8));
  c.indicator_pulse = (b[4] & 0x04) != 0;
  c.talk_only = (b[4] & 0x02) != 0;
  c.listen_only = (b[4] & 0x01) != 0;
  c.term_char = (b[5] & 0x01) != 0;
  if (b.size() >= 14) c.bcd_usb488 = static_cast<std::uint16_t>(b[12] | (b[13] << 8));
  return c;
}

}  // namespace usbtmc

struct usbtmc_client::opened {
  std::shared_ptr<usb::context> ctx;
  std::shared_ptr<usb::device> dev;
  std::optional<usbtmc::capabilities> caps;
  std::error_code ec;
  std::string why;
};

usbtmc_client::usbtmc_client(asio::any_io_executor ex, hilt::clock* clk, usb::selector target,
                             usbtmc_options opts)
    : ex_(std::move(ex)), clock_(clk), target_(std::move(target)), opts_(std::move(opts)) {}

usbtmc_client::~usbtmc_client() = default;

std::optional<usb::device_info> usbtmc_client::info() const {
  if (!dev_) return std::nullopt;
  return dev_->info();
}

void usbtmc_client::close() noexcept {
  dev_.reset();
}

std::error_code usbtmc_client::fail(std::error_code ec, std::string text) {
  last_error_ = std::move(text);
  if (ec != code(errc::unreachable)) {
    if (ec == code(errc::disconnected) && dev_) {
      lg()->warn("{}: {}", describe(), last_error_);
    }
    close();  // a half reply may be in the instrument: the next operation opens and clears it
  }
  return ec;
}

task<std::shared_ptr<void>> usbtmc_client::async_lock() {
  co_return co_await lock_.async_lock();
}

usbtmc_client::opened usbtmc_client::open_blocking() {
  opened o;
  auto ctx = ctx_ ? result<std::shared_ptr<usb::context>>(ctx_) : usb::context::get(&o.why);
  if (!ctx) {
    o.ec = code(errc::unreachable);
    return o;
  }
  o.ctx = ctx.value();
  auto d = o.ctx->open(usb::usbtmc_kind(), target_, &o.why);
  if (!d) {
    o.ec = d.error() == code(errc::invalid_argument) ? d.error() : code(errc::unreachable);
    return o;
  }
  auto dev = std::move(d).value();
  const auto& info = dev->info();
  const auto itf = static_cast<std::uint16_t>(info.interface);
  const std::string who = fmt::format("USBTMC '{}' at {}", info.serial, info.where());
  if (!dev->endpoint(usb::transfer_type::bulk, true) ||
      !dev->endpoint(usb::transfer_type::bulk, false)) {
    o.why = fmt::format("{}: the USBTMC interface has no bulk-IN / bulk-OUT endpoints", who);
    o.ec = code(errc::unreachable);
    return o;
  }
  auto caps = dev->control(class_in, usbtmc::req::get_capabilities, 0, itf, {}, 0x18,
                           opts_.control_timeout);
  if (!caps) {
    o.why = fmt::format("{}: GET_CAPABILITIES: {}", who, dev->last_error());
    o.ec = code(errc::unreachable);
    return o;
  }
  std::string why;
  o.caps = usbtmc::parse_capabilities(caps.value(), &why);
  if (!o.caps) lg()->warn("{}: {}; assuming no TermChar support", who, why);
  // Clear the instrument (§4.2.1.6): what an earlier session left in its buffers goes.
  auto ic =
      dev->control(class_in, usbtmc::req::initiate_clear, 0, itf, {}, 1, opts_.control_timeout);
  if (!ic || ic.value().empty()) {
    o.why = fmt::format("{}: INITIATE_CLEAR: {}", who,
                        ic ? std::string("empty answer") : dev->last_error());
    o.ec = code(errc::unreachable);
    return o;
  }
  if (ic.value()[0] == usbtmc::status::success) {
    const auto deadline = std::chrono::steady_clock::now() + opts_.clear_timeout;
    while (true) {
      auto cs = dev->control(class_in, usbtmc::req::check_clear_status, 0, itf, {}, 2,
                             opts_.control_timeout);
      if (!cs || cs.value().size() < 2) {
        o.why = fmt::format("{}: CHECK_CLEAR_STATUS: {}", who,
                            cs ? std::string("short answer") : dev->last_error());
        o.ec = code(errc::unreachable);
        return o;
      }
      if (cs.value()[1] & 0x01) {  // bmClear.D0: the bulk-IN FIFO holds data: read it away
        (void)dev->read(usb::transfer_type::bulk, dev->endpoint(usb::transfer_type::bulk, true),
                        opts_.max_line + 64, std::chrono::milliseconds(50));
      }
      if (cs.value()[0] != usbtmc::status::pending) break;
      if (std::chrono::steady_clock::now() > deadline) {
        o.why =
            fmt::format("{}: the clear stayed PENDING for {} ms", who, opts_.clear_timeout.count());
        o.ec = code(errc::unreachable);
        return o;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } else {
    lg()->warn("{}: INITIATE_CLEAR answered status 0x{:02x}", who, ic.value()[0]);
  }
  // Bulk-OUT as the clear asks (§4.2.1.6), and bulk-IN too: a halt left by an earlier fault
  // (a stalled reply) stays until the host clears it.
  (void)dev->clear_halt(dev->endpoint(usb::transfer_type::bulk, false));
  (void)dev->clear_halt(dev->endpoint(usb::transfer_type::bulk, true));
  o.dev = std::move(dev);
  return o;
}

task<std::error_code> usbtmc_client::async_connect() {
  if (dev_ && !dev_->gone()) co_return std::error_code{};
  dev_.reset();
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  std::shared_ptr<usb::context> ctx = ctx_;
  if (!ctx) {
    std::string why;
    auto c = usb::context::get(&why);
    if (!c) co_return fail(code(errc::unreachable), why);
    ctx = ctx_ = c.value();
  }
  std::function<opened()> job = [this]() { return open_blocking(); };
  auto o = co_await ctx->async_blocking<opened>(std::move(job));
  if (!o.dev) {
    last_error_ = o.why;
    co_return o.ec;
  }
  dev_ = std::move(o.dev);
  caps_ = o.caps;
  ep_out_ = dev_->endpoint(usb::transfer_type::bulk, false);
  ep_in_ = dev_->endpoint(usb::transfer_type::bulk, true);
  ++connects_;
  const auto& info = dev_->info();
  lg()->info("{}: opened {} {} '{}' at {} (USBTMC {:x}.{:02x}{})", describe(), info.manufacturer,
             info.product, info.serial, info.where(), caps_ ? caps_->bcd_usbtmc >> 8 : 0,
             caps_ ? caps_->bcd_usbtmc & 0xFF : 0, caps_ && caps_->bcd_usb488 ? ", USB488" : "");
  co_return std::error_code{};
}

task<std::error_code> usbtmc_client::send_op(std::string data, std::chrono::milliseconds t) {
  tag_ = usbtmc::next_tag(tag_);
  auto msg = usbtmc::dev_dep_msg_out(tag_, data, true);
  const std::size_t n = msg.size();
  auto w = co_await dev_->async_write(usb::transfer_type::bulk, ep_out_, std::move(msg), t);
  ++usb_transfers_;
  if (!w) co_return fail(w.error(), fmt::format("send: {}", dev_->last_error()));
  if (w.value() != n) {
    co_return fail(code(errc::io_error),
                   fmt::format("send: the instrument took {} of {} bytes", w.value(), n));
  }
  co_return std::error_code{};
}

task<result<std::string>> usbtmc_client::read_op(std::chrono::milliseconds t,
                                                 std::chrono::milliseconds bound) {
  // `t`: the time left for this read; `bound`: the operation's whole timeout, for messages.
  const auto deadline = std::chrono::steady_clock::now() + t;
  std::string line;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      co_return failure(
          fail(code(errc::timeout), fmt::format("no reply within {} (reply so far: '{}')",
                                                format_duration(bound), printable(line))));
    }
    tag_ = usbtmc::next_tag(tag_);
    const std::uint8_t tag = tag_;
    const std::size_t room = opts_.max_line - std::min(line.size(), opts_.max_line);
    const std::optional<char> term = caps_ && caps_->term_char && !opts_.terminator.empty()
                                         ? std::optional<char>(opts_.terminator.back())
                                         : std::nullopt;
    auto req = usbtmc::request_dev_dep_msg_in(tag, static_cast<std::uint32_t>(room), term);
    auto w = co_await dev_->async_write(usb::transfer_type::bulk, ep_out_,
                                        std::vector<std::uint8_t>(req.begin(), req.end()),
                                        std::max(std::chrono::milliseconds(1), left));
    ++usb_transfers_;
    if (!w) {
      co_return failure(fail(w.error(), fmt::format("reply request: {}", dev_->last_error())));
    }
    const std::size_t mp = dev_->max_packet(ep_in_);
    const std::size_t want = ((usbtmc::header_size + room + 3 + mp - 1) / mp) * mp;
    const auto left2 = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto r = co_await dev_->async_read(usb::transfer_type::bulk, ep_in_, want,
                                       std::max(std::chrono::milliseconds(1), left2));
    ++usb_transfers_;
    if (!r) {
      if (r.error() == code(errc::timeout)) {
        co_return failure(
            fail(code(errc::timeout), fmt::format("no reply within {}", format_duration(bound))));
      }
      co_return failure(fail(r.error(), fmt::format("reply: {}", dev_->last_error())));
    }
    std::string why;
    auto v = usbtmc::parse_dev_dep_msg_in(r.value(), tag, &why);
    if (!v) co_return failure(fail(code(errc::bad_reply), "reply: " + why));
    if (v->data.size() > room) {
      co_return failure(fail(
          code(errc::bad_reply),
          fmt::format("reply: {} bytes where at most {} were asked for", v->data.size(), room)));
    }
    line.append(reinterpret_cast<const char*>(v->data.data()), v->data.size());
    if (v->eom) break;
    if (line.size() >= opts_.max_line) {
      co_return failure(fail(
          code(errc::bad_reply),
          fmt::format("reply: longer than {} bytes without an end of message", opts_.max_line)));
    }
  }
  // The message terminator (and a CR before it) is not part of the reply.
  if (!opts_.terminator.empty() && line.ends_with(opts_.terminator)) {
    line.resize(line.size() - opts_.terminator.size());
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  co_return line;
}

task<std::error_code> usbtmc_client::async_send(std::string line, duration timeout) {
  if (auto ec = co_await async_connect()) co_return ec;
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  try {
    co_return co_await send_op(line + opts_.terminator, to_ms(timeout));
  } catch (const boost::system::system_error&) {
    co_return fail(code(errc::cancelled), "send cancelled");
  }
}

task<result<std::string>> usbtmc_client::async_read_line(duration timeout) {
  if (!dev_) co_return failure(fail(code(errc::disconnected), "reply: not connected"));
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  try {
    co_return co_await read_op(to_ms(timeout), to_ms(timeout));
  } catch (const boost::system::system_error&) {
    co_return failure(fail(code(errc::cancelled), "reply cancelled"));
  }
}

task<result<std::string>> usbtmc_client::async_query(std::string line, duration timeout) {
  if (auto ec = co_await async_connect()) co_return failure(ec);
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  const auto start = std::chrono::steady_clock::now();
  const auto t = to_ms(timeout);
  try {
    if (auto ec = co_await send_op(line + opts_.terminator, t)) co_return failure(ec);
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    co_return co_await read_op(std::max(std::chrono::milliseconds(1), t - spent), t);
  } catch (const boost::system::system_error&) {
    co_return failure(fail(code(errc::cancelled), "query cancelled"));
  }
}

}  // namespace hilt
