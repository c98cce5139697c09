#include "storage/incoming_history.h"

#include <algorithm>
#include <map>
#include <set>

#include "storage/git_handles.h"
#include "storage/task_limits.h"

namespace taskfs::storage {
namespace {

// Walks the trees of incoming commits. Each (tree, tree it is compared with) pair is walked once
// per longer folder prefix it appears at (only a longer path can break the path limit), so trees
// that list one subtree many times cost what their distinct objects cost, never the 2^depth
// paths they spell.
class TreeChecker {
 public:
  TreeChecker(git_repository* repo, git_odb* odb) : repo_(repo), odb_(odb) {}

  // Checks the entries of `tree` (at folder `prefix`) that `old` (the same folder in the parent;
  // null: none, check all) lacks with the same id and mode. On failure every tree on the way
  // down to the bad entry is added to bad_trees().
  Status Check(const git_tree* tree, const git_tree* old, const std::string& prefix) {
    const std::string key = OidToHex(*git_tree_id(tree)) + (old ? OidToHex(*git_tree_id(old)) : "");
    if (auto it = passed_.find(key); it != passed_.end() && it->second >= prefix.size()) {
      return Status::OK();
    }
    Status st = CheckEntries(tree, old, prefix);
    if (!st.ok()) {
      bad_trees_.insert(OidToHex(*git_tree_id(tree)));
      return st;
    }
    size_t& longest = passed_[key];
    longest = std::max(longest, prefix.size());
    return st;
  }

  const std::set<std::string>& bad_trees() const { return bad_trees_; }

  // How many files and folders `tree` holds at any depth, counted once per distinct subtree;
  // stops counting past kMaxTreePaths.
  uint64_t PathCount(const git_tree* tree) {
    const std::string hex = OidToHex(*git_tree_id(tree));
    if (auto it = path_counts_.find(hex); it != path_counts_.end()) return it->second;
    uint64_t count = 0;
    for (size_t i = 0; i < git_tree_entrycount(tree) && count <= kMaxTreePaths; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree, i);
      ++count;
      git_tree* sub = nullptr;
      if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
          git_tree_lookup(&sub, repo_, git_tree_entry_id(e)) != 0) {
        continue;
      }
      TreePtr sub_ptr(sub);
      count += PathCount(sub);
    }
    path_counts_[hex] = count;
    return count;
  }

 private:
  Status CheckEntries(const git_tree* tree, const git_tree* old, const std::string& prefix) {
    for (size_t i = 0; i < git_tree_entrycount(tree); ++i) {
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
      TASKFS_RETURN_IF_ERROR(CheckEntry(id, path, name, mode));
      if (mode != kModeTree) continue;
      git_tree* sub = nullptr;
      TASKFS_RETURN_IF_ERROR(GitStatus(git_tree_lookup(&sub, repo_, id), "reading folder " + path));
      TreePtr sub_ptr(sub);
      TreePtr old_sub;
      if (before && git_tree_entry_type(before) == GIT_OBJECT_TREE) {
        git_tree* raw = nullptr;
        if (git_tree_lookup(&raw, repo_, git_tree_entry_id(before)) == 0) old_sub.reset(raw);
      }
      TASKFS_RETURN_IF_ERROR(Check(sub, old_sub.get(), path + "/"));
    }
    return Status::OK();
  }

  // One entry: its name, mode and size, and that its object has the kind its mode says.
  Status CheckEntry(const git_oid* id, const std::string& path, const std::string& name,
                    uint32_t mode) {
    uint64_t size = 0;
    if (mode == kModeFile || mode == kModeExecutable) {
      size_t length = 0;
      git_object_t type = GIT_OBJECT_INVALID;
      TASKFS_RETURN_IF_ERROR(
          GitStatus(git_odb_read_header(&length, &type, odb_, id), "reading " + path));
      if (type != GIT_OBJECT_BLOB) {
        return Status::InvalidArgument("entry '" + EscapeForDisplay(path) +
                                       "': a file entry that is not a blob");
      }
      size = length;
    }
    return CheckTreeEntry(path, name, mode, size);
  }

