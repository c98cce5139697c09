// Store: the task store, a git repository (libgit2) with branch `main` whose tree is exactly what
// the mount shows, plus the local-only state kept beside it (never committed).
//
// A Store loads the branch's tree into an immutable Snapshot; readers take snapshot() and never
// wait. Commit() writes blobs and only the changed paths' trees, makes one commit, writes them all
// as one durable pack (storage/object_buffer.h) and moves the branch with a compare-and-swap: if
// another process (the sync daemon, a `git` command) moved it first, the store merges its change
// onto theirs with its TaskMerger and tries again, so nothing is overwritten. Refresh() picks up commits made by others.
//
// Thread-safety: every method may be called from any thread; libgit2 access is serialised by an
// internal mutex (mu_: take it after any lock of a caller). snapshot() never waits for libgit2
// (but for its first call on a store opened Load::kOnFirstUse, which reads the tree): the current
// snapshot is a pointer behind its own leaf mutex, swapped when a commit or refresh is done, so
// readers never wait for a commit.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "storage/change.h"
#include "storage/object_buffer.h"
#include "storage/snapshot.h"
#include "storage/status.h"
#include "storage/task_merger.h"

struct git_repository;  // libgit2, seen only by storage/*.cc
struct git_oid;

namespace taskfs::storage {

struct CommitOutcome {
  SnapshotPtr snapshot;
  // True when our change was merged with someone else's: the branch had moved under us, or the
  // paths had changed since `based_on`. What was committed then differs from what the caller
  // wrote, and other paths may have changed too: the caller must treat them all as changed.
  bool merged_with_others = false;
};

class Store {
 public:
  // Creates a new, empty store (a bare repository with branch main) at `path`.
  static Result<std::unique_ptr<Store>> Init(const std::string& path,
                                             const std::string& client_name);
  enum class Access {
    kReadWrite,  // the mount: may commit, cleans up after crashed writers
    kReadOnly,   // status, log, show: commits nothing, safe beside a running mount
  };
  enum class Load {
    kNow,         // Open reads the branch's whole tree (the mount, status: they show it at once)
    kOnFirstUse,  // the tree is read by the first call that needs it: a sync with nothing to do,
                  // `taskfs log`, `remote list` never read it. A tree that cannot be read is then
                  // the error of that call (Refresh, Commit, SnapshotOf...); snapshot() cannot
                  // report one and ends the program: call Refresh() first.
  };
  // Opens an existing store: one made by Init, or any git repository (bare or not).
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             Access access = Access::kReadWrite,
                                             Load load = Load::kNow);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  SnapshotPtr snapshot() const;
  // The commit the branch points at now ("" for an empty store), read from the ref: no tree is
  // read, so a caller can tell "nothing changed" without a snapshot.
  Result<std::string> Head() const;
  // False while a store opened with Load::kOnFirstUse has not read its tree yet.
  bool tree_loaded() const;

  // Commits `changes` as one commit with `message`. A change whose bytes equal the current ones is
  // dropped; a commit with no effect is not made. Returns the new snapshot. `based_on` is the
  // snapshot the changes were made against (default: the current one); paths that changed since
  // are merged with the TaskMerger instead of overwritten.
  Result<CommitOutcome> Commit(const std::vector<Change>& changes, const std::string& message,
                               const SnapshotPtr& based_on = nullptr);

  // Reloads the branch if another process moved it. Returns the snapshot now current.
  Result<SnapshotPtr> Refresh();

  // Replaces the clock that dates commits (seconds since the epoch); tests use a logical clock
  // so that "the later commit wins" is reproducible.
  void SetClockForTesting(std::function<int64_t()> clock);
  // The memory the folders cached for the next commit take (storage/tree_cache.h); 0 before the
  // first commit.
  size_t TreeCacheBytesForTesting() const;

  // Replaces the merger used when the branch moved under a commit (default: LineTaskMerger).
  void SetMerger(std::shared_ptr<const TaskMerger> merger);

  // Saves the known mtimes of the tasks so that the next Open shows the same ones.
  Status SaveMtimes() const;

  // --- Merging with other stores (used by sync/) ---
  struct CommitInfo {
    std::string id;
    int64_t time = 0;
    std::string author;
    std::string client_id;  // from the author email "<client id>@taskfs", else the email
  };
  Result<CommitInfo> Info(const std::string& commit) const;
  // For each of `paths`, the newest non-merge commit in from..to that changed it (who wrote the
  // value and when); paths no such commit changed are left out.
  Result<std::map<std::string, CommitInfo>> LastChanges(
      const std::string& from, const std::string& to, const std::vector<std::string>& paths) const;
  // The merge base of two commits; "" when they share no history.
  Result<std::string> MergeBase(const std::string& a, const std::string& b) const;
  // The tree of any commit as a snapshot ("" gives the empty tree).
  Result<SnapshotPtr> SnapshotOf(const std::string& commit);
  // Renames between two commits' trees (old path, new path), as git detects them.
  Result<std::vector<std::pair<std::string, std::string>>> Renames(const std::string& from,
                                                                   const std::string& to) const;
  // Commits `changes` on top of `ours` as a merge commit whose second parent is `theirs`.
  // Conflict if the branch is no longer at `ours` (merge again).
  Result<SnapshotPtr> CommitMerge(const SnapshotPtr& ours, const std::vector<Change>& changes,
                                  const std::string& theirs, const std::string& message);
  // The bytes of the blob with hex id `id` (any version of any task), NotFound if absent.
  Result<std::string> ReadBlob(const std::string& id) const;
  // Moves the branch from `ours` to its descendant `theirs`. Conflict if the branch moved.
  Result<SnapshotPtr> FastForward(const SnapshotPtr& ours, const std::string& theirs);

