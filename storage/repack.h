// Repack: keeps the store small. Every commit writes its objects as a pack of its own
// (storage/object_buffer.h), among them a new root tree that lists every task (150 KB for 4,000
// tasks), stored whole; thousands of saves would leave hundreds of megabytes in thousands of packs.
// Small packs are merged by tiers, as a log-structured store compacts its files: a tier holds the
// packs of kPackFanout^t to kPackFanout^(t+1) objects, and once one holds kPackFanout packs they
// are merged (with the few smaller packs below them) into one of the next tier. So a store holds a
// few packs a tier, and an object is rewritten once a tier, a few times in all: libgit2 searches
// deltas anew for every object it packs, and the trees of a flat folder (420 KB at 10,000 tasks)
// make that the cost of a merge. Sizes are counted in objects, not bytes: a commit's pack holds
// its root tree whole, and by bytes a few saves would weigh as much as the pack of every task.
// A merged pack stores successive trees as small deltas.
// Loose objects (from git commands run in the store, or older versions of taskfs) are packed
// once there are many, what `git gc --auto` does.
//
// Thread-safety: uses its own repository handle; safe beside the store's other users and other
// processes (it removes only loose files whose objects are in a pack already on disk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

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
// needs goes). Returns how many loose objects it packed. The store lets go of the packs a merge
// removed (Store::ReleasePacks), as after MergeSmallPacks.
Result<size_t> PackLooseObjects(const Store& store, size_t max_packs = 32);

// The file names of the packs in `git_dir`/objects/pack (each with its .idx), sorted.
std::vector<std::string> ListPackNames(const std::string& git_dir);

// Packs a tier holds before they are merged into one.
inline constexpr size_t kPackFanout = 8;
// Of packs whose object counts are `ascending`, how many of the smallest to merge into one: those
// up to the end of the lowest tier holding kPackFanout packs (0: none).
size_t SmallestPacksToMerge(const std::vector<uint64_t>& ascending);
// Merges the store's smallest packs that way (every object of each kept), until no tier is full,
// then has `store` let go of the packs it removed (Store::ReleasePacks; other Store objects
// on the same repository find out with ReleaseRemovedPacksIfAnyWentAway). Returns how many packs
// it merged.
Result<size_t> MergeSmallPacks(const Store& store);

}  // namespace taskfs::storage
