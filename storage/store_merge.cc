// Store: what sync/ needs to merge with other stores (merge bases, other commits' trees, renames,
// merge commits and fast-forwards). The merge rules themselves live in sync/.
#include <cstring>
#include <map>

#include "storage/commit_message.h"
#include "storage/git_handles.h"
#include "storage/store.h"
#include "storage/task_name.h"

namespace taskfs::storage {

namespace {
Status ParseOid(const std::string& hex, git_oid* oid) {
  if (git_oid_fromstr(oid, hex.c_str()) != 0) {
    return Status::InvalidArgument("not a commit id: '" + hex + "'");
  }
  return Status::OK();
}

bool TreeHas(git_tree* tree, const std::string& path) {
  if (!tree) return false;
  git_tree_entry* e = nullptr;
  if (git_tree_entry_bypath(&e, tree, path.c_str()) != 0) return false;
  TreeEntryPtr entry(e);
  return true;
}

// Applies `renames` (old -> new) with the rename `from_path` -> `to_path`, composing chains.
void Compose(std::map<std::string, std::string>* renames, const std::string& from_path,
             const std::string& to_path) {
  bool chained = false;
  for (auto& [old_path, new_path] : *renames) {
    if (new_path == from_path) {
      new_path = to_path;
      chained = true;
    }
  }
  if (!chained) (*renames)[from_path] = to_path;
}

// Renames recorded in the messages of the commits in from..to (storage/commit_message.h: task
// names or folders), added to `renames`.
Status AddRenamesFromMessages(git_repository* repo, const std::string& from, const std::string& to,
                              git_tree* from_tree, std::map<std::string, std::string>* renames) {
  auto walk = WalkRange(repo, from, to, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
  if (!walk.ok()) return walk.status();
  git_oid oid;
  while (git_revwalk_next(&oid, walk->get()) == 0) {
    git_commit* c = nullptr;
    if (git_commit_lookup(&c, repo, &oid) != 0) continue;
    CommitPtr commit(c);
    const char* text = git_commit_message(c);
    for (const Rename& r : RenamesIn(text ? text : "")) {
      if (!TreeHas(from_tree, r.from) || TreeHas(from_tree, TaskPathOf(r.from))) {  // a task
        Compose(renames, TaskPathOf(r.from), TaskPathOf(r.to));
      }
    }
  }
  return Status::OK();
}
}  // namespace

Result<Store::CommitInfo> Store::Info(const std::string& commit) const {
  std::lock_guard lock(mu_);
  git_oid oid;
  TASKFS_RETURN_IF_ERROR(ParseOid(commit, &oid));
  git_commit* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_commit_lookup(&raw, repo_.get(), &oid), "reading " + commit));
  CommitPtr c(raw);
  const git_signature* author = git_commit_author(raw);
  CommitInfo info;
  info.id = commit;
  info.time = git_commit_time(raw);
  info.author = author->name ? author->name : "";
  std::string email = author->email ? author->email : "";
  info.client_id = email.ends_with("@taskfs") ? email.substr(0, email.size() - 7) : email;
  return info;
}

