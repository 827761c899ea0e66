// The page map: page-select caching, transfer splitting and optoe linear addressing, checked on
// the wire with a bus spy in front of the emulated module.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "hilt/cmis/page_map.hpp"
#include "hilt/emu/cmis_module.hpp"
#include "hilt/emu/i2c_bus.hpp"
#include "hilt/emu/profile.hpp"
#include "hilt/error.hpp"

namespace {

using hilt::cmis::page_map;

// Records every transfer, then forwards it to the emulated bus; can fail the next N transfers.
struct spy_bus : hilt::i2c_bus {
  struct record {
    std::vector<std::uint8_t> write;
    std::size_t read = 0;
  };
  std::shared_ptr<hilt::emu::emu_i2c_bus> inner;
  std::vector<record> log;
  int fail_next = 0;
  std::size_t max_r = 128;

  std::string describe() const override { return "spy"; }
  std::size_t max_read() const noexcept override { return max_r; }
  std::size_t max_write() const noexcept override { return 9; }
  std::error_code transfer(std::uint8_t addr, std::span<const std::uint8_t> w,
                           std::span<std::uint8_t> r) override {
    log.push_back({{w.begin(), w.end()}, r.size()});
    if (fail_next > 0) {
      --fail_next;
      return make_error_code(hilt::errc::nack);
    }
    return inner->transfer(addr, w, r);
  }
};

struct rig {
  std::shared_ptr<hilt::emu::world> w = std::make_shared<hilt::emu::world>(nullptr, 1, 25.0);
  std::shared_ptr<hilt::emu::cmis_module> mod;
  std::shared_ptr<spy_bus> spy = std::make_shared<spy_bus>();
  std::unique_ptr<page_map> map;
  rig() {
    auto p = hilt::emu::load_profile(std::string(HILT_REPO_DIR) +
                                     "/fixtures/profiles/qsfpdd-400g-dr4.yaml");
    mod = std::make_shared<hilt::emu::cmis_module>(w, p, hilt::emu::cmis_module_options{}, 1);
    spy->inner = std::make_shared<hilt::emu::emu_i2c_bus>("port1");
    spy->inner->attach(0x50, mod);
    map = std::make_unique<page_map>(spy, 0x50);
  }
};

using bytes = std::vector<std::uint8_t>;

TEST(PageMap, SelectsOnlyWhenThePageChanges) {
  rig r;
  std::vector<std::uint8_t> buf(128);
  ASSERT_FALSE(r.map->read(0, 0x11, 128, buf));
  ASSERT_EQ(r.spy->log.size(), 2u);
  EXPECT_EQ(r.spy->log[0].write, (bytes{126, 0, 0x11}))
      << "banked page: bank and page in one write";
  EXPECT_EQ(r.spy->log[1].write, (bytes{128}));
  EXPECT_EQ(r.spy->log[1].read, 128u);
  ASSERT_FALSE(r.map->read(0, 0x11, 154, std::span(buf).first(48)));
  EXPECT_EQ(r.spy->log.size(), 3u) << "same page: no select";
  ASSERT_FALSE(r.map->read(0, 0x01, 128, buf));
  EXPECT_EQ(r.spy->log[3].write, (bytes{127, 0x01})) << "page below 10h: PageSelect only";
  ASSERT_FALSE(r.map->read(0, 0x10, 130, std::span(buf).first(1)));
  EXPECT_EQ(r.spy->log[5].write, (bytes{127, 0x10})) << "bank 0 already selected";
  ASSERT_FALSE(r.map->read(3, 0x00, 0, std::span(buf).first(16)));
  EXPECT_EQ(r.spy->log.size(), 8u) << "lower memory needs no select";
  EXPECT_EQ(r.map->page_selects(), 3u);
}

TEST(PageMap, ErrorInvalidatesTheCache) {
  rig r;
  std::vector<std::uint8_t> buf(4);
  ASSERT_FALSE(r.map->read(0, 0x01, 128, buf));
  r.spy->fail_next = 1;
  EXPECT_EQ(r.map->read(0, 0x01, 130, buf), hilt::errc::nack);
  EXPECT_EQ(r.map->last_error().page, 0x01);
  EXPECT_EQ(r.map->last_error().offset, 130);
  const auto before = r.spy->log.size();
  ASSERT_FALSE(r.map->read(0, 0x01, 130, buf));
  ASSERT_EQ(r.spy->log.size(), before + 2);
  EXPECT_EQ(r.spy->log[before].write, (bytes{127, 0x01})) << "re-selected after the error";
}

TEST(PageMap, SplitsReadsAtTheHalfAndAtMaxRead) {
  rig r;
  r.spy->max_r = 32;
  r.map = std::make_unique<page_map>(r.spy, 0x50);
  std::vector<std::uint8_t> buf(256);
  ASSERT_FALSE(r.map->read(0, 0x00, 0, buf));
  // 4 reads of lower memory, a select, 4 reads of page 00h.
  ASSERT_EQ(r.spy->log.size(), 9u);
  EXPECT_EQ(r.spy->log[3].write, (bytes{96}));
  EXPECT_EQ(r.spy->log[4].write, (bytes{127, 0}));
  EXPECT_EQ(r.spy->log[5].write, (bytes{128}));
  EXPECT_EQ(buf[0], 0x18);
  EXPECT_EQ(buf[128], 0x18);
  EXPECT_EQ(buf[129], 'H');
  EXPECT_EQ(r.map->read(0, 0, 200, buf), hilt::errc::invalid_argument) << "past byte 255";
}

TEST(PageMap, SplitsWritesIntoEightByteChunks) {
  rig r;
  std::vector<std::uint8_t> data(20, 0);
  ASSERT_FALSE(r.map->write(0, 0x10, 153, data));
  ASSERT_EQ(r.spy->log.size(), 4u);
  EXPECT_EQ(r.spy->log[0].write, (bytes{126, 0, 0x10}));
  EXPECT_EQ(r.spy->log[1].write.size(), 9u);
  EXPECT_EQ(r.spy->log[1].write[0], 153);
  EXPECT_EQ(r.spy->log[2].write[0], 161);
  EXPECT_EQ(r.spy->log[3].write.size(), 5u);
  EXPECT_EQ(r.spy->log[3].write[0], 169);
}

TEST(PageMap, WritingPageSelectThroughTheMapInvalidatesTheCache) {
  rig r;
  std::vector<std::uint8_t> buf(1);
  ASSERT_FALSE(r.map->read(0, 0x01, 128, buf));
  const std::uint8_t page2[] = {0x02};
  ASSERT_FALSE(r.map->write(0, 0, 127, page2));
  ASSERT_FALSE(r.map->read(0, 0x01, 128, buf));
  EXPECT_EQ(r.spy->log.back().write, (bytes{128}));
  EXPECT_EQ(r.spy->log[r.spy->log.size() - 2].write, (bytes{127, 0x01}));
}

TEST(PageMap, LinearAddressing) {
  using hilt::cmis::from_linear;
  using hilt::cmis::linear_address;
  EXPECT_EQ(linear_address(0, 0x00, 5), 5u);
  EXPECT_EQ(linear_address(0, 0x00, 200), 200u);
  EXPECT_EQ(linear_address(0, 0x01, 128), 256u);
  EXPECT_EQ(linear_address(0, 0x11, 128), 2304u);
  EXPECT_EQ(linear_address(0, 0x10, 130), 2178u);  // SONiC writes Tx disable at 2178
  EXPECT_EQ(linear_address(1, 0x11, 128), (256u + 0x11) * 128 + 128);
  EXPECT_EQ(linear_address(3, 0x01, 128), 256u) << "pages below 10h ignore the bank";
  for (std::uint32_t lin : {0u, 127u, 128u, 255u, 256u, 2178u, 2304u, 65000u}) {
    const auto l = from_linear(lin);
    EXPECT_EQ(linear_address(l.bank, l.page, l.offset), lin) << lin;
  }
  rig r;
  std::vector<std::uint8_t> buf(4);
  ASSERT_FALSE(r.map->read_linear(2304 + 26, buf));  // 11h:154 Tx power lane 1
  EXPECT_GT(buf[0] << 8 | buf[1], 10000);
}

}  // namespace
