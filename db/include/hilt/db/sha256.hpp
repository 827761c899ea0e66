// hilt/db/sha256.hpp — SHA-256 (FIPS 180-4), used to fingerprint the sequence and fixture text
// stored with each run. None of hilt's dependencies provides one (OpenSSL is deliberately not a
// dependency), and this is small. Not constant-time: for fingerprints, not secrets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hilt::db {

class sha256 {
 public:
  using digest = std::array<std::uint8_t, 32>;

  sha256() noexcept;
  // Feed any number of chunks; the digest does not depend on how the input is split.
  void update(std::span<const std::byte> data) noexcept;
  void update(std::string_view text) noexcept;
  // Finishes and returns the digest; the object is then reset for a new message.
  digest finish() noexcept;

 private:
  void compress(const std::uint8_t* block) noexcept;

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

// Lower-case hexadecimal of a digest (64 characters).
std::string to_hex(const sha256::digest& digest);

// SHA-256 of `text` as 64 lower-case hex characters, e.g. sha256_hex("abc") = "ba7816bf...".
std::string sha256_hex(std::string_view text);

}  // namespace hilt::db
