// Start-up time of the hilt command: `hilt --version` and `hilt drivers` (goal < 50 ms each),
// measured as the wall time of the whole process, spawn to exit.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

extern char** environ;

namespace {

void run_hilt(const std::vector<std::string>& args) {
  std::vector<std::string> s{HILT_BENCH_BINARY};
  s.insert(s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) std::abort();
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::abort();
}

void BM_hilt_version(benchmark::State& state) {
  for (auto _ : state)
    run_hilt({"--version"});
}
void BM_hilt_drivers(benchmark::State& state) {
  for (auto _ : state)
    run_hilt({"drivers"});
}

}  // namespace

BENCHMARK(BM_hilt_version)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_hilt_drivers)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK_MAIN();
