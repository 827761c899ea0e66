#include "hilt/pmbus/rail.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "hilt/error.hpp"
#include "hilt/pmbus/linear.hpp"

namespace hilt::pmbus {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}
constexpr std::size_t max_block = 32;  // SMBus 3.x §6.5.7: a block holds at most 32 bytes
}  // namespace

pmbus_rail::pmbus_rail(std::string name, std::string address, hilt::device_context ctx,
                       std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t i2c_address,
                       rail_options opts)
    : hilt::power_monitor(std::move(name), std::move(address), std::move(ctx)),
      bus_(std::move(bus)),
      addr_(i2c_address),
      opts_(opts) {}

task<std::error_code> pmbus_rail::transfer(const char* op, std::uint8_t command,
                                           const char* command_name,
                                           std::span<const std::uint8_t> data,
                                           std::span<std::uint8_t> read, bool optional) {
  std::array<std::uint8_t, 3> w{};
  w[0] = command;
  const std::size_t n = std::min<std::size_t>(data.size(), w.size() - 1);
  for (std::size_t i = 0; i < n; ++i)
    w[i + 1] = data[i];
  auto ec =
      co_await bus_->async_transfer(addr_, std::span<const std::uint8_t>(w.data(), 1 + n), read);
  if (ec) {
    exponent_.reset();  // re-read VOUT_MODE after any trouble
    log().log(optional ? spdlog::level::debug : spdlog::level::err,
              "{} ({}): {}: {} (0x{:02X}) at 0x{:02x} on {}: {}", name(), address(), op,
              command_name, command, addr_, bus_->describe(), ec.message());
  }
  co_return ec;
}

task<result<std::uint8_t>> pmbus_rail::read_byte(const char* op, std::uint8_t command,
                                                 const char* cname) {
  std::uint8_t b = 0;
  if (auto ec = co_await transfer(op, command, cname, {}, std::span<std::uint8_t>(&b, 1))) {
    co_return failure(ec);
  }
  co_return b;
}

task<result<std::uint16_t>> pmbus_rail::read_word(const char* op, std::uint8_t command,
                                                  const char* cname) {
  std::array<std::uint8_t, 2> b{};
  if (auto ec = co_await transfer(op, command, cname, {}, b)) co_return failure(ec);
  co_return static_cast<std::uint16_t>(b[0] | (b[1] << 8));  // SMBus words: low byte first
}

task<result<std::string>> pmbus_rail::read_block(const char* op, std::uint8_t command,
                                                 const char* cname, bool optional) {
  std::array<std::uint8_t, 1 + max_block> b{};
  if (auto ec = co_await transfer(op, command, cname, {}, b, optional)) co_return failure(ec);
  const std::size_t count = b[0];
  if (count > max_block) {
    log().error("{} ({}): {}: {} (0x{:02X}) at 0x{:02x}: block count {} above {}", name(),
                address(), op, cname, command, addr_, count, max_block);
    co_return failure(code(errc::bad_reply));
  }
  std::string s;
  for (std::size_t i = 0; i < count; ++i) {
    const auto c = b[1 + i];
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  co_return s;
}

task<std::error_code> pmbus_rail::select_page(const char* op) {
  if (!opts_.page) co_return std::error_code{};
  const std::uint8_t p = *opts_.page;
  co_return co_await transfer(op, cmd::page, "PAGE", std::span<const std::uint8_t>(&p, 1), {});
}

task<result<int>> pmbus_rail::vout_exponent(const char* op) {
  if (exponent_) co_return *exponent_;
  auto m = co_await read_byte(op, cmd::vout_mode, "VOUT_MODE");
  if (!m) co_return failure(m.error());
  if (vout_mode_kind_of(m.value()) != vout_mode_kind::linear) {
    log().error(
        "{} ({}): {}: VOUT_MODE (0x20) = 0x{:02x}: mode {} is not supported (only "
        "linear, bits 7-5 = 000)",
        name(), address(), op, m.value(), m.value() >> 5);
    co_return failure(code(errc::not_supported));
  }
  exponent_ = vout_mode_exponent(m.value());
  co_return *exponent_;
}

task<result<hilt::rail_reading>> pmbus_rail::do_read_rail() {
  const char* op = "read_rail";
  hilt::rail_reading r;
  if (auto ec = co_await select_page(op)) co_return failure(ec);
  struct l11 {
    bool wanted;
    std::uint8_t command;
    const char* name;
    std::optional<double>* out;
  };
  if (opts_.vin) {
    auto w = co_await read_word(op, cmd::read_vin, "READ_VIN");
    if (!w) co_return failure(w.error());
    r.vin = linear11_decode(w.value());
  }
  if (opts_.vout) {
    auto n = co_await vout_exponent(op);
    if (!n) co_return failure(n.error());
    auto w = co_await read_word(op, cmd::read_vout, "READ_VOUT");
    if (!w) co_return failure(w.error());
    r.vout = linear16_decode(w.value(), n.value());
  }
  // A named array: temporaries must not live across a co_await (g++ 12 coroutine pitfall).
  const std::array<l11, 3> words{
      l11{opts_.iout, cmd::read_iout, "READ_IOUT", &r.iout},
      l11{opts_.pout, cmd::read_pout, "READ_POUT", &r.pout},
      l11{opts_.temperature, cmd::read_temperature_1, "READ_TEMPERATURE_1", &r.temperature}};
  for (const l11& item : words) {
    if (!item.wanted) continue;
    auto w = co_await read_word(op, item.command, item.name);
    if (!w) co_return failure(w.error());
    *item.out = linear11_decode(w.value());
  }
  if (opts_.status) {
    auto w = co_await read_word(op, cmd::status_word, "STATUS_WORD");
    if (!w) co_return failure(w.error());
    r.status_word = w.value();
    if (r.status_word & ~(status::power_good_n | status::off | status::none_of_the_above)) {
      log().warn("{} ({}): STATUS_WORD 0x{:04x}", name(), address(), r.status_word);
    }
  }
  co_return r;
}

task<result<hilt::identity>> pmbus_rail::do_identify() {
  const char* op = "identify";
  hilt::identity id;
  auto rev = co_await read_byte(op, cmd::pmbus_revision, "PMBUS_REVISION");
  if (!rev) co_return failure(rev.error());
  // Part I revision in bits 7-4, Part II in bits 3-0 (0 = 1.0, 1 = 1.1, 2 = 1.2, 3 = 1.3).
  id.extra["pmbus_revision"] =
      fmt::format("Part I 1.{}, Part II 1.{}", rev.value() >> 4, rev.value() & 0x0F);
  auto vendor = co_await read_block(op, cmd::mfr_id, "MFR_ID");
  if (!vendor) co_return failure(vendor.error());
  id.vendor = vendor.value();
  auto model = co_await read_block(op, cmd::mfr_model, "MFR_MODEL");
  if (!model) co_return failure(model.error());
  id.part_number = model.value();
  // Optional commands: a device without them NACKs; the identity is still good.
  if (auto r = co_await read_block(op, cmd::mfr_revision, "MFR_REVISION", true)) {
    id.revision = r.value();
  }
  if (auto s = co_await read_block(op, cmd::mfr_serial, "MFR_SERIAL", true)) id.serial = s.value();
  id.extra["bus"] = fmt::format("{}@0x{:02x}", bus_->describe(), addr_);
  co_return id;
}

}  // namespace hilt::pmbus
