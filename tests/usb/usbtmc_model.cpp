#include "usbtmc_model.hpp"

namespace hilt::usbtest {

namespace {

std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t i) {
  return std::uint32_t{b[i]} | (std::uint32_t{b[i + 1]} << 8) | (std::uint32_t{b[i + 2]} << 16) |
         (std::uint32_t{b[i + 3]} << 24);
}

}  // namespace

usbtmc_model::usbtmc_model(std::uint16_t v, std::uint16_t p, std::string ser,
                           std::shared_ptr<hilt::emu::scpi_psu_emulator> psu)
    : vid_(v), pid_(p), psu_(std::move(psu)) {
  const auto& id = psu_->model().identity;
  manufacturer = id.manufacturer;
  product = id.model;
  serial = std::move(ser);
}

std::vector<std::uint8_t> usbtmc_model::descriptors() const {
  auto d = device_descriptor(vid_, pid_, 0x0100, 64);
  // clang-format off
  const std::vector<std::uint8_t> cfg{
      9, 2, 32, 0, 1, 1, 0, 0xC0, 0,  // configuration: 1 interface, self powered
      9, 4, 0,  0, 2, 0xFE, 0x03, 0x01, 0,  // interface 0: USBTMC, USB488 protocol
      7, 5, 0x01, 2, 64, 0, 0,  // EP1 OUT bulk, 64 bytes (full speed)
      7, 5, 0x82, 2, 64, 0, 0};  // EP2 IN bulk
  // clang-format on
  d.insert(d.end(), cfg.begin(), cfg.end());
  return d;
}

void usbtmc_model::wrong_tag_next() {
  std::lock_guard lk(mu_);
  wrong_tag_ = true;
}

void usbtmc_model::wrong_length_next() {
  std::lock_guard lk(mu_);
  wrong_length_ = true;
}

void usbtmc_model::garbage_next() {
  std::lock_guard lk(mu_);
  garbage_ = true;
}

void usbtmc_model::hang(bool on) {
  std::lock_guard lk(mu_);
  hang_ = on;
}

std::uint64_t usbtmc_model::messages() const {
  std::lock_guard lk(mu_);
  return messages_;
}

std::uint64_t usbtmc_model::clears() const {
  std::lock_guard lk(mu_);
  return clears_;
}

std::uint64_t usbtmc_model::bad_headers() const {
  std::lock_guard lk(mu_);
  return bad_headers_;
}

std::uint8_t usbtmc_model::last_tag() const {
  std::lock_guard lk(mu_);
  return last_tag_;
}

usb_model::control_reply usbtmc_model::on_control(const setup_packet& s,
                                                  std::span<const std::uint8_t>) {
  if (s.request_type != 0xA1) return {true, {}};
  switch (s.request) {
    case 7: {  // GET_CAPABILITIES
      std::vector<std::uint8_t> r(0x18, 0);
      r[0] = 0x01;  // SUCCESS
      r[2] = 0x00;  // bcdUSBTMC 1.00
      r[3] = 0x01;
      r[4] = 0x00;   // interface: not talk/listen only, no indicator pulse
      r[5] = 0x01;   // device: TermChar supported
      r[12] = 0x00;  // bcdUSB488 1.00
      r[13] = 0x01;
      r[14] = 0x06;  // USB488 interface: REN_CONTROL, TRIGGER
      r[15] = 0x0F;  // USB488 device: SCPI, SR1, RL1, DT1
      return {false, r};
    }
    case 5:  // INITIATE_CLEAR
      ++clears_;
      message_.clear();
      output_.clear();
      pending_.reset();
      drop_queued_in();
      clear_pending_ = true;
      return {false, {0x01}};
    case 6:  // CHECK_CLEAR_STATUS: PENDING once, then SUCCESS; bmClear 0 (nothing in bulk-IN)
      if (clear_pending_) {
        clear_pending_ = false;
        return {false, {0x02, 0x00}};
      }
      return {false, {0x01, 0x00}};
    default:
      return {true, {}};
  }
}

void usbtmc_model::pump() {
  if (!pending_ || output_.empty() || queued_in(ep_in) > 0) return;
  const auto req = *pending_;
  pending_.reset();
  const std::size_t n = std::min<std::size_t>(output_.size(), req.max);
  const bool eom = n == output_.size();
  std::vector<std::uint8_t> r(12, 0);
  r[0] = 2;  // DEV_DEP_MSG_IN
  r[1] = wrong_tag_ ? static_cast<std::uint8_t>(req.tag + 1) : req.tag;
  r[2] = static_cast<std::uint8_t>(~r[1]);
  const std::uint32_t size =
      wrong_length_ ? static_cast<std::uint32_t>(n + 40) : static_cast<std::uint32_t>(n);
  wrong_tag_ = wrong_length_ = false;
  r[4] = static_cast<std::uint8_t>(size);
  r[5] = static_cast<std::uint8_t>(size >> 8);
  r[6] = static_cast<std::uint8_t>(size >> 16);
  r[7] = static_cast<std::uint8_t>(size >> 24);
  r[8] = eom ? 0x01 : 0x00;
  r.insert(r.end(), output_.begin(), output_.begin() + static_cast<std::ptrdiff_t>(n));
  while (r.size() % 4)
    r.push_back(0);
  output_.erase(0, n);
  queue_in(ep_in, std::move(r));
}

void usbtmc_model::on_out(std::uint8_t ep, std::span<const std::uint8_t> d) {
  if (ep != ep_out) return;
  if (d.size() < 12 || d[2] != static_cast<std::uint8_t>(~d[1]) || d[1] == 0 || d[3] != 0) {
    ++bad_headers_;
    halt(ep_out);  // USBTMC 1.0 §3.2.2.3: a bad header halts Bulk-OUT
    return;
  }
  last_tag_ = d[1];
  if (d[0] == 1) {  // DEV_DEP_MSG_OUT
    const std::uint32_t size = le32(d, 4);
    if (size > d.size() - 12) {
      ++bad_headers_;
      halt(ep_out);
      return;
    }
    message_.append(reinterpret_cast<const char*>(d.data() + 12), size);
    if (!(d[8] & 0x01)) return;  // more to come
    std::string msg = std::move(message_);
    message_.clear();
    if (!msg.empty() && msg.back() == '\n') msg.pop_back();
    ++messages_;
    if (hang_) return;
    auto response = psu_->handle(msg);
    if (response) {
      if (garbage_) {
        garbage_ = false;
        output_ += std::string("\x01\xfe#9garbage\x7f\xff", 13) + "\n";
      } else {
        output_ += *response + "\n";
      }
    }
    pump();
    return;
  }
  if (d[0] == 2) {  // REQUEST_DEV_DEP_MSG_IN
    pending_ = request{d[1], le32(d, 4)};
    pump();
    return;
  }
  ++bad_headers_;  // vendor-specific or unknown MsgID
}

}  // namespace hilt::usbtest
