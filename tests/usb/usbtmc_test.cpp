// The USBTMC transport through the real libusb onto the USBTMC device model (the emulated supply's
// SCPI core): capabilities and clear at open, DEV_DEP_MSG_OUT / REQUEST_DEV_DEP_MSG_IN with bTags
// that wrap 255 -> 1, and every fault the issue names — a reply with a wrong bTag or length, a
// stall, an instrument that never answers, an unplug (and a re-plug used again).
#include <gtest/gtest.h>

#include "hilt/error.hpp"
#include "hilt/transport/usb_tmc.hpp"
#include "usb_support.hpp"
#include "usbtmc_model.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::usbtest::has_text;
using hilt::usbtest::usb_bench;
using hilt::usbtest::usbtmc_model;

class Usbtmc : public hilt::usbtest::usb_test {
 protected:
  void SetUp() override {
    usb_test::SetUp();
    if (IsSkipped()) return;
    b = std::make_unique<usb_bench>("supplies:\n  - { name: psu1, model: keysight-e36xx }\n");
    model =
        std::make_shared<usbtmc_model>(0x2A8D, 0x1102, "MY60000001", b->emu->supply("psu1")->psu);
    bed->plug(model);
  }
  void TearDown() override {
    link.reset();
    b.reset();
    usb_test::TearDown();
  }
  hilt::usbtmc_client& client(const std::string& sel = "2a8d:1102:MY60000001",
                              hilt::usbtmc_options o = {}) {
    link = std::make_unique<hilt::usbtmc_client>(b->io.get_executor(), &b->clk,
                                                 hilt::usb::selector::parse(sel), o);
    return *link;
  }
  hilt::result<std::string> query(const std::string& q, hilt::clock::duration t = 2s) {
    return b->run(link->async_query(q, t));
  }

  std::unique_ptr<usb_bench> b;
  std::shared_ptr<usbtmc_model> model;
  std::unique_ptr<hilt::usbtmc_client> link;
};

TEST_F(Usbtmc, OpensClearsAndQueries) {
  auto& c = client();
  EXPECT_EQ(c.describe(), "usbtmc:2a8d:1102:MY60000001");
  EXPECT_FALSE(c.is_open());
  auto r = query("*IDN?");
  ASSERT_TRUE(r) << c.last_error() << "\n" << b->log();
  EXPECT_EQ(r.value(), "Keysight Technologies,E36312A,MY60000001,2.1.3-1.0.4-1.12");
  EXPECT_EQ(c.connects(), 1u);
  ASSERT_TRUE(c.capabilities());
  EXPECT_EQ(c.capabilities()->bcd_usbtmc, 0x0100);
  EXPECT_EQ(c.capabilities()->bcd_usb488, 0x0100);
  EXPECT_TRUE(c.capabilities()->term_char);
  EXPECT_EQ(model->clears(), 1u) << "INITIATE_CLEAR at open";
  EXPECT_GE(model->clear_halts(), 1u) << "CLEAR_FEATURE(ENDPOINT_HALT) after the clear";
  ASSERT_TRUE(c.info());
  EXPECT_EQ(c.info()->serial, "MY60000001");
  // A setting, then its read-back: lines without a reply, then a query.
  EXPECT_FALSE(b->run(c.async_send("INST:NSEL 1", 2s)));
  EXPECT_FALSE(b->run(c.async_send("VOLT 2.5", 2s)));
  auto v = query("VOLT?");
  ASSERT_TRUE(v) << c.last_error();
  EXPECT_EQ(v.value(), "+2.50000000E+00");
  EXPECT_EQ(model->bad_headers(), 0u);
}

TEST_F(Usbtmc, TagsRunOneTo255AndWrap) {
  auto& c = client();
  for (int i = 0; i < 140; ++i) {  // two tags per query: 280 tags
    auto r = query("SYST:ERR?");
    ASSERT_TRUE(r) << i << ": " << c.last_error();
    ASSERT_EQ(model->last_tag(), c.last_tag());
  }
  EXPECT_EQ(c.last_tag(), 280 - 255);
  EXPECT_EQ(model->bad_headers(), 0u);
}

