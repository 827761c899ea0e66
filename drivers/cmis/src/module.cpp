#include "hilt/cmis/module.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/use_awaitable.hpp>

#include "hilt/clock.hpp"
#include "hilt/error.hpp"

namespace hilt::cmis {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}
}  // namespace

cmis_module::cmis_module(std::string name, std::string address, hilt::device_context ctx,
                         std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t i2c_address,
                         module_options opts)
    : managed_module(std::move(name), std::move(address), std::move(ctx)),
      map_(std::move(bus), i2c_address),
      opts_(opts) {
  map_.set_max_read_chunk(opts_.max_read);
}

int cmis_module::lane_count() const noexcept {
  if (opts_.lanes > 0) return opts_.lanes;
  return info_ ? info_->host_lanes : 0;
}

task<std::error_code> cmis_module::async_read(const char* op, std::uint8_t page,
                                              std::uint8_t offset, std::span<std::uint8_t> out,
                                              std::uint8_t bank) {
  auto ec = co_await map_.async_read(bank, page, offset, out);
  if (ec) {
    const auto& at = map_.last_error();
    log().error("{} ({}): {}: {} page {:02X}h{} byte {}{} on {}: {}", name(), address(), op,
                at.write ? "page select for" : "read of", at.page,
                at.page >= 0x10 ? fmt::format(" bank {}", at.bank) : std::string(), at.offset,
                at.length > 1 ? fmt::format("-{}", at.offset + at.length - 1) : std::string(),
                map_.bus().describe(), ec.message());
  }
  co_return ec;
}

task<std::error_code> cmis_module::async_write(const char* op, std::uint8_t page,
                                               std::uint8_t offset,
                                               std::span<const std::uint8_t> data,
                                               std::uint8_t bank) {
  auto ec = co_await map_.async_write(bank, page, offset, data);
  if (ec) {
    const auto& at = map_.last_error();
    log().error("{} ({}): {}: write of page {:02X}h{} byte {} on {}: {}", name(), address(), op,
                at.page, at.page >= 0x10 ? fmt::format(" bank {}", at.bank) : std::string(),
                at.offset, map_.bus().describe(), ec.message());
  }
  co_return ec;
}

std::error_code cmis_module::check_page(const char* op, std::span<const std::uint8_t> upper,
                                        std::uint8_t page, int first, int last, int at) {
  if (!opts_.verify_checksums) return {};
  const auto sum = checksum(upper.subspan(static_cast<std::size_t>(first - 128),
                                          static_cast<std::size_t>(last - first + 1)));
  const auto stored = upper[static_cast<std::size_t>(at - 128)];
  if (sum == stored) return {};
  log().error(
      "{} ({}): {}: checksum mismatch at page {:02X}h byte {}: stored 0x{:02x}, sum of "
      "bytes {}-{} is 0x{:02x}",
      name(), address(), op, page, at, stored, first, last, sum);
  return code(errc::checksum_mismatch);
}

