// The CP2112 USB-to-SMBus bridge as an I2C bus (Silicon Labs AN495; cmis-notes §8.7), through
// libusb (usb.hpp) rather than the kernel's hid-cp2112 driver: the kernel exposes the bridge as an
// SMBus-only adapter (32-byte block reads), while its own HID reports carry a register-pointer
// write followed by a repeated-start read of up to 512 bytes — a whole 128-byte CMIS page in one
// transaction.
//
// Address: cmis:cp2112:BUS@0x50, BUS = a usb::selector (SERIAL, '*', VID:PID[:SERIAL]; the VID:PID
// default is 10c4:ea90) optionally followed by SMBus settings:
//     cmis:cp2112:00A1B2C3@0x50
//     cmis:cp2112:*,clock=100k,timeout=50ms,retries=1@0x50
//   clock    SCL frequency: 10k..400k (Hz; 'k' = kHz), default 400k
//   timeout  the bridge's SMBus read and write timeouts, 1..1000 ms, default 100 ms
//   retries  address-NACK retries before the bridge gives up, 0..1000, default 3
//
// One transfer (i2c_bus::async_transfer) is one bridge transaction:
//   write + read  0x11 Data Write-Read Request (pointer up to 16 bytes, repeated start, read
//                 1..512 bytes)
//   write only    0x14 Data Write Request (1..61 bytes)
//   read only     0x10 Data Read Request (1..512 bytes)
// then 0x15 Transfer Status Request / 0x16 Response until the bridge reports complete or error,
// then (reads) 0x12 Data Read Force Send / 0x13 Data Read Response in chunks of up to 61 bytes.
// Status 0x16 errors map to the I2C transport's codes: status1 0 (address NACKed) errc::nack,
// 1 (bus not free / SCL low timeout) errc::bus_timeout, 2 errc::arbitration_lost, 3/4 (read or
// write incomplete) errc::io_error. A transfer whose status never completes within the status
// budget (the SMBus timeouts + 100 ms) is cancelled (0x17) and is errc::timeout. Short or
// malformed reports (wrong report ID, a length beyond the report) are errc::bad_reply; after
// any such fault the next transfer first cancels and drains stale input reports.
//
// Hot-plug: a transfer that finds the bridge unplugged is errc::disconnected and drops the handle;
// each later transfer tries to open the bridge again (same selector) and is errc::disconnected
// while it is absent, so the DUTs behind it error while the rest of the bench goes on; once it is
// back the next transfer uses it (SMBus configuration re-applied).
//
// Threading: transfers run on the caller's executor (asynchronous libusb transfers completed by
// the usb::context event thread); a FIFO lock keeps one transaction on the wire at a time for
// every device sharing the bridge. While a transaction waits, a clock::io_scope keeps virtual
// harness time from jumping. transfer() (synchronous) runs the same code on a private io_context
// and blocks the calling thread: for tools and tests, never from a running harness.
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

#include "hilt/transport/i2c.hpp"
#include "hilt/transport/usb.hpp"

