#include "sync/merge/merge_tree.h"

#include <map>
#include <optional>
#include <set>

#include "storage/task_name.h"

namespace taskfs::sync {

using storage::Snapshot;
using Content = std::optional<std::string>;

namespace {

// True when both trees hold the same blob at `path` (both without it counts too).
bool SameBlob(const Snapshot& a, const Snapshot& b, const std::string& path) {
  const storage::FileEntry* x = a.FindFile(path);
  const storage::FileEntry* y = b.FindFile(path);
  return x && y ? x->blob == y->blob : x == y;
}

// The renames of one side that really moved a base task: old gone, new not in the base. A target
// the other side created too is no rename: both files then merge path by path, nothing lost.
std::map<std::string, std::string> RealRenames(const Snapshot& base, const TreeSide& side,
                                               const TreeSide& other) {
  std::map<std::string, std::string> out;
  for (const auto& [from, to] : side.renames) {
    if (base.FindFile(from) && !side.tree->FindFile(from) && !base.FindFile(to) &&
        side.tree->FindFile(to) && !other.tree->FindFile(to)) {
      out[from] = to;
    }
  }
  return out;
}

// True when `a` wins a conflict against `b` (later time; ties: greater client id).
bool Wins(const SideInfo& a, const SideInfo& b) {
  return a.time != b.time ? a.time > b.time : a.client_id > b.client_id;
}

class Merger {
 public:
  Merger(const Snapshot& base, const TreeSide& ours, const TreeSide& theirs)
      : base_(base), ours_(ours), theirs_(theirs) {}

  TreeMergeResult Run() {
    auto ours_renames = RealRenames(base_, ours_, theirs_);
    auto theirs_renames = RealRenames(base_, theirs_, ours_);
    for (const auto& [from, to_ours] : ours_renames) {
      auto it = theirs_renames.find(from);
      if (it == theirs_renames.end()) {
        MergeRename(from, to_ours, ours_, theirs_, /*renamed_by_ours=*/true);
      } else {
        MergeBothRenamed(from, to_ours, it->second);
      }
    }
    for (const auto& [from, to_theirs] : theirs_renames) {
      if (!ours_renames.count(from)) MergeRename(from, to_theirs, theirs_, ours_, false);
    }
    std::set<std::string> paths;
    for (const auto& p : Snapshot::ChangedPaths(base_, *ours_.tree)) paths.insert(p);
    for (const auto& p : Snapshot::ChangedPaths(base_, *theirs_.tree)) paths.insert(p);
    for (const auto& path : paths) {
      if (final_.count(path)) continue;
      // Decided by blob ids alone when one side did not change the task: no bytes are read.
      if (SameBlob(*ours_.tree, *theirs_.tree, path) || SameBlob(base_, *theirs_.tree, path)) {
        continue;  // ours stands
      }
      if (SameBlob(base_, *ours_.tree, path)) {
        final_[path] = At(*theirs_.tree, path);
      } else {
        Put(path, Merge(path, At(base_, path), At(*ours_.tree, path), At(*theirs_.tree, path)));
      }
    }
    for (const auto& [path, content] : final_) {
      if (content != At(*ours_.tree, path)) result_.changes.push_back({path, content});
    }
    if (!status_.ok()) {
      TreeMergeResult failed;
      failed.status = status_;
      return failed;
    }
    return result_;
  }

 private:
  // The bytes at `path` in `tree`; a failed read is kept in status_ (the merge then fails).
  Content At(const Snapshot& tree, const std::string& path) {
    auto bytes = tree.ContentAt(path);
    if (!bytes.ok()) {
      if (status_.ok()) status_ = bytes.status();
      return std::nullopt;
    }
    return *bytes ? Content(**bytes) : std::nullopt;
  }

  // Merges one task; a conflict copy is placed beside it.
  Content Merge(const std::string& path, const Content& base, const Content& ours,
                const Content& theirs) {
    if (ours == theirs) return ours;
    if (ours == base) return theirs;
    if (theirs == base) return ours;
    ++result_.merged_tasks;
    TaskMergeResult r = MergeTask(base, ours, ours_.InfoFor(path), theirs, theirs_.InfoFor(path));
    result_.conflicts += r.conflicts;
    if (r.conflict_copy) pending_copy_ = r.conflict_copy;
    return r.content;
  }

  void Put(const std::string& path, const Content& content) {
    final_[path] = content;
    if (pending_copy_) {
      final_[storage::ConflictCopyPath(path, *pending_copy_)] = pending_copy_;
      ++result_.conflict_copies;
      pending_copy_.reset();
    }
  }

  // `renamer` moved `from` to `to`; the other side kept, edited or deleted `from`.
  void MergeRename(const std::string& from, const std::string& to, const TreeSide& renamer,
                   const TreeSide& other, bool renamed_by_ours) {
    Content other_content = At(*other.tree, from);
    Content moved = At(*renamer.tree, to);
    Content merged;
    if (!other_content) {
      merged = moved;  // deleted there, renamed here: the renamed task stays
    } else if (renamed_by_ours) {
      merged = Merge(from, At(base_, from), moved, other_content);
    } else {
      merged = Merge(from, At(base_, from), other_content, moved);
    }
    Put(from, std::nullopt);
    Put(to, merged);
    if (other_content) result_.renames.emplace_back(from, to);
  }

  void MergeBothRenamed(const std::string& from, const std::string& to_ours,
                        const std::string& to_theirs) {
    Content merged =
        Merge(from, At(base_, from), At(*ours_.tree, to_ours), At(*theirs_.tree, to_theirs));
    const std::string& name = Wins(ours_.info, theirs_.info) ? to_ours : to_theirs;
    Put(from, std::nullopt);
    if (to_ours != name) Put(to_ours, std::nullopt);
    if (to_theirs != name) Put(to_theirs, std::nullopt);
    Put(name, merged);
    result_.renames.emplace_back(to_ours == name ? to_theirs : to_ours, name);
  }

  const Snapshot& base_;
  const TreeSide& ours_;
  const TreeSide& theirs_;
  std::map<std::string, Content> final_;  // decided paths -> final content
  std::optional<std::string> pending_copy_;
  TreeMergeResult result_;
  Status status_;
};

}  // namespace

TreeMergeResult MergeTrees(const Snapshot& base, const TreeSide& ours, const TreeSide& theirs) {
  return Merger(base, ours, theirs).Run();
}

}  // namespace taskfs::sync
