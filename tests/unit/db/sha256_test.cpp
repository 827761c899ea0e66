#include "hilt/db/sha256.hpp"

#include <string>

#include <gtest/gtest.h>

namespace hilt::db {
namespace {

// Test vectors from FIPS 180-4 / NIST CSRC examples.
TEST(Sha256, EmptyString) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage) {
  // 56 bytes: the length no longer fits in the first block's padding.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionA) {
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, ChunkingDoesNotMatter) {
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += static_cast<char>('a' + i % 26);
  const std::string whole = sha256_hex(text);
  for (std::size_t chunk : {1u, 3u, 63u, 64u, 65u, 200u}) {
    sha256 hasher;
    for (std::size_t at = 0; at < text.size(); at += chunk) {
      hasher.update(std::string_view(text).substr(at, chunk));
    }
    EXPECT_EQ(to_hex(hasher.finish()), whole) << "chunk " << chunk;
  }
}

TEST(Sha256, FinishResets) {
  sha256 hasher;
  hasher.update("abc");
  (void)hasher.finish();
  EXPECT_EQ(to_hex(hasher.finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace hilt::db
