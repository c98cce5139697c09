// MergeTrees: the three-way merge of two whole task trees against their merge base, task by task
// (MergeTask), following renames: a task one side renamed and the other edited ends up under the
// new name with the edit.
//
// Deterministic and symmetric: swapping the sides gives the same final tree, so clients merging
// each other's work converge. Reads only the snapshots it is given: thread-safe.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "storage/change.h"
#include "storage/snapshot.h"
#include "sync/merge/merge_task.h"

namespace taskfs::sync {

struct TreeSide {
  const storage::Snapshot* tree = nullptr;
  SideInfo info;
  // Paths this side renamed since the base: (old path, new path).
  std::vector<std::pair<std::string, std::string>> renames;
  // Who last changed a path on this side and when, where known (else `info`): a conflict is won
  // by the later change of that task, and the loser's record names its author.
  std::map<std::string, SideInfo> last_change;

  const SideInfo& InfoFor(const std::string& path) const {
    auto it = last_change.find(path);
    return it == last_change.end() ? info : it->second;
  }
};

struct TreeMergeResult {
  Status status;  // not ok when a task's bytes could not be read: then nothing below holds
  std::vector<storage::Change> changes;  // what to apply on "ours" to get the merged tree
  int merged_tasks = 0;                  // tasks both sides changed
  int conflicts = 0;                     // values recorded in `conflicts:` keys
  int conflict_copies = 0;               // tasks kept as two files (unmergeable, not YAML)
  // Tasks whose path in the result differs from their path in one of the sides (old, new):
  // recorded in the merge commit's message so later merges can follow them.
  std::vector<std::pair<std::string, std::string>> renames;
};

TreeMergeResult MergeTrees(const storage::Snapshot& base, const TreeSide& ours,
                           const TreeSide& theirs);

}  // namespace taskfs::sync
