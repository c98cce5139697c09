// PackWriter: writes objects whose ids are known as one git pack and its index, durably.
//
// Used for the objects of a commit (storage/object_buffer.h): their ids are computed already, so
// the pack and its version-2 index (gitformat-pack(5)) are written in one pass, without libgit2's
// indexer reading the pack back and hashing every object twice more (on a save at 10,000 flat
// tasks that was a quarter of the commit). No object is stored as a delta; trees are not even
// compressed (see CompressionLevelFor).
// `git fsck --strict` and `git verify-pack` check what it writes (tests do).
//
// Thread-safety: a pure function of its arguments and the files it makes; private to storage/.
#pragma once

#include <git2.h>

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace taskfs::storage {

struct PackObject {
  git_oid id;  // the object's id, computed by the caller
  git_object_t type;
  std::string_view data;
};

// Writes `objects` as `pack_dir`/pack-<checksum>.pack and .idx (the pack first, the index last:
// a reader takes a pack only once its index is there), each fsynced, then the folder. Returns the
// .pack's file name. `objects` must hold at least one object, no id twice.
Result<std::string> WritePackDurably(const std::string& pack_dir,
                                     const std::vector<PackObject>& objects);

}  // namespace taskfs::storage
