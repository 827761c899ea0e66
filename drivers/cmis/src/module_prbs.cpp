// PRBS generators and checkers (CMIS 5.x pages 13h/14h, Tables 8-110 to 8-139) and VDM
// observables (pages 20h-2Fh, Table 8-170 ff.) of the CMIS managed module.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

#include "hilt/cmis/codes.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"

namespace hilt::cmis {

namespace {

std::error_code code(errc e) {
  return make_error_code(e);
}

// Page 13h control offsets of one side (Table 8-120): enable, pattern-select nibbles.
struct side_regs {
  int gen_enable, gen_pattern, chk_enable, chk_pattern;
};
constexpr side_regs host_regs{144, 148, 160, 164};
constexpr side_regs media_regs{152, 156, 168, 172};

std::string mask_names(std::uint16_t m) {
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (!(m >> i & 1)) continue;
    if (!out.empty()) out += ", ";
    out += prbs_pattern_name(static_cast<std::uint8_t>(i));
  }
  return out.empty() ? "none" : out;
}

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

}  // namespace

task<std::error_code> cmis_module::async_load_prbs(const char* op, module_info& mi) {
  if (mi.prbs_known) co_return std::error_code{};
  // Diagnostic pages 13h-14h exist when 01h:142 bit 5 says so (Table 8-47).
  if (mi.spec != mgmt_spec::cmis || mi.flat || !(mi.supported_pages & 0x20)) {
    log().error("{} ({}): {}: the module advertises no PRBS (page 01h byte 142 bit 5 clear)",
                name(), address(), op);
    co_return code(errc::not_supported);
  }
  std::array<std::uint8_t, 8> m{};  // 13h:132-139, little endian pattern masks
  if (auto ec = co_await async_read(op, 0x13, 132, m)) co_return ec;
  mi.host_generator = static_cast<std::uint16_t>(m[0] | m[1] << 8);
  mi.media_generator = static_cast<std::uint16_t>(m[2] | m[3] << 8);
  mi.host_checker = static_cast<std::uint16_t>(m[4] | m[5] << 8);
  mi.media_checker = static_cast<std::uint16_t>(m[6] | m[7] << 8);
  mi.prbs_known = true;
  co_return std::error_code{};
}

