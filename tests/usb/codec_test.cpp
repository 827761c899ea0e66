// The USB transports' pure parts — CP2112 reports and their parsing, USBTMC headers, selectors,
// bus settings, libusb error mapping — checked against the layouts of AN495 and USBTMC 1.0 as
// bytes. No device, no umockdev.
#include <gtest/gtest.h>
#include <libusb.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "hilt/error.hpp"
#include "hilt/transport/usb.hpp"
#include "hilt/transport/usb_cp2112.hpp"
#include "hilt/transport/usb_tmc.hpp"

namespace {

using hilt::errc;
using bytes = std::vector<std::uint8_t>;

bytes head(const hilt::cp2112::report_bytes& r, std::size_t n) {
  return bytes(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(n));
}

bool zero_after(const hilt::cp2112::report_bytes& r, std::size_t n) {
  for (std::size_t i = n; i < r.size(); ++i) {
    if (r[i] != 0) return false;
  }
  return true;
}

TEST(Cp2112Codec, OutputReportsHaveTheDatasheetLayout) {
  namespace c = hilt::cp2112;
  const bytes page{0x7F, 0x02};
  auto w = c::write_request(0x50, page);
  EXPECT_EQ(head(w, 5), (bytes{0x14, 0xA0, 2, 0x7F, 0x02}));
  EXPECT_TRUE(zero_after(w, 5));
  const bytes ptr{0x80};
  auto wr = c::write_read_request(0x50, ptr, 128);
  EXPECT_EQ(head(wr, 6), (bytes{0x11, 0xA0, 0x00, 0x80, 1, 0x80}));
  EXPECT_TRUE(zero_after(wr, 6));
  EXPECT_EQ(head(c::read_request(0x51, 300), 4), (bytes{0x10, 0xA2, 0x01, 0x2C}));
  EXPECT_EQ(head(c::force_send(61), 3), (bytes{0x12, 0x00, 61}));
  EXPECT_EQ(head(c::status_request(), 2), (bytes{0x15, 0x01}));
  EXPECT_EQ(head(c::cancel(), 2), (bytes{0x17, 0x01}));
  EXPECT_EQ(c::report_size, 64u);
}

TEST(Cp2112Codec, SmbusConfigurationRoundTrips) {
  namespace c = hilt::cp2112;
  c::smbus_config cfg;  // 400 kHz, 100/100 ms, SCL low timeout on, 3 retries
  const auto e = c::encode(cfg);
  EXPECT_EQ(bytes(e.begin(), e.end()), (bytes{0x06, 0x00, 0x06, 0x1A, 0x80, 0x02, 0x00, 0x00, 0x64,
                                              0x00, 0x64, 0x01, 0x00, 0x03}));
  auto d = c::decode_smbus_config(e);
  ASSERT_TRUE(d);
  EXPECT_TRUE(*d == cfg);
  EXPECT_FALSE(c::decode_smbus_config(bytes{0x06, 0x00}));
  EXPECT_FALSE(c::decode_smbus_config(bytes(14, 0x05)));
}

TEST(Cp2112Codec, StatusResponsesAreParsedAndChecked) {
  namespace c = hilt::cp2112;
  std::string why;
  auto s = c::parse_status(bytes{0x16, 2, 5, 0x00, 0x01, 0x00, 0x80}, &why);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status0, 2);
  EXPECT_EQ(s->retries, 1);
  EXPECT_EQ(s->length, 128);
  EXPECT_FALSE(c::status_error(*s));
  EXPECT_EQ(c::describe(*s), "complete, 1 retries, 128 bytes read");

  EXPECT_FALSE(c::parse_status(bytes{0x16, 2, 5}, &why));
  EXPECT_EQ(why, "short 0x16 Transfer Status Response: 3 bytes (16 02 05), expected 7");
  EXPECT_FALSE(c::parse_status(bytes{0x13, 2, 1, 0xAA}, &why));
  EXPECT_EQ(why,
            "report 0x13 (4 bytes: 13 02 01 aa) where 0x16 Transfer Status Response was "
            "expected");
  EXPECT_FALSE(c::parse_status(bytes{}, &why));
}

