#include "storage/incoming_history.h"

#include <set>

#include "storage/git_handles.h"
#include "storage/task_limits.h"

namespace taskfs::storage {
namespace {

// Checks the entries of `tree` (at folder `prefix`) that `old` (the parent's tree of the same
// folder; null: none) does not have with the same id and mode, recursing into changed folders.
Status CheckTree(git_repository* repo, git_odb* odb, const git_tree* tree, const git_tree* old,
                 const std::string& prefix) {
  const size_t count = git_tree_entrycount(tree);
  for (size_t i = 0; i < count; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree, i);
    const std::string name = git_tree_entry_name(e);
    const git_oid* id = git_tree_entry_id(e);
    const auto mode = static_cast<uint32_t>(git_tree_entry_filemode_raw(e));
    const git_tree_entry* before = old ? git_tree_entry_byname(old, name.c_str()) : nullptr;
    if (before && git_oid_equal(git_tree_entry_id(before), id) &&
        static_cast<uint32_t>(git_tree_entry_filemode_raw(before)) == mode) {
      continue;  // checked with the parent
    }
    const std::string path = prefix + name;
    uint64_t size = 0;
    if (mode == kModeFile || mode == kModeExecutable) {
      size_t length = 0;
      git_object_t type = GIT_OBJECT_INVALID;
      TASKFS_RETURN_IF_ERROR(
          GitStatus(git_odb_read_header(&length, &type, odb, id), "reading " + path));
      if (type != GIT_OBJECT_BLOB) {
        return Status::InvalidArgument("entry '" + EscapeForDisplay(path) +
                                       "': a file entry that is not a blob");
      }
      size = length;
    }
    TASKFS_RETURN_IF_ERROR(CheckTreeEntry(path, name, mode, size));
    if (mode != kModeTree) continue;
    git_tree* sub = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_tree_lookup(&sub, repo, id), "reading folder " + path));
    TreePtr sub_ptr(sub);
    TreePtr old_sub;
    if (before && git_tree_entry_type(before) == GIT_OBJECT_TREE) {
      git_tree* raw = nullptr;
      if (git_tree_lookup(&raw, repo, git_tree_entry_id(before)) == 0) old_sub.reset(raw);
    }
    TASKFS_RETURN_IF_ERROR(CheckTree(repo, odb, sub, old_sub.get(), path + "/"));
  }
  return Status::OK();
}

// Checks one commit's tree against its first parent's.
Status CheckCommit(git_repository* repo, git_odb* odb, const git_oid& id) {
  git_commit* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_lookup(&raw, repo, &id), "reading the commit"));
  CommitPtr commit(raw);
  git_tree* tree = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&tree, raw), "reading its tree"));
  TreePtr tree_ptr(tree);
  TreePtr parent_tree;
  if (git_commit_parentcount(raw) > 0) {
    git_commit* parent = nullptr;
    TASKFS_RETURN_IF_ERROR(
        GitStatus(git_commit_parent(&parent, raw, 0), "reading the commit's parent"));
    CommitPtr parent_ptr(parent);
    git_tree* ptree = nullptr;
    TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_tree(&ptree, parent), "reading its parent's tree"));
    parent_tree.reset(ptree);
  }
  return CheckTree(repo, odb, tree, parent_tree.get(), "");
}

// A full check of a tree and everything below it (for a refused history: which objects are
// hostile). Memoised in `bad_trees` / `good_trees` by tree id.
bool TreeIsBad(git_repository* repo, git_odb* odb, const git_oid& id, const std::string& prefix,
               std::set<std::string>* bad_trees, std::set<std::string>* good_trees) {
  const std::string hex = OidToHex(id);
  if (bad_trees->count(hex)) return true;
  if (good_trees->count(hex)) return false;
  git_tree* raw = nullptr;
  if (git_tree_lookup(&raw, repo, &id) != 0) return false;  // missing: not ours to judge
  TreePtr tree(raw);
  bool bad = false;
  for (size_t i = 0; i < git_tree_entrycount(raw) && !bad; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(raw, i);
    const std::string path = prefix + git_tree_entry_name(e);
    const auto mode = static_cast<uint32_t>(git_tree_entry_filemode_raw(e));
    uint64_t size = 0;
    if (mode == kModeFile || mode == kModeExecutable) {
      size_t length = 0;
      git_object_t type = GIT_OBJECT_INVALID;
      if (git_odb_read_header(&length, &type, odb, git_tree_entry_id(e)) == 0) size = length;
    }
    bad = !CheckTreeEntry(path, git_tree_entry_name(e), mode, size).ok() ||
          (mode == kModeTree &&
           TreeIsBad(repo, odb, *git_tree_entry_id(e), path + "/", bad_trees, good_trees));
  }
  (bad ? bad_trees : good_trees)->insert(hex);
  return bad;
}

// The hostile objects of a refused range: see CheckIncomingHistory.
void CollectHostile(git_repository* repo, git_odb* odb, git_revwalk* walk,
                    std::set<std::string>* hostile) {
  std::set<std::string> bad_commits, good_trees;
  git_oid oid;
  while (git_revwalk_next(&oid, walk) == 0) {
    git_commit* raw = nullptr;
    if (git_commit_lookup(&raw, repo, &oid) != 0) continue;
    CommitPtr commit(raw);
    bool bad = TreeIsBad(repo, odb, *git_commit_tree_id(raw), "", hostile, &good_trees);
    for (unsigned i = 0; i < git_commit_parentcount(raw) && !bad; ++i) {
      bad = bad_commits.count(OidToHex(*git_commit_parent_id(raw, i))) > 0;
    }
    if (bad) bad_commits.insert(OidToHex(oid));
  }
  hostile->insert(bad_commits.begin(), bad_commits.end());
}

}  // namespace

Status CheckIncomingHistory(git_repository* repo, const std::string& known,
                            const std::string& theirs, const std::string& peer,
                            std::set<std::string>* hostile) {
  git_odb* odb_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_odb(&odb_raw, repo), "opening objects"));
  OdbPtr odb(odb_raw);
  git_oid oid;
  if (git_oid_fromstr(&oid, theirs.c_str()) != 0) {
    return Status::InvalidArgument(peer + " sent something that is not a commit id");
  }
  auto walk = WalkRange(repo, known, theirs, GIT_SORT_NONE);
  if (!walk.ok()) return walk.status();
  while (git_revwalk_next(&oid, walk->get()) == 0) {
    Status st = CheckCommit(repo, odb.get(), oid);
    if (st.ok()) continue;
    const std::string refused = "refused commit " + OidToHex(oid).substr(0, 12) + " from " + peer +
                                ": " + st.message() + "; nothing of it was taken in";
    if (hostile) {
      // Parents first, so that a commit knows whether it descends from a bad one.
      auto all = WalkRange(repo, known, theirs, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
      if (all.ok()) CollectHostile(repo, odb.get(), all->get(), hostile);
    }
    return st.code() == Status::Code::kTooLarge ? Status::TooLarge(refused)
                                                : Status::InvalidArgument(refused);
  }
  return Status::OK();
}

Status CheckIncomingHistory(const Store& store, const std::string& known, const std::string& theirs,
                            const std::string& peer) {
  auto repo = OpenBareRepository(store.git_dir());
  if (!repo.ok()) return repo.status();
  return CheckIncomingHistory(repo->get(), known, theirs, peer, nullptr);
}

}  // namespace taskfs::storage