  const std::string& git_dir() const { return git_dir_; }
  // Directory beside the repository for local-only state (scratch files, drafts, status).
  const std::string& local_dir() const { return local_dir_; }
  const std::string& branch_ref() const { return branch_ref_; }
  const std::string& client_name() const { return client_name_; }
  const std::string& client_id() const { return client_id_; }

  // Lets go of every pack the store has open. libgit2 keeps every pack it opened open and mapped
  // for as long as its object database lives, removed or not: a mount, daemon or server running
  // for weeks would keep a file descriptor and the pages of each pack merged since it started
  // (storage/repack.h merges them; so does git gc), and the pages of the packs it read count in
  // its resident memory. This frees the store's and the blob reader's object databases; they are
  // opened anew on the next use (cheap: their pages stay in the kernel's cache).
  // storage/repack.h calls it after each merge, the mount when it goes idle after commits.
  void ReleasePacks() const;
  // The same, only if a pack the store saw at its last call (or at Open) is gone: for packs other
  // processes merge (the mount's and the daemon's periodic check). One listing of objects/pack.
  void ReleaseRemovedPacksIfAnyWentAway() const;

  // For storage/ internals (history): runs `fn` with the repository under the store's lock.
  template <class Fn>
  auto WithRepository(Fn&& fn) const {
    std::lock_guard lock(mu_);
    return fn(repo_.get());
  }

 private:
  Store() = default;
  Status OpenRepository(const std::string& path, Access access);
  Result<SnapshotPtr> LoadSnapshot(const std::string& commit_hex, const Snapshot* previous) const;
  // The current snapshot, read from the branch first if the store was opened Load::kOnFirstUse
  // and nothing read it yet. Needs mu_ held.
  Result<SnapshotPtr> CurrentLocked() const;
  Result<std::string> WriteCommit(const Snapshot& base, const std::vector<Change>& changes,
                                  const std::string& message, std::vector<ObjectId>* blob_ids,
                                  const std::string& merge_parent = "");
  Result<std::string> WriteCommitWithCache(const Snapshot& base, const std::vector<Change>& changes,
                                           const std::string& message,
                                           std::vector<ObjectId>* blob_ids,
                                           const std::string& merge_parent);
  // WriteCommit's last step: commits the tree `root_id` on `base` (with second parent
  // `merge_parent` unless ""), makes its objects durable, then moves the branch to it.
  Result<std::string> CommitTree(const Snapshot& base, const ::git_oid& root_id,
                                 const std::string& message, const std::string& merge_parent);
  // The snapshot after `changes` were committed on `base` as `commit` (blob ids from WriteCommit).
  SnapshotPtr Apply(const SnapshotPtr& base, const std::string& commit,
                    const std::vector<Change>& changes, const std::vector<ObjectId>& blob_ids);
  Result<std::vector<Change>> MergeOnto(const Snapshot& ours_base, const Snapshot& theirs,
                                        const std::vector<Change>& changes);
  Result<std::string> ReadBranch() const;
  // Puts the object buffer on the repository's object database (a writer's). Needs mu_ held.
  Status AttachObjectBufferLocked() const;
  // ReleasePacks*: opens the object databases anew if `always` or a known pack is gone.
  void ReopenObjectDatabases(bool always) const;
  // Makes `snap` the current snapshot. Needs mu_ held.
  void Publish(SnapshotPtr snap);

  // Lock order: callers' locks, then mu_, then snapshot_mu_ (a leaf, held for a pointer copy).
  mutable std::mutex mu_;  // guards repo_ and every member below but snapshot_
  mutable std::mutex snapshot_mu_;
  struct RepoDeleter {
    void operator()(::git_repository* repo) const;
  };
  std::unique_ptr<::git_repository, RepoDeleter> repo_;
  // Written with mu_ and snapshot_mu_ held; read under either. Null until first use when opened
  // with Load::kOnFirstUse (CurrentLocked loads it).
  mutable SnapshotPtr snapshot_;
  std::shared_ptr<const TaskMerger> merger_;
  std::function<int64_t()> clock_;
  std::string git_dir_;
  std::string local_dir_;
  std::string branch_ref_ = "refs/heads/main";
  std::string client_name_;
  std::string client_id_;
  Access access_ = Access::kReadWrite;
  // Reads the bytes of snapshot entries on demand; set by OpenRepository, thread-safe itself.
  std::shared_ptr<const class BlobReader> blobs_;
  // The folders commits touched (storage/tree_cache.h), valid while the branch is at its commit.
  std::unique_ptr<class TreeCache> tree_cache_;
  // Every object the store writes, until its commit is durable as one pack (read-only: none).
  // Attached anew to each object database ReopenObjectDatabases opens: empty between commits.
  mutable ObjectBuffer objects_;
  // The packs (file names) in objects/pack at the last ReopenObjectDatabases or at Open, and those
  // the store wrote since.
  mutable std::set<std::string> known_packs_;
};

}  // namespace taskfs::storage