TEST(Cp2112Codec, ErrorStatusMapsToTheI2cCodes) {
  namespace c = hilt::cp2112;
  auto err = [](std::uint8_t s1) { return c::status_error({3, s1, 0, 0}); };
  EXPECT_EQ(err(0), errc::nack);
  EXPECT_EQ(err(1), errc::bus_timeout);
  EXPECT_EQ(err(2), errc::arbitration_lost);
  EXPECT_EQ(err(3), errc::io_error);
  EXPECT_EQ(err(4), errc::io_error);
  EXPECT_EQ(err(9), errc::bad_reply);
  EXPECT_EQ(c::status_error({7, 0, 0, 0}), errc::bad_reply);
  EXPECT_EQ(c::describe({3, 0, 2, 0}), "error: address NACKed (timeout) (status1 0), 2 retries");
}

TEST(Cp2112Codec, ReadResponsesAreBoundedByTheReport) {
  namespace c = hilt::cp2112;
  std::string why;
  const bytes rep{0x13, 2, 3, 1, 2, 3, 0, 0};
  auto r = c::parse_read_response(rep, &why);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 2);
  EXPECT_EQ(bytes(r->data.begin(), r->data.end()), (bytes{1, 2, 3}));
  EXPECT_FALSE(c::parse_read_response(bytes{0x13, 2, 9, 1, 2}, &why));
  EXPECT_EQ(why, "0x13 Data Read Response claims 9 data bytes, the report holds 2");
  bytes big(64, 0);
  big[0] = 0x13;
  big[2] = 62;
  EXPECT_FALSE(c::parse_read_response(big, &why));
  EXPECT_FALSE(c::parse_read_response(bytes{0x16, 2, 0}, &why));
  EXPECT_FALSE(c::parse_read_response(bytes{0x13, 2}, &why));
}

