// The CMIS page map: (bank, page, offset) access over an I2C bus (OIF-CMIS 5.x §8.1, §5.2.2).
//
// Offsets 0-127 are lower memory (always visible; the page is ignored). Offsets 128-255 are the
// upper half of (bank, page): the page map writes BankSelect/PageSelect (00h:126/127) only when
// the selected page changes — one 3-byte write [126, bank, page] when the bank changes, as CMIS
// 5.x §8.2.15 requires, else [127, page] — and caches the selection. Any transfer error
// invalidates the cache, because the module may have reset (MgmtInit) or taken half a write.
//
// Reads are split into transfers of at most 128 bytes (and the bus's max_read()) that never cross
// the lower/upper boundary; writes into transfers of at most 8 data bytes (§5.2.2.2).
//
// Errors: the bus's codes (errc::nack, ...). last_error() says where the failing transfer was, so
// the behaviour layer can log "device, page and byte" (DESIGN.md rule 6).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "hilt/device.hpp"
#include "hilt/transport/i2c.hpp"

namespace hilt::cmis {

// Where an access went (for messages).
struct location {
  std::uint8_t bank = 0;
  std::uint8_t page = 0;
  std::uint8_t offset = 0;  // first byte of the failing transfer
  std::size_t length = 0;
  bool write = false;
};

// optoe linear address (SONiC / Linux optoe): lower memory at 0-127, then
// (bank * 256 + page) * 128 + offset for offsets 128-255; bank is 0 for pages below 10h.
constexpr std::uint32_t linear_address(std::uint8_t bank, std::uint8_t page,
                                       std::uint8_t offset) noexcept {
  if (offset < 128) return offset;
  if (page < 0x10) bank = 0;
  return (std::uint32_t{bank} * 256u + page) * 128u + offset;
}
// Inverse of linear_address: {bank, page, offset}; offsets 0-127 map to lower memory (page 0).
struct linear_location {
  std::uint8_t bank, page, offset;
};
constexpr linear_location from_linear(std::uint32_t linear) noexcept {
  if (linear < 128) return {0, 0, static_cast<std::uint8_t>(linear)};
  const std::uint32_t block = linear / 128 - 1;  // bank * 256 + page
  return {static_cast<std::uint8_t>((block / 256) & 0xFF), static_cast<std::uint8_t>(block % 256),
          static_cast<std::uint8_t>(128 + linear % 128)};
}

class page_map {
 public:
  static constexpr std::size_t cmis_max_read = 128;  // §5.2.2.1 with full-page read
  static constexpr std::size_t cmis_max_write = 8;   // §5.2.2.2 data bytes

  page_map(std::shared_ptr<hilt::i2c_bus> bus, std::uint8_t address);

  // Synchronous access (the bus's transfer(); the fast path for buses that do not wait).
  // `offset + out.size()` must not exceed 256; a range crossing 128 reads lower memory then the
  // upper page. Returns errc::invalid_argument for a range beyond 255.
  std::error_code read(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                       std::span<std::uint8_t> out);
  std::error_code write(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                        std::span<const std::uint8_t> data);
  // Same through async_transfer (for buses that must wait on I/O).
  task<std::error_code> async_read(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                                   std::span<std::uint8_t> out);
  task<std::error_code> async_write(std::uint8_t bank, std::uint8_t page, std::uint8_t offset,
                                    std::span<const std::uint8_t> data);
  // optoe linear reads (SONiC's reader contract); a range may span several pages.
  std::error_code read_linear(std::uint32_t linear, std::span<std::uint8_t> out);

  // Forgets the cached page selection (after a reset, or when another host may have changed it).
  void invalidate() noexcept { selected_.reset(); }
  const location& last_error() const noexcept { return last_error_; }

  hilt::i2c_bus& bus() noexcept { return *bus_; }
  std::uint8_t address() const noexcept { return addr_; }
  std::size_t max_read_chunk() const noexcept { return max_read_; }
  void set_max_read_chunk(std::size_t n) noexcept;

  std::uint64_t page_selects() const noexcept { return page_selects_; }

 private:
  struct selection {
    std::uint8_t bank, page;
  };
  // The select write needed for (bank, page), if any: fills buf, returns its length (0 = none).
  std::size_t select_bytes(std::uint8_t bank, std::uint8_t page, std::uint8_t (&buf)[3]) const;
  void note_selected(std::uint8_t bank, std::uint8_t page) noexcept;
  std::error_code fail(std::error_code ec, location where) noexcept;

  std::shared_ptr<hilt::i2c_bus> bus_;
  std::uint8_t addr_;
  std::size_t max_read_;
  std::size_t max_write_;
  std::optional<selection> selected_;
  location last_error_{};
  std::uint64_t page_selects_ = 0;
};

}  // namespace hilt::cmis
