// bench_commit: median latency of Store::Commit of one changed task in a store of N tasks,
// without FUSE (what a save costs in storage/), flat or spread over FOLDERS folders (a commit
// rewrites the trees on its path: the root and the task's folder).
// Usage: bench_commit [N] [SAVES] [FOLDERS]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/store.h"

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int saves = argc > 2 ? std::atoi(argv[2]) : 200;
  const int folders = argc > 3 ? std::atoi(argv[3]) : 0;
  const auto path_of = [&](int i) {
    const std::string name = "task-" + std::to_string(i) + ".yaml";
    return folders > 0 ? "f" + std::to_string(static_cast<int64_t>(i) * folders / n) + "/" + name
                       : name;
  };
  char tmpl[] = "/var/tmp/taskfs-bench-commit-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  auto store = taskfs::storage::Store::Init(dir + "/store", "bench");
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<taskfs::storage::Change> all;
  for (int i = 0; i < n; ++i) {
    all.push_back({path_of(i), "title: Task " + std::to_string(i) + "\nstatus: pending\n"});
  }
  if (!(*store)->Commit(all, "import").ok()) return 1;
  std::vector<double> ms;
  for (int i = 0; i < saves; ++i) {
    const std::string path = path_of((i * 7919) % n);
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
  std::printf("store commit of 1 task among %d (%s): median %.2f ms, p90 %.2f ms (%d commits)\n", n,
              folders > 0 ? (std::to_string(folders) + " folders").c_str() : "flat",
              ms[ms.size() / 2], ms[ms.size() * 9 / 10], saves);
  std::filesystem::remove_all(dir);
  return 0;
}
