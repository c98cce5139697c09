// Deferred deletes: the record of deletes the mount holds back for a moment.
//
// The mount commits a delete about two seconds late, so that an editor's rename dance (rename
// x away, write a new x) stays one `edit`. Such a delete is acknowledged at once, so it is
// recorded here at once (one file per task, holding its path, in the page cache: safe against
// `kill -9`), and
// forgotten when it is journaled or cancelled by a new save of the task. If the mount dies in
// between, the next mount or sync commits what is recorded (Committer::CommitRecovered): a
// `kill -9` right after `rm x.yaml` never brings x back.
//
// Thread-safety: the functions touch only the files of their own path; callers serialise the
// calls for one path (the mount does, under its lock).
#pragma once

#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::storage {

// Records that the delete of the task at `path` is acknowledged and not yet journaled.
Status RecordDeferredDelete(const std::string& dir, const std::string& path);
// Forgets it: journaled, or cancelled by a new save.
void ForgetDeferredDelete(const std::string& dir, const std::string& path);
// The task paths whose recorded deletes are waiting, in path order.
std::vector<std::string> DeferredDeletes(const std::string& dir);

}  // namespace taskfs::storage
