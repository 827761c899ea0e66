#include "hilt/db/error.hpp"

#include <string>

namespace hilt::db {

std::string_view to_string(db_errc code) noexcept {
  switch (code) {
    case db_errc::cannot_open:
      return "cannot_open";
    case db_errc::locked:
      return "locked";
    case db_errc::corrupt:
      return "corrupt";
    case db_errc::newer_schema:
      return "newer_schema";
    case db_errc::older_schema:
      return "older_schema";
    case db_errc::io:
      return "io";
    case db_errc::constraint:
      return "constraint";
    case db_errc::misuse:
      return "misuse";
    case db_errc::not_found:
      return "not_found";
  }
  return "unknown";
}

namespace {
// Messages must stay on one line (they end up in single-line logs and CLI output), whatever
// SQLite or a file name put in them.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}
}  // namespace

db_error::db_error(db_errc code, const std::filesystem::path& path, std::string_view message)
    : std::runtime_error(one_line(path.string() + ": " + std::string(message))),
      code_(code),
      path_(path) {}

}  // namespace hilt::db
