// A CP2112 USB-to-SMBus bridge (Silicon Labs AN495; cmis-notes §8.7) as a umockdev device model
// whose SMBus side is an I2C bus of hilt's — the emulated bus with emulated CMIS modules behind
// it — so the CMIS driver reaches an emulated module through libusb and this bridge.
//
// It is written from the data sheet, independently of hilt's CP2112 transport (no shared code):
// feature reports 0x05 (version: part 0x0C, version 3) and 0x06 (SMBus configuration, stored and
// read back); interrupt-OUT reports 0x10 read, 0x11 write-read, 0x14 write (run on the bus at
// once), 0x15 status request (answered with 0x16 on interrupt-IN; "busy" for `busy_polls` polls
// first), 0x12 force send (answered with 0x13, up to 61 bytes), 0x17 cancel.
//
// Faults: an I2C error status (status1) for the next transfer, a transfer whose status never
// completes, a short or malformed next input report, plus the base's stall and unplug.
#pragma once

#include <memory>

#include "hilt/transport/i2c.hpp"
#include "usb_model.hpp"

namespace hilt::usbtest {

class cp2112_model final : public usb_model {
 public:
  static constexpr std::uint8_t ep_in = 0x81;
  static constexpr std::uint8_t ep_out = 0x01;

  cp2112_model(std::string serial, std::shared_ptr<hilt::i2c_bus> bus);

  std::uint16_t vid() const override { return 0x10C4; }
  std::uint16_t pid() const override { return 0xEA90; }
  std::vector<std::uint8_t> descriptors() const override;

  // The SMBus configuration the host set (report 0x06), raw.
  std::vector<std::uint8_t> config() const;
  void set_busy_polls(int n);
  // The next transfer ends with status0 = 3 (error) and this status1 (0 NACK, 1 bus timeout,
  // 2 arbitration lost, 3 read incomplete, 4 write incomplete).
  void fail_next(std::uint8_t status1);
  void never_complete(bool on);             // status stays busy until cancelled
  void short_next_report(std::size_t len);  // the next input report is cut to `len` bytes
  void malformed_next_report();             // the next input report has the wrong report ID
  void claim_more_than_sent_next();         // the next 0x13 claims 62 data bytes

  std::uint64_t transfers() const;  // SMBus transactions run
  std::uint64_t cancels() const;
  std::uint64_t status_polls() const;

 protected:
  control_reply on_control(const setup_packet& s, std::span<const std::uint8_t> out) override;
  void on_out(std::uint8_t ep, std::span<const std::uint8_t> data) override;

 private:
  void report(std::vector<std::uint8_t> r);  // pads to 64 and applies the report faults

  std::shared_ptr<hilt::i2c_bus> bus_;
  std::vector<std::uint8_t> config_;
  int busy_polls_ = 1;
  int busy_left_ = 0;
  enum class state { idle, done } state_ = state::idle;
  std::uint8_t status0_ = 0, status1_ = 0;
  bool was_read_ = false;
  std::vector<std::uint8_t> read_data_;
  std::size_t read_pos_ = 0;
  std::optional<std::uint8_t> fail_next_;
  bool never_complete_ = false;
  std::optional<std::size_t> short_next_;
  bool malformed_next_ = false;
  bool overclaim_next_ = false;
  std::uint64_t transfers_ = 0, cancels_ = 0, polls_ = 0;
};

}  // namespace hilt::usbtest
