#include "sync/merge/field_task_merger.h"

#include "storage/task_name.h"
#include "sync/merge/merge_task.h"

namespace taskfs::sync {

std::vector<storage::Change> FieldTaskMerger::Merge(const storage::TaskMergeInput& in) const {
  TaskMergeResult r = MergeTask(in.base, in.ours.content, {in.ours.time, "", in.ours.author},
                                in.theirs.content, {in.theirs.time, "", in.theirs.author});
  std::vector<storage::Change> changes = {{in.path, r.content}};
  if (r.conflict_copy)
    changes.push_back({storage::ConflictCopyPath(in.path, *r.conflict_copy), r.conflict_copy});
  return changes;
}

}  // namespace taskfs::sync
