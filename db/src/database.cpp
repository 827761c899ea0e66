#include "hilt/db/database.hpp"

#include <sqlite3.h>

#include <cstdio>
#include <string>
#include <thread>
#include <utility>

#include "log.hpp"
#include "migrations.hpp"
#include "sqlite_errors.hpp"

namespace hilt::db {

namespace detail {

db_errc errc_for(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return db_errc::locked;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return db_errc::corrupt;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return db_errc::cannot_open;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
      return db_errc::io;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return db_errc::constraint;
    default:
      return db_errc::misuse;
  }
}

bool is_row_error(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return true;
    default:
      return false;
  }
}

std::shared_ptr<spdlog::logger> logger() {
  if (auto existing = spdlog::get("db")) return existing;
  auto fallback = spdlog::default_logger();
  auto created = fallback ? std::make_shared<spdlog::logger>("db", fallback->sinks().begin(),
                                                             fallback->sinks().end())
                          : std::make_shared<spdlog::logger>("db");
  if (fallback) created->set_level(fallback->level());
  try {
    spdlog::register_logger(created);
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered "db" first: use theirs.
    if (auto existing = spdlog::get("db")) return existing;
  }
  return created;
}

}  // namespace detail

namespace {

std::string hex32(std::int32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// database

database::database(std::filesystem::path path, const open_options& options)
    : path_(std::move(path)),
      read_only_(options.mode == open_mode::read_only),
      busy_timeout_(options.busy_timeout) {
  // Read-only callers (hilt runs / show) must not leave an empty database behind a typo, and
  // SQLite's own message for this case ("unable to open database file") does not say why.
  std::error_code ec;
  if (read_only_ && !std::filesystem::exists(path_, ec)) {
    throw db_error(db_errc::cannot_open, path_, "no such database");
  }
  // NOMUTEX: a connection is used by one thread at a time (documented), so SQLite's per-call
  // connection mutex would only cost time on the recorder's hot path.
  const int flags =
      (read_only_ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw db_error(db_errc::cannot_open, path_, "cannot open database (" + why + ")");
  }
  sqlite3_extended_result_codes(db_, 1);
  try {
    configure(options);
    check_and_migrate();
  } catch (...) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

database::~database() {
  // close_v2 defers the close until statements still alive are finalized, so destruction order
  // between a database and its statements does not matter.
  if (db_) sqlite3_close_v2(db_);
}

database::database(database&& other) noexcept
    : path_(std::move(other.path_)),
      db_(std::exchange(other.db_, nullptr)),
      read_only_(other.read_only_),
      busy_timeout_(other.busy_timeout_) {}

database& database::operator=(database&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    path_ = std::move(other.path_);
    db_ = std::exchange(other.db_, nullptr);
    read_only_ = other.read_only_;
    busy_timeout_ = other.busy_timeout_;
  }
  return *this;
}

void database::raise(int rc, std::string_view context) const {
  throw error_for(rc, context);
}

db_error database::error_for(int rc, std::string_view context) const {
  std::string text;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      text = "database is locked by another process (busy after " +
             std::to_string(busy_timeout_.count()) + " ms)";
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      text = std::string("not a hilt database or corrupt (") +
             (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)) + ")";
      break;
    default:
      text = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      break;
  }
  if (!context.empty()) text = std::string(context) + ": " + text;
  return db_error(detail::errc_for(rc), path_, text);
}

void database::exec(std::string_view sql) {
  const std::string owned(sql);  // sqlite3_exec needs a terminated string
  const int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) raise(rc);
}

int database::user_version() {
  statement query(*this, "PRAGMA user_version");
  query.step();
  return static_cast<int>(query.column_int64(0));  // finalized on return: no read lock kept
}

void database::configure(const open_options& options) {
  sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));

  // The first read of the file: a file that is not SQLite, or whose first page is damaged,
  // fails here with SQLITE_NOTADB / SQLITE_CORRUPT and gets the "not a hilt database or
  // corrupt" message rather than a confusing failure in a PRAGMA further down.
  {
    statement probe(*this, "SELECT count(*) FROM sqlite_schema");
    probe.step();
  }

  if (!read_only_) {
    // WAL: readers (hilt show, reports) never block the recorder and a killed writer leaves a
    // consistent database. Switching an existing rollback-journal file needs an exclusive
    // lock, which is where a database locked by another process shows up.
    //
    // SQLite does not call the busy handler here (this connection already holds a shared lock
    // while it asks for the exclusive one), so wait for the lock ourselves: otherwise two
    // processes opening a new file at once could fail at once instead of after busy_timeout.
    statement journal(*this, "PRAGMA journal_mode=WAL");
    const auto deadline = std::chrono::steady_clock::now() + options.busy_timeout;
    for (;;) {
      try {
        journal.step();
        break;
      } catch (const db_error& e) {
        if (e.code() != db_errc::locked || std::chrono::steady_clock::now() >= deadline) throw;
      }
      journal.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const std::string mode = journal.column_text(0);
    journal.reset();  // release the read lock the stepped statement holds
    if (mode != "wal") {
      throw db_error(db_errc::io, path_,
                     "cannot switch to WAL journal mode (journal mode stays '" + mode + "')");
    }
    // FULL: a committed batch survives power loss, not only a process crash (rule 3). Costs an
    // fsync per commit; the recorder commits a few times a second.
    exec("PRAGMA synchronous=FULL");
  }
  exec("PRAGMA foreign_keys=ON");
  if (options.cache_size_kib > 0) {
    exec("PRAGMA cache_size=-" + std::to_string(options.cache_size_kib));
  }
}

