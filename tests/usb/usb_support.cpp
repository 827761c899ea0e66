#include "usb_support.hpp"

#include <cstdio>

namespace hilt::usbtest {

std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}

tmp_dir::tmp_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  dir = std::filesystem::path(testing::TempDir()) /
        (std::string("hilt_usb_") + (info ? info->test_suite_name() : "x") + "_" +
         (info ? info->name() : "y"));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
}

tmp_dir::~tmp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string tmp_dir::write(const std::string& rel, const std::string& text) const {
  const auto p = dir / rel;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p.string();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace hilt::usbtest
