// History of one task, read from the store's commits, following renames.
//
// Used by `taskfs log` and `taskfs show NAME@~N`. Goes through every commit from the branch head,
// children before parents and otherwise newest first, so changes merged in from other machines
// show as the commits that made them (a merge appears only where it produced a version neither
// side had). A commit that created the task's path from another one (a rename, with or without an
// edit) adds the old name. The history index (storage/history_index.h) says which commits changed
// which paths, to which blob: only those commits are read, and a tree only where the task appeared
// (to find a rename); the index is brought up to date first (the whole history the first time).
// No task's bytes are read until TaskVersion asks for them. Thread-safe through
// Store::WithRepository.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "storage/object_id.h"
#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::storage {

struct HistoryEntry {
  std::string commit_id;
  int64_t time = 0;
  std::string author;
  std::string message;
  std::string action;                  // "create", "edit", "rename", "delete"
  std::string path;                    // the task's path after this change
  std::string old_path;                // for a rename: the path before
  std::optional<ObjectId> blob;        // the task's bytes after this change; nullopt if deleted
};

// The changes to the task at `path` (a task path, e.g. "work/buy-milk.yaml"), newest first.
// NotFound if no commit ever held that path.
Result<std::vector<HistoryEntry>> TaskHistory(const Store& store, const std::string& path,
                                              size_t max_entries = SIZE_MAX);

// The task's bytes after change `entry` (one of TaskHistory's); NotFound if it deleted the task.
Result<std::string> TaskVersion(const Store& store, const HistoryEntry& entry);

// How long TaskHistory waits for another process's update of the history index (the first one,
// at 50,000 commits, takes seconds) before it goes on alone.
inline constexpr std::chrono::seconds kHistoryIndexLockWait{60};

// Brings the history index of the store at `git_dir` up to date with its branch, as the first
// TaskHistory would, on a read-only handle of its own (no caller's store or lock is held), and
// stops early (what was indexed by then kept) once `stop` returns true. Nothing to do for a store
// without commits, or while another process updates the index (it is doing this already).
// Returns what it added.
struct HistoryIndexGrowth {
  size_t commits = 0;
  size_t paths = 0;  // the changed paths recorded for them (a first commit's: every task)
};
Result<HistoryIndexGrowth> UpdateHistoryIndex(const std::string& git_dir,
                                              const std::function<bool()>& stop);

}  // namespace taskfs::storage