Result<std::map<std::string, Store::CommitInfo>> Store::LastChanges(
    const std::string& from, const std::string& to, const std::vector<std::string>& paths) const {
  std::map<std::string, CommitInfo> found;
  std::vector<std::string> open_paths = paths;
  {
    std::lock_guard lock(mu_);
    auto walk = WalkRange(repo_.get(), from, to, GIT_SORT_TIME);
    if (!walk.ok()) return walk.status();
    git_oid oid;
    while (!open_paths.empty() && git_revwalk_next(&oid, walk->get()) == 0) {
      git_commit* c = nullptr;
      if (git_commit_lookup(&c, repo_.get(), &oid) != 0) continue;
      CommitPtr commit(c);
      if (git_commit_parentcount(c) != 1) continue;  // merges carry others' changes
      git_commit* p = nullptr;
      git_tree *tree = nullptr, *parent_tree = nullptr;
      if (git_commit_parent(&p, c, 0) != 0) continue;
      CommitPtr parent(p);
      if (git_commit_tree(&tree, c) != 0) continue;
      TreePtr tree_ptr(tree);
      if (git_commit_tree(&parent_tree, p) != 0) continue;
      TreePtr parent_ptr(parent_tree);
      for (auto it = open_paths.begin(); it != open_paths.end();) {
        git_tree_entry *now = nullptr, *before = nullptr;
        const bool has_now = git_tree_entry_bypath(&now, tree, it->c_str()) == 0;
        const bool has_before = git_tree_entry_bypath(&before, parent_tree, it->c_str()) == 0;
        TreeEntryPtr now_ptr(now), before_ptr(before);
        const bool changed =
            has_now != has_before ||
            (has_now && !git_oid_equal(git_tree_entry_id(now), git_tree_entry_id(before)));
        if (changed) {
          found[*it].id = OidToHex(oid);
          it = open_paths.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  for (auto& [path, info] : found) {
    auto full = Info(info.id);
    if (!full.ok()) return full.status();
    info = *full;
  }
  return found;
}

Result<std::string> Store::MergeBase(const std::string& a, const std::string& b) const {
  std::lock_guard lock(mu_);
  git_oid oa, ob, base;
  TASKFS_RETURN_IF_ERROR(ParseOid(a, &oa));
  TASKFS_RETURN_IF_ERROR(ParseOid(b, &ob));
  int rc = git_merge_base(&base, repo_.get(), &oa, &ob);
  if (rc == GIT_ENOTFOUND) return std::string();
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "finding the merge base of " + a + " and " + b));
  return OidToHex(base);
}

Result<SnapshotPtr> Store::SnapshotOf(const std::string& commit) {
  std::lock_guard lock(mu_);
  auto current = CurrentLocked();  // its mtimes date the tasks `commit` shares with it
  if (!current.ok()) return current.status();
  return LoadSnapshot(commit, current->get());
}

Result<std::vector<std::pair<std::string, std::string>>> Store::Renames(
    const std::string& from, const std::string& to) const {
  std::lock_guard lock(mu_);
  auto tree_of = [&](const std::string& commit, TreePtr* out) -> Status {
    if (commit.empty()) return Status::OK();
    git_oid oid;
    TASKFS_RETURN_IF_ERROR(ParseOid(commit, &oid));
    git_commit* c = nullptr;
    TASKFS_RETURN_IF_ERROR(
        GitStatus(git_commit_lookup(&c, repo_.get(), &oid), "reading " + commit));
    CommitPtr cp(c);
    git_tree* t = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&t, c), "reading tree of " + commit));
    out->reset(t);
    return Status::OK();
  };
  TreePtr a, b;
  TASKFS_RETURN_IF_ERROR(tree_of(from, &a));
  TASKFS_RETURN_IF_ERROR(tree_of(to, &b));
  git_diff* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_diff_tree_to_tree(&raw, repo_.get(), a.get(), b.get(), nullptr), "comparing trees"));
  DiffPtr diff(raw);
  git_diff_find_options opts = GIT_DIFF_FIND_OPTIONS_INIT;
  opts.flags = GIT_DIFF_FIND_RENAMES;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_diff_find_similar(raw, &opts), "finding renames"));
  std::map<std::string, std::string> renames;
  for (size_t i = 0; i < git_diff_num_deltas(raw); ++i) {
    const git_diff_delta* d = git_diff_get_delta(raw, i);
    if (d->status == GIT_DELTA_RENAMED) renames[d->old_file.path] = d->new_file.path;
  }
  // git's similarity misses a small task renamed and then edited; taskfs's own commits say
  // what they renamed ("rename a -> b"): follow those too, oldest first.
  TASKFS_RETURN_IF_ERROR(AddRenamesFromMessages(repo_.get(), from, to, a.get(), &renames));
  return std::vector<std::pair<std::string, std::string>>(renames.begin(), renames.end());
}

Result<SnapshotPtr> Store::CommitMerge(const SnapshotPtr& ours, const std::vector<Change>& changes,
                                       const std::string& theirs, const std::string& message) {
  std::lock_guard lock(mu_);
  if (access_ != Access::kReadWrite) return Status::PermissionDenied("store opened read-only");
  std::vector<ObjectId> blob_ids;
  auto commit = WriteCommit(*ours, changes, message, &blob_ids, theirs);
  if (!commit.ok()) return commit.status();
  Publish(Apply(ours, *commit, changes, blob_ids));
  return snapshot_;
}

Result<SnapshotPtr> Store::FastForward(const SnapshotPtr& ours, const std::string& theirs) {
  std::lock_guard lock(mu_);
  if (access_ != Access::kReadWrite) return Status::PermissionDenied("store opened read-only");
  git_oid target;
  TASKFS_RETURN_IF_ERROR(ParseOid(theirs, &target));
  git_oid expected;
  if (!ours->commit_id().empty()) TASKFS_RETURN_IF_ERROR(ParseOid(ours->commit_id(), &expected));
  TASKFS_RETURN_IF_ERROR(MoveBranch(repo_.get(), branch_ref_, target,
                                    ours->commit_id().empty() ? nullptr : &expected,
                                    "taskfs: fast-forward to " + theirs));
  auto snap = LoadSnapshot(theirs, ours.get());
  if (!snap.ok()) return snap.status();
  Publish(*snap);
  return snapshot_;
}

Result<std::string> Store::ReadBlob(const std::string& id) const {
  git_oid oid;
  if (id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, id.c_str()) != 0) {
    return Status::InvalidArgument("not an object id: " + id);
  }
  std::lock_guard lock(mu_);
  git_blob* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_blob_lookup(&raw, repo_.get(), &oid), "reading blob " + id));
  BlobPtr blob(raw);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
}

}  // namespace taskfs::storage