TEST(Cp2112Codec, BusNamesCarrySelectorAndSettings) {
  namespace c = hilt::cp2112;
  auto o = c::bus_options::parse("00A1B2C3");
  EXPECT_EQ(o.sel.serial, "00A1B2C3");
  EXPECT_EQ(*o.sel.vid, 0x10C4);
  EXPECT_EQ(*o.sel.pid, 0xEA90);
  EXPECT_EQ(o.smbus.clock_hz, 400000u);
  EXPECT_EQ(o.name, "00A1B2C3");
  o = c::bus_options::parse("*,clock=100k,timeout=50ms,retries=1");
  EXPECT_TRUE(o.sel.serial.empty());
  EXPECT_EQ(o.smbus.clock_hz, 100000u);
  EXPECT_EQ(o.smbus.write_timeout_ms, 50);
  EXPECT_EQ(o.smbus.read_timeout_ms, 50);
  EXPECT_EQ(o.smbus.retries, 1);
  EXPECT_EQ(o.name, "*");
  o = c::bus_options::parse("10c4:ea91:X,clock=50000");
  EXPECT_EQ(*o.sel.pid, 0xEA91);
  EXPECT_EQ(o.smbus.clock_hz, 50000u);

  auto error_of = [](const char* text) {
    try {
      (void)c::bus_options::parse(text);
    } catch (const hilt::config_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of("X,clock=1M"),
            "bad CP2112 bus 'X,clock=1M': clock '1M' is not a frequency within 10k..400k (Hz), "
            "e.g. 100k");
  EXPECT_EQ(error_of("X,speed=1"),
            "bad CP2112 bus 'X,speed=1': unknown setting 'speed' (keys: clock, timeout, retries)");
  EXPECT_EQ(error_of("X,timeout=2s"),
            "bad CP2112 bus 'X,timeout=2s': timeout '2s' is not a duration within 1..1000 ms, "
            "e.g. 50ms");
  EXPECT_EQ(error_of("X,retries"),
            "bad CP2112 bus 'X,retries': setting 'retries' is not key=value (keys: clock, "
            "timeout, retries)");
  EXPECT_EQ(error_of("zz:1:X"),
            "bad CP2112 selector 'zz:1:X': VID and PID are 1-4 hex digits, e.g. 10c4:ea90 (or "
            "give only the serial number)");
}

TEST(UsbSelector, Forms) {
  using hilt::usb::selector;
  auto s = selector::parse("2a8d:1102:MY60000001");
  EXPECT_EQ(*s.vid, 0x2A8D);
  EXPECT_EQ(*s.pid, 0x1102);
  EXPECT_EQ(s.serial, "MY60000001");
  EXPECT_TRUE(s.matches_ids(0x2A8D, 0x1102));
  EXPECT_FALSE(s.matches_ids(0x2A8D, 0x1103));
  s = selector::parse("MY1");
  EXPECT_FALSE(s.vid);
  EXPECT_TRUE(s.matches_ids(1, 2));
  EXPECT_TRUE(s.matches_serial("MY1"));
  EXPECT_FALSE(s.matches_serial("MY2"));
  s = selector::parse("*");
  EXPECT_TRUE(s.serial.empty());
  EXPECT_TRUE(s.matches_serial("anything"));
  s = selector::parse("0957:0407:*");
  EXPECT_TRUE(s.serial.empty());
  EXPECT_EQ(*s.vid, 0x0957);
  EXPECT_THROW(selector::parse(""), hilt::config_error);
  EXPECT_THROW(selector::parse("1:2:3:4"), hilt::config_error);
  EXPECT_THROW(selector::parse("12345:1"), hilt::config_error);
  EXPECT_THROW(selector::parse("1:2:"), hilt::config_error);
  EXPECT_THROW(selector::parse("a b"), hilt::config_error);
}

TEST(UsbErrors, LibusbCodesMapToHiltCodes) {
  using hilt::usb::map_error;
  using hilt::usb::map_transfer_status;
  EXPECT_FALSE(map_error(0));
  EXPECT_FALSE(map_error(12));
  EXPECT_EQ(map_error(LIBUSB_ERROR_TIMEOUT), errc::timeout);
  EXPECT_EQ(map_error(LIBUSB_ERROR_NO_DEVICE), errc::disconnected);
  EXPECT_EQ(map_error(LIBUSB_ERROR_NOT_FOUND), errc::device_not_found);
  EXPECT_EQ(map_error(LIBUSB_ERROR_PIPE), errc::io_error);
  EXPECT_EQ(map_error(LIBUSB_ERROR_ACCESS), errc::io_error);
  EXPECT_EQ(map_error(LIBUSB_ERROR_OVERFLOW), errc::bad_reply);
  EXPECT_EQ(map_error(LIBUSB_ERROR_INTERRUPTED), errc::cancelled);
  EXPECT_EQ(map_transfer_status(LIBUSB_TRANSFER_COMPLETED), std::error_code{});
  EXPECT_EQ(map_transfer_status(LIBUSB_TRANSFER_TIMED_OUT), errc::timeout);
  EXPECT_EQ(map_transfer_status(LIBUSB_TRANSFER_STALL), errc::io_error);
  EXPECT_EQ(map_transfer_status(LIBUSB_TRANSFER_NO_DEVICE), errc::disconnected);
  EXPECT_EQ(map_transfer_status(LIBUSB_TRANSFER_CANCELLED), errc::cancelled);
  EXPECT_EQ(map_transfer_status(LIBUSB_TRANSFER_OVERFLOW), errc::bad_reply);
  EXPECT_NE(hilt::usb::permission_hint().find("scripts/udev/70-hilt-usb.rules"), std::string::npos);
  EXPECT_EQ(hilt::usb::error_text(LIBUSB_ERROR_ACCESS).rfind("LIBUSB_ERROR_ACCESS (", 0), 0u);
}

TEST(UsbtmcCodec, BulkOutMessagesAreHeaderDataAndPadding) {
  namespace t = hilt::usbtmc;
  auto m = t::dev_dep_msg_out(1, "*IDN?\n", true);
  EXPECT_EQ(m, (bytes{1, 1, 0xFE, 0, 6, 0, 0, 0, 1, 0, 0, 0, '*', 'I', 'D', 'N', '?', '\n', 0, 0}));
  EXPECT_EQ(m.size() % 4, 0u);
  auto n = t::dev_dep_msg_out(0x80, "ABCD", false);
  EXPECT_EQ(n.size(), 16u);
  EXPECT_EQ(n[2], 0x7F);
  EXPECT_EQ(n[8], 0);
  auto r = t::request_dev_dep_msg_in(7, 4096, '\n');
  EXPECT_EQ(bytes(r.begin(), r.end()), (bytes{2, 7, 0xF8, 0, 0x00, 0x10, 0, 0, 0x02, '\n', 0, 0}));
  auto r2 = t::request_dev_dep_msg_in(7, 100, std::nullopt);
  EXPECT_EQ(r2[8], 0);
  EXPECT_EQ(r2[9], 0);
  EXPECT_EQ(t::next_tag(1), 2);
  EXPECT_EQ(t::next_tag(255), 1);
}

TEST(UsbtmcCodec, BulkInRepliesAreChecked) {
  namespace t = hilt::usbtmc;
  std::string why;
  const bytes good{2, 5, 0xFA, 0, 3, 0, 0, 0, 1, 0, 0, 0, '1', '.', '\n', 0};
  auto v = t::parse_dev_dep_msg_in(good, 5, &why);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->eom);
  EXPECT_EQ(std::string(v->data.begin(), v->data.end()), "1.\n");
  EXPECT_FALSE(t::parse_dev_dep_msg_in(good, 6, &why));
  EXPECT_EQ(why, "bulk-IN bTag 5 (inverse 0xfa) answers a request with bTag 6");
  bytes bad_inv = good;
  bad_inv[2] = 0x00;
  EXPECT_FALSE(t::parse_dev_dep_msg_in(bad_inv, 5, &why));
  bytes too_long = good;
  too_long[4] = 40;
  EXPECT_FALSE(t::parse_dev_dep_msg_in(too_long, 5, &why));
  EXPECT_EQ(why, "DEV_DEP_MSG_IN says TransferSize 40 but 4 data bytes arrived");
  EXPECT_FALSE(t::parse_dev_dep_msg_in(bytes{2, 5, 0xFA}, 5, &why));
  EXPECT_EQ(why, "a bulk-IN transfer of 3 bytes, shorter than the 12-byte DEV_DEP_MSG_IN header");
  bytes wrong_id = good;
  wrong_id[0] = 1;
  EXPECT_FALSE(t::parse_dev_dep_msg_in(wrong_id, 5, &why));
}