task<result<module_info>> cmis_module::async_load_info(hilt::identity* id) {
  constexpr const char* op = "identify";
  std::array<std::uint8_t, 128> lower{};
  std::array<std::uint8_t, 128> p00{};
  if (auto ec = co_await async_read(op, 0x00, 0, lower)) co_return failure(ec);

  module_info mi;
  mi.identifier = lower[reg::identifier];
  if (!is_cmis_identifier(mi.identifier)) {
    log().error("{} ({}): {}: page 00h byte 0 identifier 0x{:02x} ({}) is not a CMIS module",
                name(), address(), op, mi.identifier, identifier_name(mi.identifier));
    co_return failure(code(errc::unknown_identifier));
  }
  mi.rev = decode_revision(lower[reg::revision]);
  if (mi.rev.major < 3 || mi.rev.major > 5) {
    log().error(
        "{} ({}): {}: page 00h byte 1 CMIS revision {}.{} (0x{:02x}) is not supported "
        "(3.x to 5.x)",
        name(), address(), op, mi.rev.major, mi.rev.minor, lower[reg::revision]);
    co_return failure(code(errc::unsupported_revision));
  }
  mi.flat = (lower[reg::characteristics] & 0x80) != 0;
  mi.media_type = lower[reg::media_type];
  mi.applications = decode_applications(std::span(lower).subspan(reg::apps, 32));
  if (!mi.applications.empty()) {
    mi.host_lanes = mi.applications.front().host_lanes;
    mi.media_lanes = mi.applications.front().media_lanes;
  }

  if (auto ec = co_await async_read(op, 0x00, 128, p00)) co_return failure(ec);
  if (auto ec = check_page(op, p00, 0x00, 128, 221, reg::page00_checksum)) co_return failure(ec);
  auto up = [&](std::uint8_t off, std::size_t n) {
    return std::span<const std::uint8_t>(p00).subspan(off - 128u, n);
  };
  mi.power_class = decode_power_class(p00[reg::power_class - 128]);
  mi.max_power_w = decode_max_power_w(p00[reg::max_power - 128]);

  if (!mi.flat) {
    std::array<std::uint8_t, 128> p01{};
    if (auto ec = co_await async_read(op, 0x01, 128, p01)) co_return failure(ec);
    if (auto ec = check_page(op, p01, 0x01, 130, 254, reg::page01_checksum)) co_return failure(ec);
    mi.have_page01 = true;
    mi.supported_pages = p01[reg::supported_pages - 128];
    mi.controls_supported = p01[reg::controls_supported - 128];
    mi.monitors_module = p01[reg::monitors_module - 128];
    mi.monitors_lane = p01[reg::monitors_lane - 128];
    const std::uint8_t d = p01[reg::module_durations - 128];
    mi.max_module_pwr_up = decode_duration(d & 0x0F);
    mi.max_module_pwr_dn = decode_duration(d >> 4);
  }

  if (id) {
    id->vendor = decode_ascii(up(reg::vendor_name, 16));
    id->part_number = decode_ascii(up(reg::part_number, 16));
    id->serial = decode_ascii(up(reg::serial, 16));
    id->revision = decode_ascii(up(reg::vendor_rev, 2));
    id->firmware = fmt::format("{}.{}", lower[reg::firmware], lower[reg::firmware + 1]);
    id->extra["identifier"] =
        fmt::format("0x{:02x} ({})", mi.identifier, identifier_name(mi.identifier));
    id->extra["cmis_revision"] = fmt::format("{}.{}", mi.rev.major, mi.rev.minor);
    id->extra["memory_model"] = mi.flat ? "flat" : "paged";
    id->extra["power_class"] = std::to_string(mi.power_class);
    id->extra["max_power_w"] = fmt::format("{:.2f}", mi.max_power_w);
    id->extra["date_code"] = decode_date_code(up(reg::date_code, 8));
    id->extra["vendor_oui"] = decode_oui(up(reg::vendor_oui, 3));
    id->extra["media_type"] = std::string(media_type_name(mi.media_type));
    std::string apps;
    for (const auto& a : mi.applications) {
      if (!apps.empty()) apps += ", ";
      apps += fmt::format("{:02x}/{:02x} {}x{}", a.host_interface, a.media_interface, a.host_lanes,
                          a.media_lanes);
    }
    id->extra["applications"] = apps;
    if (const auto clei = decode_ascii(up(reg::clei, 10)); !clei.empty()) id->extra["clei"] = clei;
  }
  info_ = mi;
  co_return mi;
}

task<result<module_info>> cmis_module::async_ensure_info() {
  if (info_) co_return *info_;
  co_return co_await async_load_info(nullptr);
}

task<result<hilt::identity>> cmis_module::do_identify() {
  hilt::identity id;
  auto mi = co_await async_load_info(&id);
  if (!mi) co_return failure(mi.error());
  co_return id;
}

task<result<hilt::module_state>> cmis_module::async_read_state(const char* op) {
  std::uint8_t b = 0;
  if (auto ec = co_await async_read(op, 0x00, reg::module_state, std::span(&b, 1))) {
    co_return failure(ec);
  }
  co_return decode_module_state(b);
}

task<result<hilt::module_state>> cmis_module::do_module_state() {
  co_return co_await async_read_state("module_state");
}

task<result<hilt::module_state>> cmis_module::do_set_low_power(bool low_power) {
  const char* op = low_power ? "set_low_power(on)" : "set_low_power(off)";
  std::uint8_t c = 0;
  if (auto ec = co_await async_read(op, 0x00, reg::controls, std::span(&c, 1)))
    co_return failure(ec);
  // CMIS 5.x Table 8-11: LowPwrRequestSW (bit 4) requests low power. Releasing also clears
  // LowPwrAllowRequestHW (bit 6) so that an asserted LPMode pin does not hold the module down
  // (what SONiC's set_lpmode(False) does). SoftwareReset (bit 3) is never written back.
  std::uint8_t n = low_power ? static_cast<std::uint8_t>(c | reg::low_pwr_request_sw)
                             : static_cast<std::uint8_t>(
                                   c & ~(reg::low_pwr_request_sw | reg::low_pwr_allow_request_hw));
  n = static_cast<std::uint8_t>(n & ~reg::software_reset);
  if (auto ec = co_await async_write(op, 0x00, reg::controls, std::span(&n, 1)))
    co_return failure(ec);
  co_return co_await async_read_state(op);
}

