#include "storage/repack.h"

#include <fcntl.h>
#include <git2/sys/odb_backend.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/local_state.h"
#include "storage/packs.h"

namespace taskfs::storage {
namespace {

namespace fs = std::filesystem;
using PackbuilderPtr = GitPtr<git_packbuilder, git_packbuilder_free>;

struct LooseObject {
  git_oid id;
  fs::path file;
};

std::vector<LooseObject> ListLooseObjects(const std::string& git_dir) {
  std::vector<LooseObject> objects;
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(git_dir + "/objects", ec)) {
    const std::string prefix = dir.path().filename().string();
    if (prefix.size() != 2 || !dir.is_directory(ec)) continue;
    for (const auto& file : fs::directory_iterator(dir.path(), ec)) {
      const std::string hex = prefix + file.path().filename().string();
      LooseObject o;
      if (hex.size() == GIT_OID_HEXSZ && git_oid_fromstr(&o.id, hex.c_str()) == 0) {
        o.file = file.path();
        objects.push_back(std::move(o));
      }
    }
  }
  return objects;
}

std::vector<fs::path> ListPacks(const std::string& git_dir) {
  std::vector<fs::path> packs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(git_dir + "/objects/pack", ec)) {
    if (e.path().extension() == ".pack" &&
        fs::exists(fs::path(e.path()).replace_extension(".idx"), ec)) {
      packs.push_back(e.path());
    }
  }
  return packs;
}

// Writes a pack of `ids` into the store's objects/pack and makes it durable before returning.
// Returns the .pack's path.
Result<fs::path> WriteDurablePack(const Store& store, const std::vector<git_oid>& ids,
                                  const std::string& what) {
  auto repo = OpenBareRepository(store.git_dir());
  if (!repo.ok()) return repo.status();
  git_packbuilder* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_packbuilder_new(&raw, repo->get()), "packing"));
  PackbuilderPtr pb(raw);
  for (const git_oid& id : ids) {
    TASKFS_RETURN_IF_ERROR(GitStatus(git_packbuilder_insert(pb.get(), &id, nullptr), "packing"));
  }
  GitBuf buf;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_packbuilder_write_buf(buf.get(), pb.get()), "writing " + what));
  const std::string pack = buf.str();
  const std::string pack_dir = store.git_dir() + "objects/pack";
  auto name = WritePack(pack_dir, pack, what);
  if (!name.ok()) return name.status();
  // The pack must be on disk before the only other copies go.
  TASKFS_RETURN_IF_ERROR(SyncPackToDisk(pack_dir, *name));
  const std::string base = pack_dir + "/" + name->substr(0, name->size() - 5);
  return fs::path(base + ".pack");
}

// The number of objects in `pack`, from its header ("PACK", version, count; big-endian).
std::optional<uint64_t> PackObjectCount(const fs::path& pack) {
  std::ifstream in(pack, std::ios::binary);
  unsigned char header[12];
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
  if (std::memcmp(header, "PACK", 4) != 0) return std::nullopt;
  return (uint64_t{header[8]} << 24) | (uint64_t{header[9]} << 16) | (uint64_t{header[10]} << 8) |
         header[11];
}

int CollectId(const git_oid* id, void* payload) {
  static_cast<std::vector<git_oid>*>(payload)->push_back(*id);
  return 0;
}

// Merges `packs` into one holding every object of each, then removes them.
Status MergePacks(const Store& store, const std::vector<fs::path>& packs) {
  std::vector<git_oid> ids;
  for (const fs::path& pack : packs) {
    git_odb_backend* backend = nullptr;
    const std::string idx = fs::path(pack).replace_extension(".idx").string();
    TASKFS_RETURN_IF_ERROR(
        GitStatus(git_odb_backend_one_pack(&backend, idx.c_str()), "reading " + idx));
    git_odb* raw_odb = nullptr;
    if (git_odb_new(&raw_odb) != 0) {
      backend->free(backend);
      return Status::IOError("could not read " + idx);
    }
    OdbPtr odb(raw_odb);
    TASKFS_RETURN_IF_ERROR(GitStatus(git_odb_add_backend(raw_odb, backend, 1), "reading " + idx));
    TASKFS_RETURN_IF_ERROR(GitStatus(git_odb_foreach(raw_odb, CollectId, &ids), "reading " + idx));
  }
  std::sort(ids.begin(), ids.end(),
            [](const git_oid& a, const git_oid& b) { return git_oid_cmp(&a, &b) < 0; });
  ids.erase(std::unique(ids.begin(), ids.end(),
                        [](const git_oid& a, const git_oid& b) { return git_oid_equal(&a, &b); }),
            ids.end());
  auto merged = WriteDurablePack(store, ids, "the merged pack");
  if (!merged.ok()) return merged.status();
  std::error_code ec;
  for (const fs::path& pack : packs) {
    if (pack.filename() == merged->filename()) continue;  // named after its content: the same
    fs::remove(fs::path(pack).replace_extension(".idx"), ec);
    fs::remove(pack, ec);
  }
  store.ReleasePacks();
  return Status::OK();
}

