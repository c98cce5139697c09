// StoreWatcher: notices when another process moves the store's branch (the sync daemon, a `git`
// command) through inotify on the repository's refs, and calls back, debounced. With
// `folders`, it watches those folders instead (the mount's flush requests).
//
// The callback runs on the watcher's own thread with no taskfs lock held. Sleeps in poll(); uses
// no CPU while nothing changes. Start/Stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "storage/status.h"

namespace taskfs::fusefs {

class StoreWatcher {
 public:
  StoreWatcher(std::string git_dir, std::function<void()> on_change,
               std::chrono::milliseconds debounce = std::chrono::milliseconds(20),
               std::vector<std::string> folders = {});
  ~StoreWatcher();

  Status Start();
  void Stop();

 private:
  void Run();

  const std::string git_dir_;
  const std::vector<std::string> folders_;
  const std::function<void()> on_change_;
  const std::chrono::milliseconds debounce_;
  int inotify_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace taskfs::fusefs
