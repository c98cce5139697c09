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

std::optional<git_oid> BlobAt(git_tree* tree, const std::string& path) {
  if (!tree) return std::nullopt;
  git_tree_entry* raw = nullptr;
  if (git_tree_entry_bypath(&raw, tree, path.c_str()) != 0) return std::nullopt;
  TreeEntryPtr entry(raw);
  if (git_tree_entry_type(raw) != GIT_OBJECT_BLOB) return std::nullopt;
  return *git_tree_entry_id(raw);
}

std::optional<std::string> ReadBlob(git_repository* repo, const std::optional<git_oid>& id) {
  if (!id) return std::nullopt;
  git_blob* raw = nullptr;
  if (git_blob_lookup(&raw, repo, &*id) != 0) return std::nullopt;
  BlobPtr blob(raw);
  return std::string(static_cast<const char*>(git_blob_rawcontent(raw)), git_blob_rawsize(raw));
}

// The path `path` had in `parent` if commit `child` renamed it there; empty if it was created.
std::string RenameSource(git_repository* repo, git_tree* parent, git_tree* child,
                         const std::string& path) {
  if (!parent) return "";
  git_diff* raw = nullptr;
  if (git_diff_tree_to_tree(&raw, repo, parent, child, nullptr) != 0) return "";
  DiffPtr diff(raw);
  git_diff_find_options opts = GIT_DIFF_FIND_OPTIONS_INIT;
  opts.flags = GIT_DIFF_FIND_RENAMES;
  if (git_diff_find_similar(raw, &opts) != 0) return "";
  for (size_t i = 0; i < git_diff_num_deltas(raw); ++i) {
    const git_diff_delta* d = git_diff_get_delta(raw, i);
    if (d->status == GIT_DELTA_RENAMED && path == d->new_file.path) return d->old_file.path;
  }
  return "";
}

// The trees of `commit`'s parents, first parent first.
Status ParentTrees(git_commit* commit, std::vector<TreePtr>* trees) {
  for (unsigned i = 0; i < git_commit_parentcount(commit); ++i) {
    git_commit* p_raw = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_parent(&p_raw, commit, i), "reading parent"));
    CommitPtr parent(p_raw);
    git_tree* pt_raw = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&pt_raw, p_raw), "reading tree"));
    trees->emplace_back(pt_raw);
  }
  return Status::OK();
}

// Whether a commit whose tree holds blob `now` at `name` changed it: it differs from every
// parent's (a merge that took one parent's version changed nothing itself), or, in a commit with
// no parent, it exists.
bool ChangedFromParents(const std::optional<git_oid>& now, const std::vector<TreePtr>& parent_trees,
                        const std::string& name) {
  auto same = [&](git_tree* parent_tree) {
    auto before = BlobAt(parent_tree, name);
    return now.has_value() == before.has_value() && (!now || git_oid_equal(&*now, &*before));
  };
  bool changed = parent_trees.empty() ? now.has_value() : true;
  for (const auto& parent_tree : parent_trees) changed = changed && !same(parent_tree.get());
  return changed;
}

// The entry of `commit` (tree `tree`), which changed the task at `name` to blob `now`. A rename
// adds the old name to `names`.
HistoryEntry ChangeEntry(git_repository* repo, git_commit* commit, git_tree* tree,
                         git_tree* first_parent, const std::string& name,
                         const std::optional<git_oid>& now, std::vector<std::string>* names) {
  HistoryEntry e;
  e.commit_id = OidToHex(*git_commit_id(commit));
  e.time = git_commit_time(commit);
  e.author = git_commit_author(commit)->name;
  const char* summary = git_commit_summary(commit);
  e.message = summary ? summary : "";
  e.path = name;
  e.content = ReadBlob(repo, now);
  if (!now) {
    e.action = "delete";
  } else if (BlobAt(first_parent, name)) {
    e.action = "edit";
  } else if (std::string from = RenameSource(repo, first_parent, tree, name); !from.empty()) {
    e.action = "rename";
    e.old_path = from;
    names->push_back(from);
  } else {
    e.action = "create";
  }
  return e;
}

// Adds to `entries` what commit `oid` did to the task under the first of its `names` it changed,
// if it changed any.
Status AddChange(git_repository* repo, const git_oid& oid, std::vector<std::string>* names,
                 std::vector<HistoryEntry>* entries) {
  git_commit* c_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_lookup(&c_raw, repo, &oid), "reading commit"));
  CommitPtr commit(c_raw);
  git_tree* t_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&t_raw, c_raw), "reading tree"));
  TreePtr tree(t_raw);
  std::vector<TreePtr> parent_trees;
  TASKFS_RETURN_IF_ERROR(ParentTrees(c_raw, &parent_trees));
  git_tree* first_parent = parent_trees.empty() ? nullptr : parent_trees[0].get();
  for (size_t k = 0; k < names->size(); ++k) {
    const std::string name = (*names)[k];  // a copy: a rename adds to names
    auto now = BlobAt(t_raw, name);
    if (!ChangedFromParents(now, parent_trees, name)) continue;
    entries->push_back(ChangeEntry(repo, c_raw, t_raw, first_parent, name, now, names));
    break;
  }
  return Status::OK();
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
      if (!HistoryIndex::ChangedAny(*commit, names)) continue;
      TASKFS_RETURN_IF_ERROR(AddChange(repo, ToGitOid(commit->id), &names, &entries));
    }
    if (entries.empty()) return Status::NotFound("no task " + path + " in the store's history");
    return entries;
  });
}

Result<size_t> UpdateHistoryIndex(const std::string& git_dir, const std::function<bool()>& stop) {
  auto store = Store::Open(git_dir, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
  if (!store.ok()) return store.status();
  const LocalState local(**store);
  const FileLock lock(local.history_index_lock());
  if (!lock.held()) return size_t{0};  // another process is doing this work already
  return (*store)->WithRepository([&](git_repository* repo) -> Result<size_t> {
    git_oid head;
    if (git_reference_name_to_id(&head, repo, (*store)->branch_ref().c_str()) != 0) {
      return size_t{0};  // no commits yet
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
    return added;
  });
}

}  // namespace taskfs::storage
