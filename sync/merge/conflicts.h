// The tasks that hold a `conflicts:` record left by a merge, and the second versions kept beside
// tasks that could not be merged (for `taskfs conflicts`). The user resolves a record by deleting
// the key, a second version by taking what they need from it and deleting the file.
// Pure function: thread-safe.
#pragma once

#include <string>
#include <vector>

#include "storage/snapshot.h"

namespace taskfs::sync {

struct ConflictRecord {
  std::string key;    // which key lost a value
  std::string value;  // the losing value, as YAML
  std::string by;     // who wrote it
  std::string at;     // when
};

struct ConflictedTask {
  std::string path;
  std::vector<ConflictRecord> records;
  // For a second version kept beside a task that could not be merged (NAME.conflict-HASH.yaml):
  // the task it belongs to.
  std::string copy_of;
};

std::vector<ConflictedTask> FindConflicts(const storage::Snapshot& tree);

}  // namespace taskfs::sync
