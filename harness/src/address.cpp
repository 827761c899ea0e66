#include "hilt/address.hpp"

#include <fmt/format.h>

#include <charconv>

#include "hilt/error.hpp"

namespace hilt {

address address::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return config_error({}, fmt::format("bad device address '{}': {}", text, why));
  };
  address a;
  a.text = std::string(text);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw bad("expected DRIVER:TRANSPORT:TARGET, e.g. cmis:emu-i2c:port1@0x50");
  }
  a.driver = std::string(text.substr(0, colon));
  if (a.driver.empty()) throw bad("the driver name before ':' is empty");
  std::string_view rest = text.substr(colon + 1);
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view opts = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!opts.empty()) {
      const auto amp = opts.find('&');
      const std::string_view kv = opts.substr(0, amp);
      const auto eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw bad(fmt::format("option '{}' is not key=value", kv));
      }
      a.options.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
      if (amp == std::string_view::npos) break;
      opts = opts.substr(amp + 1);
    }
  }
  // TRANSPORT:TARGET, where TARGET may itself hold ':' (tcp:127.0.0.1:5025).
  if (const auto c2 = rest.find(':'); c2 != std::string_view::npos) {
    a.transport = std::string(rest.substr(0, c2));
    a.target = std::string(rest.substr(c2 + 1));
  } else {
    a.target = std::string(rest);
  }
  if (a.target.empty()) throw bad("the target after the driver/transport is empty");
  return a;
}

i2c_target i2c_target::parse(std::string_view target) {
  auto bad = [&](std::string_view why) {
    return config_error({}, fmt::format("bad I2C target '{}': {}", target, why));
  };
  const auto at = target.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    throw bad("expected BUS@ADDRESS, e.g. port1@0x50");
  }
  i2c_target t;
  t.bus = std::string(target.substr(0, at));
  std::string_view num = target.substr(at + 1);
  int base = 10;
  if (num.starts_with("0x") || num.starts_with("0X")) {
    num.remove_prefix(2);
    base = 16;
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v, base);
  if (num.empty() || ec != std::errc{} || p != num.data() + num.size()) {
    throw bad("the address after '@' is not a number");
  }
  // 0x00-0x02 and 0x78-0x7F are reserved by the I2C specification (general call, 10-bit, ...).
  if (v < 0x03 || v > 0x77) throw bad("7-bit address must be within 0x03..0x77");
  t.addr = v;
  return t;
}

}  // namespace hilt
