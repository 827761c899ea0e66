#include "hilt/db/database.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace hilt::db {
namespace {

using testing::raw_connection;
using testing::temp_dir;
using testing::write_file;

// Runs `open` and returns the db_error it throws (failing the test if it throws nothing).
template <typename Open>
db_error open_error(Open open) {
  try {
    open();
  } catch (const db_error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a db_error";
  return db_error(db_errc::misuse, "", "no error");
}

TEST(Database, MigratesAnEmptyFileToTheCurrentSchema) {
  temp_dir dir;
  const auto path = dir / "new.db";
  {
    database db(path);
    EXPECT_EQ(db.user_version(), schema_version);
    EXPECT_FALSE(db.read_only());
  }
  raw_connection raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), schema_version);
  EXPECT_EQ(raw.scalar("PRAGMA application_id"), application_id);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  for (const char* table : {"runs", "run_devices", "duts", "steps", "measurements", "ber_counts",
                            "metrics", "samples", "events"}) {
    EXPECT_EQ(raw.scalar(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                     "AND name = '") +
                         table + "'"),
              1)
        << table;
  }
  for (const char* view :
       {"v_step_verdicts", "v_latest_samples", "v_measurement_verdicts", "v_run_summary"}) {
    EXPECT_EQ(raw.scalar(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'view' "
                                     "AND name = '") +
                         view + "'"),
              1)
        << view;
  }
}

TEST(Database, ConnectionSettings) {
  temp_dir dir;
  database db(dir / "settings.db", {.busy_timeout = std::chrono::milliseconds(1234)});
  EXPECT_EQ(db.busy_timeout(), std::chrono::milliseconds(1234));
  auto pragma = [&](const char* sql) {
    statement q(db, sql);
    q.step();
    return q.column_text(0);
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("PRAGMA foreign_keys"), "1");
  EXPECT_EQ(pragma("PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(pragma("PRAGMA busy_timeout"), "1234");
}

TEST(Database, ReopeningIsANoOp) {
  temp_dir dir;
  const auto path = dir / "again.db";
  { database first(path); }
  database second(path);
  EXPECT_EQ(second.user_version(), schema_version);
  database read_only(path, {.mode = open_mode::read_only});
  EXPECT_EQ(read_only.user_version(), schema_version);
}

TEST(Database, ForeignKeysAreEnforced) {
  temp_dir dir;
  database db(dir / "fk.db");
  const db_error e =
      open_error([&] { db.exec("INSERT INTO duts (run_id, slot, name) VALUES (99, 1, 'dut')"); });
  EXPECT_EQ(e.code(), db_errc::constraint);
  EXPECT_NE(std::string(e.what()).find("FOREIGN KEY"), std::string::npos) << e.what();
}

TEST(Database, RefusesANewerSchema) {
  temp_dir dir;
  const auto path = dir / "hilt.db";
  { database db(path); }
  {
    raw_connection raw(path);
    raw.exec("PRAGMA user_version = 7");
  }
  const db_error e = open_error([&] { database db(path); });
  EXPECT_EQ(e.code(), db_errc::newer_schema);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": database schema version 7 is newer than this hilt supports (" +
                std::to_string(schema_version) + "); upgrade hilt");
  // Read-only too, and neither touched the file.
  const db_error ro = open_error([&] { database db(path, {.mode = open_mode::read_only}); });
  EXPECT_EQ(ro.code(), db_errc::newer_schema);
  raw_connection raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), 7);
}

TEST(Database, RefusesGarbage) {
  temp_dir dir;
  const auto path = dir / "x.db";
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = static_cast<char>((i * 7919) % 251);
  write_file(path, garbage);
  const db_error e = open_error([&] { database db(path); });
  EXPECT_EQ(e.code(), db_errc::corrupt);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": not a hilt database or corrupt (file is not a database)");
}