namespace hilt {

class clock;

namespace cp2112 {

inline constexpr std::uint16_t vendor_id = 0x10C4;
inline constexpr std::uint16_t product_id = 0xEA90;
inline constexpr std::size_t report_size = 64;
inline constexpr std::size_t max_write = 61;           // data bytes in one 0x14 report
inline constexpr std::size_t max_read = 512;           // bytes one read request may ask for
inline constexpr std::size_t max_target_address = 16;  // pointer bytes of a 0x11 request
inline constexpr std::size_t max_response_data = 61;   // data bytes in one 0x13 report

enum report : std::uint8_t {
  get_version = 0x05,  // feature: [id, part number (0x0C), device version]
  smbus_configuration = 0x06,
  data_read_request = 0x10,
  data_write_read_request = 0x11,
  data_read_force_send = 0x12,
  data_read_response = 0x13,
  data_write_request = 0x14,
  transfer_status_request = 0x15,
  transfer_status_response = 0x16,
  cancel_transfer = 0x17,
};

// Status 0 of 0x13 / 0x16.
enum status_code : std::uint8_t { idle = 0, busy = 1, complete = 2, error = 3 };

// SMBus configuration, feature report 0x06 (AN495 §5.6).
struct smbus_config {
  std::uint32_t clock_hz = 400000;
  std::uint8_t own_address = 0x02;  // the bridge's own (8-bit) address as a target
  bool auto_send_read = false;      // hilt asks for read data explicitly (0x12)
  std::uint16_t write_timeout_ms = 100;
  std::uint16_t read_timeout_ms = 100;
  bool scl_low_timeout = true;
  std::uint16_t retries = 3;
  bool operator==(const smbus_config&) const = default;
};
inline constexpr std::size_t smbus_config_size = 14;  // report ID included
std::array<std::uint8_t, smbus_config_size> encode(const smbus_config& c);
std::optional<smbus_config> decode_smbus_config(std::span<const std::uint8_t> bytes);

using report_bytes = std::array<std::uint8_t, report_size>;
// Output reports (64 bytes, report ID first, zero padded). `addr` is the 7-bit target address.
report_bytes write_request(std::uint8_t addr, std::span<const std::uint8_t> data);
report_bytes write_read_request(std::uint8_t addr, std::span<const std::uint8_t> target_address,
                                std::uint16_t read_length);
report_bytes read_request(std::uint8_t addr, std::uint16_t length);
report_bytes force_send(std::uint16_t length);
report_bytes status_request();
report_bytes cancel();

struct transfer_status {
  std::uint8_t status0 = 0;
  std::uint8_t status1 = 0;
  std::uint16_t retries = 0;
  std::uint16_t length = 0;  // bytes read so far
};
// 0x16 Transfer Status Response: nullopt (and `why`) for a report that is short or not 0x16.
std::optional<transfer_status> parse_status(std::span<const std::uint8_t> bytes, std::string* why);
struct read_response {
  std::uint8_t status = 0;
  std::span<const std::uint8_t> data;
};
// 0x13 Data Read Response: nullopt for a short report, another ID or a length beyond the report.
std::optional<read_response> parse_read_response(std::span<const std::uint8_t> bytes,
                                                 std::string* why);
// The error a finished status means: {} for complete, nack / bus_timeout / arbitration_lost /
// io_error for the error codes, bad_reply for a status the bridge does not define.
std::error_code status_error(const transfer_status& s) noexcept;
// "complete (5), 2 retries, 128 bytes", "error: address NACKed (status1 0)".
std::string describe(const transfer_status& s);

// The bus name of a cp2112 address: "SELECTOR[,clock=..][,timeout=..][,retries=..]". Throws
// config_error naming what is wrong.
struct bus_options {
  usb::selector sel;
  smbus_config smbus;
  std::string name;  // the selector as written, for describe()
  static bus_options parse(std::string_view bus_name);
};

}  // namespace cp2112

class cp2112_bus final : public i2c_bus, public std::enable_shared_from_this<cp2112_bus> {
 public:
  // Opens the bridge `bus_name` names (blocking: for bench setup) and applies its SMBus
  // configuration. `clk` (may be null) is the harness clock whose virtual time must not jump while
  // a transaction is on the wire. Failure: device_not_found / io_error / invalid_argument as
  // usb::context::open, with the explanation in `why`. Bad settings throw config_error.
  static result<std::shared_ptr<cp2112_bus>> open(std::string_view bus_name, hilt::clock* clk,
                                                  std::string* why = nullptr);
  ~cp2112_bus() override;

  std::string describe() const override { return "cp2112:" + opts_.name; }
  std::size_t max_read() const noexcept override { return cp2112::max_read; }
  std::size_t max_write() const noexcept override { return cp2112::max_write; }
  std::error_code transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                           std::span<std::uint8_t> read) override;
  task<std::error_code> async_transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                                       std::span<std::uint8_t> read) override;

  // Budgets (tests shorten them). report_timeout bounds every USB transfer; the status budget is
  // the SMBus timeouts + status_margin.
  void set_report_timeout(std::chrono::milliseconds t) noexcept { report_timeout_ = t; }
  void set_status_margin(std::chrono::milliseconds t) noexcept { status_margin_ = t; }

  // For tests, benchmarks and `hilt usb list`.
  const cp2112::smbus_config& smbus() const noexcept { return opts_.smbus; }
  std::optional<usb::device_info> info() const;
  std::uint64_t transactions() const noexcept { return transactions_; }
  std::uint64_t usb_transfers() const noexcept { return usb_transfers_; }
  std::uint64_t opens() const noexcept { return opens_; }
  const std::string& last_error() const noexcept { return last_error_; }
  std::uint8_t part_number() const noexcept { return part_; }
  std::uint8_t device_version() const noexcept { return version_; }

 private:
  cp2112_bus(std::shared_ptr<usb::context> ctx, cp2112::bus_options opts, hilt::clock* clk);
  // Blocking: open, version check, SMBus configuration (runs on the worker or at setup).
  result<std::shared_ptr<usb::device>> open_device(std::string* why);
  task<std::error_code> ensure_open();
  task<std::error_code> run(std::uint8_t addr, std::vector<std::uint8_t> write,
                            std::size_t read_len, std::vector<std::uint8_t>& out);
  task<std::error_code> send(const cp2112::report_bytes& r, const char* what);
  task<result<std::vector<std::uint8_t>>> receive(const char* what);
  task<std::error_code> resync();
  std::error_code fail(std::error_code ec, std::string text);

  std::shared_ptr<usb::context> ctx_;
  cp2112::bus_options opts_;
  hilt::clock* clock_;
  std::shared_ptr<usb::device> dev_;
  std::uint8_t ep_in_ = 0, ep_out_ = 0;
  usb::fifo_lock lock_;
  bool resync_ = false;
  bool was_open_ = false;  // opened once: absence now means unplugged
  bool reported_gone_ = false;
  std::chrono::milliseconds report_timeout_{200};
  std::chrono::milliseconds status_margin_{100};
  std::uint64_t transactions_ = 0, usb_transfers_ = 0, opens_ = 0;
  std::uint8_t part_ = 0, version_ = 0;
  std::string last_error_;
};

}  // namespace hilt
