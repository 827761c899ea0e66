#include "hilt/emu/pmbus_regulator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "hilt/error.hpp"
#include "hilt/pmbus/linear.hpp"

namespace hilt::emu {

namespace cmd = hilt::pmbus::cmd;
namespace st = hilt::pmbus::status;

namespace {
constexpr std::uint8_t cml_invalid_command = 0x80;  // STATUS_CML bit 7 (Part II §17.7)
constexpr std::uint8_t cml_invalid_data = 0x40;     // STATUS_CML bit 6
constexpr std::uint8_t capability = 0x20;           // 400 kHz, no PEC, no SMBALERT#

std::uint16_t l11(double v) {
  return hilt::pmbus::linear11_encode(v).value_or(0x7BFF);
}

bool known(std::uint8_t c) {
  switch (c) {
    case cmd::page:
    case cmd::operation:
    case cmd::clear_faults:
    case 0x19:
    case cmd::vout_mode:
    case cmd::vout_command:
    case cmd::iout_oc_fault_limit:
    case cmd::status_byte:
    case cmd::status_word:
    case cmd::status_vout:
    case cmd::status_iout:
    case cmd::status_temperature:
    case cmd::status_cml:
    case cmd::read_vin:
    case cmd::read_iin:
    case cmd::read_vout:
    case cmd::read_iout:
    case cmd::read_temperature_1:
    case cmd::read_pout:
    case cmd::read_pin:
    case cmd::pmbus_revision:
    case cmd::mfr_id:
    case cmd::mfr_model:
    case cmd::mfr_revision:
    case cmd::mfr_serial:
      return true;
    default:
      return false;
  }
}
}  // namespace

pmbus_regulator::pmbus_regulator(std::shared_ptr<const world> w, std::shared_ptr<power_rail> rail,
                                 regulator_params p)
    : world_(std::move(w)), rail_(std::move(rail)), p_(std::move(p)) {
  on_ = p_.on;
  vout_cmd_ = p_.vout;
  iout_limit_ = p_.iout_limit;
  std::lock_guard lk(mu_);
  sync_rail();
}

void pmbus_regulator::sync_rail() {
  // Power coupling (power_rail.hpp): the devices on the rail see what the output delivers.
  if (!rail_) return;
  const double v = on_ && !oc_latched_ ? vout_cmd_ : 0.0;
  if (told_ && *told_ == v) return;
  told_ = v;
  rail_->set_source_volts(v);
}

pmbus_regulator::snapshot pmbus_regulator::evaluate() {
  snapshot s;
  s.vin = p_.vin;
  const bool was_on = on_ && !oc_latched_;
  if (was_on) {
    s.vout = vout_cmd_;
    s.pout = rail_ ? rail_->power_at(s.vout) : 0.0;
    s.iout = s.vout > 0 ? s.pout / s.vout : 0.0;
    if (s.iout > iout_limit_) {
      oc_latched_ = true;  // latch off (IOUT_OC_FAULT_RESPONSE "shut down", Part II §15.6)
    }
  }
  s.on = on_ && !oc_latched_;
  if (!s.on) s.vout = s.iout = s.pout = 0;
  s.pin = s.on ? s.pout / p_.efficiency : p_.standby_w;
  s.iin = s.vin > 0 ? s.pin / s.vin : 0;
  s.temperature = world_->ambient_c() + p_.thermal_c_per_w * (s.pin - s.pout);
  std::uint16_t w = 0;
  if (!s.on) w |= st::off | st::power_good_n;
  if (oc_latched_) w |= st::iout_oc_fault | st::iout_pout;
  if (status_cml_) w |= st::cml;
  if (w & st::power_good_n) w |= st::none_of_the_above;
  s.status_word = w;
  sync_rail();
  return s;
}

pmbus_regulator::snapshot pmbus_regulator::read() {
  std::lock_guard lk(mu_);
  return evaluate();
}

std::string pmbus_regulator::describe(const std::string& label) {
  std::lock_guard lk(mu_);
  const auto s = evaluate();
  return fmt::format("{} {} vout={:.3f}V iout={:.2f}A pout={:.2f}W status=0x{:04x}", label,
                     s.on ? "on" : "off", s.vout, s.iout, s.pout, s.status_word);
}

std::error_code pmbus_regulator::nack_cml(std::uint8_t bit) {
  status_cml_ |= bit;
  return make_error_code(errc::nack);
}

std::error_code pmbus_regulator::write_command(std::uint8_t c, std::span<const std::uint8_t> data) {
  auto word = [&] { return static_cast<std::uint16_t>(data[0] | (data[1] << 8)); };
  switch (c) {
    case cmd::page:
      if (data.size() != 1 || data[0] != 0) return nack_cml(cml_invalid_data);
      return {};
    case cmd::operation:
      if (data.size() != 1) return nack_cml(cml_invalid_data);
      on_ = (data[0] & 0x80) != 0;
      sync_rail();
      return {};
    case cmd::clear_faults:
      if (!data.empty()) return nack_cml(cml_invalid_data);
      oc_latched_ = false;
      status_cml_ = 0;
      sync_rail();
      return {};
    case cmd::vout_command:
      if (data.size() != 2) return nack_cml(cml_invalid_data);
      vout_cmd_ = hilt::pmbus::linear16_decode(word(), p_.vout_exponent);
      sync_rail();
      return {};
    case cmd::iout_oc_fault_limit:
      if (data.size() != 2) return nack_cml(cml_invalid_data);
      iout_limit_ = hilt::pmbus::linear11_decode(word());
      return {};
    default:
      return nack_cml(cml_invalid_data);  // a read-only command written to
  }
}

std::error_code pmbus_regulator::on_write(std::span<const std::uint8_t> bytes) {
  std::lock_guard lk(mu_);
  const std::uint8_t c = bytes[0];
  // An unsupported command code is not acknowledged, and STATUS_CML bit 7 says so.
  if (!known(c) || p_.unsupported.count(c)) return nack_cml(cml_invalid_command);
  pointer_ = c;
  if (bytes.size() > 1) return write_command(c, bytes.subspan(1));
  return {};
}

std::error_code pmbus_regulator::on_transfer(std::span<const std::uint8_t> write,
                                             std::span<std::uint8_t> read) {
  if (write.size() == 1 && read.empty()) {
    // SMBus Send Byte: the command alone (CLEAR_FAULTS).
    std::lock_guard lk(mu_);
    const std::uint8_t c = write[0];
    if (!known(c) || p_.unsupported.count(c)) return nack_cml(cml_invalid_command);
    pointer_ = c;
    if (c == cmd::clear_faults) return write_command(c, {});
    return {};
  }
  if (!write.empty()) {
    if (auto ec = on_write(write)) return ec;
  }
  if (!read.empty()) return on_read(read);
  return {};
}

std::error_code pmbus_regulator::on_read(std::span<std::uint8_t> out) {
  std::lock_guard lk(mu_);
  const auto s = evaluate();
  std::vector<std::uint8_t> data;
  auto byte = [&](std::uint8_t b) { data = {b}; };
  auto word = [&](std::uint16_t w) {
    data = {static_cast<std::uint8_t>(w & 0xFF), static_cast<std::uint8_t>(w >> 8)};
  };
  auto block = [&](const std::string& text) {
    data.clear();
    data.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(text.size(), 32)));
    for (std::size_t i = 0; i < text.size() && i < 32; ++i) {
      data.push_back(static_cast<std::uint8_t>(text[i]));
    }
  };
  const auto vout16 = [&](double v) {
    return hilt::pmbus::linear16_encode(v, p_.vout_exponent).value_or(0xFFFF);
  };
  switch (pointer_) {
    case cmd::page:
      byte(0);
      break;
    case cmd::operation:
      byte(on_ ? 0x80 : 0x00);
      break;
    case 0x19:
      byte(capability);
      break;
    case cmd::vout_mode:
      byte(hilt::pmbus::linear_vout_mode(p_.vout_exponent));
      break;
    case cmd::vout_command:
      word(vout16(vout_cmd_));
      break;
    case cmd::iout_oc_fault_limit:
      word(l11(iout_limit_));
      break;
    case cmd::status_byte:
      byte(static_cast<std::uint8_t>(s.status_word & 0xFF));
      break;
    case cmd::status_word:
      word(s.status_word);
      break;
    case cmd::status_vout:
      byte(0);
      break;
    case cmd::status_iout:
      byte(oc_latched_ ? 0x80 : 0x00);
      break;
    case cmd::status_temperature:
      byte(0);
      break;
    case cmd::status_cml:
      byte(status_cml_);
      break;
    case cmd::read_vin:
      word(l11(s.vin));
      break;
    case cmd::read_iin:
      word(l11(s.iin));
      break;
    case cmd::read_vout:
      word(vout16(s.vout));
      break;
    case cmd::read_iout:
      word(l11(s.iout));
      break;
    case cmd::read_temperature_1:
      word(l11(s.temperature));
      break;
    case cmd::read_pout:
      word(l11(s.pout));
      break;
    case cmd::read_pin:
      word(l11(s.pin));
      break;
    case cmd::pmbus_revision:
      byte(p_.pmbus_revision);
      break;
    case cmd::mfr_id:
      block(p_.mfr_id);
      break;
    case cmd::mfr_model:
      block(p_.mfr_model);
      break;
    case cmd::mfr_revision:
      block(p_.mfr_revision);
      break;
    case cmd::mfr_serial:
      if (p_.mfr_serial.empty()) return nack_cml(cml_invalid_command);
      block(p_.mfr_serial);
      break;
    default:
      return nack_cml(cml_invalid_command);
  }
  if (p_.unsupported.count(pointer_)) return nack_cml(cml_invalid_command);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = i < data.size() ? data[i] : 0xFF;
  return {};
}

}  // namespace hilt::emu