TEST(Database, RefusesATextFile) {
  temp_dir dir;
  const auto path = dir / "notes.db";
  write_file(path, "these are my notes, not a database\n");
  const db_error e = open_error([&] { database db(path, {.mode = open_mode::read_only}); });
  EXPECT_EQ(e.code(), db_errc::corrupt);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": not a hilt database or corrupt (file is not a database)");
  // And the file is left as it was.
  EXPECT_EQ(std::filesystem::file_size(path), 35u);
}

TEST(Database, RefusesADamagedHiltDatabase) {
  temp_dir dir;
  const auto path = dir / "damaged.db";
  {
    database db(path);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  // Keep the 100-byte header (so SQLite still recognises the file), scribble over the rest of
  // page 1, which holds the schema.
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    const std::string junk(3000, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const db_error e = open_error([&] { database db(path); });
  EXPECT_EQ(e.code(), db_errc::corrupt);
  EXPECT_NE(std::string(e.what()).find(path.string() + ": not a hilt database or corrupt ("),
            std::string::npos)
      << e.what();
}

TEST(Database, RefusesAnotherApplicationsSqliteFile) {
  temp_dir dir;
  const auto path = dir / "other.db";
  {
    raw_connection raw(path);
    raw.exec("CREATE TABLE contacts (name TEXT, phone TEXT)");
  }
  const db_error e = open_error([&] { database db(path); });
  EXPECT_EQ(e.code(), db_errc::corrupt);
  EXPECT_EQ(std::string(e.what()),
            path.string() +
                ": not a hilt database (an SQLite database with other tables and no hilt schema)");
  // Not migrated behind the user's back.
  raw_connection raw(path);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'runs'"), 0);
}

TEST(Database, RefusesAnSqliteFileWithAForeignApplicationId) {
  temp_dir dir;
  const auto path = dir / "foreign.db";
  {
    raw_connection raw(path);
    raw.exec("PRAGMA application_id = 42; PRAGMA user_version = 1; CREATE TABLE t (x)");
  }
  const db_error e = open_error([&] { database db(path); });
  EXPECT_EQ(e.code(), db_errc::corrupt);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": not a hilt database (application_id 0x0000002a, expected " +
                "0x48494c54)");
}

TEST(Database, RefusesWhileAnotherProcessHoldsTheWriteLock) {
  temp_dir dir;
  const auto path = dir / "x.db";
  // Another connection creates the file and holds the write lock: our open must migrate, so it
  // needs the lock, and gives up after the busy timeout.
  raw_connection other(path);
  other.exec("BEGIN IMMEDIATE");
  const auto started = std::chrono::steady_clock::now();
  const db_error e =
      open_error([&] { database db(path, {.busy_timeout = std::chrono::milliseconds(100)}); });
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(e.code(), db_errc::locked);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": database is locked by another process (busy after 100 ms)");
  EXPECT_GE(waited, std::chrono::milliseconds(90));  // it did wait for the lock
  other.exec("ROLLBACK");
  database db(path);  // and opens once the lock is gone
  EXPECT_EQ(db.user_version(), schema_version);
}

TEST(Database, OpensAlongsideAWriterWhenNoMigrationIsNeeded) {
  temp_dir dir;
  const auto path = dir / "busy.db";
  { database db(path); }
  raw_connection other(path);
  other.exec("BEGIN IMMEDIATE; INSERT INTO metrics (name, unit) VALUES ('m', 'V')");
  // WAL: readers and a second writer's open do not need the lock.
  database reader(path, {.mode = open_mode::read_only});
  database writer(path, {.busy_timeout = std::chrono::milliseconds(50)});
  const db_error e =
      open_error([&] { writer.exec("INSERT INTO metrics (name, unit) VALUES ('n', 'A')"); });
  EXPECT_EQ(e.code(), db_errc::locked);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": database is locked by another process (busy after 50 ms)");
  other.exec("COMMIT");
}

