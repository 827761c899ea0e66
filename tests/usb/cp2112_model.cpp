#include "cp2112_model.hpp"

#include "hilt/error.hpp"

namespace hilt::usbtest {

cp2112_model::cp2112_model(std::string ser, std::shared_ptr<hilt::i2c_bus> bus)
    : bus_(std::move(bus)) {
  manufacturer = "Silicon Labs";
  product = "CP2112 HID USB-to-SMBus Bridge";
  serial = std::move(ser);
  // Power-on SMBus configuration (AN495 defaults): 100 kHz, address 0x02, no auto send, no
  // timeouts, SCL low timeout off, no retries.
  config_ = {0x06, 0x00, 0x01, 0x86, 0xA0, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
}

std::vector<std::uint8_t> cp2112_model::descriptors() const {
  auto d = device_descriptor(vid(), pid(), 0x0100, 64);
  // clang-format off
  const std::vector<std::uint8_t> cfg{
      9,    2,    41,   0,    1,    1, 0, 0x80, 50,  // configuration: 1 interface, 100 mA
      9,    4,    0,    0,    2,    3, 0, 0,    0,   // interface 0: HID, 2 endpoints
      9,    0x21, 0x11, 0x01, 0,    1, 0x22, 215, 0,  // HID 1.11, report descriptor 215 bytes
      7,    5,    0x81, 3,    64,   0, 1,             // EP1 IN interrupt, 64 bytes, 1 ms
      7,    5,    0x01, 3,    64,   0, 1};            // EP1 OUT interrupt
  // clang-format on
  d.insert(d.end(), cfg.begin(), cfg.end());
  return d;
}

std::vector<std::uint8_t> cp2112_model::config() const {
  std::lock_guard lk(mu_);
  return config_;
}

void cp2112_model::set_busy_polls(int n) {
  std::lock_guard lk(mu_);
  busy_polls_ = n;
}

void cp2112_model::fail_next(std::uint8_t status1) {
  std::lock_guard lk(mu_);
  fail_next_ = status1;
}

void cp2112_model::never_complete(bool on) {
  std::lock_guard lk(mu_);
  never_complete_ = on;
}

void cp2112_model::short_next_report(std::size_t len) {
  std::lock_guard lk(mu_);
  short_next_ = len;
}

void cp2112_model::malformed_next_report() {
  std::lock_guard lk(mu_);
  malformed_next_ = true;
}

void cp2112_model::claim_more_than_sent_next() {
  std::lock_guard lk(mu_);
  overclaim_next_ = true;
}

std::uint64_t cp2112_model::transfers() const {
  std::lock_guard lk(mu_);
  return transfers_;
}

std::uint64_t cp2112_model::cancels() const {
  std::lock_guard lk(mu_);
  return cancels_;
}

std::uint64_t cp2112_model::status_polls() const {
  std::lock_guard lk(mu_);
  return polls_;
}

usb_model::control_reply cp2112_model::on_control(const setup_packet& s,
                                                  std::span<const std::uint8_t> out) {
  // HID class requests on interface 0: GET_REPORT (0xA1/0x01), SET_REPORT (0x21/0x09) with
  // wValue = report type (3 = feature) << 8 | report ID.
  const std::uint8_t type = static_cast<std::uint8_t>(s.value >> 8);
  const std::uint8_t id = static_cast<std::uint8_t>(s.value);
  if (s.request_type == 0xA1 && s.request == 0x01 && type == 3) {
    if (id == 0x05) return {false, {0x05, 0x0C, 0x03}};
    if (id == 0x06) return {false, config_};
    return {true, {}};
  }
  if (s.request_type == 0x21 && s.request == 0x09 && type == 3) {
    if (id == 0x06 && out.size() >= 14 && out[0] == 0x06) {
      config_.assign(out.begin(), out.begin() + 14);
      return {false, {}};
    }
    return {true, {}};
  }
  if (s.request_type == 0x21 && s.request == 0x0A) return {false, {}};  // SET_IDLE
  return {true, {}};
}

void cp2112_model::report(std::vector<std::uint8_t> r) {
  r.resize(64, 0);
  if (malformed_next_) {
    malformed_next_ = false;
    r[0] = static_cast<std::uint8_t>(r[0] == 0x16 ? 0x13 : 0x16);
    if (r[0] == 0x16) r[1] = 0x07;  // and a status0 nobody defined
  }
  if (short_next_) {
    r.resize(std::min(r.size(), *short_next_));
    short_next_.reset();
  }
  queue_in(ep_in, std::move(r));
}

void cp2112_model::on_out(std::uint8_t ep, std::span<const std::uint8_t> d) {
  if (ep != ep_out || d.empty()) return;
  auto be16 = [&](std::size_t i) -> std::size_t {
    return i + 1 < d.size() ? (std::size_t{d[i]} << 8) | d[i + 1] : 0;
  };
  auto run = [&](std::uint8_t addr7, std::span<const std::uint8_t> w, std::size_t rlen) {
    ++transfers_;
    was_read_ = rlen > 0;
    read_data_.assign(rlen, 0);
    read_pos_ = 0;
    std::error_code ec;
    if (rlen > 512 || w.size() > 61) {
      ec = make_error_code(errc::invalid_argument);
    } else {
      ec = bus_->transfer(addr7, w, read_data_);
    }
    state_ = state::done;
    busy_left_ = never_complete_ ? -1 : busy_polls_;
    if (fail_next_) {
      status0_ = 3;
      status1_ = *fail_next_;
      fail_next_.reset();
      read_data_.clear();
    } else if (!ec) {
      status0_ = 2;
      status1_ = 5;
    } else {
      status0_ = 3;
      status1_ = ec == errc::nack               ? 0
                 : ec == errc::bus_timeout      ? 1
                 : ec == errc::arbitration_lost ? 2
                 : rlen > 0                     ? 3
                                                : 4;
      read_data_.clear();
    }
  };
  switch (d[0]) {
    case 0x10:  // Data Read Request [addr<<1, len be16]
      run(static_cast<std::uint8_t>(d.size() > 1 ? d[1] >> 1 : 0), {}, be16(2));
      break;
    case 0x11: {  // Data Write-Read Request [addr<<1, len be16, tlen, target...]
      const std::size_t tlen = d.size() > 4 ? d[4] : 0;
      if (tlen < 1 || tlen > 16 || 5 + tlen > d.size()) {
        state_ = state::done;
        status0_ = 3;
        status1_ = 4;
        busy_left_ = 0;
        break;
      }
      run(static_cast<std::uint8_t>(d[1] >> 1), d.subspan(5, tlen), be16(2));
      break;
    }
    case 0x14: {  // Data Write [addr<<1, len, data...]
      const std::size_t n = d.size() > 2 ? d[2] : 0;
      if (n < 1 || n > 61 || 3 + n > d.size()) {
        state_ = state::done;
        status0_ = 3;
        status1_ = 4;
        busy_left_ = 0;
        break;
      }
      run(static_cast<std::uint8_t>(d[1] >> 1), d.subspan(3, n), 0);
      break;
    }
    case 0x15: {  // Transfer Status Request
      ++polls_;
      if (state_ == state::idle) {
        report({0x16, 0, 0, 0, 0, 0, 0});
      } else if (busy_left_ != 0) {
        if (busy_left_ > 0) --busy_left_;
        report({0x16, 1, static_cast<std::uint8_t>(was_read_ ? 2 : 3), 0, 0, 0, 0});
      } else {
        const auto n = static_cast<std::uint16_t>(status0_ == 2 ? read_data_.size() : 0);
        report({0x16, status0_, status1_, 0, 0, static_cast<std::uint8_t>(n >> 8),
                static_cast<std::uint8_t>(n)});
      }
      break;
    }
    case 0x12: {  // Data Read Force Send [len be16]
      const std::size_t want = be16(1);
      const std::size_t left = read_data_.size() - read_pos_;
      const std::size_t n = std::min({want, left, std::size_t{61}});
      std::vector<std::uint8_t> r{
          0x13, static_cast<std::uint8_t>(read_pos_ + n < read_data_.size() ? 1 : 2),
          static_cast<std::uint8_t>(n)};
      r.insert(r.end(), read_data_.begin() + static_cast<std::ptrdiff_t>(read_pos_),
               read_data_.begin() + static_cast<std::ptrdiff_t>(read_pos_ + n));
      read_pos_ += n;
      if (overclaim_next_) {
        overclaim_next_ = false;
        r[2] = 62;
      }
      report(std::move(r));
      break;
    }
    case 0x17:  // Cancel Transfer
      ++cancels_;
      state_ = state::idle;
      busy_left_ = 0;
      read_data_.clear();
      read_pos_ = 0;
      break;
    default:
      break;  // the bridge ignores reports it does not know
  }
}

}  // namespace hilt::usbtest
