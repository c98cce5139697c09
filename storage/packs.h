// Packs: moving commits between stores as git packfiles (libgit2's packbuilder and indexer),
// for shared folders and taskfs-server. Nothing received enters a store unverified: a pack is
// indexed (every object checked, and the trailing checksum) before it is added, and a head is
// taken only when every object it reaches is present.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::storage {

// A pack of the objects `tip` reaches that the commits in `hide` (ids; ones this store does not
// have are ignored) and the refs matching `hide_glob` (if not empty) do not reach. Empty when
// there are none.
Result<std::string> BuildPack(const Store& store, const std::string& tip,
                              const std::vector<std::string>& hide,
                              const std::string& hide_glob = "");

// Indexes `pack` into the folder `pack_dir` (a repository's objects/pack): the .pack and its
// .idx, named after the content. Returns the .pack's file name. Fails, writing nothing, if the
// pack is incomplete or damaged. `what` names it in errors.
Result<std::string> WritePack(const std::string& pack_dir, std::string_view pack,
                              const std::string& what);
// fsync of the pack `pack_name` (as WritePack returns it) in `pack_dir`, its index, and the
// folder: the pack is on disk once this returns (before any ref that needs it moves).
Status SyncPackToDisk(const std::string& pack_dir, const std::string& pack_name);

// True if every object `tip` reaches is in `repo` (a handle of one's own, storage/ internals).
// The commits that `complete_refs` (ref names) reach are known complete.
bool HasEverything(git_repository* repo, const std::string& tip,
                   const std::vector<std::string>& complete_refs);

}  // namespace taskfs::storage
