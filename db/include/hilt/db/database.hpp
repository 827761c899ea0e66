// hilt/db/database.hpp — opening a hilt database, and a thin prepared-statement wrapper.
//
// A hilt database is an SQLite file in WAL mode whose schema is created and upgraded by the
// numbered migrations in db/migrations (embedded into the library at build time).
// PRAGMA user_version is the number of migrations applied; PRAGMA application_id marks the file
// as hilt's.
//
// Opening read-write (the default):
//   * creates the file if missing;
//   * sets journal_mode=WAL, synchronous=FULL, foreign_keys=ON and the busy timeout;
//   * applies every pending migration, in order, in ONE transaction (all or nothing), so a
//     killed upgrade leaves the old schema intact;
//   * refuses (throws db_error) a file that is not SQLite or is damaged (corrupt), an SQLite file
//     that is not hilt's (corrupt: "not a hilt database"), a schema newer than this build
//     (newer_schema), and a write lock held elsewhere past the busy timeout (locked).
// Opening read-only (`hilt runs`, `hilt show`, reports):
//   * never creates the file ("x.db: no such database", cannot_open) and never writes;
//   * accepts only a database at exactly schema_version: older ones must be opened read-write
//     once to be upgraded (older_schema), newer ones need a newer hilt (newer_schema).
//
// Logging: hilt_db logs (database created, schema migrated, recorder errors) through the spdlog
// logger named "db": the application's, if it registered one before the first message;
// otherwise one created on the default logger's sinks and level.
//
// Threading: a database (and its statements) may be used by one thread at a time; it may move
// between threads. Concurrent access from several threads or processes uses several databases
// (SQLite WAL lets readers run alongside one writer).
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "hilt/db/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace hilt::db {

// The schema version this build reads and writes = the number of migrations in db/migrations.
// (A build step checks the two agree.)
inline constexpr int schema_version = 1;

// PRAGMA application_id of a hilt database: 'HILT' in ASCII.
inline constexpr std::int32_t application_id = 0x48494C54;

enum class open_mode { read_write, read_only };

struct open_options {
  open_mode mode = open_mode::read_write;
  // How long to wait for another connection's write lock before failing with db_errc::locked.
  std::chrono::milliseconds busy_timeout{2000};
  // SQLite page cache of this connection in KiB; 0 keeps SQLite's default (2 MiB).
  int cache_size_kib = 0;
};

class database {
 public:
  // Opens (and, read-write, creates and migrates) the database at `path`; see the file comment
  // for what is refused. Throws db_error.
  explicit database(std::filesystem::path path, const open_options& options = {});
  ~database();
  database(database&& other) noexcept;
  database& operator=(database&& other) noexcept;
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  bool read_only() const noexcept { return read_only_; }
  std::chrono::milliseconds busy_timeout() const noexcept { return busy_timeout_; }

  // PRAGMA user_version: the schema version of the file (== schema_version once open).
  int user_version();

  // Runs one or more SQL statements that return no rows. Throws db_error.
  void exec(std::string_view sql);

  // The raw SQLite handle, for what this wrapper does not cover. Stays owned by the database.
  sqlite3* handle() const noexcept { return db_; }

  // The db_error for SQLite result code `rc` on this connection, with `context` (e.g.
  // "cannot insert step 12") before SQLite's own message. busy/locked get the standard
  // "database is locked by another process (busy after N ms)" text, damaged and foreign files
  // "not a hilt database or corrupt (...)". Call right after the failing SQLite call: it reads
  // the connection's last error message.
  db_error error_for(int rc, std::string_view context = {}) const;
  // Throws error_for(rc, context).
  [[noreturn]] void raise(int rc, std::string_view context = {}) const;

 private:
  void configure(const open_options& options);
  void check_and_migrate();
  void migrate();

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  bool read_only_ = false;
  std::chrono::milliseconds busy_timeout_{2000};
};

// A prepared statement. Parameters are numbered from 1, result columns from 0 (as in SQLite).
// Binding an empty std::optional binds NULL. step() returns true while a row is available.
class statement {
 public:
  statement(database& db, std::string_view sql);
  ~statement();
  statement(statement&& other) noexcept;
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  template <std::integral T>
  statement& bind(int index, T value) {
    return bind_int64(index, static_cast<std::int64_t>(value));
  }
  template <std::floating_point T>
  statement& bind(int index, T value) {
    return bind_double(index, static_cast<double>(value));
  }
  statement& bind(int index, std::string_view text);
  statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  statement& bind(int index, std::nullopt_t) { return bind_null(index); }
  template <typename T>
  statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }
  statement& bind_null(int index);
  statement& bind_int64(int index, std::int64_t value);
  statement& bind_double(int index, double value);

  // Steps once: true = a row is available, false = done. Throws db_error.
  bool step();
  // Resets to run again and clears the bindings.
  void reset();

  int column_count() const;
  bool is_null(int column) const;
  std::int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;  // NULL reads as ""
  std::optional<std::int64_t> column_opt_int64(int column) const;
  std::optional<double> column_opt_double(int column) const;
  std::optional<std::string> column_opt_text(int column) const;

  sqlite3_stmt* handle() const noexcept { return stmt_; }

 private:
  const database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace hilt::db
