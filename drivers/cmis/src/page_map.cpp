#include "hilt/cmis/page_map.hpp"

#include <algorithm>
#include <array>

#include "hilt/cmis/fields.hpp"
#include "hilt/error.hpp"

namespace hilt::cmis {

page_map::page_map(std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t address)
    : bus_(std::move(bus)),
      addr_(address),
      max_read_(std::clamp<std::size_t>(bus_->max_read(), 1, cmis_max_read)),
      max_write_(std::clamp<std::size_t>(bus_->max_write(), 2, cmis_max_write + 1) - 1) {}

void page_map::set_max_read_chunk(std::size_t n) noexcept {
  max_read_ = std::clamp<std::size_t>(n, 1, std::min(cmis_max_read, bus_->max_read()));
}

std::size_t page_map::select_bytes(std::uint8_t bank, std::uint8_t page,
                                   std::uint8_t (&buf)[3]) const {
  const bool banked = page >= 0x10;  // pages 00h-0Fh ignore BankSelect (§8.1)
  if (selected_ && selected_->page == page && (!banked || selected_->bank == bank)) return 0;
  if (banked && (!selected_ || selected_->bank != bank)) {
    // §8.2.15: BankSelect and PageSelect in one WRITE when the bank changes.
    buf[0] = reg::bank_select;
    buf[1] = bank;
    buf[2] = page;
    return 3;
  }
  buf[0] = reg::page_select;
  buf[1] = page;
  return 2;
}

void page_map::note_selected(std::uint8_t bank, std::uint8_t page) noexcept {
  ++page_selects_;
  if (page < 0x10 && selected_)
    bank = selected_->bank;  // bank unchanged by a 127-only write
  else if (page < 0x10)
    bank = 0xFF;  // unknown: the next banked access rewrites it
  selected_ = selection{bank, page};
}

std::error_code page_map::fail(std::error_code ec, location where) noexcept {
  selected_.reset();
  last_error_ = where;
  return ec;
}

std::error_code page_map::read(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                               std::span<std::uint8_t> out) {
  if (std::size_t{offset} + out.size() > 256) return make_error_code(errc::invalid_argument);
  std::size_t pos = offset;
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t boundary = pos < 128 ? 128 : 256;
    const std::size_t n = std::min({out.size() - done, boundary - pos, max_read_});
    if (pos >= 128) {
      std::uint8_t sel[3];
      if (const std::size_t len = select_bytes(bank, page, sel)) {
        if (auto ec = bus_->transfer(addr_, std::span(sel, len), {})) {
          return fail(ec, {bank, page, reg::page_select, len, true});
        }
        note_selected(bank, page);
      }
    }
    const std::uint8_t ptr = static_cast<std::uint8_t>(pos);
    if (auto ec = bus_->transfer(addr_, std::span(&ptr, 1), out.subspan(done, n))) {
      return fail(ec, {bank, page, ptr, n, false});
    }
    pos += n;
    done += n;
  }
  return {};
}

std::error_code page_map::write(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                                std::span<const std::uint8_t> data) {
  if (std::size_t{offset} + data.size() > 256) return make_error_code(errc::invalid_argument);
  std::size_t pos = offset;
  std::size_t done = 0;
  std::array<std::uint8_t, cmis_max_write + 1> buf{};
  while (done < data.size()) {
    const std::size_t boundary = pos < 128 ? 128 : 256;
    const std::size_t n = std::min({data.size() - done, boundary - pos, max_write_});
    if (pos >= 128) {
      std::uint8_t sel[3];
      if (const std::size_t len = select_bytes(bank, page, sel)) {
        if (auto ec = bus_->transfer(addr_, std::span(sel, len), {})) {
          return fail(ec, {bank, page, reg::page_select, len, true});
        }
        note_selected(bank, page);
      }
    }
    buf[0] = static_cast<std::uint8_t>(pos);
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(done), n, buf.begin() + 1);
    if (auto ec = bus_->transfer(addr_, std::span(buf.data(), n + 1), {})) {
      return fail(ec, {bank, page, buf[0], n, true});
    }
    // Writing 126/127 through the page map changes the selection behind the cache's back.
    if (pos < 128 && pos + n > reg::bank_select) selected_.reset();
    pos += n;
    done += n;
  }
  return {};
}

task<std::error_code> page_map::async_read(std::uint8_t bank, std::uint8_t page,
                                           std::uint8_t offset, std::span<std::uint8_t> out) {
  if (std::size_t{offset} + out.size() > 256) co_return make_error_code(errc::invalid_argument);
  std::size_t pos = offset;
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t boundary = pos < 128 ? 128 : 256;
    const std::size_t n = std::min({out.size() - done, boundary - pos, max_read_});
    if (pos >= 128) {
      std::uint8_t sel[3];
      if (const std::size_t len = select_bytes(bank, page, sel)) {
        if (auto ec = co_await bus_->async_transfer(addr_, std::span(sel, len), {})) {
          co_return fail(ec, {bank, page, reg::page_select, len, true});
        }
        note_selected(bank, page);
      }
    }
    const std::uint8_t ptr = static_cast<std::uint8_t>(pos);
    if (auto ec = co_await bus_->async_transfer(addr_, std::span(&ptr, 1), out.subspan(done, n))) {
      co_return fail(ec, {bank, page, ptr, n, false});
    }
    pos += n;
    done += n;
  }
  co_return std::error_code{};
}

task<std::error_code> page_map::async_write(std::uint8_t bank, std::uint8_t page,
                                            std::uint8_t offset,
                                            std::span<const std::uint8_t> data) {
  if (std::size_t{offset} + data.size() > 256) co_return make_error_code(errc::invalid_argument);
  std::size_t pos = offset;
  std::size_t done = 0;
  std::array<std::uint8_t, cmis_max_write + 1> buf{};
  while (done < data.size()) {
    const std::size_t boundary = pos < 128 ? 128 : 256;
    const std::size_t n = std::min({data.size() - done, boundary - pos, max_write_});
    if (pos >= 128) {
      std::uint8_t sel[3];
      if (const std::size_t len = select_bytes(bank, page, sel)) {
        if (auto ec = co_await bus_->async_transfer(addr_, std::span(sel, len), {})) {
          co_return fail(ec, {bank, page, reg::page_select, len, true});
        }
        note_selected(bank, page);
      }
    }
    buf[0] = static_cast<std::uint8_t>(pos);
    std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(done), n, buf.begin() + 1);
    if (auto ec = co_await bus_->async_transfer(addr_, std::span(buf.data(), n + 1), {})) {
      co_return fail(ec, {bank, page, buf[0], n, true});
    }
    if (pos < 128 && pos + n > reg::bank_select) selected_.reset();
    pos += n;
    done += n;
  }
  co_return std::error_code{};
}

std::error_code page_map::read_linear(std::uint32_t linear, std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const auto loc = from_linear(linear + static_cast<std::uint32_t>(done));
    const std::size_t room = 256 - std::size_t{loc.offset};
    const std::size_t n = std::min(out.size() - done, room);
    if (auto ec = read(loc.bank, loc.page, loc.offset, out.subspan(done, n))) return ec;
    done += n;
  }
  return {};
}

}  // namespace hilt::cmis
