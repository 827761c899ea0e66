// Runs the real hilt binary for end-to-end tests and captures what it prints.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hilt::test {

struct process_result {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `hilt args...` in `cwd` with extra environment variables (on top of the test's own).
process_result run_hilt(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {},
                        const std::filesystem::path& cwd = {});

// Starts hilt in the background; returns its pid. Output goes to the given files.
int spawn_hilt(const std::vector<std::string>& args, const std::filesystem::path& out,
               const std::filesystem::path& err,
               const std::map<std::string, std::string>& env = {});
// Waits for a pid started by spawn_hilt; returns its exit code (128 + signal if killed).
int wait_hilt(int pid);

// A fresh temporary directory, removed by the destructor.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::filesystem::path& path() const { return p_; }
  std::filesystem::path operator/(const std::string& name) const { return p_ / name; }
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path p_;
};

std::filesystem::path source_dir();

// A fixture with one emulated 400G-DR4 module in cage1 ("present", slot 1) and a second device
// `empty` at `empty_address` where nothing answers; `empty_is_dut` makes it DUT slot 2.
std::string write_one_empty_cage_fixture(const temp_dir& d, const std::string& empty_address,
                                         bool empty_is_dut);
std::string read_file(const std::filesystem::path& p);
// First line of a string.
std::string first_line(const std::string& s);

// Every row of a query on a database file (opened read-only), each row's columns joined with
// '|' (NULL as "NULL"). A database that cannot be opened or a query that does not prepare gives
// no rows and a failed expectation.
std::vector<std::string> query_rows(const std::string& db, const std::string& sql);
// Runs SQL that changes a database (to fake a crashed run, say); a failure fails the test.
void exec_sql(const std::string& db, const std::string& sql);
// The first row of query_rows, or "(no row)".
std::string query_one(const std::string& db, const std::string& sql);

}  // namespace hilt::test
