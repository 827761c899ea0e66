// USBTMC (USB Test & Measurement Class 1.0, with the USB488 subclass's conventions) as a line
// transport: SCPI instruments on USB, through libusb (usb.hpp). A hilt::line_transport, so the
// SCPI supply driver runs over it unchanged: scpi-psu:usbtmc:VID:PID:SERIAL (or :SERIAL, or :*).
//
// Wire (USBTMC 1.0 §3):
//  - A program message goes out on the bulk-OUT endpoint as DEV_DEP_MSG_OUT: a 12-byte header
//    (MsgID 1, bTag, ~bTag, 0, TransferSize LE32, bmTransferAttributes bit 0 = EOM, 3 reserved)
//    then the message ("...\n") padded with zeros to a multiple of 4.
//  - A reply is asked for with REQUEST_DEV_DEP_MSG_IN (MsgID 2, TransferSize = the most the host
//    takes, TermChar '\n' when the instrument supports it) and read from the bulk-IN endpoint as
//    DEV_DEP_MSG_IN: header (MsgID 2, the request's bTag, ~bTag, TransferSize, EOM) then data.
//    A reply without EOM is continued with further requests until EOM (bounded by max_line).
//  - bTag runs 1..255 and never 0; every header is checked: MsgID, bTag, its inverse, and that
//    TransferSize fits the bytes received — anything else is errc::bad_reply.
//  - Opening claims the USBTMC interface (detaching the kernel's usbtmc driver if it is bound),
//    asks GET_CAPABILITIES, and clears the instrument: INITIATE_CLEAR, CHECK_CLEAR_STATUS until it
//    is no longer PENDING, then CLEAR_FEATURE(ENDPOINT_HALT) on bulk-OUT (§4.2.1.6-7), so a half
//    reply left by an earlier session is discarded.
//
// Contract (line.hpp / tcp_line.hpp): every operation bounded by its timeout and completing with
// an error code: errc::unreachable (no such instrument attached, permission denied — the message
// names the udev rule — or it cannot be claimed), errc::timeout (no complete reply in time),
// errc::disconnected (unplugged), errc::bad_reply (a malformed header, wrong bTag or length, a
// reply longer than max_line), errc::io_error (a stalled endpoint), errc::cancelled. After any of
// these but unreachable the link is closed: the next operation opens it again (and clears the
// instrument), which connects() counts. A re-plugged instrument is found again by its selector.
// Virtual harness time does not jump while a transfer is on the wire (clock::io_scope).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/clock.hpp"
#include "hilt/transport/line.hpp"
#include "hilt/transport/usb.hpp"

