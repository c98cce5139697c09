// Repack: keeps the store small. Every commit writes its objects loose, one file each, among them
// a new root tree that lists every task (150 KB for 4,000 tasks); thousands of saves would leave
// hundreds of megabytes. Once many are loose, they are packed together, where successive trees
// are stored as small deltas, and the loose files removed: what `git gc --auto` does.
//
// Thread-safety: uses its own repository handle; safe beside the store's other users and other
// processes (it removes only loose files whose objects are in a pack already on disk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::storage {

struct LooseObjects {
  size_t count = 0;
  uint64_t bytes = 0;
};
// The store's loose objects (a listing of objects/??/).
LooseObjects CountLooseObjects(const std::string& git_dir);

// Packs every loose object into one new pack, makes it durable (fsync of the .pack, the .idx and
// their folder), then removes the loose files. Once there are more than `max_packs` packs, they
// are merged into one (every object of each, reachable or not, so nothing another process still
// needs goes). Returns how many loose objects it packed.
Result<size_t> PackLooseObjects(const Store& store, size_t max_packs = 32);

}  // namespace taskfs::storage