TEST(Database, ConcurrentOpensOfANewFileAllSucceed) {
  // Several processes (here threads with their own connections) starting on the same new file:
  // one migrates, the others wait for its lock and then find the schema in place.
  temp_dir dir;
  const auto path = dir / "shared.db";
  std::vector<std::thread> openers;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    openers.emplace_back([&] {
      try {
        database db(path);
        if (db.user_version() == schema_version) ++opened;
      } catch (const db_error& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : openers)
    t.join();
  EXPECT_EQ(opened.load(), 4);
}

TEST(Database, ReadOnlyDoesNotCreateAMissingFile) {
  temp_dir dir;
  const auto path = dir / "x.db";
  const db_error e = open_error([&] { database db(path, {.mode = open_mode::read_only}); });
  EXPECT_EQ(e.code(), db_errc::cannot_open);
  EXPECT_EQ(std::string(e.what()), path.string() + ": no such database");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Database, ReadOnlyRefusesAnEmptyFile) {
  temp_dir dir;
  const auto path = dir / "empty.db";
  write_file(path, "");
  const db_error e = open_error([&] { database db(path, {.mode = open_mode::read_only}); });
  EXPECT_EQ(e.code(), db_errc::corrupt);
  EXPECT_EQ(std::string(e.what()), path.string() + ": not a hilt database (empty file)");
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST(Database, ReadOnlyDoesNotWrite) {
  temp_dir dir;
  const auto path = dir / "ro.db";
  { database db(path); }
  database db(path, {.mode = open_mode::read_only});
  EXPECT_TRUE(db.read_only());
  const db_error e =
      open_error([&] { db.exec("INSERT INTO metrics (name, unit) VALUES ('m', 'V')"); });
  EXPECT_EQ(e.code(), db_errc::io);
  EXPECT_NE(std::string(e.what()).find("readonly"), std::string::npos) << e.what();
}

TEST(Database, CannotCreateInAMissingFolder) {
  temp_dir dir;
  const auto path = dir / "no-such-folder" / "x.db";
  const db_error e = open_error([&] { database db(path); });
  EXPECT_EQ(e.code(), db_errc::cannot_open);
  EXPECT_EQ(std::string(e.what()),
            path.string() + ": cannot open database (unable to open database file)");
}

TEST(Database, StatementBindsAndReads) {
  temp_dir dir;
  database db(dir / "stmt.db");
  statement insert(db, "INSERT INTO metrics (id, name, unit) VALUES (?1, ?2, ?3)");
  insert.bind(1, 7).bind(2, "temperature").bind(3, std::string("C"));
  EXPECT_FALSE(insert.step());
  insert.reset();
  insert.bind(1, std::int64_t{8}).bind(2, std::string_view("vcc")).bind(3, "V");
  EXPECT_FALSE(insert.step());

  statement q(db, "SELECT id, name, unit, NULL, 2.5 FROM metrics ORDER BY id");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_count(), 5);
  EXPECT_EQ(q.column_int64(0), 7);
  EXPECT_EQ(q.column_text(1), "temperature");
  EXPECT_TRUE(q.is_null(3));
  EXPECT_EQ(q.column_opt_text(3), std::nullopt);
  EXPECT_EQ(q.column_opt_double(4), 2.5);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.column_text(1), "vcc");
  EXPECT_FALSE(q.step());

  const db_error e = open_error([&] { statement bad(db, "SELECT * FROM no_such_table"); });
  EXPECT_EQ(e.code(), db_errc::misuse);
  EXPECT_NE(std::string(e.what()).find("no such table: no_such_table"), std::string::npos);
}

TEST(Database, MovesOwnership) {
  temp_dir dir;
  database a(dir / "move.db");
  database b(std::move(a));
  EXPECT_EQ(b.user_version(), schema_version);
  database c(dir / "other.db");
  c = std::move(b);
  EXPECT_EQ(c.path(), dir / "move.db");
  EXPECT_EQ(c.user_version(), schema_version);
}

}  // namespace
}  // namespace hilt::db