namespace hilt {

namespace usbtmc {

inline constexpr std::uint8_t interface_class = 0xFE;
inline constexpr std::uint8_t interface_subclass = 0x03;
inline constexpr std::size_t header_size = 12;

namespace msg {  // MsgID (USBTMC 1.0 Table 2)
inline constexpr std::uint8_t dev_dep_msg_out = 1;
inline constexpr std::uint8_t request_dev_dep_msg_in = 2;
inline constexpr std::uint8_t dev_dep_msg_in = 2;
}  // namespace msg

// Class-specific control requests (USBTMC 1.0 Table 15).
namespace req {
inline constexpr std::uint8_t initiate_abort_bulk_out = 1;
inline constexpr std::uint8_t check_abort_bulk_out_status = 2;
inline constexpr std::uint8_t initiate_abort_bulk_in = 3;
inline constexpr std::uint8_t check_abort_bulk_in_status = 4;
inline constexpr std::uint8_t initiate_clear = 5;
inline constexpr std::uint8_t check_clear_status = 6;
inline constexpr std::uint8_t get_capabilities = 7;
inline constexpr std::uint8_t indicator_pulse = 64;
}  // namespace req

// USBTMC_status values (Table 16).
namespace status {
inline constexpr std::uint8_t success = 0x01;
inline constexpr std::uint8_t pending = 0x02;
inline constexpr std::uint8_t failed = 0x80;
inline constexpr std::uint8_t transfer_not_in_progress = 0x81;
inline constexpr std::uint8_t split_not_in_progress = 0x82;
inline constexpr std::uint8_t split_in_progress = 0x83;
}  // namespace status

// The next bTag after `tag`: 1..255, skipping 0.
constexpr std::uint8_t next_tag(std::uint8_t tag) noexcept {
  return tag == 255 ? 1 : static_cast<std::uint8_t>(tag + 1);
}

// DEV_DEP_MSG_OUT: header + message + zero padding to a multiple of 4.
std::vector<std::uint8_t> dev_dep_msg_out(std::uint8_t tag, std::string_view message, bool eom);
// REQUEST_DEV_DEP_MSG_IN header.
std::array<std::uint8_t, header_size> request_dev_dep_msg_in(std::uint8_t tag,
                                                             std::uint32_t max_size,
                                                             std::optional<char> term_char);
// A DEV_DEP_MSG_IN transfer as received: the data (TransferSize bytes after the header) and EOM.
// nullopt and `why` for a short transfer, another MsgID, a bTag other than `tag`, a bad bTag
// inverse, or a TransferSize larger than what arrived.
struct dev_dep_msg_in_view {
  std::span<const std::uint8_t> data;
  bool eom = false;
};
std::optional<dev_dep_msg_in_view> parse_dev_dep_msg_in(std::span<const std::uint8_t> bytes,
                                                        std::uint8_t tag, std::string* why);

// GET_CAPABILITIES response (Table 37; USB488 Table 8 in bytes 12-15).
struct capabilities {
  std::uint16_t bcd_usbtmc = 0;
  bool indicator_pulse = false;
  bool talk_only = false;
  bool listen_only = false;
  bool term_char = false;  // the device supports TermChar in REQUEST_DEV_DEP_MSG_IN
  std::uint16_t bcd_usb488 = 0;
};
std::optional<capabilities> parse_capabilities(std::span<const std::uint8_t> bytes,
                                               std::string* why);

}  // namespace usbtmc

struct usbtmc_options {
  std::size_t max_line = 4096;  // longest reply accepted (bytes, terminator included)
  std::string terminator = "\n";
  std::chrono::milliseconds control_timeout{500};  // each control request
  std::chrono::milliseconds clear_timeout{1000};   // INITIATE_CLEAR .. CHECK_CLEAR_STATUS done
};

class usbtmc_client final : public line_transport {
 public:
  // `target`: a usb::selector ("2a8d:1102:MY60000001", "MY60000001", "*"); parse with
  // usb::selector::parse (config_error on a bad one). `clk` may be null. Nothing is opened until
  // the first operation.
  usbtmc_client(asio::any_io_executor ex, hilt::clock* clk, usb::selector target,
                usbtmc_options opts = {});
  ~usbtmc_client() override;
  usbtmc_client(const usbtmc_client&) = delete;
  usbtmc_client& operator=(const usbtmc_client&) = delete;

  task<std::shared_ptr<void>> async_lock() override;
  task<std::error_code> async_connect() override;
  task<std::error_code> async_send(std::string line, duration timeout) override;
  task<result<std::string>> async_read_line(duration timeout) override;
  task<result<std::string>> async_query(std::string line, duration timeout) override;
  void close() noexcept override;
  bool is_open() const noexcept override { return dev_ != nullptr; }
  std::uint64_t connects() const noexcept override { return connects_; }
  std::string describe() const override { return "usbtmc:" + target_.text; }
  const std::string& last_error() const noexcept override { return last_error_; }

  // What the instrument said about itself when the link was opened.
  const std::optional<usbtmc::capabilities>& capabilities() const noexcept { return caps_; }
  std::optional<usb::device_info> info() const;
  std::uint8_t last_tag() const noexcept { return tag_; }
  std::uint64_t usb_transfers() const noexcept { return usb_transfers_; }

 private:
  struct opened;
  opened open_blocking();
  task<std::error_code> send_op(std::string data, std::chrono::milliseconds t);
  task<result<std::string>> read_op(std::chrono::milliseconds t, std::chrono::milliseconds bound);
  std::error_code fail(std::error_code ec, std::string text);

  asio::any_io_executor ex_;
  hilt::clock* clock_;
  usb::selector target_;
  usbtmc_options opts_;
  std::shared_ptr<usb::context> ctx_;
  std::shared_ptr<usb::device> dev_;
  std::uint8_t ep_out_ = 0, ep_in_ = 0;
  std::optional<usbtmc::capabilities> caps_;
  std::uint8_t tag_ = 0;  // the last bTag used
  usb::fifo_lock lock_;
  std::uint64_t connects_ = 0;
  std::uint64_t usb_transfers_ = 0;
  std::string last_error_;
};

}  // namespace hilt
