// TaskFilesystem: opening, reading, writing and saving files. A task's writes go to a buffer
// (TaskNode) and are committed on flush/fsync; an invalid save becomes a draft.
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fusefs/errno_map.h"
#include "fusefs/task_filesystem.h"
#include "storage/log.h"
#include "storage/task_name.h"
#include "storage/task_validate.h"
#include "storage/unique_fd.h"

namespace taskfs::fusefs {

using storage::IsTaskPath;
using storage::kMaxTaskBytes;
using storage::TaskNameOf;

namespace {
bool WantsWrite(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC); }

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }
}  // namespace

Result<std::shared_ptr<TaskNode>> TaskFilesystem::NodeFor(const std::string& path,
                                                          const storage::SnapshotPtr& snap) {
  if (auto it = nodes_.find(path); it != nodes_.end()) return it->second;
  auto node = std::make_shared<TaskNode>();
  node->path = path;
  node->mtime = Now();
  auto saved = SavedContent(path, *snap);
  if (!saved.ok()) return saved.status();
  const bool deleted = pending_deletes_.count(path) > 0;
  if (*saved && !deleted) node->base = **saved;
  // What TaskContent() shows (a draft, else the saved bytes unless deleted), without a second read.
  std::shared_ptr<const std::string> content = deleted ? nullptr : *saved;
  if (const Draft* d = drafts_.Find(path)) content = d->content;
  if (content) {
    node->content = *content;
    node->mtime = TaskMtime(path, *snap);
  }
  nodes_[path] = node;
  return node;
}

int TaskFilesystem::Open(const std::string& path, int flags, std::unique_ptr<Handle>* out) {
  if (IsInfoPath(path)) return OpenInfo(path, flags, out);
  auto h = std::make_unique<Handle>();
  h->writable = WantsWrite(flags);
  std::unique_lock lock(mu_);
  auto snap = store_->snapshot();
  std::optional<storage::FileEntry> committed;  // read from git below, with mu_ released
  switch (Classify(path, *snap)) {
    case Kind::kTask:
      h->kind = Handle::Kind::kTask;
      if (h->writable || nodes_.count(path)) {
        auto node = NodeFor(path, snap);
        if (!node.ok()) return ReadFailed(node.status());
        h->node = *node;
        ++h->node->open_count;
        if ((flags & O_TRUNC) && h->writable && !h->node->content.empty()) {
          h->node->content.clear();
          h->node->dirty = true;
          h->node->mtime = Now();
          h->wrote = true;
        }
      } else {
        if (HeldInMemory(path)) {
          auto content = TaskContent(path, *snap);  // in memory: no I/O
          if (!content.ok()) return ReadFailed(content.status());
          h->content = *content;
        } else {
          committed = *snap->FindFile(path);
        }
        h->mtime = TaskMtime(path, *snap);
        h->path = path;
      }
      break;
    case Kind::kTreeFile:
      if (h->writable) return -EROFS;
      h->kind = Handle::Kind::kTreeFile;
      committed = *snap->FindFile(path);
      h->mtime = committed->mtime;
      h->path = path;
      break;
    case Kind::kDir:
      return -EISDIR;
    case Kind::kScratch:
      h->kind = Handle::Kind::kScratch;
      h->fd = scratch_.OpenFile(path, flags & ~O_CREAT);
      if (h->fd < 0) return h->fd;
      break;
    case Kind::kNone:
      return -ENOENT;
  }
  if (committed) {
    lock.unlock();  // reading git is disk I/O: no reader waits for it
    auto content = snap->Content(path, *committed);
    if (!content.ok()) return ReadFailed(content.status());
    h->content = *content;
  }
  *out = std::move(h);
  return 0;
}

