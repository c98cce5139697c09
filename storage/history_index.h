// HistoryIndex: for every commit of the store, its parents, its date and the paths it changed
// (those whose entry differs from every parent's), each with its blob after the commit and how it
// changed from the first parent, so that `taskfs log NAME` reads only the few commits that
// touched NAME, and no tree except where a task appeared (storage/history.h).
//
// It is a cache of facts about immutable commits, kept beside the store in
// GITDIR/taskfs/history-index (never synced) and closed under ancestry: a commit is in it only
// with all its ancestors (a record comes after its parents'). Update() adds the commits reachable
// from the head that it lacks, read from git (after a sync, the commits it brought; the first time,
// the whole history), and appends their records; two processes appending at once leave duplicates,
// which are skipped. A damaged record ends the file: the records before it are kept and the file
// is rewritten whole. A file of an older format is read again from git.
//
// Thread-safety: a value; Update needs the repository to itself (Store::WithRepository).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/object_id.h"
#include "storage/status.h"

struct git_repository;  // libgit2, seen only by storage/*.cc
struct git_oid;

namespace taskfs::storage {

class HistoryIndex {
 public:
  // One path a commit changed.
  struct PathChange {
    enum class Kind : char { kAdded = 'A', kModified = 'M', kDeleted = 'D' };  // to the 1st parent
    std::string path;
    Kind kind = Kind::kModified;
    ObjectId blob{};  // the path's blob after the commit; zero when deleted
  };
  struct Commit {
    ObjectId id{};
    int64_t time = 0;
    std::vector<uint32_t> parents;     // their positions in the index (added before their children)
    std::vector<PathChange> changed;   // sorted by path; every path a first commit holds
  };

  // The index in `file`, with the commits reachable from `head` it lacked added from `repo` and
  // the file rewritten if any were (a failed write is logged: the index still answers). Once
  // `stop` returns true (asked between commits), it stops early: the commits added by then are
  // saved, and the index may lack `head`. Callers hold LocalState::history_index_lock().
  // How many commits it added goes to `added` when given.
  static Result<HistoryIndex> Update(git_repository* repo, const std::string& file,
                                     const git_oid& head,
                                     const std::function<bool()>& stop = nullptr,
                                     size_t* added = nullptr);

  // The commits reachable from `head`, children before their parents and otherwise newest first
  // (git log --date-order). `head` must have been passed to Update.
  std::vector<const Commit*> NewestFirst(const git_oid& head) const;

  // What `commit` did to `path`; null if it did not change it.
  static const PathChange* FindChange(const Commit& commit, std::string_view path);

  size_t size() const { return commits_.size(); }
  // How many changed paths the last `commits` commits added hold (Update's `added`).
  size_t PathsOfNewest(size_t commits) const;

 private:
  struct IdHash {
    size_t operator()(const ObjectId& id) const;
  };
  // Reads `file` (none: an empty index); a damaged record ends it, keeping the ones before.
  Status Load(const std::string& file);
  // The file's text for the commits from position `from` on (the header too when it is 0).
  std::string Serialize(size_t from) const;
  // Adds the commits reachable from `head` that are not indexed yet, until `stop` returns true;
  // returns how many.
  Result<size_t> AddMissing(git_repository* repo, const git_oid& head,
                            const std::function<bool()>& stop);
  const Commit* Find(const ObjectId& id) const;
  // Adds `c`, whose parents (`parent_ids`) are in the index already.
  void Add(Commit c, const std::vector<ObjectId>& parent_ids);

  std::vector<Commit> commits_;
  std::unordered_map<ObjectId, size_t, IdHash> by_id_;  // position in commits_
};

}  // namespace taskfs::storage
