// A USBTMC (USB488) instrument as a umockdev device model, built on the emulated supply's SCPI core
// (hilt::emu::scpi_psu_emulator — the same object the TCP line server serves, so the world model's
// rails and modules are coupled to it just the same).
//
// Written from the USBTMC 1.0 specification, independently of hilt's USBTMC transport:
//  - bulk-OUT (0x01): DEV_DEP_MSG_OUT messages are collected until EOM, the terminating '\n'
//    removed, and handed to scpi_psu_emulator::handle(); its response ("...\n") waits in the
//    output buffer. REQUEST_DEV_DEP_MSG_IN is remembered (bTag, TransferSize).
//  - bulk-IN (0x82): while a request is pending and the output buffer holds data, the device
//    answers DEV_DEP_MSG_IN with the request's bTag, at most TransferSize bytes, EOM when the
//    buffer is emptied. Without data the IN transfer waits (the host times out).
//  - control: GET_CAPABILITIES (USBTMC 1.0, USB488 1.0; TermChar supported), INITIATE_CLEAR /
//    CHECK_CLEAR_STATUS (PENDING once, then SUCCESS; the buffers are emptied).
// Headers the host sends are checked (bTag inverse, reserved bytes): a bad one halts bulk-OUT,
// as the specification asks.
//
// Faults: a reply with the wrong bTag, a TransferSize larger than the data, garbage instead of the
// next response, no response at all (the instrument hangs), and the base's stall and unplug.
#pragma once

#include <memory>
#include <string>

#include "hilt/emu/scpi_psu_server.hpp"
#include "usb_model.hpp"

namespace hilt::usbtest {

class usbtmc_model final : public usb_model {
 public:
  static constexpr std::uint8_t ep_out = 0x01;
  static constexpr std::uint8_t ep_in = 0x82;

  usbtmc_model(std::uint16_t vid, std::uint16_t pid, std::string serial,
               std::shared_ptr<hilt::emu::scpi_psu_emulator> psu);

  std::uint16_t vid() const override { return vid_; }
  std::uint16_t pid() const override { return pid_; }
  std::vector<std::uint8_t> descriptors() const override;

  void wrong_tag_next();
  void wrong_length_next();
  void garbage_next();
  void hang(bool on);  // take messages, answer nothing

  std::uint64_t messages() const;  // program messages handed to the SCPI core
  std::uint64_t clears() const;    // INITIATE_CLEAR requests
  std::uint64_t bad_headers() const;
  std::uint8_t last_tag() const;

 protected:
  control_reply on_control(const setup_packet& s, std::span<const std::uint8_t> out) override;
  void on_out(std::uint8_t ep, std::span<const std::uint8_t> data) override;

 private:
  void pump();  // answers a pending request from the output buffer

  std::uint16_t vid_, pid_;
  std::shared_ptr<hilt::emu::scpi_psu_emulator> psu_;
  std::string message_;  // DEV_DEP_MSG_OUT data until EOM
  std::string output_;   // response bytes not yet sent
  struct request {
    std::uint8_t tag;
    std::uint32_t max;
  };
  std::optional<request> pending_;
  bool clear_pending_ = false;
  bool wrong_tag_ = false, wrong_length_ = false, garbage_ = false, hang_ = false;
  std::uint64_t messages_ = 0, clears_ = 0, bad_headers_ = 0;
  std::uint8_t last_tag_ = 0;
};

}  // namespace hilt::usbtest
