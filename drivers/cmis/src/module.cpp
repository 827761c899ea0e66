#include "hilt/cmis/module.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
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
  // Lower memory without the clear-on-read module flags (00h:8-11, Table 8-9): identifying a
  // module must not swallow its latched flags.
  if (auto ec = co_await async_read(op, 0x00, 0, std::span(lower).first(8))) co_return failure(ec);
  if (auto ec = co_await async_read(op, 0x00, 12, std::span(lower).subspan(12)))
    co_return failure(ec);

  module_info mi;
  mi.identifier = lower[reg::identifier];
  mi.spec = spec_of_identifier(mi.identifier);
  if (mi.spec == mgmt_spec::sff8636) co_return co_await async_load_sff8636(id, lower);
  if (mi.spec == mgmt_spec::sff8472) co_return co_await async_load_sff8472(id);
  if (mi.spec != mgmt_spec::cmis) {
    log().error(
        "{} ({}): {}: page 00h byte 0 identifier 0x{:02x} ({}) is not a CMIS, SFF-8636 or "
        "SFF-8472 module",
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
  std::array<std::uint8_t, 15> media_options{};
  media_options.fill(0x01);

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
    const std::uint8_t dp = p01[reg::dp_durations - 128];
    mi.max_dp_init = decode_duration(dp & 0x0F);
    mi.max_dp_deinit = decode_duration(dp >> 4);
    const std::uint8_t tx = p01[reg::tx_durations - 128];
    mi.max_tx_turn_on = decode_duration(tx & 0x0F);
    mi.max_tx_turn_off = decode_duration(tx >> 4);
    // 01h:142 bits 1-0 (Table 8-47): banks 0, 0-1, 0-3; 11b (defined in 01h:174) is read as 4.
    const int bank_code = mi.supported_pages & 0x03;
    mi.banks = bank_code == 0 ? 1 : bank_code == 1 ? 2 : 4;
    // Applications 9-15 (01h:223-250) continue the list when the first 8 are all used.
    if (mi.applications.size() == 8) {
      auto more = decode_applications(std::span(p01).subspan(223 - 128, 28));
      mi.applications.insert(mi.applications.end(), more.begin(), more.end());
    }
    for (std::size_t i = 0; i < 15; ++i)
      media_options[i] = p01[176 - 128 + i];  // MediaLaneAssignmentOptions
  }
  // Lanes of the module: the highest lane any application can occupy (first-lane options and lane
  // counts), in every bank.
  {
    int host = 0, media = 0;
    for (std::size_t i = 0; i < mi.applications.size(); ++i) {
      const auto& a = mi.applications[i];
      auto top = [](std::uint8_t opts, int n) {
        int first = 0;
        for (int b = 0; b < 8; ++b) {
          if (opts >> b & 1) first = b;
        }
        return std::min(8, first + n);
      };
      host = std::max(host, top(a.host_lane_options ? a.host_lane_options : 1, a.host_lanes));
      media =
          std::max(media, top(i < 15 && media_options[i] ? media_options[i] : 1, a.media_lanes));
    }
    mi.host_lanes = host * mi.banks;
    mi.media_lanes = media * mi.banks;
  }
  if (mi.identifier == 0x22 && !mi.flat) {
    // OIF ELSFP: laser lanes (1Ah:140 bits 7-1).
    std::uint8_t b = 0;
    if (auto ec = co_await async_read(op, 0x1A, 140, std::span(&b, 1))) co_return failure(ec);
    mi.elsfp_lanes = std::min(8, b >> 1);
    mi.media_lanes = mi.elsfp_lanes;
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
  if (info_ && info_->spec != mgmt_spec::cmis)
    co_return co_await async_sff_state(*info_, "module_state");
  co_return co_await async_read_state("module_state");
}

task<result<hilt::module_state>> cmis_module::do_set_low_power(bool low_power) {
  const char* op = low_power ? "set_low_power(on)" : "set_low_power(off)";
  if (info_ && info_->spec != mgmt_spec::cmis) {
    co_return co_await async_sff_set_low_power(*info_, low_power);
  }
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
  if (info.spec == mgmt_spec::sff8472) co_return std::error_code{};  // no low power mode
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
  if (info.spec == mgmt_spec::sff8636) budget = std::chrono::seconds(2) + opts_.power_up_margin;
  for (;;) {
    auto st = info.spec == mgmt_spec::cmis ? co_await async_read_state(op)
                                           : co_await async_sff_state(info, op);
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
  if (info.spec != mgmt_spec::cmis) co_return co_await async_sff_tx_disable(info, lanes, disable);
  if (info.elsfp_lanes > 0) co_return co_await async_elsfp_tx_disable(lanes, disable);
  // OutputDisableTx (10h:130) is implemented when 01h:155 bit 1 says so (Table 8-55).
  if (info.flat || !(info.controls_supported & 0x02)) co_return code(errc::not_supported);
  for (int b = 0; b < info.banks; ++b) {
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
  if (info.spec != mgmt_spec::cmis) co_return co_await async_sff_monitors(info);
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
  if (info.elsfp_lanes > 0) {
    if (auto ec = co_await async_elsfp_monitors(out)) co_return failure(ec);
    co_return out;
  }
  // Lane monitors on page 11h of every bank (Table 8-93), when advertised in 01h:160 bits 2-0.
  if (info.have_page01 && (info.monitors_lane & 0x07)) {
    const int total = info.media_lanes > 0 ? info.media_lanes : 8 * info.banks;
    for (int bank = 0; bank < info.banks && 8 * bank < total; ++bank) {
      std::array<std::uint8_t, 48> b{};  // 11h:154-201
      if (auto ec =
              co_await async_read(op, 0x11, reg::tx_power, b, static_cast<std::uint8_t>(bank)))
        co_return failure(ec);
      const int lanes = std::min(8, total - 8 * bank);
      for (int i = 0; i < lanes; ++i) {
        const auto k = static_cast<std::size_t>(2 * i);
        const int lane = 8 * bank + i + 1;
        if (info.monitors_lane & 0x01) {
          out.push_back({"tx_bias", lane, hilt::side::media,
                         decode_bias_ma(&b[16 + k], info.monitors_lane), "mA"});
        }
        if (info.monitors_lane & 0x02) {
          out.push_back({"tx_power", lane, hilt::side::media,
                         mw_to_dbm_floor(decode_power_mw(&b[k])), "dBm"});
        }
        if (info.monitors_lane & 0x04) {
          out.push_back({"rx_power", lane, hilt::side::media,
                         mw_to_dbm_floor(decode_power_mw(&b[32 + k])), "dBm"});
        }
      }
    }
  }
  co_return out;
}

task<std::error_code> cmis_module::do_safe_state() {
  // Lasers dark first, then low power (CMIS 5.x §6.3.2: ModuleLowPwr turns every laser off);
  // an SFP has no low power mode, so Tx disable is all it gets.
  auto mi = co_await async_ensure_info();
  auto tx = co_await do_set_tx_disable(~hilt::lane_mask{0}, true);
  if (mi && mi.value().spec == mgmt_spec::sff8472) co_return tx;
  auto lp = co_await do_set_low_power(true);
  if (!lp) co_return lp.error();
  if (tx && tx != make_error_code(errc::not_supported)) co_return tx;
  co_return std::error_code{};
}

task<void> cmis_module::async_pause(std::chrono::nanoseconds d) {
  if (hilt::clock* clk = context().clock; clk && d.count() > 0) {
    co_await clk->async_sleep(std::chrono::duration_cast<hilt::clock::duration>(d),
                              boost::asio::use_awaitable);
  }
}

task<std::error_code> cmis_module::async_read_raw(std::uint8_t addr, std::uint8_t offset,
                                                  std::span<std::uint8_t> out) {
  const std::size_t chunk = std::max<std::size_t>(1, map_.max_read_chunk());
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t n = std::min(chunk, out.size() - done);
    const auto ptr = static_cast<std::uint8_t>(offset + done);
    auto part = out.subspan(done, n);
    if (auto ec = co_await map_.bus().async_transfer(addr, std::span(&ptr, 1), part)) {
      co_return ec;
    }
    done += n;
  }
  co_return std::error_code{};
}

task<result<eeprom_dump>> cmis_module::async_dump_eeprom(std::string* where) {
  constexpr const char* op = "eeprom dump";
  eeprom_dump d;
  d.image.assign(128, 0);
  auto lower = std::span(d.image).subspan(0, 128);
  if (auto ec = co_await async_read(op, 0x00, 0, lower)) {
    if (where) *where = "lower memory bytes 0-127";
    co_return failure(ec);
  }
  d.spec = spec_of_identifier(d.image[0]);
  switch (d.spec) {
    case mgmt_spec::unknown:
      log().error("{} ({}): {}: page 00h byte 0 identifier 0x{:02x} ({}) is neither CMIS nor SFF",
                  name(), address(), op, d.image[0], identifier_name(d.image[0]));
      if (where) *where = "lower memory byte 0";
      co_return failure(code(errc::unknown_identifier));
    case mgmt_spec::sff8472: {
      // SFF-8472: A0h is 256 bytes without paging; A2h sits at the next I2C address.
      d.image.assign(256, 0);
      if (auto ec = co_await async_read_raw(map_.address(), 0, d.image)) {
        if (where) *where = "A0h bytes 0-255";
        log().error("{} ({}): {}: read of A0h on {}: {}", name(), address(), op,
                    map_.bus().describe(), ec.message());
        co_return failure(ec);
      }
      if (d.image[92] & 0x40) {  // digital diagnostics implemented (Table 8-5)
        d.image.resize(512, 0);
        auto a2 = std::span(d.image).subspan(256, 256);
        const auto a2_addr = static_cast<std::uint8_t>(map_.address() + 1);
        if (auto ec = co_await async_read_raw(a2_addr, 0, a2)) {
          if (where) *where = "A2h bytes 0-255";
          log().error("{} ({}): {}: read of A2h (I2C 0x{:02x}) on {}: {}", name(), address(), op,
                      a2_addr, map_.bus().describe(), ec.message());
          co_return failure(ec);
        }
        d.pages.push_back(sff8472_a2h);
      }
      co_return d;
    }
    case mgmt_spec::cmis:
    case mgmt_spec::sff8636:
      break;
  }
  // Read pages in the order advertised_pages() names them; reading 01h (or 2Fh) may name more,
  // so the list is recomputed until every page it names has been read.
  // Each page is read once, so this ends after at most as many rounds as there are pages.
  for (;;) {
    std::optional<page_id> next;
    for (const page_id p : advertised_pages(eeprom_image(d.image))) {
      if (std::find(d.pages.begin(), d.pages.end(), p) == d.pages.end()) {
        next = p;
        break;
      }
    }
    if (!next) break;
    const page_id p = *next;
    const std::size_t start = page_linear_start(p);
    if (d.image.size() < start + 128) d.image.resize(start + 128, 0);
    auto out = std::span(d.image).subspan(start, 128);
    if (auto ec = co_await async_read(op, p.page, 128, out, p.bank)) {
      if (where) *where = fmt::format("page {} bytes 128-255", page_label(p));
      co_return failure(ec);
    }
    d.pages.push_back(p);
  }
  co_return d;
}

}  // namespace hilt::cmis