int TaskFilesystem::Create(const std::string& path, mode_t mode, int flags,
                           std::unique_ptr<Handle>* out, std::optional<Caller> caller) {
  if (IsInfoPath(path)) return -EROFS;
  if (int rc = CheckNewName(path); rc != 0) return rc;
  std::lock_guard lock(mu_);
  auto snap = store_->snapshot();
  if (!IsDir(ParentOf(path), *snap)) return -ENOENT;
  auto h = std::make_unique<Handle>();
  h->writable = true;
  if (IsTaskPath(path)) {
    const bool exists = TaskExists(path, *snap);
    if (exists && (flags & O_EXCL)) return -EEXIST;
    h->kind = Handle::Kind::kTask;
    if (!exists) {
      // A new file at this path; if the task was just renamed away (an editor's backup dance),
      // this save will be an edit of it, and its pending delete is dropped at commit.
      nodes_.erase(path);
      auto node = std::make_shared<TaskNode>();
      node->path = path;
      node->mtime = Now();
      node->dirty = true;
      // What was saved before a rename away (vim's backup dance): the edit's base.
      auto saved = SavedContent(path, *snap);
      if (!saved.ok()) return ReadFailed(saved.status());
      if (*saved) node->base = **saved;
      nodes_[path] = node;
      h->wrote = true;
      RecordCreated(path, mode, kTaskMode, caller.value_or(Owner()));
    }
    auto node = NodeFor(path, snap);
    if (!node.ok()) return ReadFailed(node.status());
    h->node = *node;
    ++h->node->open_count;
    if ((flags & O_TRUNC) && !h->node->content.empty()) {
      h->node->content.clear();
      h->node->dirty = true;
      h->wrote = true;
    }
  } else if (snap->FindFile(path)) {
    return -EROFS;
  } else {
    if (int rc = scratch_.MakeParents(path); rc != 0) return rc;
    h->kind = Handle::Kind::kScratch;
    int opened = scratch_.OpenFile(path, flags | O_CREAT | O_EXCL, 0600);
    const bool made = opened >= 0;
    if (opened == -EEXIST && !(flags & O_EXCL)) opened = scratch_.OpenFile(path, flags & ~O_CREAT);
    if (opened < 0) return opened;
    storage::UniqueFd fd(opened);
    if (made) {
      if (int rc = AdoptScratch(path, mode, caller.value_or(Owner()), false); rc != 0) return rc;
    }
    h->fd = fd.release();  // the Handle's from here: closed in Release
  }
  *out = std::move(h);
  return 0;
}

int TaskFilesystem::Read(Handle* h, char* buf, size_t size, off_t offset) {
  if (h->kind == Handle::Kind::kScratch) {
    ssize_t n = ::pread(h->fd, buf, size, offset);
    return n < 0 ? -errno : static_cast<int>(n);
  }
  auto copy_out = [&](const std::string& content) {
    if (static_cast<size_t>(offset) >= content.size()) return 0;
    size_t n = std::min(size, content.size() - static_cast<size_t>(offset));
    std::memcpy(buf, content.data() + offset, n);
    return static_cast<int>(n);
  };
  if (h->node) {
    std::lock_guard lock(mu_);
    return copy_out(h->node->content);
  }
  return copy_out(*h->content);
}

int TaskFilesystem::Write(Handle* h, const char* buf, size_t size, off_t offset) {
  if (h->kind == Handle::Kind::kScratch) {
    if (static_cast<uint64_t>(offset) + size > kMaxScratchBytes) return -EFBIG;
    ssize_t n = ::pwrite(h->fd, buf, size, offset);
    return n < 0 ? -errno : static_cast<int>(n);
  }
  if (!h->node || !h->writable) return -EBADF;
  if (static_cast<size_t>(offset) + size > kMaxTaskBytes) return -EFBIG;
  std::lock_guard lock(mu_);
  std::string& content = h->node->content;
  if (content.size() < offset + size) content.resize(offset + size);
  std::memcpy(content.data() + offset, buf, size);
  h->node->dirty = true;
  h->node->mtime = Now();
  h->wrote = true;
  return static_cast<int>(size);
}

