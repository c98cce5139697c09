// Branch watches: the inotify watches that see a branch of a store move, whoever moves it (the
// mount's committer, a sync, a `git` command). git moves a branch by writing
// refs/heads/NAME.lock and renaming it over the ref, or by rewriting packed-refs in the git dir;
// a branch in a folder (refs/heads/team/x) moves in that folder. The mount (fusefs/store_watcher.h)
// and the sync daemon (sync/daemon/daemon.h) both watch through this one function.
#pragma once

#include <sys/inotify.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::storage {

// The events on those folders that may mean a move.
inline constexpr uint32_t kBranchMoveEvents = IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE;

// Adds to `inotify_fd` watches, for kBranchMoveEvents | `extra_events`, on `git_dir` (ending in
// '/') and on refs/heads and each folder under it. Returns their watch descriptors; an error when
// the git dir itself cannot be watched (a folder under refs/heads that vanished meanwhile is
// skipped).
Result<std::vector<int>> WatchBranches(int inotify_fd, const std::string& git_dir,
                                       uint32_t extra_events = 0);

}  // namespace taskfs::storage
