// FieldTaskMerger: the storage::TaskMerger that the mount uses when a save races a commit by
// another process (the sync daemon, `taskfs sync`): the same field-level rules as sync.
#pragma once

#include "storage/task_merger.h"

namespace taskfs::sync {

class FieldTaskMerger : public storage::TaskMerger {
 public:
  std::vector<storage::Change> Merge(const storage::TaskMergeInput& input) const override;
};

}  // namespace taskfs::sync
