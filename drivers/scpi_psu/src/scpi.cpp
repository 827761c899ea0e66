#include "hilt/scpi_psu/scpi.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace hilt::scpi {

namespace {
std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<double> parse_number(std::string_view reply) noexcept {
  std::string_view s = trim(reply);
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  // The grammar, checked before from_chars (which would also take "inf", "nan" and hex floats).
  std::size_t i = 0, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  if (v >= 9.9e37) return std::nullopt;  // SCPI-99: 9.9E37 overrange, 9.91E37 not-a-number
  return negative ? -v : v;
}

std::optional<bool> parse_bool(std::string_view reply) noexcept {
  std::string_view s = trim(reply);
  if (s == "1" || s == "+1") return true;
  if (s == "0" || s == "+0") return false;
  if (s.size() == 2 && std::toupper(static_cast<unsigned char>(s[0])) == 'O' &&
      std::toupper(static_cast<unsigned char>(s[1])) == 'N')
    return true;
  if (s.size() == 3 && std::toupper(static_cast<unsigned char>(s[0])) == 'O' &&
      std::toupper(static_cast<unsigned char>(s[1])) == 'F' &&
      std::toupper(static_cast<unsigned char>(s[2])) == 'F')
    return false;
  return std::nullopt;
}

std::optional<error_entry> parse_error(std::string_view reply) {
  std::string_view s = trim(reply);
  const auto comma = s.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view num = trim(s.substr(0, comma));
  if (!num.empty() && num.front() == '+') num.remove_prefix(1);
  int code = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), code);
  if (num.empty() || ec != std::errc{} || p != num.data() + num.size()) return std::nullopt;
  std::string_view rest = trim(s.substr(comma + 1));
  if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"') return std::nullopt;
  rest = rest.substr(1, rest.size() - 2);
  error_entry e;
  e.code = code;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '"') {
      if (i + 1 < rest.size() && rest[i + 1] == '"') {
        e.text.push_back('"');
        ++i;
        continue;
      }
      return std::nullopt;  // a lone quote inside the string
    }
    const auto c = static_cast<unsigned char>(rest[i]);
    if (c < 0x20 || c > 0x7E) return std::nullopt;
    e.text.push_back(rest[i]);
  }
  return e;
}

std::optional<std::array<std::string, 4>> parse_idn(std::string_view reply) {
  std::string_view s = trim(reply);
  std::array<std::string, 4> out;
  std::size_t field = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return std::nullopt;
    if (ch == ',') {
      if (++field >= out.size()) return std::nullopt;
      continue;
    }
    out[field].push_back(ch);
  }
  if (field != 3 || out[0].empty() || out[1].empty()) return std::nullopt;
  for (auto& f : out)
    f = std::string(trim(f));
  return out;
}

std::string format_value(double v) {
  return fmt::format("{}", v);
}

std::string expand(std::string_view tmpl, int channel, double value) {
  std::string out;
  out.reserve(tmpl.size() + 8);
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i).starts_with("{channel}")) {
      out += std::to_string(channel);
      i += 9;
    } else if (tmpl.substr(i).starts_with("{value}")) {
      out += format_value(value);
      i += 7;
    } else {
      out.push_back(tmpl[i++]);
    }
  }
  return out;
}

}  // namespace hilt::scpi
