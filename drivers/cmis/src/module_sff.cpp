// Older modules and the external laser source, in the cmis driver: SFF-8636 (QSFP+/QSFP28) and
// SFF-8472 (SFP) identity, state, low power, Tx disable and monitors, decoded with the same typed
// fields the EEPROM decoder uses (sff8636.hpp, sff8472.hpp); OIF ELSFP laser lanes (pages
// 1Ah/1Bh).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "hilt/cmis/module.hpp"
#include "hilt/cmis/sff8472.hpp"
#include "hilt/cmis/sff8636.hpp"
#include "hilt/error.hpp"

namespace hilt::cmis {

namespace {
std::error_code code(errc e) {
  return make_error_code(e);
}

void identity_from(const module_report& r, hilt::identity* id, const std::string& firmware) {
  if (!id) return;
  id->vendor = r.vendor;
  id->part_number = r.part_number;
  id->serial = r.serial;
  id->revision = r.revision;
  id->firmware = firmware;
  id->extra["identifier"] = fmt::format("0x{:02x} ({})", r.identifier, r.identifier_name);
  id->extra["spec"] = to_string(r.spec);
  id->extra["spec_revision"] = r.spec_revision;
  id->extra["memory_model"] = r.memory_model;
  if (r.power_class) id->extra["power_class"] = std::to_string(*r.power_class);
  if (r.max_power_w) id->extra["max_power_w"] = fmt::format("{:.2f}", *r.max_power_w);
  id->extra["date_code"] = r.date_code;
  id->extra["vendor_oui"] = r.vendor_oui;
  if (!r.connector.empty()) id->extra["connector"] = r.connector;
}
}  // namespace

task<result<module_info>> cmis_module::async_load_sff8636(hilt::identity* id,
                                                          std::span<const std::uint8_t> lower) {
  constexpr const char* op = "identify";
  std::array<std::uint8_t, 256> img{};
  std::copy(lower.begin(), lower.end(), img.begin());
  // Upper page 00h (SFF-8636 §6.3): PageSelect 00h, as the page map does for CMIS.
  if (auto ec = co_await async_read(op, 0x00, 128, std::span(img).subspan(128, 128))) {
    co_return failure(ec);
  }
  auto upper = std::span<const std::uint8_t>(img).subspan(128, 128);
  if (auto ec = check_page(op, upper, 0x00, 128, 190, sff8636::reg::cc_base)) co_return failure(ec);
  if (auto ec = check_page(op, upper, 0x00, 192, 222, sff8636::reg::cc_ext)) co_return failure(ec);
  module_report r;
  r.identifier = img[0];
  r.identifier_name = identifier_name(img[0]);
  sff8636::decode(eeprom_image(img), r);
  module_info mi;
  mi.spec = mgmt_spec::sff8636;
  mi.identifier = img[0];
  mi.flat = r.memory_model == "flat";
  mi.power_class = r.power_class.value_or(0);
  mi.max_power_w = r.max_power_w.value_or(0);
  mi.host_lanes = mi.media_lanes = sff8636::lanes;
  mi.max_module_pwr_up = std::chrono::seconds(2);  // SFF-8636: t_init / t_ser (2 s class)
  mi.sff_diag_type = img[sff8636::reg::diag_type];
  identity_from(r, id, "");
  if (id) id->extra["revision_compliance"] = r.detail("revision_compliance");
  info_ = mi;
  co_return mi;
}

task<result<module_info>> cmis_module::async_load_sff8472(hilt::identity* id) {
  // SFF-8472 A0h has no page select: 256 bytes read straight from the module's address.
  std::array<std::uint8_t, 256> a0{};
  if (auto ec = co_await async_read_raw(map_.address(), 0, a0)) {
    log().error("{} ({}): identify: read of A0h bytes 0-255 on {}: {}", name(), address(),
                map_.bus().describe(), ec.message());
    co_return failure(ec);
  }
  auto block = std::span<const std::uint8_t>(a0);
  if (opts_.verify_checksums) {
    for (const auto& [first, last, at] : {std::array<int, 3>{0, 62, 63}, {64, 94, 95}}) {
      const auto sum = checksum(block.subspan(static_cast<std::size_t>(first),
                                              static_cast<std::size_t>(last - first + 1)));
      if (sum != a0[static_cast<std::size_t>(at)]) {
        log().error(
            "{} ({}): identify: checksum mismatch at A0h byte {}: stored 0x{:02x}, sum of bytes "
            "{}-{} is 0x{:02x}",
            name(), address(), at, a0[static_cast<std::size_t>(at)], first, last, sum);
        co_return failure(code(errc::checksum_mismatch));
      }
    }
  }
  module_report r;
  r.identifier = a0[0];
  r.identifier_name = identifier_name(a0[0]);
  sff8472::decode(eeprom_image(a0), r);
  module_info mi;
  mi.spec = mgmt_spec::sff8472;
  mi.identifier = a0[0];
  mi.flat = true;
  mi.power_class = r.power_class.value_or(0);
  mi.max_power_w = r.max_power_w.value_or(0);
  mi.host_lanes = mi.media_lanes = 1;
  mi.sff_diag_type = a0[sff8472::reg::diag_type];
  mi.sff_enhanced = a0[sff8472::reg::enhanced_options];
  identity_from(r, id, "");
  info_ = mi;
  co_return mi;
}

task<result<hilt::module_state>> cmis_module::async_sff_state(const module_info& mi,
                                                              const char* op) {
  if (mi.spec == mgmt_spec::sff8636) {
    // Data_Not_Ready (00h:2.0) while the module initializes; low power when software overrides
    // the LPMode pin with Power_set (00h:93 bits 0-1, SFF-8636 Table 6-10).
    std::uint8_t status = 0, pwr = 0;
    if (auto ec = co_await async_read(op, 0x00, sff8636::reg::status, std::span(&status, 1)))
      co_return failure(ec);
    if (auto ec = co_await async_read(op, 0x00, sff8636::reg::power_control, std::span(&pwr, 1)))
      co_return failure(ec);
    if (status & 0x01) co_return hilt::module_state::powering_up;
    if ((pwr & 0x03) == 0x03) co_return hilt::module_state::low_power;
    co_return hilt::module_state::ready;
  }
  // SFF-8472: Data_Ready_Bar (A2h:110.0).
  if (!(mi.sff_diag_type & 0x40)) co_return hilt::module_state::ready;
  std::uint8_t st = 0;
  if (auto ec = co_await async_read_raw(static_cast<std::uint8_t>(map_.address() + 1),
                                        sff8472::reg::status, std::span(&st, 1))) {
    log().error("{} ({}): {}: read of A2h byte 110 on {}: {}", name(), address(), op,
                map_.bus().describe(), ec.message());
    co_return failure(ec);
  }
  co_return (st & 0x01) ? hilt::module_state::powering_up : hilt::module_state::ready;
}

task<result<hilt::module_state>> cmis_module::async_sff_set_low_power(const module_info& mi,
                                                                      bool low_power) {
  const char* op = low_power ? "set_low_power(on)" : "set_low_power(off)";
  if (mi.spec != mgmt_spec::sff8636) co_return failure(code(errc::not_supported));
  // Power_override (93.0) = 1 with Power_set (93.1) = 1 for low power, 0 to run (as SONiC's
  // Sff8636Api.set_lpmode does); the high-power class enables (93.2-3) are kept.
  std::uint8_t pwr = 0;
  if (auto ec = co_await async_read(op, 0x00, sff8636::reg::power_control, std::span(&pwr, 1)))
    co_return failure(ec);
  pwr = static_cast<std::uint8_t>((pwr & 0x0C) | 0x01 | (low_power ? 0x02 : 0x00));
  if (auto ec = co_await async_write(op, 0x00, sff8636::reg::power_control, std::span(&pwr, 1)))
    co_return failure(ec);
  co_return co_await async_sff_state(mi, op);
}

task<std::error_code> cmis_module::async_sff_tx_disable(const module_info& mi,
                                                        hilt::lane_mask lanes, bool disable) {
  const char* op = disable ? "set_tx_disable(on)" : "set_tx_disable(off)";
  if (mi.spec == mgmt_spec::sff8636) {
    std::uint8_t v = 0;  // 00h:86 Tx_Disable, bits 3-0 = lanes 4-1
    if (auto ec = co_await async_read(op, 0x00, sff8636::reg::tx_disable, std::span(&v, 1)))
      co_return ec;
    const auto mask = static_cast<std::uint8_t>(lanes & 0x0F);
    v = disable ? static_cast<std::uint8_t>(v | mask) : static_cast<std::uint8_t>(v & ~mask);
    co_return co_await async_write(op, 0x00, sff8636::reg::tx_disable, std::span(&v, 1));
  }
  // SFF-8472: Soft TX_DISABLE (A2h:110.6), when A0h:93.6 says it is implemented.
  if (!(mi.sff_enhanced & 0x40) || !(lanes & 1)) co_return code(errc::not_supported);
  const auto a2 = static_cast<std::uint8_t>(map_.address() + 1);
  std::uint8_t st = 0;
  if (auto ec = co_await async_read_raw(a2, sff8472::reg::status, std::span(&st, 1))) co_return ec;
  std::array<std::uint8_t, 2> w{sff8472::reg::status,
                                static_cast<std::uint8_t>(disable ? (st | 0x40) : (st & ~0x40))};
  auto ec = co_await map_.bus().async_transfer(a2, w, {});
  if (ec) {
    log().error("{} ({}): {}: write of A2h byte 110 on {}: {}", name(), address(), op,
                map_.bus().describe(), ec.message());
  }
  co_return ec;
}

task<result<std::vector<hilt::monitor_reading>>> cmis_module::async_sff_monitors(
    const module_info& mi) {
  constexpr const char* op = "read_monitors";
  std::vector<hilt::monitor_reading> out;
  if (mi.spec == mgmt_spec::sff8636) {
    // Lower memory 22-57 (SFF-8636 Table 6-7/6-8).
    std::array<std::uint8_t, 36> b{};
    if (auto ec = co_await async_read(op, 0x00, sff8636::reg::temperature, b))
      co_return failure(ec);
    auto at = [&](int off) {
      return &b[static_cast<std::size_t>(off - sff8636::reg::temperature)];
    };
    out.push_back({"temperature", -1, hilt::side::none, decode_temperature_c(at(22)), "C"});
    out.push_back({"vcc", -1, hilt::side::none, decode_vcc_v(at(26)), "V"});
    for (int l = 0; l < sff8636::lanes; ++l) {
      out.push_back({"tx_bias", l + 1, hilt::side::media, be_u16(at(42 + 2 * l)) * 2e-3, "mA"});
      if (mi.sff_diag_type & 0x04) {
        out.push_back({"tx_power", l + 1, hilt::side::media,
                       mw_to_dbm_floor(decode_power_mw(at(50 + 2 * l))), "dBm"});
      }
      out.push_back({"rx_power", l + 1, hilt::side::media,
                     mw_to_dbm_floor(decode_power_mw(at(34 + 2 * l))), "dBm"});
    }
    co_return out;
  }
  if (!(mi.sff_diag_type & 0x40)) co_return failure(code(errc::not_supported));
  std::array<std::uint8_t, 256> a2{};
  if (auto ec = co_await async_read_raw(static_cast<std::uint8_t>(map_.address() + 1), 0, a2)) {
    log().error("{} ({}): {}: read of A2h on {}: {}", name(), address(), op, map_.bus().describe(),
                ec.message());
    co_return failure(ec);
  }
  const auto d = sff8472::decode_diagnostics(a2, mi.sff_diag_type);
  out.push_back({"temperature", -1, hilt::side::none, d.temperature_c, "C"});
  out.push_back({"vcc", -1, hilt::side::none, d.vcc_v, "V"});
  out.push_back({"tx_bias", 1, hilt::side::media, d.tx_bias_ma, "mA"});
  out.push_back({"tx_power", 1, hilt::side::media, mw_to_dbm_floor(d.tx_power_mw), "dBm"});
  out.push_back({"rx_power", 1, hilt::side::media, mw_to_dbm_floor(d.rx_power_mw), "dBm"});
  co_return out;
}

task<std::error_code> cmis_module::async_elsfp_tx_disable(hilt::lane_mask lanes, bool disable) {
  // OIF ELSFP LaneEnable (1Ah:220, bit per laser lane): "Tx disable" turns lasers off.
  const char* op = disable ? "set_tx_disable(on)" : "set_tx_disable(off)";
  std::uint8_t v = 0;
  if (auto ec = co_await async_read(op, 0x1A, 220, std::span(&v, 1))) co_return ec;
  const auto mask = static_cast<std::uint8_t>(lanes & 0xFF);
  v = disable ? static_cast<std::uint8_t>(v & ~mask) : static_cast<std::uint8_t>(v | mask);
  co_return co_await async_write(op, 0x1A, 220, std::span(&v, 1));
}

task<std::error_code> cmis_module::async_elsfp_monitors(std::vector<hilt::monitor_reading>& out) {
  // 1Bh:184-199 bias monitor (U16 100 uA), 200-215 optical power monitor (U16 10 uW).
  std::array<std::uint8_t, 32> b{};
  if (auto ec = co_await async_read("read_monitors", 0x1B, 184, b)) co_return ec;
  const int lanes = info_ ? info_->elsfp_lanes : 8;
  for (int l = 0; l < lanes; ++l) {
    const auto k = static_cast<std::size_t>(2 * l);
    out.push_back({"laser_bias", l + 1, hilt::side::media, be_u16(&b[k]) * 0.1, "mA"});
    out.push_back({"laser_power", l + 1, hilt::side::media,
                   mw_to_dbm_floor(be_u16(&b[16 + k]) * 0.01), "dBm"});
  }
  co_return std::error_code{};
}

}  // namespace hilt::cmis