TEST(UsbtmcCodec, Capabilities) {
  namespace t = hilt::usbtmc;
  bytes c(0x18, 0);
  c[0] = 1;
  c[3] = 1;
  c[4] = 0x04;
  c[5] = 0x01;
  c[13] = 1;
  std::string why;
  auto caps = t::parse_capabilities(c, &why);
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->bcd_usbtmc, 0x0100);
  EXPECT_TRUE(caps->indicator_pulse);
  EXPECT_TRUE(caps->term_char);
  EXPECT_EQ(caps->bcd_usb488, 0x0100);
  c[0] = 0x80;
  EXPECT_FALSE(t::parse_capabilities(c, &why));
  EXPECT_EQ(why, "GET_CAPABILITIES status 0x80, expected SUCCESS");
}

// The udev rule the permission message points to exists and covers both kinds of device.
TEST(UsbUdevRule, CoversTheBridgeAndUsbtmcInstruments) {
  std::ifstream f(std::string(HILT_REPO_DIR) + "/scripts/udev/70-hilt-usb.rules");
  ASSERT_TRUE(f) << "scripts/udev/70-hilt-usb.rules is missing";
  std::stringstream s;
  s << f.rdbuf();
  const std::string text = s.str();
  EXPECT_NE(text.find(R"(ATTR{idVendor}=="10c4", ATTR{idProduct}=="ea90")"), std::string::npos);
  EXPECT_NE(text.find(R"(ENV{ID_USB_INTERFACES}=="*:fe03??:*")"), std::string::npos);
  EXPECT_NE(text.find(R"(GROUP="plugdev")"), std::string::npos);
}

}  // namespace
