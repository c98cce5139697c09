// TaskFilesystem: changes to the namespace (unlink, rename, mkdir, rmdir, symlinks).
//
// A rename between a task name and a scratch name is how editors save: rsync, sed -i and GUI
// editors write a temp file and rename it over the task (one commit: "edit x"); vim renames the
// task to a backup name first and writes a new file (the store's delete is deferred, see
// task_filesystem.h).
#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "fusefs/errno_map.h"
#include "fusefs/task_filesystem.h"
#include "storage/commit_message.h"
#include "storage/deferred_deletes.h"
#include "storage/log.h"
#include "storage/task_name.h"
#include "storage/task_validate.h"

namespace taskfs::fusefs {

using storage::Change;
using storage::IsTaskPath;
using storage::TaskNameOf;

int TaskFilesystem::Unlink(const std::string& path) {
  if (IsInfoPath(path)) return -EROFS;
  std::lock_guard lock(mu_);
  auto snap = store_->snapshot();
  switch (Classify(path, *snap)) {
    case Kind::kTask: {
      if (auto it = nodes_.find(path); it != nodes_.end()) {
        it->second->path.clear();
        it->second->dirty = false;
        nodes_.erase(it);
      }
      if (Status st = drafts_.Remove(path); !st.ok()) return -ToErrno(st);
      if (Status st = attrs_.Remove(path); !st.ok()) LogWarning(st.ToString());
      // Deferred like a rename away: `mv` from another filesystem unlinks, then creates.
      if (HasSaved(path, *snap)) DeferDelete(path);
      return 0;
    }
    case Kind::kTreeFile:
      return -EROFS;
    case Kind::kDir:
      return -EISDIR;
    case Kind::kScratch:
      return scratch_.Unlink(path);
    case Kind::kNone:
      return -ENOENT;
  }
  return -EIO;
}

int TaskFilesystem::Mkdir(const std::string& path, mode_t mode, std::optional<Caller> caller) {
  if (IsInfoPath(path)) return -EROFS;
  if (int rc = CheckNewName(path); rc != 0) return rc;
  std::lock_guard lock(mu_);
  auto snap = store_->snapshot();
  if (Classify(path, *snap) != Kind::kNone) return -EEXIST;
  if (!IsDir(ParentOf(path), *snap)) return -ENOENT;
  if (int rc = scratch_.MakeParents(path); rc != 0) return rc;
  // The folder's owner and mode live in attrs_, like those of a folder of the tree: the folder
  // beside the store is the mount's own.
  if (int rc = scratch_.Mkdir(path, 0700); rc != 0) return rc;
  RecordCreated(path, mode, kFolderMode, caller.value_or(Owner()));
  ClearParentTimes(path);
  return 0;
}

int TaskFilesystem::Mknod(const std::string& path, mode_t mode, dev_t dev,
                          std::optional<Caller> caller) {
  if (IsTaskPath(path)) {
    if (!S_ISREG(mode)) return -EPERM;  // a task is a regular file
    std::unique_ptr<Handle> h;
    if (int rc = Create(path, mode, O_CREAT | O_EXCL | O_WRONLY, &h, caller); rc != 0) return rc;
    Flush(h.get());
    return Release(h.get());
  }
  if (IsInfoPath(path)) return -EROFS;
  if (int rc = CheckNewName(path); rc != 0) return rc;
  std::lock_guard lock(mu_);
  auto snap = store_->snapshot();
  if (Classify(path, *snap) != Kind::kNone) return -EEXIST;
  if (snap->FindFile(path)) return -EROFS;
  if (!IsDir(ParentOf(path), *snap)) return -ENOENT;
  if (int rc = scratch_.MakeParents(path); rc != 0) return rc;
  if (int rc = scratch_.Mknod(path, mode, dev); rc != 0) return rc;
  return AdoptScratch(path, mode, caller.value_or(Owner()), false);
}

int TaskFilesystem::Rmdir(const std::string& path) {
  if (path.empty()) return -EBUSY;
  if (IsInfoPath(path)) return -EROFS;
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  if (int rc = ListLocked(path, *store_->snapshot(), &names); rc != 0) return rc;
  if (!names.empty()) return -ENOTEMPTY;
  if (int rc = scratch_.Rmdir(path); rc != 0 && rc != -ENOENT) return rc;
  if (Status st = attrs_.Remove(path); !st.ok()) LogWarning(st.ToString());
  ClearParentTimes(path);
  // Tasks removed from this folder but not yet deleted in the store go now, with the folder.
  CommitDuePendingDeletes(/*all=*/false, path + "/");
  return 0;
}

int TaskFilesystem::Symlink(const std::string& target, const std::string& path,
                            std::optional<Caller> caller) {
  if (IsInfoPath(path)) return -EROFS;
  if (int rc = CheckNewName(path); rc != 0) return rc;
  if (IsTaskPath(path)) return -EPERM;  // a task is a regular file
  std::lock_guard lock(mu_);
  auto snap = store_->snapshot();
  if (Classify(path, *snap) != Kind::kNone) return -EEXIST;
  if (!IsDir(ParentOf(path), *snap)) return -ENOENT;
  if (int rc = scratch_.MakeParents(path); rc != 0) return rc;
  if (int rc = scratch_.Symlink(target, path); rc != 0) return rc;
  return AdoptScratch(path, 0777, caller.value_or(Owner()), /*is_symlink=*/true);
}

int TaskFilesystem::Readlink(const std::string& path, char* buf, size_t size) {
  if (size == 0) return -EINVAL;
  std::lock_guard lock(mu_);
  if (Classify(path, *store_->snapshot()) != Kind::kScratch) return -EINVAL;
  return scratch_.Readlink(path, buf, size);
}

int TaskFilesystem::Rename(const std::string& from, const std::string& to, unsigned flags) {
  if (flags & RENAME_EXCHANGE) return -EINVAL;
  if (IsInfoPath(from) || IsInfoPath(to)) return -EROFS;
  if (int rc = CheckNewName(to); rc != 0) return rc;
  if (from == to) return 0;
  std::lock_guard lock(mu_);
  auto snap = store_->snapshot();
  const Kind kf = Classify(from, *snap);
  const Kind kt = Classify(to, *snap);
  if (int rc = CheckRename(from, to, kf, kt, flags, *snap); rc != 0) return rc;
  if (kf == Kind::kDir) return RenameDir(from, to, snap);
  const bool to_task = IsTaskPath(to);
  if (kf == Kind::kTask && !to_task) return TaskToScratch(from, to, snap);
  if (kf == Kind::kScratch && to_task) return ScratchToTask(from, to, snap);
  if (kf == Kind::kScratch) {
    if (int rc = scratch_.MakeParents(to); rc != 0) return rc;
    return scratch_.Rename(from, to);
  }
  return TaskToTask(from, to, snap);
}

int TaskFilesystem::CheckRename(const std::string& from, const std::string& to, Kind kf, Kind kt,
                                unsigned flags, const storage::Snapshot& snap) const {
  if (kf == Kind::kNone) return -ENOENT;
  if ((flags & RENAME_NOREPLACE) && kt != Kind::kNone) return -EEXIST;
  if (kf == Kind::kTreeFile || kt == Kind::kTreeFile) return -EROFS;
  if (!IsDir(ParentOf(to), snap)) return -ENOENT;
  if (to.starts_with(from + "/")) return -EINVAL;
  if (kf != Kind::kDir) return kt == Kind::kDir ? -EISDIR : 0;
  if (kt != Kind::kNone && kt != Kind::kDir) return -ENOTDIR;
  if (kt == Kind::kDir) {
    std::vector<std::string> names;
    if (int rc = ListLocked(to, snap, &names); rc != 0) return rc;
    if (!names.empty()) return -ENOTEMPTY;
  }
  return 0;
}

// Task to task: one commit that moves the bytes (and replaces the target, if any).
int TaskFilesystem::TaskToTask(const std::string& from, const std::string& to,
                               const storage::SnapshotPtr& snap) {
  auto read = TaskContent(from, *snap);
  if (!read.ok()) return ReadFailed(read.status());
  const std::string& content = **read;
  if (auto it = nodes_.find(to); it != nodes_.end()) {
    it->second->path.clear();
    nodes_.erase(it);
  }
  const bool valid = !content.empty() && storage::ValidateTask(content).ok();
  std::vector<Change> changes;
  if (HasSaved(from, *snap)) changes.push_back({from, std::nullopt});
  if (valid) {
    changes.push_back({to, content});
  } else if (Status st = drafts_.Put(to, content, DraftReason(content)); !st.ok()) {
    return -ToErrno(st);
  }
  if (!changes.empty()) {
    int rc = JournalChanges(changes, storage::RenameMessage(TaskNameOf(from), TaskNameOf(to)));
    if (rc != 0) return rc;
  }
  CancelDeferredDelete(to);  // replaced by the rename (a delete that failed above stays)
  if (Status st = attrs_.Move(from, to); !st.ok()) LogWarning(st.ToString());
  if (valid) {
    if (Status st = drafts_.Remove(to); !st.ok()) LogWarning(st.ToString());
  }
  if (Status st = drafts_.Remove(from); !st.ok()) LogWarning(st.ToString());
  if (auto it = nodes_.find(from); it != nodes_.end()) {
    auto node = it->second;
    nodes_.erase(it);
    node->path = to;
    node->dirty = false;
    node->base = content;
    nodes_[to] = node;
  }
  return 0;
}

int TaskFilesystem::TaskToScratch(const std::string& from, const std::string& to,
                                  const storage::SnapshotPtr& snap) {
  auto content = TaskContent(from, *snap);
  if (!content.ok()) return ReadFailed(content.status());
  if (int rc = scratch_.MakeParents(to); rc != 0) return rc;
  if (int rc = scratch_.WriteWhole(to, **content); rc != 0) return rc;
  if (auto it = nodes_.find(from); it != nodes_.end()) {
    it->second->path.clear();
    nodes_.erase(it);
  }
  if (Status st = drafts_.Remove(from); !st.ok()) LogWarning(st.ToString());
  AttributesToScratch(from, to);
  if (HasSaved(from, *snap)) DeferDelete(from);
  return 0;
}

int TaskFilesystem::ScratchToTask(const std::string& from, const std::string& to,
                                  const storage::SnapshotPtr& snap) {
  struct stat st;
  if (int rc = scratch_.Lstat(from, &st); rc != 0) return rc;
  if (!S_ISREG(st.st_mode)) return -EINVAL;
  if (static_cast<size_t>(st.st_size) > storage::kMaxTaskBytes) return -EFBIG;
  std::string content;
  if (int rc = scratch_.ReadWhole(from, &content); rc != 0) return rc;
  if (content.size() > storage::kMaxTaskBytes) return -EFBIG;  // grew since the lstat
  auto saved = SavedContent(to, *snap);
  if (!saved.ok()) return ReadFailed(saved.status());
  SaveResult r = SaveTask(to, content, *saved ? std::optional<std::string>(**saved) : std::nullopt);
  if (!r.kept) return r.rc;  // the scratch file stays: nothing lost
  AttributesFromScratch(st, to);
  scratch_.Unlink(from);
  if (auto it = nodes_.find(to); it != nodes_.end()) {
    it->second->path.clear();
    nodes_.erase(it);
  }
  return 0;
}

Result<std::map<std::string, std::shared_ptr<const std::string>>> TaskFilesystem::SavedBelow(
    const std::string& folder, const storage::Snapshot& snap) const {
  const std::string prefix = folder + "/";
  std::map<std::string, std::shared_ptr<const std::string>> saved;
  Status status;
  snap.ForEachFile([&](const std::string& path, const storage::FileEntry& fe) {
    if (!path.starts_with(prefix) || !status.ok() || pending_.count(path)) return;
    auto content = snap.Content(path, fe);
    if (content.ok()) {
      saved[path] = *content;
    } else {
      status = content.status();
    }
  });
  if (!status.ok()) return status;
  for (auto it = pending_.lower_bound(prefix);
       it != pending_.end() && it->first.starts_with(prefix); ++it) {
    if (it->second.content) {
      saved[it->first] = it->second.content;
    } else {
      saved.erase(it->first);
    }
  }
  return saved;
}

Result<storage::Save> TaskFilesystem::RenameDirChanges(
    const std::string& from, const std::string& to, const storage::Snapshot& snap,
    std::vector<std::string>* pending_inside) const {
  auto saved = SavedBelow(from, snap);
  if (!saved.ok()) return saved.status();
  storage::Save save{storage::RenameMessage(from, to), {}, {}};
  for (const auto& [path, content] : *saved) {
    save.changes.push_back({path, std::nullopt});
    save.bases.push_back(*content);
    if (pending_deletes_.count(path)) {
      pending_inside->push_back(path);  // removed by the user: not carried over
      continue;
    }
    const std::string target = to + path.substr(from.size());
    // The target folder shows nothing (CheckRename); a task deleted there may still be saved.
    std::optional<std::string> replaced;
    if (HasSaved(target, snap)) {
      auto bytes = SavedContent(target, snap);
      if (!bytes.ok()) return bytes.status();
      replaced = **bytes;
    }
    save.changes.push_back({target, *content});
    save.bases.push_back(std::move(replaced));
  }
  return save;
}

namespace {

// Moves the drafts below folder `from` to folder `to`.
void MoveDraftsBelow(Drafts& drafts, const std::string& from, const std::string& to) {
  const std::string prefix = from + "/";
  std::vector<std::pair<std::string, Draft>> moved;
  for (const auto& [path, d] : drafts.all()) {
    if (path.starts_with(prefix)) moved.emplace_back(path, d);
  }
  for (const auto& [path, d] : moved) {
    // The old draft goes only once the new one is written: a failure keeps it where it was.
    Status st = drafts.Put(to + path.substr(from.size()), *d.content, d.reason);
    if (st.ok()) st = drafts.Remove(path);
    if (!st.ok()) LogWarning("moving the draft " + path + ": " + st.ToString());
  }
}

// Moves the files open for writing below folder `from` to folder `to`.
void MoveNodesBelow(std::map<std::string, std::shared_ptr<TaskNode>>& nodes,
                    const std::string& from, const std::string& to) {
  const std::string prefix = from + "/";
  std::vector<std::shared_ptr<TaskNode>> moved;
  for (auto it = nodes.begin(); it != nodes.end();) {
    if (it->first.starts_with(prefix)) {
      moved.push_back(it->second);
      it = nodes.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& node : moved) {
    node->path = to + node->path.substr(from.size());
    nodes[node->path] = node;
  }
}

}  // namespace

int TaskFilesystem::RenameDir(const std::string& from, const std::string& to,
                              const storage::SnapshotPtr& snap) {
  std::vector<std::string> pending_inside;
  auto planned = RenameDirChanges(from, to, *snap, &pending_inside);
  if (!planned.ok()) return ReadFailed(planned.status());
  const std::vector<Change>& changes = planned->changes;
  if (!storage::IsTaskFolderPath(to) && (!changes.empty() || drafts_.HoldsFolder(from))) {
    return -EINVAL;  // tasks can't live in a hidden folder
  }
  struct stat st;
  if (scratch_.Lstat(from, &st) == 0) {
    if (int rc = scratch_.MakeParents(to); rc != 0) return rc;
    if (int rc = scratch_.Rename(from, to); rc != 0) return rc;
  }
  if (!changes.empty()) {
    int rc = JournalChanges(changes, planned->message, std::move(planned->bases));
    if (rc != 0) {
      scratch_.Rename(to, from);
      return rc;
    }
  }
  for (const auto& path : pending_inside) CancelDeferredDelete(path);  // journaled above
  if (Status st = attrs_.Move(from, to); !st.ok()) LogWarning(st.ToString());
  MoveDraftsBelow(drafts_, from, to);
  MoveNodesBelow(nodes_, from, to);
  return 0;
}

void TaskFilesystem::DeferDelete(const std::string& path) {
  if (Status st = storage::RecordDeferredDelete(deferred_delete_dir_, path); !st.ok()) {
    LogWarning(st.ToString() + " (a crash in the next seconds would bring it back)");
  }
  pending_deletes_[path] = {std::chrono::steady_clock::now() + pending_delete_delay_};
  cv_.notify_all();
}

void TaskFilesystem::CancelDeferredDelete(const std::string& path) {
  if (pending_deletes_.erase(path)) storage::ForgetDeferredDelete(deferred_delete_dir_, path);
}

void TaskFilesystem::CommitDuePendingDeletes(bool all, const std::string& under) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<Change> changes;
  std::string names;
  for (const auto& [path, pd] : pending_deletes_) {
    if (all || pd.due <= now || (!under.empty() && path.starts_with(under))) {
      changes.push_back({path, std::nullopt});
      names += (names.empty() ? "" : ", ") + TaskNameOf(path);
    }
  }
  if (changes.empty()) return;
  if (JournalChanges(changes, "delete " + names) != 0) {
    // Still recorded: retried by the background thread, or by the next mount.
    for (const Change& c : changes) pending_deletes_[c.path].due = now + pending_delete_delay_;
    return;
  }
  for (const Change& c : changes) CancelDeferredDelete(c.path);
}

}  // namespace taskfs::fusefs
