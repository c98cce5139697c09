#include "storage/packs.h"

#include <optional>
#include <set>

#include "storage/file_util.h"
#include "storage/git_handles.h"

namespace taskfs::storage {
namespace {

using PackbuilderPtr = GitPtr<git_packbuilder, git_packbuilder_free>;
using IndexerPtr = GitPtr<git_indexer, git_indexer_free>;

// True if every object is present that the entries of `tree` lacking from `old` (the same folder
// in a complete commit; null: none) reach. Each tree is looked at once (`seen`), so a tree that
// lists one subtree many times costs its distinct objects, not the paths it spells.
bool TreeComplete(git_repository* repo, git_odb* odb, const git_tree* tree, const git_tree* old,
                  std::set<std::string>* seen) {
  for (size_t i = 0; i < git_tree_entrycount(tree); ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree, i);
    const git_oid* id = git_tree_entry_id(e);
    const git_tree_entry* before =
        old ? git_tree_entry_byname(old, git_tree_entry_name(e)) : nullptr;
    if (before && git_oid_equal(git_tree_entry_id(before), id)) continue;
    if (git_tree_entry_filemode(e) == GIT_FILEMODE_COMMIT) continue;  // a submodule's commit
    if (!git_odb_exists(odb, id)) return false;
    if (git_tree_entry_type(e) != GIT_OBJECT_TREE || !seen->insert(OidToHex(*id)).second) continue;
    git_tree* sub = nullptr;
    if (git_tree_lookup(&sub, repo, id) != 0) return false;
    TreePtr sub_ptr(sub);
    TreePtr old_sub;
    if (before && git_tree_entry_type(before) == GIT_OBJECT_TREE) {
      git_tree* raw = nullptr;
      if (git_tree_lookup(&raw, repo, git_tree_entry_id(before)) == 0) old_sub.reset(raw);
    }
    if (!TreeComplete(repo, odb, sub, old_sub.get(), seen)) return false;
  }
  return true;
}

// The commits (hex ids) that `refs` reach, walked with libgit2; nullopt if it cannot walk.
std::optional<std::set<std::string>> CommitsReachedBy(git_repository* repo,
                                                      const std::vector<std::string>& refs) {
  std::set<std::string> commits;
  git_revwalk* raw_walk = nullptr;
  if (git_revwalk_new(&raw_walk, repo) != 0) return std::nullopt;
  RevwalkPtr walk(raw_walk);
  bool any = false;
  for (const std::string& ref : refs) {
    any |= git_revwalk_push_ref(walk.get(), ref.c_str()) == 0;
  }
  git_oid id;
  while (any && git_revwalk_next(&id, walk.get()) == 0) commits.insert(OidToHex(id));
  return commits;
}

// True if commit `id` is present and so is every object its tree reaches that its first
// parent's tree lacks (TreeComplete); its parents go on `todo`, to be checked the same way.
bool CommitComplete(git_repository* repo, git_odb* odb, const git_oid& id,
                    std::set<std::string>* seen_trees, std::vector<git_oid>* todo) {
  if (!git_odb_exists(odb, &id)) return false;
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo, &id) != 0) return false;
  CommitPtr commit(raw_commit);
  git_tree *raw_tree = nullptr, *raw_parent_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit.get()) != 0) return false;
  TreePtr tree(raw_tree);
  if (git_commit_parentcount(commit.get()) > 0) {
    git_commit* raw_parent = nullptr;
    if (git_commit_parent(&raw_parent, commit.get(), 0) != 0) return false;
    CommitPtr parent(raw_parent);
    if (git_commit_tree(&raw_parent_tree, parent.get()) != 0) return false;
  }
  TreePtr parent_tree(raw_parent_tree);
  if (!TreeComplete(repo, odb, tree.get(), parent_tree.get(), seen_trees)) return false;
  for (unsigned i = 0; i < git_commit_parentcount(commit.get()); ++i) {
    todo->push_back(*git_commit_parent_id(commit.get(), i));
  }
  return true;
}

}  // namespace

