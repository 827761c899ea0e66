// hilt/db/error.hpp — the one exception type of hilt_db.
//
// Every failure of the database layer (opening, migrating, writing, querying) is reported as a
// hilt::db::db_error: what() is ONE line that starts with the database path and says what is
// wrong and, where there is one, what to do, e.g.
//   "hilt.db: database schema version 7 is newer than this hilt supports (1); upgrade hilt"
//   "x.db: not a hilt database or corrupt (file is not a database)"
//   "x.db: database is locked by another process (busy after 2000 ms)"
// code() classifies the failure for callers that react differently (the CLI maps codes to exit
// statuses); path() is the database file as the caller named it.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hilt::db {

enum class db_errc {
  cannot_open,   // the file cannot be opened or created (missing, permissions, no such folder)
  locked,        // another connection held the write lock for longer than the busy timeout
  corrupt,       // not an SQLite file, a damaged one, or an SQLite file that is not hilt's
  newer_schema,  // written by a newer hilt: this build cannot read it safely
  older_schema,  // needs a migration but was opened read-only
  io,            // disk full, I/O error, read-only file system
  constraint,    // a row was refused (foreign key, CHECK, UNIQUE): a bug in the caller
  misuse,        // the API was used wrongly (bad argument, closed recorder, SQL error)
  not_found,     // the requested run (or other object) does not exist
};

// Stable lower-case name of a code, e.g. "newer_schema".
std::string_view to_string(db_errc code) noexcept;

class db_error : public std::runtime_error {
 public:
  // `message` is the part after "path: "; the full one-line text is "<path>: <message>".
  db_error(db_errc code, const std::filesystem::path& path, std::string_view message);

  db_errc code() const noexcept { return code_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  db_errc code_;
  std::filesystem::path path_;
};

}  // namespace hilt::db
