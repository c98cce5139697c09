#include "storage/history.h"

#include <git2.h>
#include <git2/sys/repository.h>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/history_index.h"
#include "storage/local_state.h"

namespace taskfs::storage {
namespace {

// Steps of the walk of UpdateHistoryIndex between two drops of libgit2's object cache.
constexpr size_t kStepsBetweenCacheDrops = 4096;

// The path `path` had in the first parent of `commit` if the commit renamed it there (with or
// without an edit); empty if the commit created it.
Result<std::string> RenameSource(git_repository* repo, git_commit* commit,
                                 const std::string& path) {
  if (git_commit_parentcount(commit) == 0) return std::string();
  auto parent_tree = ParentTree(commit, 0);
  if (!parent_tree.ok()) return parent_tree.status();
  auto tree = CommitTree(commit);
  if (!tree.ok()) return tree.status();
  git_diff* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_diff_tree_to_tree(&raw, repo, parent_tree->get(), tree->get(), nullptr),
                "diffing trees"));
  DiffPtr diff(raw);
  git_diff_find_options opts = GIT_DIFF_FIND_OPTIONS_INIT;
  opts.flags = GIT_DIFF_FIND_RENAMES;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_diff_find_similar(raw, &opts), "finding renames"));
  for (size_t i = 0; i < git_diff_num_deltas(raw); ++i) {
    const git_diff_delta* d = git_diff_get_delta(raw, i);
    if (d->status == GIT_DELTA_RENAMED && path == d->new_file.path) {
      return std::string(d->old_file.path);
    }
  }
  return std::string();
}

// The entry of commit `id`, which made `change` to the task (at change.path). A rename adds the
// old name to `names`.
Result<HistoryEntry> ChangeEntry(git_repository* repo, const ObjectId& id,
                                 const HistoryIndex::PathChange& change,
                                 std::vector<std::string>* names) {
  using Kind = HistoryIndex::PathChange::Kind;
  const git_oid oid = ToGitOid(id);
  git_commit* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_lookup(&raw, repo, &oid), "reading a commit"));
  CommitPtr commit(raw);
  HistoryEntry e;
  e.commit_id = OidToHex(oid);
  e.time = git_commit_time(raw);
  e.author = git_commit_author(raw)->name;
  const char* summary = git_commit_summary(raw);
  e.message = summary ? summary : "";
  e.path = change.path;
  if (change.kind == Kind::kDeleted) {
    e.action = "delete";
    return e;
  }
  e.blob = change.blob;
  if (change.kind == Kind::kModified) {
    e.action = "edit";
    return e;
  }
  auto from = RenameSource(repo, raw, change.path);
  if (!from.ok()) return from.status();
  e.action = from->empty() ? "create" : "rename";
  e.old_path = *from;
  if (!from->empty()) names->push_back(*from);
  return e;
}

}  // namespace

Result<std::vector<HistoryEntry>> TaskHistory(const Store& store, const std::string& path,
                                              size_t max_entries) {
  const LocalState local(store);
  // An update under way (the mount's or the daemon's, storage/history_warmer.h) is waited for,
  // and what it indexed then found. Not held (a store one may only read, or still busy after the
  // wait): this one goes on alone.
  const FileLock lock(local.history_index_lock(), kHistoryIndexLockWait);
  return store.WithRepository([&](git_repository* repo) -> Result<std::vector<HistoryEntry>> {
    std::vector<HistoryEntry> entries;
    git_oid head;
    if (git_reference_name_to_id(&head, repo, store.branch_ref().c_str()) != 0) {
      return Status::NotFound("no task " + path + ": the store has no commits yet");
    }
    auto index = HistoryIndex::Update(repo, local.history_index(), head);
    if (!index.ok()) return index.status();
    // Every commit, not only first parents: a change made on another machine and merged in
    // shows as that machine's commit, not as the merge. Only the commits the index says changed
    // one of the task's names are read.
    std::vector<std::string> names = {path};  // every name the task has had
    for (const HistoryIndex::Commit* commit : index->NewestFirst(head)) {
      if (entries.size() >= max_entries) break;
      // The first of the names this commit changed (a task has one name in any one tree).
      const HistoryIndex::PathChange* change = nullptr;
      for (size_t k = 0; k < names.size() && !change; ++k) {
        change = HistoryIndex::FindChange(*commit, names[k]);
      }
      if (!change) continue;
      auto entry = ChangeEntry(repo, commit->id, *change, &names);
      if (!entry.ok()) return entry.status();
      entries.push_back(std::move(*entry));
    }
    if (entries.empty()) return Status::NotFound("no task " + path + " in the store's history");
    return entries;
  });
}

Result<std::string> TaskVersion(const Store& store, const HistoryEntry& entry) {
  if (!entry.blob) {
    return Status::NotFound(entry.path + " was deleted by " + entry.commit_id.substr(0, 12));
  }
  return store.WithRepository([&](git_repository* repo) -> Result<std::string> {
    const git_oid oid = ToGitOid(*entry.blob);
    git_blob* raw = nullptr;
    TASKFS_RETURN_IF_ERROR(
        GitStatus(git_blob_lookup(&raw, repo, &oid),
                  "reading " + entry.path + " of " + entry.commit_id.substr(0, 12)));
    BlobPtr blob(raw);
    return std::string(static_cast<const char*>(git_blob_rawcontent(raw)), git_blob_rawsize(raw));
  });
}

Result<HistoryIndexGrowth> UpdateHistoryIndex(const std::string& git_dir,
                                              const std::function<bool()>& stop) {
  auto store = Store::Open(git_dir, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
  if (!store.ok()) return store.status();
  const LocalState local(**store);
  const FileLock lock(local.history_index_lock());
  if (!lock.held()) return HistoryIndexGrowth{};  // another process is doing this work already
  return (*store)->WithRepository([&](git_repository* repo) -> Result<HistoryIndexGrowth> {
    git_oid head;
    if (git_reference_name_to_id(&head, repo, (*store)->branch_ref().c_str()) != 0) {
      return HistoryIndexGrowth{};  // no commits yet
    }
    // libgit2 caches the commits and small trees it reads, up to 256 MB a process: at 50,000
    // commits that was most of 190 MB. Dropped every few thousand steps (this store is read-only
    // and its own: no commit buffer or caller goes with it).
    size_t steps = 0;
    const auto stop_or_drop_cache = [&] {
      if (++steps % kStepsBetweenCacheDrops == 0) git_repository__cleanup(repo);
      return stop && stop();
    };
    size_t added = 0;
    auto index =
        HistoryIndex::Update(repo, local.history_index(), head, stop_or_drop_cache, &added);
    if (!index.ok()) return index.status();
    return HistoryIndexGrowth{.commits = added, .paths = index->PathsOfNewest(added)};
  });
}

}  // namespace taskfs::storage
