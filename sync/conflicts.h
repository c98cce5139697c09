// The tasks that hold a `conflicts:` record left by a merge (for `taskfs conflicts`). The user
// resolves one by editing the task and deleting that key. Pure function: thread-safe.
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
};

std::vector<ConflictedTask> FindConflicts(const storage::Snapshot& tree);

}  // namespace taskfs::sync
