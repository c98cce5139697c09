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
#include "storage/unique_fd.h"

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
  storage::UniqueFd inotify_fd_;
  storage::UniqueFd stop_read_;  // the stop pipe: Stop writes a byte, Run wakes and returns
  storage::UniqueFd stop_write_;
  std::thread thread_;
};

}  // namespace taskfs::fusefs
