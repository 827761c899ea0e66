// The CP2112 transport through the real libusb onto the CP2112 device model, whose SMBus reaches
// emulated CMIS modules: SMBus configuration, write / write-then-read of whole pages, the CMIS
// driver end to end (compared with the same module over the emulated bus), I2C errors mapped to
// their codes, and every fault the issue names — short and malformed reports, a status that never
// completes, a stall, an unplug mid-run (an error for its DUTs, never a crash; the others go on)
// and a re-plug (used again on the next operation).
#include <gtest/gtest.h>

#include "cp2112_model.hpp"
#include "hilt/cmis/driver.hpp"
#include "hilt/cmis/module.hpp"
#include "hilt/error.hpp"
#include "hilt/transport/usb_cp2112.hpp"
#include "usb_support.hpp"

namespace {

using namespace std::chrono_literals;
using hilt::errc;
using hilt::usbtest::cp2112_model;
using hilt::usbtest::has_text;
using hilt::usbtest::usb_bench;

const char* const two_modules =
    "modules:\n"
    "  - { bus: cage1, profile: profiles/qsfpdd-400g-dr4.yaml, serial: EMU4D0000001 }\n"
    "  - { bus: cage2, profile: profiles/osfp-800g-dr8.yaml, serial: EMU8D0000002 }\n";

class Cp2112 : public hilt::usbtest::usb_test {
 protected:
  void SetUp() override {
    usb_test::SetUp();
    if (IsSkipped()) return;
    b = std::make_unique<usb_bench>(two_modules);
    model = std::make_shared<cp2112_model>("CP2112SER1", b->emu->bus("cage1"));
    bed->plug(model);
  }
  void TearDown() override {
    b.reset();  // every libusb handle closes before the testbed goes
    usb_test::TearDown();
  }
  std::shared_ptr<hilt::cp2112_bus> open(const std::string& name = "CP2112SER1") {
    auto r = b->i2c("cp2112", name);
    EXPECT_TRUE(r) << b->log();
    if (!r) return nullptr;
    return std::dynamic_pointer_cast<hilt::cp2112_bus>(r.value());
  }
  std::error_code xfer(hilt::cp2112_bus& bus, std::uint8_t addr, std::vector<std::uint8_t> w,
                       std::vector<std::uint8_t>& r) {
    return b->run(bus.async_transfer(addr, w, r));
  }