TEST_F(Usbtmc, AReplyWithTheWrongTagIsABadReplyThenTheLinkRecovers) {
  auto& c = client();
  ASSERT_TRUE(query("*IDN?"));
  model->wrong_tag_next();
  auto r = query("*IDN?");
  EXPECT_EQ(r.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(c.last_error(), "answers a request with bTag")) << c.last_error();
  EXPECT_FALSE(c.is_open()) << "closed: the instrument may hold half a reply";
  ASSERT_TRUE(query("*IDN?")) << c.last_error();
  EXPECT_EQ(c.connects(), 2u);
  EXPECT_EQ(model->clears(), 2u);
}

TEST_F(Usbtmc, AReplyLongerThanItsDataIsABadReply) {
  auto& c = client();
  model->wrong_length_next();
  auto r = query("*IDN?");
  EXPECT_EQ(r.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(c.last_error(), "DEV_DEP_MSG_IN says TransferSize")) << c.last_error();
  EXPECT_TRUE(query("*IDN?"));
}

TEST_F(Usbtmc, AnInstrumentThatNeverAnswersTimesOut) {
  auto& c = client();
  ASSERT_TRUE(query("*IDN?"));
  model->hang(true);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = query("MEAS:VOLT? CH1", 200ms);
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(has_text(c.last_error(), "no reply within 0.200s")) << c.last_error();
  model->hang(false);
  EXPECT_TRUE(query("*IDN?")) << c.last_error();
}

TEST_F(Usbtmc, AStalledEndpointIsAnIoErrorThenTheHaltIsCleared) {
  auto& c = client();
  ASSERT_TRUE(query("*IDN?"));
  const auto halts = model->clear_halts();
  model->stall_next(usbtmc_model::ep_in);
  auto r = query("*IDN?");
  EXPECT_EQ(r.error(), errc::io_error);
  EXPECT_TRUE(has_text(c.last_error(), "stalled")) << c.last_error();
  EXPECT_TRUE(query("*IDN?")) << c.last_error();
  EXPECT_GT(model->clear_halts(), halts);
}

TEST_F(Usbtmc, UnpluggedIsDisconnectedThenUnreachableAndARePlugIsUsedAgain) {
  auto& c = client();
  ASSERT_TRUE(query("*IDN?"));
  bed->unplug(*model);
  EXPECT_EQ(query("*IDN?").error(), errc::disconnected);
  EXPECT_EQ(query("*IDN?").error(), errc::unreachable);
  EXPECT_TRUE(has_text(c.last_error(),
                       "no USBTMC instrument 2a8d:1102 with serial 'MY60000001' "
                       "found (none attached)"))
      << c.last_error();
  bed->plug(model);
  auto r = query("*IDN?");
  ASSERT_TRUE(r) << c.last_error();
  EXPECT_EQ(c.connects(), 2u);
}

TEST_F(Usbtmc, TheKernelDriverIsDetachedAndSelectorsChoose) {
  model->bind_kernel_driver("usbtmc");
  auto other = std::make_shared<usbtmc_model>(0x0AAD, 0x0197, "NGP1", b->emu->supply("psu1")->psu);
  bed->plug(other);
  auto& c = client("MY60000001");
  ASSERT_TRUE(query("*IDN?")) << c.last_error();
  EXPECT_EQ(model->detaches(), 1u);
  auto& d = client("*");
  EXPECT_EQ(query("*IDN?").error(), errc::invalid_argument) << d.last_error();
  EXPECT_TRUE(has_text(d.last_error(), "several USBTMC instruments match '*'")) << d.last_error();
  auto& e = client("NOPE");
  EXPECT_EQ(query("*IDN?").error(), errc::unreachable);
  EXPECT_TRUE(has_text(e.last_error(), "no USBTMC instrument with serial 'NOPE' found (attached: "))
      << e.last_error();
}

TEST_F(Usbtmc, AReplyLongerThanMaxLineIsRefused) {
  hilt::usbtmc_options o;
  o.max_line = 16;
  auto& c = client("MY60000001", o);
  auto r = query("*IDN?");
  EXPECT_EQ(r.error(), errc::bad_reply);
  EXPECT_TRUE(has_text(c.last_error(), "longer than 16 bytes")) << c.last_error();
}

}  // namespace