int TaskFilesystem::Truncate(const std::string& path, off_t size, Handle* h) {
  if (size < 0) return -EINVAL;
  if (IsInfoPath(path)) return -EROFS;
  if (h && h->kind == Handle::Kind::kScratch) {
    if (static_cast<uint64_t>(size) > kMaxScratchBytes) return -EFBIG;
    return ::ftruncate(h->fd, size) == 0 ? 0 : -errno;
  }
  std::lock_guard lock(mu_);
  std::shared_ptr<TaskNode> node = h ? h->node : nullptr;
  auto snap = store_->snapshot();
  if (!node) {
    switch (Classify(path, *snap)) {
      case Kind::kTask:
        break;
      case Kind::kTreeFile:
        return -EROFS;
      case Kind::kDir:
        return -EISDIR;
      case Kind::kScratch:
        if (static_cast<uint64_t>(size) > kMaxScratchBytes) return -EFBIG;
        return scratch_.Truncate(path, size);
      case Kind::kNone:
        return -ENOENT;
    }
  }
  if (static_cast<size_t>(size) > kMaxTaskBytes) return -EFBIG;
  if (!node) {
    auto made = NodeFor(path, snap);
    if (!made.ok()) return ReadFailed(made.status());
    node = *made;
  }
  if (node->content.size() != static_cast<size_t>(size)) {
    node->content.resize(size);
    node->dirty = true;
    node->mtime = Now();
    if (h) h->wrote = true;
  }
  if (h || node->open_count > 0) return 0;
  // truncate(2) by path: no close will follow, so save now.
  int rc = SaveNode(*node);
  if (!node->dirty) nodes_.erase(path);
  return rc == -kInvalidTaskErrno ? 0 : rc;
}

int TaskFilesystem::Fallocate(Handle* h, int mode, off_t offset, off_t length) {
  if (offset < 0 || length <= 0) return -EINVAL;
  const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if (h->kind == Handle::Kind::kScratch) {
    // Only modes that cannot grow the file past `end` (INSERT_RANGE would shift it by `length`).
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
    if (end > kMaxScratchBytes) return -EFBIG;
    return ::fallocate(h->fd, mode, offset, length) == 0 ? 0 : -errno;
  }
  if (!h->node || !h->writable) return -EBADF;
  // Refused here, never EOPNOTSUPP for mode 0: that would make glibc emulate posix_fallocate by
  // writing zeros block by block, changing the task before the write that fails.
  if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
  if (end > kMaxTaskBytes) return -EFBIG;
  if (mode == FALLOC_FL_KEEP_SIZE) return 0;  // a task's bytes live in memory until saved
  std::lock_guard lock(mu_);
  std::string& content = h->node->content;
  if (content.size() < end) {
    content.resize(end);
    h->node->dirty = true;
    h->node->mtime = Now();
    h->wrote = true;
  }
  return 0;
}

int TaskFilesystem::Flush(Handle* h) {
  // Only a writer saves: a reader's close never commits another process's unfinished bytes.
  if (!h->node || !h->wrote) return 0;
  std::lock_guard lock(mu_);
  h->wrote = false;
  return h->node->dirty ? SaveNode(*h->node) : 0;
}

int TaskFilesystem::Fsync(Handle* h) {
  if (h->kind == Handle::Kind::kScratch) return ::fsync(h->fd) == 0 ? 0 : -errno;
  if (int rc = Flush(h); rc != 0) return rc;
  if (!committer_) return 0;
  Status st = committer_->SyncJournal();
  return st.ok() ? 0 : -ToErrno(st);
}