task<std::error_code> cmis_module::do_prbs_configure(hilt::side side, hilt::lane_mask lanes,
                                                     hilt::prbs_pattern pattern, bool generator,
                                                     bool checker) {
  constexpr const char* op = "prbs_configure";
  auto mi_r = co_await async_ensure_info();
  if (!mi_r) co_return mi_r.error();
  if (auto ec = co_await async_load_prbs(op, *info_)) co_return ec;
  const module_info& mi = *info_;
  if (side != hilt::side::host && side != hilt::side::media) co_return code(errc::invalid_argument);
  const bool host = side == hilt::side::host;
  const side_regs r = host ? host_regs : media_regs;
  const int id = static_cast<int>(pattern);  // hilt::prbs_pattern follows Table 8-115 IDs
  const std::uint16_t gen_mask = host ? mi.host_generator : mi.media_generator;
  const std::uint16_t chk_mask = host ? mi.host_checker : mi.media_checker;
  auto refuse = [&](const char* what, std::uint16_t mask, int at) {
    log().error("{} ({}): {}: {} {} {} not advertised (page 13h bytes {}-{}: {})", name(),
                address(), op, to_string(side), what, hilt::to_string(pattern), at, at + 1,
                mask_names(mask));
    return code(errc::not_supported);
  };
  if (generator && !(gen_mask >> id & 1))
    co_return refuse("generator pattern", gen_mask, host ? 132 : 134);
  if (checker && !(chk_mask >> id & 1))
    co_return refuse("checker pattern", chk_mask, host ? 136 : 138);
  const int side_lanes = host ? mi.host_lanes : mi.media_lanes;
  if (lanes == 0 || (side_lanes > 0 && side_lanes < 32 && (lanes >> side_lanes) != 0)) {
    log().error("{} ({}): {}: lanes 0x{:x} outside the module's {} {} lanes", name(), address(), op,
                lanes, side_lanes, to_string(side));
    co_return code(errc::invalid_argument);
  }
  for (int b = 0; b < mi.banks; ++b) {
    const auto mask = static_cast<std::uint8_t>((lanes >> (8 * b)) & 0xFF);
    if (!mask) continue;
    const auto bank = static_cast<std::uint8_t>(b);
    // Read-modify-write of 13h:144-175 of this bank: patterns first, enables last (enabling a
    // checker restarts its counters).
    std::array<std::uint8_t, 32> c{};
    if (auto ec = co_await async_read(op, 0x13, 144, c, bank)) co_return ec;
    auto at = [&](int off) -> std::uint8_t& { return c[static_cast<std::size_t>(off - 144)]; };
    for (int i = 0; i < 8; ++i) {
      if (!(mask >> i & 1)) continue;
      const int shift = 4 * (i % 2);  // lanes 1/2 share a byte: odd lane bits 3-0
      auto set_nibble = [&](int base) {
        auto& byte = at(base + i / 2);
        byte = static_cast<std::uint8_t>((byte & ~(0x0F << shift)) | id << shift);
      };
      if (generator) set_nibble(r.gen_pattern);
      if (checker) set_nibble(r.chk_pattern);
    }
    auto set_bits = [&](int off, bool on) {
      at(off) = on ? static_cast<std::uint8_t>(at(off) | mask)
                   : static_cast<std::uint8_t>(at(off) & ~mask);
    };
    // Patterns (4 bytes each side) then the two enable bytes.
    if (auto ec = co_await async_write(
            op, 0x13, static_cast<std::uint8_t>(r.gen_pattern),
            std::span(c).subspan(static_cast<std::size_t>(r.gen_pattern - 144), 4), bank))
      co_return ec;
    if (auto ec = co_await async_write(
            op, 0x13, static_cast<std::uint8_t>(r.chk_pattern),
            std::span(c).subspan(static_cast<std::size_t>(r.chk_pattern - 144), 4), bank))
      co_return ec;
    set_bits(r.gen_enable, generator);
    set_bits(r.chk_enable, checker);
    std::uint8_t ge = at(r.gen_enable), ce = at(r.chk_enable);
    if (auto ec = co_await async_write(op, 0x13, static_cast<std::uint8_t>(r.gen_enable),
                                       std::span(&ge, 1), bank))
      co_return ec;
    if (auto ec = co_await async_write(op, 0x13, static_cast<std::uint8_t>(r.chk_enable),
                                       std::span(&ce, 1), bank))
      co_return ec;
  }
  co_return std::error_code{};
}