// Held by whoever repacks the store (the mount's repack thread, a sync, taskfs-server), so that two
// never merge the same packs at once (safe, as every object is kept, but wasted work).

}  // namespace

std::vector<std::string> ListPackNames(const std::string& git_dir) {
  std::vector<std::string> names;
  for (const fs::path& pack : ListPacks(git_dir)) names.push_back(pack.filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

LooseObjects CountLooseObjects(const std::string& git_dir) {
  LooseObjects out;
  std::error_code ec;
  for (const LooseObject& o : ListLooseObjects(git_dir)) {
    ++out.count;
    const auto size = fs::file_size(o.file, ec);
    if (!ec) out.bytes += size;
  }
  return out;
}

size_t SmallestPacksToMerge(const std::vector<uint64_t>& ascending) {
  // A pack's tier: the number of times its object count divides by kPackFanout.
  auto tier = [](uint64_t objects) {
    int t = 0;
    for (; objects >= kPackFanout; objects /= kPackFanout) ++t;
    return t;
  };
  for (size_t first = 0; first < ascending.size();) {
    size_t end = first;
    while (end < ascending.size() && tier(ascending[end]) == tier(ascending[first])) ++end;
    if (end - first >= kPackFanout) return end;  // this tier, and the few packs below it
    first = end;
  }
  return 0;
}

Result<size_t> MergeSmallPacks(const Store& store) {
  FileLock lock(LocalState(store).repack_lock());
  if (!lock.held()) return size_t{0};  // another thread or process repacks: it does this too
  size_t merged = 0;
  size_t packs_before = SIZE_MAX;
  while (true) {  // a merge may fill the next tier
    std::vector<std::pair<uint64_t, fs::path>> packs;
    for (const fs::path& pack : ListPacks(store.git_dir())) {
      if (auto objects = PackObjectCount(pack)) packs.emplace_back(*objects, pack);
    }
    std::sort(packs.begin(), packs.end());
    std::vector<uint64_t> sizes;
    for (const auto& p : packs) sizes.push_back(p.first);
    const size_t count = SmallestPacksToMerge(sizes);
    if (count < 2) return merged;
    if (packs.size() >= packs_before) {  // the last merge could not remove what it merged
      return Status::IOError("merged packs in " + store.git_dir() + "objects/pack stay there");
    }
    packs_before = packs.size();
    std::vector<fs::path> smallest;
    for (size_t i = 0; i < count; ++i) smallest.push_back(packs[i].second);
    TASKFS_RETURN_IF_ERROR(MergePacks(store, smallest));
    merged += count;
  }
}

Result<size_t> PackLooseObjects(const Store& store, size_t max_packs) {
  FileLock lock(LocalState(store).repack_lock());
  if (!lock.held()) return size_t{0};  // another thread or process repacks
  const std::vector<LooseObject> loose = ListLooseObjects(store.git_dir());
  if (!loose.empty()) {
    std::vector<git_oid> ids;
    for (const LooseObject& o : loose) ids.push_back(o.id);
    auto pack = WriteDurablePack(store, ids, "the pack of loose objects");
    if (!pack.ok()) return pack.status();
    std::error_code ec;
    for (const LooseObject& o : loose) fs::remove(o.file, ec);
  }
  const std::vector<fs::path> packs = ListPacks(store.git_dir());
  if (packs.size() > max_packs) TASKFS_RETURN_IF_ERROR(MergePacks(store, packs));
  return loose.size();
}

}  // namespace taskfs::storage