int TaskFilesystem::Release(Handle* h) {
  if (h->kind == Handle::Kind::kScratch) {
    // The Handle owns its fd (libfuse keeps the Handle as the file handle): its release closes it.
    ::close(h->fd);
    return 0;
  }
  if (!h->node) return 0;
  std::lock_guard lock(mu_);
  TaskNode& node = *h->node;
  --node.open_count;
  if (h->wrote && node.dirty) SaveNode(node);
  // A node whose save failed (disk full) stays, and the background thread retries it.
  if (node.open_count == 0 && !node.dirty) {
    if (auto it = nodes_.find(node.path); it != nodes_.end() && it->second == h->node) {
      nodes_.erase(it);
    }
  }
  return 0;
}

int TaskFilesystem::SaveNode(TaskNode& node) {
  if (node.path.empty()) {  // unlinked while open: nothing to keep
    node.dirty = false;
    return 0;
  }
  SaveResult r = SaveTask(node.path, node.content, node.base);
  if (r.kept) {
    node.dirty = false;
    node.failed = false;
    if (r.journaled) node.base = node.content;  // later saves build on this one
  } else {
    node.failed = true;
  }
  return r.rc;
}

TaskFilesystem::SaveResult TaskFilesystem::SaveTask(const std::string& path,
                                                    const std::string& content,
                                                    const std::optional<std::string>& base) {
  const std::string name = TaskNameOf(path);
  Status valid =
      content.empty() ? Status::InvalidArgument("empty file") : storage::ValidateTask(content);
  if (!valid.ok()) {
    Status st = drafts_.Put(path, content, valid.message());
    if (!st.ok()) {
      RecordError("could not keep the draft of " + name + ": " + st.ToString());
      return {-ToErrno(st), false};
    }
    if (content.empty()) return {0, true};  // a new, empty file: nothing to say yet
    RecordError(path + " is not a valid task and was kept as a draft, not committed: " +
                valid.message() + " (fix it and save again, or delete it)");
    return {-kInvalidTaskErrno, true};
  }
  auto snap = store_->snapshot();
  const bool existed = HasSaved(path, *snap);
  int rc = JournalChanges({{path, content}}, (existed ? "edit " : "create ") + name, {base});
  if (rc == 0) {
    CancelDeferredDelete(path);  // saved again after being renamed away: an edit
    if (Status st = drafts_.Remove(path); !st.ok()) LogWarning(st.ToString());
    return {0, true, true};
  }
  // Not even journaled (disk full...): keep the bytes as a draft, retried later.
  Status st = drafts_.Put(path, content, "not saved yet: the journal refused it");
  return {rc, st.ok()};
}

int TaskFilesystem::JournalChanges(std::vector<storage::Change> changes, const std::string& message,
                                   std::vector<std::optional<std::string>> bases) {
  auto snap = store_->snapshot();
  if (bases.empty()) {
    for (const storage::Change& c : changes) {
      auto saved = SavedContent(c.path, *snap);
      if (!saved.ok()) {
        RecordError("could not save '" + message + "': " + saved.status().ToString());
        return -ToErrno(saved.status());
      }
      bases.push_back(*saved ? std::optional<std::string>(**saved) : std::nullopt);
    }
  }
  storage::Save save{message, changes, std::move(bases)};
  auto seq = committer_ ? committer_->Append(std::move(save))
                        : Result<uint64_t>(Status::Unavailable("the mount is not started"));
  if (!seq.ok()) {
    RecordError("could not save '" + message + "': " + seq.status().ToString());
    return -ToErrno(seq.status());
  }
  for (storage::Change& c : changes) {
    // A change ends the times utimensat set on the task, and a new or deleted task those of
    // its folder.
    if (Status st = attrs_.ClearTimes(c.path); !st.ok()) LogWarning(st.ToString());
    if (!c.content || !HasSaved(c.path, *snap)) ClearParentTimes(c.path);
    PendingSave& p = pending_[c.path];
    p.content = c.content ? std::make_shared<const std::string>(std::move(*c.content)) : nullptr;
    p.seq = *seq;
    p.mtime = Now();
  }
  return 0;
}

}  // namespace taskfs::fusefs