task<result<std::vector<hilt::prbs_lane_status>>> cmis_module::do_prbs_read(hilt::side side) {
  constexpr const char* op = "prbs_read";
  auto mi_r = co_await async_ensure_info();
  if (!mi_r) co_return failure(mi_r.error());
  if (auto ec = co_await async_load_prbs(op, *info_)) co_return failure(ec);
  const module_info& mi = *info_;
  if (side != hilt::side::host && side != hilt::side::media) {
    co_return failure(code(errc::invalid_argument));
  }
  const bool host = side == hilt::side::host;
  std::vector<hilt::prbs_lane_status> out;
  for (int b = 0; b < mi.banks; ++b) {
    const auto bank = static_cast<std::uint8_t>(b);
    std::uint8_t enabled = 0;
    if (auto ec = co_await async_read(op, 0x13, static_cast<std::uint8_t>(host ? 160 : 168),
                                      std::span(&enabled, 1), bank))
      co_return failure(ec);
    if (!enabled) continue;
    // PatternCheckerLOL (14h:138 host, 139 media) is latched and clear-on-read: the first read
    // says whether lock was lost since the previous read, the second whether it is lost now.
    const auto lol_at = static_cast<std::uint8_t>(host ? 138 : 139);
    std::uint8_t lol_latched = 0, lol_now = 0;
    if (auto ec = co_await async_read(op, 0x14, lol_at, std::span(&lol_latched, 1), bank))
      co_return failure(ec);
    if (auto ec = co_await async_read(op, 0x14, lol_at, std::span(&lol_now, 1), bank))
      co_return failure(ec);
    // Counters: DiagnosticsSelector 02h/03h (host lanes 1-4 / 5-8) or 04h/05h (media), then BER
    // (01h), each valid tDDCS after the selector write (Table 8-137/8-139).
    std::array<std::uint64_t, 8> errors{}, bits{};
    for (int half = 0; half < 2; ++half) {
      if (!((enabled >> (4 * half)) & 0x0F)) continue;
      std::uint8_t sel = static_cast<std::uint8_t>((host ? 0x02 : 0x04) + half);
      if (auto ec = co_await async_write(op, 0x14, 128, std::span(&sel, 1), bank))
        co_return failure(ec);
      co_await async_pause(opts_.diagnostics_settle);
      std::array<std::uint8_t, 64> d{};
      if (auto ec = co_await async_read(op, 0x14, 192, d, bank)) co_return failure(ec);
      for (int k = 0; k < 4; ++k) {
        errors[static_cast<std::size_t>(4 * half + k)] = le64(&d[static_cast<std::size_t>(16 * k)]);
        bits[static_cast<std::size_t>(4 * half + k)] =
            le64(&d[static_cast<std::size_t>(16 * k + 8)]);
      }
    }
    std::uint8_t sel = 0x01;
    if (auto ec = co_await async_write(op, 0x14, 128, std::span(&sel, 1), bank))
      co_return failure(ec);
    co_await async_pause(opts_.diagnostics_settle);
    std::array<std::uint8_t, 16> ber{};
    if (auto ec =
            co_await async_read(op, 0x14, static_cast<std::uint8_t>(host ? 192 : 208), ber, bank))
      co_return failure(ec);
    for (int i = 0; i < 8; ++i) {
      if (!(enabled >> i & 1)) continue;
      hilt::prbs_lane_status s;
      s.lane = 8 * b + i + 1;
      s.side = side;
      s.locked = !(lol_now >> i & 1);
      // The pattern-sync-loss indicator (LSB of the bit count) also says lock was lost.
      s.lost_lock = (lol_latched >> i & 1) || (bits[static_cast<std::size_t>(i)] & 1);
      s.bits = bits[static_cast<std::size_t>(i)] & ~std::uint64_t{1};
      s.errors = errors[static_cast<std::size_t>(i)];
      s.ber = decode_f16(ber[static_cast<std::size_t>(2 * i)],
                         ber[static_cast<std::size_t>(2 * i + 1)]);
      out.push_back(s);
    }
  }
  co_return out;
}

task<result<std::vector<hilt::monitor_reading>>> cmis_module::do_read_vdm() {
  constexpr const char* op = "read_vdm";
  auto mi_r = co_await async_ensure_info();
  if (!mi_r) co_return failure(mi_r.error());
  const module_info& mi = mi_r.value();
  // VDM pages exist when 01h:142 bit 6 says so (Table 8-47).
  if (mi.spec != mgmt_spec::cmis || mi.flat || !(mi.supported_pages & 0x40)) {
    log().error("{} ({}): {}: the module advertises no VDM (page 01h byte 142 bit 6 clear)", name(),
                address(), op);
    co_return failure(code(errc::not_supported));
  }
  std::uint8_t support = 0;  // 2Fh:128 bits 1-0: groups - 1
  if (auto ec = co_await async_read(op, 0x2F, 128, std::span(&support, 1))) co_return failure(ec);
  const int groups = (support & 0x03) + 1;
  std::vector<hilt::monitor_reading> out;
  for (int g = 0; g < groups; ++g) {
    std::array<std::uint8_t, 128> desc{}, vals{};
    if (auto ec = co_await async_read(op, static_cast<std::uint8_t>(0x20 + g), 128, desc))
      co_return failure(ec);
    if (auto ec = co_await async_read(op, static_cast<std::uint8_t>(0x24 + g), 128, vals))
      co_return failure(ec);
    for (int slot = 0; slot < 64; ++slot) {
      const auto k = static_cast<std::size_t>(2 * slot);
      const std::uint8_t type = desc[k + 1];
      if (type == 0) continue;
      hilt::side s = hilt::side::none;
      const char* nm = vdm_observable_name(type, s);
      const int lane = (desc[k] & 0x0F) + 1;
      const std::uint8_t* v = &vals[k];
      if (!nm) continue;  // types this driver does not decode are skipped, not guessed
      if (type >= 9 && type <= 26) {
        out.push_back({nm, lane, s, decode_f16(v), ""});
      } else if (type == 4) {
        out.push_back({nm, lane, s, be_s16(v) / 256.0, "C"});
      } else if (type >= 5 && type <= 8) {
        out.push_back({nm, lane, s, be_u16(v) / 256.0, "dB"});
      }
    }
  }
  co_return out;
}

}  // namespace hilt::cmis