task<std::error_code> cmis_module::do_power_up() {
  constexpr const char* op = "power_up";
  auto mi = co_await async_ensure_info();
  if (!mi) co_return mi.error();
  const module_info& info = mi.value();
  auto first = co_await do_set_low_power(false);
  if (!first) co_return first.error();
  if (first.value() == hilt::module_state::ready) co_return std::error_code{};

  hilt::clock* clk = context().clock;
  if (!clk) {
    log().error("{} ({}): {}: no harness clock to wait on", name(), address(), op);
    co_return code(errc::not_ready);
  }
  // Budget: the advertised MaxDurationModulePwrUp (01h:167 bits 3-0, Table 8-49), plus the
  // power-down still in progress if the module was leaving ModuleReady, plus a margin.
  auto budget = std::chrono::duration_cast<hilt::clock::duration>(info.max_module_pwr_up) +
                opts_.power_up_margin;
  if (first.value() == hilt::module_state::powering_down) budget += info.max_module_pwr_dn;
  const auto start = clk->now();
  const auto deadline = start + budget;
  hilt::module_state last = first.value();
  for (;;) {
    auto st = co_await async_read_state(op);
    if (st) {
      last = st.value();
      if (last == hilt::module_state::ready) co_return std::error_code{};
      if (last == hilt::module_state::fault) co_return code(errc::device_fault);
    } else if (st.error() != make_error_code(errc::nack)) {
      co_return st.error();  // a NACK is tolerated: the module may be in MgmtInit
    }
    const auto now = clk->now();
    if (now >= deadline) {
      log().error(
          "{} ({}): {}: not ModuleReady after {} (page 00h byte 3 state {}); advertised "
          "MaxDurationModulePwrUp < {} ms (page 01h byte 167 bits 3-0) plus {} margin",
          name(), address(), op, hilt::format_duration(now - start), to_string(last),
          info.max_module_pwr_up.count(), hilt::format_duration(opts_.power_up_margin));
      co_return code(errc::state_timeout);
    }
    co_await clk->async_sleep(std::min(opts_.poll_interval, deadline - now),
                              boost::asio::use_awaitable);
  }
}

task<std::error_code> cmis_module::do_set_tx_disable(hilt::lane_mask lanes, bool disable) {
  const char* op = disable ? "set_tx_disable(on)" : "set_tx_disable(off)";
  auto mi = co_await async_ensure_info();
  if (!mi) co_return mi.error();
  const module_info& info = mi.value();
  // OutputDisableTx (10h:130) is implemented when 01h:155 bit 1 says so (Table 8-55).
  if (info.flat || !(info.controls_supported & 0x02)) co_return code(errc::not_supported);
  // 01h:142 bits 1-0: banks 0, 0-1, 0-3 (Table 8-47); 11b (defined in 01h:174) is treated as 1.
  const int bank_code = info.supported_pages & 0x03;
  const int banks = bank_code == 1 ? 2 : bank_code == 2 ? 4 : 1;
  for (int b = 0; b < banks; ++b) {
    const auto mask = static_cast<std::uint8_t>((lanes >> (8 * b)) & 0xFF);
    if (!mask) continue;
    const auto bank = static_cast<std::uint8_t>(b);
    std::uint8_t v = 0;
    if (auto ec = co_await async_read(op, 0x10, reg::tx_disable, std::span(&v, 1), bank))
      co_return ec;
    v = disable ? static_cast<std::uint8_t>(v | mask) : static_cast<std::uint8_t>(v & ~mask);
    if (auto ec = co_await async_write(op, 0x10, reg::tx_disable, std::span(&v, 1), bank))
      co_return ec;
  }
  co_return std::error_code{};
}

task<result<std::vector<hilt::monitor_reading>>> cmis_module::do_read_monitors() {
  constexpr const char* op = "read_monitors";
  auto mi = co_await async_ensure_info();
  if (!mi) co_return failure(mi.error());
  const module_info& info = mi.value();
  std::vector<hilt::monitor_reading> out;
  // Module monitors (Table 8-10), when advertised in 01h:159.
  if (info.monitors_module & 0x03) {
    std::array<std::uint8_t, 4> b{};
    if (auto ec = co_await async_read(op, 0x00, reg::temperature, b)) co_return failure(ec);
    if (info.monitors_module & 0x01) {
      out.push_back({"temperature", -1, hilt::side::none, decode_temperature_c(&b[0]), "C"});
    }
    if (info.monitors_module & 0x02) {
      out.push_back({"vcc", -1, hilt::side::none, decode_vcc_v(&b[2]), "V"});
    }
  }
  // Lane monitors on page 11h (Table 8-93), when advertised in 01h:160 bits 2-0.
  if (info.have_page01 && (info.monitors_lane & 0x07)) {
    std::array<std::uint8_t, 48> b{};  // 11h:154-201
    if (auto ec = co_await async_read(op, 0x11, reg::tx_power, b)) co_return failure(ec);
    const int lanes = info.media_lanes > 0 ? std::min(info.media_lanes, 8) : 8;
    for (int i = 0; i < lanes; ++i) {
      const auto k = static_cast<std::size_t>(2 * i);
      if (info.monitors_lane & 0x01) {
        out.push_back({"tx_bias", i + 1, hilt::side::media,
                       decode_bias_ma(&b[16 + k], info.monitors_lane), "mA"});
      }
      if (info.monitors_lane & 0x02) {
        out.push_back(
            {"tx_power", i + 1, hilt::side::media, mw_to_dbm_floor(decode_power_mw(&b[k])), "dBm"});
      }
      if (info.monitors_lane & 0x04) {
        out.push_back({"rx_power", i + 1, hilt::side::media,
                       mw_to_dbm_floor(decode_power_mw(&b[32 + k])), "dBm"});
      }
    }
  }
  co_return out;
}

}  // namespace hilt::cmis
