// Repack: keeps the store small. Every commit writes its objects loose, one file each, among them
// a new root tree that lists every task (150 KB for 4,000 tasks); thousands of saves would leave
// hundreds of megabytes. Once many are loose, they are packed together, where successive trees
// are stored as small deltas, and the loose files removed: what `git gc --auto` does.
//
// Thread-safety: uses its own repository handle; safe beside the store's other users and other
// processes (it removes only loose files whose objects are in a pack already on disk).
#pragma once

#include <cstddef>
#include <string>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::storage {

// Loose objects in the store (a listing of objects/??/).
size_t CountLooseObjects(const std::string& git_dir);

// Packs every loose object into one new pack, makes it durable (fsync of the .pack, the .idx and
// their folder), then removes the loose files. Returns how many objects it packed.
Result<size_t> PackLooseObjects(const Store& store);

}  // namespace taskfs::storage