  git_repository* const repo_;
  git_odb* const odb_;
  std::map<std::string, size_t> passed_;  // tree + compared tree -> longest prefix it passed at
  std::set<std::string> bad_trees_;
  std::map<std::string, uint64_t> path_counts_;  // tree -> files and folders it holds
};

// A commit's tree, and its first parent's (null for a root commit).
struct CommitTrees {
  TreePtr tree, parent_tree;
};
Result<CommitTrees> TreesOf(git_repository* repo, const git_oid& id) {
  git_commit* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_commit_lookup(&raw, repo, &id), "reading the commit"));
  CommitPtr commit(raw);
  CommitTrees trees;
  auto tree = CommitTree(raw);
  if (!tree.ok()) return tree.status();
  trees.tree = std::move(*tree);
  if (git_commit_parentcount(raw) > 0) {
    auto parent_tree = ParentTree(raw, 0);
    if (!parent_tree.ok()) return parent_tree.status();
    trees.parent_tree = std::move(*parent_tree);
  }
  return trees;
}

// The hostile objects of a refused range (see CheckIncomingHistory): each commit's whole tree is
// checked, parents first, so that a commit knows whether it descends from a bad one.
void CollectHostile(git_repository* repo, TreeChecker& checker, git_revwalk* walk,
                    std::set<std::string>* hostile) {
  std::set<std::string> bad_commits;
  git_oid oid;
  while (git_revwalk_next(&oid, walk) == 0) {
    git_commit* raw = nullptr;
    if (git_commit_lookup(&raw, repo, &oid) != 0) continue;
    CommitPtr commit(raw);
    git_tree* tree = nullptr;
    bool bad = git_commit_tree(&tree, raw) != 0;
    TreePtr tree_ptr(tree);
    bad = bad || !checker.Check(tree, nullptr, "").ok();
    if (!bad && checker.PathCount(tree) > kMaxTreePaths) {
      bad = true;
      hostile->insert(OidToHex(*git_tree_id(tree)));
    }
    for (unsigned i = 0; i < git_commit_parentcount(raw) && !bad; ++i) {
      bad = bad_commits.count(OidToHex(*git_commit_parent_id(raw, i))) > 0;
    }
    if (bad) bad_commits.insert(OidToHex(oid));
  }
  hostile->insert(bad_commits.begin(), bad_commits.end());
  hostile->insert(checker.bad_trees().begin(), checker.bad_trees().end());
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
  TreeChecker checker(repo, odb.get());
  int rc;
  while ((rc = git_revwalk_next(&oid, walk->get())) == 0) {
    auto trees = TreesOf(repo, oid);
    Status st = trees.ok() ? checker.Check(trees->tree.get(), trees->parent_tree.get(), "")
                           : trees.status();
    if (st.ok() && checker.PathCount(trees->tree.get()) > kMaxTreePaths) {
      st = Status::InvalidArgument("a tree of more than " + std::to_string(kMaxTreePaths) +
                                   " files and folders");
    }
    if (st.ok()) continue;
    const std::string refused = "refused commit " + OidToHex(oid).substr(0, 12) + " from " + peer +
                                ": " + st.message() + "; nothing of it was taken in";
    if (hostile) {
      TreeChecker full(repo, odb.get());
      auto all = WalkRange(repo, known, theirs, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
      if (all.ok()) CollectHostile(repo, full, all->get(), hostile);
    }
    return Status::Refused(refused);
  }
  if (rc != GIT_ITEROVER) {
    // A commit whose parent is missing: what it builds on could not be checked.
    return Status::Refused("refused commit " + theirs.substr(0, 12) + " from " + peer +
                                   ": its history is incomplete (" +
                                   GitStatus(rc, "walking it").message() +
                                   "); nothing of it was taken in");
  }
  return Status::OK();
}

}  // namespace taskfs::storage
