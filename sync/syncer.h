// Sync with one remote. A git remote: fetch, three-way merge on git's merge base (MergeTrees),
// commit the merge with both parents, push; when the push races another client, fetch and merge
// again. A folder remote (storage/folder_remote.h): merge every other client's head, then
// publish ours.
//
// A sync that stops half-way (network drop, kill, refused push) leaves the store and the remote
// valid: objects are written before refs move, and every ref move is a compare-and-swap; the next
// sync finishes the job. Thread-safety: as Store (any thread; one sync per store at a time).
#pragma once

#include <string>
#include <vector>

#include "storage/remote.h"
#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::sync {

struct SyncReport {
  std::string remote;
  bool fast_forwarded = false;  // we were behind: took theirs
  bool merged = false;          // both sides had changes: made a merge commit
  bool pushed = false;          // the remote was behind: it now has ours
  int merged_tasks = 0;
  int conflicts = 0;  // values recorded in `conflicts:` keys
  int conflict_copies = 0;
  int attempts = 0;                  // fetch-merge-push rounds (more than 1 when a push raced)
  int waiting = 0;                   // folder remotes: clients whose files have not all arrived yet
  std::vector<std::string> garbage;  // folder remotes: ref files that are no client's ref

  std::string Summary() const;
};

inline constexpr int kMaxSyncAttempts = 8;

Result<SyncReport> SyncWithRemote(storage::Store& store, const std::string& remote,
                                  const storage::TransferOptions& options);

}  // namespace taskfs::sync
