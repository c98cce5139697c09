#include "storage/branch_watch.h"

#include <cerrno>
#include <filesystem>

namespace taskfs::storage {

Result<std::vector<int>> WatchBranches(int inotify_fd, const std::string& git_dir,
                                       uint32_t extra_events) {
  const uint32_t events = kBranchMoveEvents | extra_events;
  std::vector<int> watches;
  const int top = inotify_add_watch(inotify_fd, git_dir.c_str(), events);
  if (top < 0) return Status::FromErrno(errno, "watching " + git_dir);
  watches.push_back(top);
  const std::string heads = git_dir + "refs/heads";
  if (int wd = inotify_add_watch(inotify_fd, heads.c_str(), events); wd >= 0) {
    watches.push_back(wd);
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(heads, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    if (int wd = inotify_add_watch(inotify_fd, it->path().c_str(), events); wd >= 0) {
      watches.push_back(wd);
    }
  }
  return watches;
}

}  // namespace taskfs::storage