  std::unique_ptr<usb_bench> b;
  std::shared_ptr<cp2112_model> model;
};

TEST_F(Cp2112, OpensConfiguresAndReadsAWholePageInOneTransaction) {
  auto bus = open();
  ASSERT_TRUE(bus);
  EXPECT_EQ(bus->describe(), "cp2112:CP2112SER1");
  EXPECT_EQ(bus->max_read(), 512u);
  EXPECT_EQ(bus->part_number(), 0x0C);
  ASSERT_TRUE(bus->info());
  EXPECT_EQ(bus->info()->serial, "CP2112SER1");
  EXPECT_EQ(bus->info()->product, "CP2112 HID USB-to-SMBus Bridge");
  // The SMBus configuration the bridge holds is what hilt asked for: 400 kHz, 100/100 ms, SCL
  // low timeout on, 3 retries.
  EXPECT_EQ(model->config(), (std::vector<std::uint8_t>{0x06, 0x00, 0x06, 0x1A, 0x80, 0x02, 0x00,
                                                        0x00, 0x64, 0x00, 0x64, 0x01, 0x00, 0x03}));

  // Page 00h upper memory (identity: static bytes) through the bridge and directly on the bus.
  std::vector<std::uint8_t> sel{0x7F, 0x00};
  std::vector<std::uint8_t> none;
  ASSERT_FALSE(xfer(*bus, 0x50, sel, none)) << bus->last_error();
  const auto before = model->transfers();
  std::vector<std::uint8_t> via_usb(128);
  ASSERT_FALSE(xfer(*bus, 0x50, {0x80}, via_usb)) << bus->last_error();
  EXPECT_EQ(model->transfers(), before + 1) << "one 0x11 write-read for 128 bytes";
  std::vector<std::uint8_t> direct(128);
  const std::uint8_t ptr = 0x80;
  ASSERT_FALSE(b->emu->bus("cage1")->transfer(0x50, std::span(&ptr, 1), direct));
  EXPECT_EQ(via_usb, direct);
  EXPECT_EQ(std::string(via_usb.begin() + 1, via_usb.begin() + 17), "HILT-EMU        ");
}

TEST_F(Cp2112, KernelDriverIsDetachedAndSerialsSelect) {
  model->bind_kernel_driver("hid-cp2112");
  auto second = std::make_shared<cp2112_model>("CP2112SER2", b->emu->bus("cage2"));
  bed->plug(second);
  auto bus = open("CP2112SER1");
  ASSERT_TRUE(bus);
  EXPECT_EQ(model->detaches(), 1u);
  EXPECT_EQ(model->kernel_driver(), "");
  EXPECT_TRUE(has_text(b->log(), "detached the kernel driver from interface 0")) << b->log();
  auto bus2 = open("10c4:ea90:CP2112SER2");
  ASSERT_TRUE(bus2);
  EXPECT_EQ(bus2->info()->serial, "CP2112SER2");
  // Two bridges and no serial: refused with both serials named.
  std::string why;
  auto any = hilt::cp2112_bus::open("*", &b->clk, &why);
  EXPECT_EQ(any.error(), errc::invalid_argument);
  EXPECT_TRUE(has_text(why, "several CP2112 bridges match '*' ('CP2112SER1', 'CP2112SER2')"))
      << why;
  auto missing = hilt::cp2112_bus::open("NOPE", &b->clk, &why);
  EXPECT_EQ(missing.error(), errc::device_not_found);
  EXPECT_EQ(why,
            "no CP2112 bridge 10c4:ea90 with serial 'NOPE' found (attached: 'CP2112SER1', "
            "'CP2112SER2')");
}

TEST_F(Cp2112, CmisDriverRunsEndToEndAndMatchesTheEmulatedBus) {
  auto drv = hilt::cmis::make_driver();
  auto usb = b->make_as<hilt::cmis::cmis_module>(*drv, "m1", "cmis:cp2112:CP2112SER1@0x50");
  auto emu = b->make_as<hilt::cmis::cmis_module>(*drv, "m1e", "cmis:emu-i2c:cage1@0x50");
  ASSERT_TRUE(usb && emu);
  auto id = b->run(usb->async_identify());
  ASSERT_TRUE(id) << id.error().message() << "\n" << b->log();
  auto id2 = b->run(emu->async_identify());
  ASSERT_TRUE(id2);
  EXPECT_EQ(id.value().vendor, "HILT-EMU");
  EXPECT_EQ(id.value().serial, "EMU4D0000001");
  EXPECT_EQ(id.value().part_number, id2.value().part_number);
  EXPECT_EQ(id.value().firmware, id2.value().firmware);
  EXPECT_EQ(id.value().extra, id2.value().extra);
  auto mon = b->run(usb->async_read_monitors());
  ASSERT_TRUE(mon) << b->log();
  EXPECT_FALSE(mon.value().empty());
  // State control goes through the bridge as well: LowPwr, then back to ModuleReady.
  auto st = b->run(usb->async_set_low_power(true));
  ASSERT_TRUE(st) << b->log();
  b->sleep(2s);
  EXPECT_EQ(b->run(usb->async_module_state()).value(), hilt::module_state::low_power);
  EXPECT_FALSE(b->run(usb->async_power_up())) << b->log();
  EXPECT_EQ(b->run(emu->async_module_state()).value(), hilt::module_state::ready);
}

TEST_F(Cp2112, I2cErrorsMapToTheTransportCodes) {
  auto bus = open();
  ASSERT_TRUE(bus);
  std::vector<std::uint8_t> r(4);
  EXPECT_EQ(xfer(*bus, 0x51, {0x00}, r), errc::nack) << "nothing at 0x51";
  EXPECT_TRUE(has_text(bus->last_error(), "error: address NACKed")) << bus->last_error();
  model->fail_next(1);
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::bus_timeout);
  model->fail_next(2);
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::arbitration_lost);
  model->fail_next(3);
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::io_error);
  EXPECT_FALSE(xfer(*bus, 0x50, {0x00}, r)) << "and the next transfer works";
  std::vector<std::uint8_t> none;
  EXPECT_EQ(xfer(*bus, 0x50, std::vector<std::uint8_t>(62, 0), none), errc::invalid_argument);
  std::vector<std::uint8_t> big(513);
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, big), errc::invalid_argument);
}

