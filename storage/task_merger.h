// TaskMerger: how a store reconciles a local change with a commit another process made first.
//
// When the store's compare-and-swap on the branch fails (the sync daemon or a `git` command
// committed in between), the store asks a TaskMerger, task by task, how to combine its change with
// theirs. storage/ ships LineTaskMerger (git's line merge; on overlap both versions are kept as
// two files); sync/ provides the field-level merger of DESIGN.md. Implementations must be
// thread-safe (const, no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/change.h"

namespace taskfs::storage {

struct MergeSide {
  std::optional<std::string> content;  // nullopt: absent (deleted or never created) on this side
  int64_t time = 0;                    // commit time of this side
  std::string author;
};

struct TaskMergeInput {
  std::string path;
  std::optional<std::string> base;  // nullopt: absent in the merge base
  MergeSide ours;
  MergeSide theirs;
};

class TaskMerger {
 public:
  virtual ~TaskMerger() = default;
  // The changes to apply on top of "theirs" so the result holds both sides' work.
  virtual std::vector<Change> Merge(const TaskMergeInput& input) const = 0;
};

// git's line merge of `ours` and `theirs` against `base` (libgit2 git_merge_file); nullopt when
// the changes overlap. Never produces conflict markers.
std::optional<std::string> MergeLines(const std::string& base, const std::string& ours,
                                      const std::string& theirs);

// Keeps edits over deletions; merges both edits line by line; when they overlap, keeps ours at
// the path and theirs beside it as "<name>.conflict-<hash>.yaml" so nothing is lost.
class LineTaskMerger : public TaskMerger {
 public:
  std::vector<Change> Merge(const TaskMergeInput& input) const override;
};

}  // namespace taskfs::storage
