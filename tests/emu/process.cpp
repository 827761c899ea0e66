#include "process.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace hilt::test {

namespace {

std::vector<std::string> make_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Tests must not depend on the developer's environment.
  all.erase("HILT_DB");
  all.erase("HILT_FIXTURE");
  all.erase("HILT_PLUGIN_PATH");
  for (const auto& [k, v] : extra)
    all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all)
    out.push_back(k + "=" + v);
  return out;
}

int spawn(const std::vector<std::string>& args, const std::filesystem::path& out,
          const std::filesystem::path& err, const std::map<std::string, std::string>& env,
          const std::filesystem::path& cwd) {
  std::vector<std::string> argv_s{HILT_TEST_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env_s = make_env(env);
  std::vector<char*> envp;
  for (auto& e : env_s)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return pid;
}

}  // namespace

std::filesystem::path source_dir() {
  return HILT_TEST_SOURCE_DIR;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

int spawn_hilt(const std::vector<std::string>& args, const std::filesystem::path& out,
               const std::filesystem::path& err, const std::map<std::string, std::string>& env) {
  return spawn(args, out, err, env, {});
}

int wait_hilt(int pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

process_result run_hilt(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env,
                        const std::filesystem::path& cwd) {
  temp_dir io;
  const auto out = io / "stdout";
  const auto err = io / "stderr";
  process_result r;
  r.exit_code = wait_hilt(spawn(args, out, err, env, cwd));
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

temp_dir::temp_dir() {
  static std::atomic<int> n{0};
  p_ = std::filesystem::temp_directory_path() /
       ("hilt-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p_);
  std::filesystem::create_directories(p_);
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(p_, ec);
}

std::string temp_dir::write(const std::string& name, const std::string& text) const {
  const auto p = p_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

std::string write_one_empty_cage_fixture(const temp_dir& d, const std::string& empty_address,
                                         bool empty_is_dut) {
  const auto profile = source_dir() / "fixtures/profiles/qsfpdd-400g-dr4.yaml";
  std::string text =
      "fixture: one-empty-cage\n"
      "emulation:\n"
      "  modules:\n"
      "    - bus: cage1\n"
      "      profile: " +
      profile.string() +
      "\n"
      "devices:\n"
      "  - name: present\n"
      "    address: cmis:emu-i2c:cage1@0x50\n"
      "  - name: empty\n"
      "    address: " +
      empty_address +
      "\n"
      "duts:\n"
      "  - slot: 1\n"
      "    module: present\n";
  if (empty_is_dut) text += "  - slot: 2\n    module: empty\n";
  return d.write("one-empty-cage.yaml", text);
}

std::vector<std::string> query_rows(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK) << db;
  sqlite3_busy_timeout(h, 10000);  // a run may be writing (or creating) the file
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
  std::vector<std::string> out;
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const auto* t = sqlite3_column_text(st, c);
      row += (c ? "|" : "") + std::string(t ? reinterpret_cast<const char*>(t) : "NULL");
    }
    out.push_back(row);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

void exec_sql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK) << db;
  sqlite3_busy_timeout(h, 10000);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "") << "\n"
      << sql;
  sqlite3_free(err);
  sqlite3_close(h);
}

std::string query_one(const std::string& db, const std::string& sql) {
  const auto r = query_rows(db, sql);
  return r.empty() ? std::string("(no row)") : r.front();
}

}  // namespace hilt::test
