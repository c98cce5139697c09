// TreeCache: the folders of the branch's tree that commits touched, kept in memory so that a save
// rewrites only the trees on its own path, without reading them back or sorting them again.
//
// A folder is kept as its tree object's bytes (gitformat-tree: per entry its octal mode, a space,
// its name, a NUL and its raw id, in git's order: a folder sorts as if its name ended in '/') and
// where each entry starts. Writing a tree is a copy of its bytes, a changed task changes 20 bytes
// in place, and an entry costs its own bytes plus four (a commit at 100,000 flat tasks copies and
// hashes the 4 MB root tree, no walk of 100,000 nodes). The cache is valid for one commit (the one
// whose tree it holds); the store drops it when the branch moves under it or a write fails.
//
// Between commits it keeps the root and at most kFolderBudget bytes of other folders, the most
// recently used: without a bound a long-running mount would come to hold every tree of the store
// (4.5 MB at 100,000 tasks in 1,000 folders). A folder dropped is read back from git when a save
// next touches it (a tree of 100 tasks: tens of microseconds).
//
// Thread-safety: none; the store uses it under its mutex. Private to storage/.
#pragma once

#include <git2.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/object_buffer.h"
#include "storage/status.h"

namespace taskfs::storage {

class TreeCache {
 public:
  // A cache of the tree of `commit_id` ("" for an empty branch), whose tree is `tree_id`.
  TreeCache(std::string commit_id, const git_oid& tree_id)
      : commit_id_(std::move(commit_id)), tree_id_(tree_id) {}

  const std::string& commit_id() const { return commit_id_; }
  const git_oid& tree_id() const { return tree_id_; }
  // Bytes of folders other than the root kept between commits.
  static constexpr size_t kFolderBudget = size_t{1} << 20;

  // After a commit of the written trees: the cache now holds `commit_id`'s tree `tree_id`. Drops
  // the least recently used folders beyond kFolderBudget (what is left is `tree_id`'s).
  void Advance(std::string commit_id, const git_oid& tree_id);

  // Sets entry `name` of folder `dir` ("" = root) to `id` with git file mode `mode`.
  Status Set(git_repository* repo, const std::string& dir, const std::string& name,
             const git_oid& id, uint32_t mode);
  // Removes entry `name` of folder `dir` (nothing to do when absent).
  Status Remove(git_repository* repo, const std::string& dir, const std::string& name);
  // Whether folder `dir` has no entry left.
  Result<bool> Empty(git_repository* repo, const std::string& dir);
  // Writes folder `dir` as a tree object into `objects`; its id in `out`.
  Status Write(git_repository* repo, ObjectBuffer* objects, const std::string& dir, git_oid* out);
  // Forgets folder `dir` (removed from its parent).
  void Forget(const std::string& dir) { folders_.erase(dir); }
  // The memory the cached folders take, the root's included.
  size_t footprint() const;

 private:
  struct Folder {
    std::string bytes;             // the tree object's content
    std::vector<uint32_t> starts;  // the offset in `bytes` of each entry, in order
    uint64_t last_use = 0;         // TreeCache::uses_ when last loaded
    size_t footprint() const { return bytes.size() + starts.size() * sizeof(uint32_t); }
    // The first entry whose sort key (its name, '/' after a folder's) is not less than `key`.
    size_t LowerBound(std::string_view key) const;
    bool HasKeyAt(size_t i, std::string_view key) const;
    size_t End(size_t i) const { return i + 1 < starts.size() ? starts[i + 1] : bytes.size(); }
    void Insert(size_t i, const std::string& entry);
    void Erase(size_t i);
    // Erases the entry with sort key `key`, if there is one.
    void EraseKey(std::string_view key);
  };

  // The entries of folder `dir`, read from the cached tree on first use.
  Result<Folder*> Load(git_repository* repo, const std::string& dir);
  void DropLeastRecentlyUsed();

  std::string commit_id_;
  git_oid tree_id_;
  std::map<std::string, std::unique_ptr<Folder>> folders_;  // folder path -> its entries
  uint64_t uses_ = 0;                                       // calls of Load so far
};

}  // namespace taskfs::storage
