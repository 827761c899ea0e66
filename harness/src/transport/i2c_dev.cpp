#include "hilt/transport/i2c_dev.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/i2c-dev.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hilt/error.hpp"

namespace hilt {

std::size_t build_i2c_rdwr(std::uint8_t addr, std::span<const std::uint8_t> write,
                           std::span<std::uint8_t> read, std::array<i2c_msg, 2>& msgs) noexcept {
  std::size_t n = 0;
  if (!write.empty()) {
    // The kernel takes a non-const buffer for both directions; it only reads from a write message.
    msgs[n++] = i2c_msg{addr, 0, static_cast<__u16>(write.size()), const_cast<__u8*>(write.data())};
  }
  if (!read.empty()) {
    msgs[n++] = i2c_msg{addr, I2C_M_RD, static_cast<__u16>(read.size()), read.data()};
  }
  return n;
}

std::error_code map_i2c_errno(int err) noexcept {
  switch (err) {
    case ENXIO:
    case EREMOTEIO:
      return make_error_code(errc::nack);
    case ETIMEDOUT:
      return make_error_code(errc::bus_timeout);
    case EAGAIN:
      return make_error_code(errc::arbitration_lost);
    case ENODEV:
      return make_error_code(errc::disconnected);
    default:
      return make_error_code(errc::io_error);
  }
}

std::string describe_open_error(const std::string& path, int err) {
  std::string msg = fmt::format("cannot open {}: {}", path, std::strerror(err));
  switch (err) {
    case EACCES:
    case EPERM:
      msg += " — add your user to group i2c (or run with access to the device)";
      break;
    case ENOENT:
      msg += " — is the i2c-dev module loaded (modprobe i2c-dev) and the bus number right?";
      break;
    default:
      break;
  }
  return msg;
}

result<std::shared_ptr<i2c_dev_bus>> i2c_dev_bus::open(const std::string& path, std::string* why) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (why) *why = describe_open_error(path, err);
    return failure(make_error_code(err == ENOENT ? errc::device_not_found : errc::io_error));
  }
  unsigned long funcs = 0;
  if (::ioctl(fd, I2C_FUNCS, &funcs) < 0 || !(funcs & I2C_FUNC_I2C)) {
    ::close(fd);
    if (why) {
      *why = fmt::format(
          "{}: the adapter does not support plain I2C transfers (I2C_RDWR); "
          "SMBus-only adapters are not supported by this transport",
          path);
    }
    return failure(make_error_code(errc::not_supported));
  }
  return std::shared_ptr<i2c_dev_bus>(new i2c_dev_bus(path, fd));
}

i2c_dev_bus::~i2c_dev_bus() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code i2c_dev_bus::transfer(std::uint8_t addr, std::span<const std::uint8_t> write,
                                      std::span<std::uint8_t> read) {
  if (write.size() > max_write() || read.size() > max_read()) {
    return make_error_code(errc::invalid_argument);
  }
  std::array<i2c_msg, 2> msgs{};
  const std::size_t n = build_i2c_rdwr(addr, write, read, msgs);
  if (n == 0) return {};
  i2c_rdwr_ioctl_data data{msgs.data(), static_cast<__u32>(n)};
  if (::ioctl(fd_, I2C_RDWR, &data) < 0) return map_i2c_errno(errno);
  return {};
}

}  // namespace hilt
