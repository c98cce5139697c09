// bench_commit: median latency of Store::Commit of one changed task in a store of N tasks,
// without FUSE (what a save costs in storage/). Usage: bench_commit [N] [SAVES]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/store.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int saves = argc > 2 ? std::atoi(argv[2]) : 200;
  char tmpl[] = "/var/tmp/taskfs-bench-commit-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  auto store = taskfs::storage::Store::Init(dir + "/store", "bench");
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<taskfs::storage::Change> all;
  for (int i = 0; i < n; ++i) {
    all.push_back({"task-" + std::to_string(i) + ".yaml",
                   "title: Task " + std::to_string(i) + "\nstatus: pending\n"});
  }
  if (!(*store)->Commit(all, "import").ok()) return 1;
  std::vector<double> ms;
  for (int i = 0; i < saves; ++i) {
    const std::string path = "task-" + std::to_string((i * 7919) % n) + ".yaml";
    auto start = std::chrono::steady_clock::now();
    auto r = (*store)->Commit({{path, "title: edited " + std::to_string(i) + "\n"}}, "edit");
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  std::sort(ms.begin(), ms.end());
  std::printf("store commit of 1 task among %d: median %.2f ms, p90 %.2f ms (%d commits)\n", n,
              ms[ms.size() / 2], ms[ms.size() * 9 / 10], saves);
  std::filesystem::remove_all(dir);
  return 0;
}