Result<std::string> BuildPack(const Store& store, const std::string& tip,
                              const std::vector<std::string>& hide, const std::string& hide_glob) {
  auto repo = OpenBareRepository(store.git_dir());
  if (!repo.ok()) return repo.status();
  git_oid tip_oid;
  if (git_oid_fromstr(&tip_oid, tip.c_str()) != 0) {
    return Status::InvalidArgument("not a commit id: " + tip);
  }
  git_revwalk* raw_walk = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_revwalk_new(&raw_walk, repo->get()), "walking history"));
  RevwalkPtr walk(raw_walk);
  TASKFS_RETURN_IF_ERROR(GitStatus(git_revwalk_push(walk.get(), &tip_oid), "walking history"));
  for (const std::string& id : hide) {
    git_oid oid;
    if (git_oid_fromstr(&oid, id.c_str()) == 0) git_revwalk_hide(walk.get(), &oid);
  }
  if (!hide_glob.empty()) git_revwalk_hide_glob(walk.get(), hide_glob.c_str());
  git_error_clear();
  git_packbuilder* raw_pb = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_packbuilder_new(&raw_pb, repo->get()), "packing"));
  PackbuilderPtr pb(raw_pb);
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_packbuilder_insert_walk(pb.get(), walk.get()), "packing objects"));
  if (git_packbuilder_object_count(pb.get()) == 0) return std::string();
  GitBuf buf;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_packbuilder_write_buf(buf.get(), pb.get()), "writing a pack"));
  return buf.str();
}

Result<std::string> WritePack(const std::string& pack_dir, std::string_view pack,
                              const std::string& what) {
  EnsureLibgit2();
  git_indexer* raw = nullptr;
  git_indexer_options opts = GIT_INDEXER_OPTIONS_INIT;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_indexer_new(&raw, pack_dir.c_str(), 0, nullptr, &opts), "indexing " + what));
  IndexerPtr indexer(raw);
  git_indexer_progress stats{};
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_indexer_append(indexer.get(), pack.data(), pack.size(), &stats), "reading " + what));
  TASKFS_RETURN_IF_ERROR(GitStatus(git_indexer_commit(indexer.get(), &stats), "checking " + what));
  return "pack-" + std::string(git_indexer_name(indexer.get())) + ".pack";
}

Status SyncPackToDisk(const std::string& pack_dir, const std::string& pack_name) {
  const std::string base = pack_dir + "/" + pack_name.substr(0, pack_name.size() - 5);
  for (const std::string& file : {base + ".pack", base + ".idx", pack_dir}) {
    TASKFS_RETURN_IF_ERROR(SyncToDisk(file));
  }
  return Status::OK();
}

// Walks back from `tip` to commits known complete (those `complete_refs` reach). Each commit on
// the way must exist, and its tree's entries that differ from its first parent's too: the parent
// is complete or checked the same way. (A walk of our own over what may be incomplete: libgit2
// 1.5's revwalk and graph functions leak when a commit is missing, which is what this looks for.
// The complete side is walked with libgit2: nothing is missing there.)
bool HasEverything(git_repository* repo, const std::string& tip,
                   const std::vector<std::string>& complete_refs) {
  git_oid tip_oid;
  if (git_oid_fromstr(&tip_oid, tip.c_str()) != 0) return false;
  auto complete = CommitsReachedBy(repo, complete_refs);
  if (!complete) return false;
  git_odb* raw_odb = nullptr;
  if (git_repository_odb(&raw_odb, repo) != 0) return false;
  OdbPtr odb(raw_odb);
  std::vector<git_oid> todo = {tip_oid};
  std::set<std::string> seen, seen_trees;
  while (!todo.empty()) {
    const git_oid id = todo.back();
    todo.pop_back();
    const std::string hex = OidToHex(id);
    if (complete->count(hex) || !seen.insert(hex).second) continue;
    if (!CommitComplete(repo, odb.get(), id, &seen_trees, &todo)) return false;
  }
  return true;
}

}  // namespace taskfs::storage
