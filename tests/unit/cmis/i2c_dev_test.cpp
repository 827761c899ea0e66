// The Linux i2c-dev transport's pure parts: message building, errno mapping, open errors.
#include <gtest/gtest.h>

#include <cerrno>

#include "hilt/error.hpp"
#include "hilt/transport/i2c_dev.hpp"

namespace {

TEST(I2cDev, BuildsWriteThenReadMessages) {
  std::array<i2c_msg, 2> msgs{};
  const std::uint8_t ptr[] = {128};
  std::uint8_t buf[128];
  ASSERT_EQ(hilt::build_i2c_rdwr(0x50, ptr, buf, msgs), 2u);
  EXPECT_EQ(msgs[0].addr, 0x50);
  EXPECT_EQ(msgs[0].flags, 0);
  EXPECT_EQ(msgs[0].len, 1);
  EXPECT_EQ(msgs[0].buf, ptr);
  EXPECT_EQ(msgs[1].addr, 0x50);
  EXPECT_EQ(msgs[1].flags, I2C_M_RD);
  EXPECT_EQ(msgs[1].len, 128);
  EXPECT_EQ(msgs[1].buf, buf);
}

TEST(I2cDev, WriteOnlyReadOnlyAndEmpty) {
  std::array<i2c_msg, 2> msgs{};
  const std::uint8_t w[] = {26, 0x10};
  std::uint8_t r[4];
  ASSERT_EQ(hilt::build_i2c_rdwr(0x51, w, {}, msgs), 1u);
  EXPECT_EQ(msgs[0].flags, 0);
  EXPECT_EQ(msgs[0].len, 2);
  ASSERT_EQ(hilt::build_i2c_rdwr(0x51, {}, r, msgs), 1u);
  EXPECT_EQ(msgs[0].flags, I2C_M_RD);
  EXPECT_EQ(msgs[0].len, 4);
  EXPECT_EQ(hilt::build_i2c_rdwr(0x51, {}, {}, msgs), 0u);
}

TEST(I2cDev, ErrnoMapping) {
  EXPECT_EQ(hilt::map_i2c_errno(ENXIO), hilt::errc::nack);
  EXPECT_EQ(hilt::map_i2c_errno(EREMOTEIO), hilt::errc::nack);
  EXPECT_EQ(hilt::map_i2c_errno(ETIMEDOUT), hilt::errc::bus_timeout);
  EXPECT_EQ(hilt::map_i2c_errno(EAGAIN), hilt::errc::arbitration_lost);
  EXPECT_EQ(hilt::map_i2c_errno(ENODEV), hilt::errc::disconnected);
  EXPECT_EQ(hilt::map_i2c_errno(EIO), hilt::errc::io_error);
  EXPECT_EQ(hilt::map_i2c_errno(EINVAL), hilt::errc::io_error);
}

TEST(I2cDev, OpenErrorsSayWhatToDo) {
  EXPECT_EQ(hilt::describe_open_error("/dev/i2c-3", EACCES),
            "cannot open /dev/i2c-3: Permission denied — add your user to group i2c (or run with "
            "access to the device)");
  std::string why;
  auto r = hilt::i2c_dev_bus::open("/nonexistent/i2c-99", &why);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), hilt::errc::device_not_found);
  EXPECT_EQ(why.rfind("cannot open /nonexistent/i2c-99: No such file or directory", 0), 0u) << why;
  // A file that is not an I2C adapter: the I2C_FUNCS ioctl fails.
  r = hilt::i2c_dev_bus::open("/dev/null", &why);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), hilt::errc::not_supported);
  EXPECT_NE(why.find("does not support plain I2C transfers"), std::string::npos) << why;
}

}  // namespace