namespace {

// What decides how to open a file, read in ONE statement, i.e. one read transaction: read
// separately, another process could commit its migration between the reads, and we would see
// hilt tables in a file whose user_version we had just read as 0.
// The statement is finalized before returning: a stepped statement holds a read transaction,
// and asking for the write lock while holding one makes SQLite fail at once with SQLITE_BUSY
// instead of waiting (deadlock avoidance).
struct file_state {
  int version;
  std::int32_t app_id;
  std::int64_t tables;  // tables other than SQLite's own
};

file_state read_state(database& db) {
  statement q(db,
              "SELECT (SELECT user_version FROM pragma_user_version), "
              "       (SELECT application_id FROM pragma_application_id), "
              "       (SELECT count(*) FROM sqlite_schema "
              "         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\')");
  q.step();
  return {static_cast<int>(q.column_int64(0)), static_cast<std::int32_t>(q.column_int64(1)),
          q.column_int64(2)};
}

// Refuses files that are not hilt's or are too new, whatever the open mode.
void check_state(const std::filesystem::path& path, const file_state& state) {
  if (state.version == 0) {
    if (state.tables > 0) {
      throw db_error(db_errc::corrupt, path,
                     "not a hilt database (an SQLite database with other tables and no hilt "
                     "schema)");
    }
    return;
  }
  if (state.app_id != application_id) {
    throw db_error(db_errc::corrupt, path,
                   "not a hilt database (application_id " + hex32(state.app_id) + ", expected " +
                       hex32(application_id) + ")");
  }
  if (state.version > schema_version) {
    throw db_error(db_errc::newer_schema, path,
                   "database schema version " + std::to_string(state.version) +
                       " is newer than this hilt supports (" + std::to_string(schema_version) +
                       "); upgrade hilt");
  }
}

}  // namespace

void database::check_and_migrate() {
  const file_state state = read_state(*this);
  check_state(path_, state);
  if (state.version == schema_version) return;
  if (read_only_) {
    if (state.version == 0) {
      throw db_error(db_errc::corrupt, path_, "not a hilt database (empty file)");
    }
    throw db_error(db_errc::older_schema, path_,
                   "database schema version " + std::to_string(state.version) +
                       " is older than this hilt uses (" + std::to_string(schema_version) +
                       "); open it read-write once (e.g. hilt run) to upgrade it");
  }
  migrate();
}

void database::migrate() {
  // IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so two processes
  // opening the same new file cannot both start migrating.
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) raise(rc);
  int version = 0;
  try {
    // Re-read under the lock: another process may have migrated while we waited.
    const file_state state = read_state(*this);
    check_state(path_, state);
    version = state.version;
    for (const auto& m : detail::migrations()) {
      if (m.version <= version) continue;
      rc = sqlite3_exec(db_, std::string(m.sql).c_str(), nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) raise(rc, "migration " + std::string(m.name) + " failed");
    }
    // application_id and user_version live in the file header and are written by this same
    // transaction: the file is either fully at the new version or untouched.
    exec("PRAGMA application_id=" + std::to_string(application_id));
    exec("PRAGMA user_version=" + std::to_string(schema_version));
    rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) raise(rc, "cannot commit the schema migration");
  } catch (...) {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  if (version == 0) {
    detail::logger()->info("{}: created hilt database (schema version {})", path_.string(),
                           schema_version);
  } else if (version < schema_version) {
    detail::logger()->info("{}: schema migrated from version {} to {}", path_.string(), version,
                           schema_version);
  }
}

// ---------------------------------------------------------------------------------------------
// statement

statement::statement(database& db, std::string_view sql) : db_(&db) {
  const int rc =
      sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    db.raise(rc);
  }
  if (!stmt_) throw db_error(db_errc::misuse, db.path(), "empty SQL statement");
}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

statement::statement(statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}

statement& statement::operator=(statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

statement& statement::bind(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->raise(rc, "cannot bind parameter " + std::to_string(index));
  return *this;
}

statement& statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->raise(rc, "cannot bind parameter " + std::to_string(index));
  return *this;
}

statement& statement::bind_int64(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->raise(rc, "cannot bind parameter " + std::to_string(index));
  return *this;
}

statement& statement::bind_double(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) db_->raise(rc, "cannot bind parameter " + std::to_string(index));
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  try {
    db_->raise(rc);  // reads SQLite's message before the reset below can change it
  } catch (...) {
    sqlite3_reset(stmt_);  // leave the statement reusable whatever happened
    throw;
  }
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int statement::column_count() const {
  return sqlite3_column_count(stmt_);
}

bool statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double statement::column_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::int64_t> statement::column_opt_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int64(column);
}

std::optional<double> statement::column_opt_double(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_double(column);
}

std::optional<std::string> statement::column_opt_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_text(column);
}

}  // namespace hilt::db