TEST_F(Cp2112, AStatusThatNeverCompletesTimesOutAndIsCancelled) {
  auto bus = open("CP2112SER1,timeout=5ms");
  ASSERT_TRUE(bus);
  bus->set_status_margin(20ms);
  model->never_complete(true);
  std::vector<std::uint8_t> r(8);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(has_text(bus->last_error(), "the transfer status stayed busy")) << bus->last_error();
  EXPECT_GE(model->cancels(), 1u);
  model->never_complete(false);
  EXPECT_FALSE(xfer(*bus, 0x50, {0x00}, r)) << bus->last_error();
}

TEST_F(Cp2112, ShortAndMalformedReportsAreBadReplies) {
  auto bus = open();
  ASSERT_TRUE(bus);
  std::vector<std::uint8_t> r(8);
  model->short_next_report(3);
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::bad_reply);
  EXPECT_TRUE(has_text(bus->last_error(), "short 0x16 Transfer Status Response: 3 bytes"))
      << bus->last_error();
  EXPECT_FALSE(xfer(*bus, 0x50, {0x00}, r)) << "resynchronised: " << bus->last_error();
  model->malformed_next_report();
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::bad_reply);
  EXPECT_TRUE(has_text(bus->last_error(), "where 0x16 Transfer Status Response was expected"))
      << bus->last_error();
  EXPECT_FALSE(xfer(*bus, 0x50, {0x00}, r)) << bus->last_error();
  model->claim_more_than_sent_next();
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::bad_reply);
  EXPECT_TRUE(has_text(bus->last_error(), "claims 62 data bytes")) << bus->last_error();
  EXPECT_FALSE(xfer(*bus, 0x50, {0x00}, r)) << bus->last_error();
}

TEST_F(Cp2112, AStalledEndpointIsAnErrorThenTheHaltIsCleared) {
  auto bus = open();
  ASSERT_TRUE(bus);
  std::vector<std::uint8_t> r(8);
  model->stall_next(cp2112_model::ep_in);
  EXPECT_EQ(xfer(*bus, 0x50, {0x00}, r), errc::io_error);
  EXPECT_TRUE(has_text(bus->last_error(), "stalled")) << bus->last_error();
  EXPECT_FALSE(xfer(*bus, 0x50, {0x00}, r)) << bus->last_error();
  EXPECT_GE(model->clear_halts(), 1u);
}

TEST_F(Cp2112, UnpluggedMidRunItsModuleErrorsOthersGoOnAndARePlugIsUsedAgain) {
  auto drv = hilt::cmis::make_driver();
  auto m1 = b->make_as<hilt::cmis::cmis_module>(*drv, "m1", "cmis:cp2112:CP2112SER1@0x50");
  auto m2 = b->make_as<hilt::cmis::cmis_module>(*drv, "m2", "cmis:emu-i2c:cage2@0x50");
  ASSERT_TRUE(m1 && m2);
  ASSERT_TRUE(b->run(m1->async_read_monitors())) << b->log();
  auto bus = std::dynamic_pointer_cast<hilt::cp2112_bus>(b->cp2112.begin()->second);

  // Unplugged while a transaction is on the wire.
  model->unplug_after(3);
  auto r = b->run(m1->async_read_monitors());
  EXPECT_EQ(r.error(), errc::disconnected) << b->log();
  bed->unplug(*model);
  EXPECT_TRUE(b->run(m2->async_read_monitors())) << "the other module goes on";
  // Still away: every operation is a clean error.
  EXPECT_EQ(b->run(m1->async_identify()).error(), errc::disconnected);
  EXPECT_EQ(b->run(m1->async_module_state()).error(), errc::disconnected);
  EXPECT_TRUE(has_text(b->log(), "devices behind this bridge error until it is back")) << b->log();

  // Back (a new device number, the same port and serial): the next operation uses it.
  bed->plug(model);
  auto id = b->run(m1->async_identify());
  ASSERT_TRUE(id) << b->log();
  EXPECT_EQ(id.value().serial, "EMU4D0000001");
  EXPECT_EQ(bus->opens(), 2u);
  EXPECT_TRUE(has_text(b->log(), "the bridge is back")) << b->log();
}

TEST_F(Cp2112, SynchronousTransferRunsTheSameProtocol) {
  auto bus = open();
  ASSERT_TRUE(bus);
  std::vector<std::uint8_t> r(2);
  const std::uint8_t ptr = 0;
  EXPECT_FALSE(bus->transfer(0x50, std::span(&ptr, 1), r)) << bus->last_error();
  EXPECT_EQ(r[0], 0x18);  // QSFP-DD identifier
}

}  // namespace
