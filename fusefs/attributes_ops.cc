// TaskFilesystem: owners, permission bits and times. Those of a task, tree file or folder live in
// attrs_ (git keeps none of them); a local-only file keeps its own, as a real file. The kernel
// checks every caller's rights against what GetAttr reports (default_permissions), so what is
// here only records and reports.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "fusefs/errno_map.h"
#include "fusefs/task_filesystem.h"
#include "storage/log.h"

namespace taskfs::fusefs {

void TaskFilesystem::ApplyAttributes(const std::string& path, struct stat* st) const {
  const FileAttributes* a = path.empty() && !S_ISDIR(st->st_mode) ? nullptr : attrs_.Find(path);
  if (!a) return;
  if (a->mode) st->st_mode = (st->st_mode & S_IFMT) | (*a->mode & 07777);
  if (a->uid) st->st_uid = *a->uid;
  if (a->gid) st->st_gid = *a->gid;
  if (a->mtime) st->st_mtim = *a->mtime;
  if (a->atime) st->st_atim = *a->atime;
}

void TaskFilesystem::RecordCreated(const std::string& path, mode_t mode, mode_t default_mode,
                                   const Caller& caller) {
  const bool is_default =
      (mode & 07777) == default_mode && caller.uid == uid_ && caller.gid == gid_;
  Status st = attrs_.Remove(path);  // what an earlier file of that name had
  if (st.ok() && !is_default) {
    FileAttributes a;
    a.mode = mode & 07777;
    a.uid = caller.uid;
    a.gid = caller.gid;
    st = attrs_.Set(path, a);
  }
  if (!st.ok()) LogWarning("the owner and mode of " + path + " are not kept: " + st.ToString());
}

int TaskFilesystem::AdoptScratch(const std::string& path, mode_t mode, const Caller& caller,
                                 bool is_symlink) {
  // chown first: it clears the set-user-ID bit that chmod may set.
  if (caller.uid != ::geteuid() || caller.gid != ::getegid()) {
    if (int rc = scratch_.Chown(path, caller.uid, caller.gid); rc != 0) {
      scratch_.Unlink(path);
      return rc == -EPERM ? -EACCES : rc;  // a mount not run as root makes files as itself only
    }
  }
  return is_symlink ? 0 : scratch_.Chmod(path, mode & 07777);
}

void TaskFilesystem::ClearParentTimes(const std::string& path) {
  if (Status st = attrs_.ClearTimes(ParentOf(path)); !st.ok()) LogWarning(st.ToString());
}

void TaskFilesystem::AttributesToScratch(const std::string& task, const std::string& scratch) {
  struct stat st;
  FillTaskStat(&st, task, 0, 0);
  int rc = scratch_.Chown(scratch, st.st_uid, st.st_gid);
  if (rc == 0) rc = scratch_.Chmod(scratch, st.st_mode & 07777);
  if (rc != 0) {
    LogWarning("the owner and mode of " + task + " are not kept on " + scratch + ": " +
               std::strerror(-rc));
  }
  if (Status s = attrs_.Remove(task); !s.ok()) LogWarning(s.ToString());
}

void TaskFilesystem::AttributesFromScratch(const struct stat& scratch, const std::string& task) {
  RecordCreated(task, scratch.st_mode, kTaskMode, Caller{scratch.st_uid, scratch.st_gid});
}

std::optional<std::string> TaskFilesystem::TargetOf(const std::string& path, const Handle* h) {
  // With a handle, libfuse passes no path (nullpath_ok).
  if (!h) return path;
  const std::string& opened = h->node ? h->node->path : h->path;
  if (opened.empty()) return std::nullopt;
  return opened;
}

int TaskFilesystem::SetAttributes(const std::string& path, Handle* h, const FileAttributes& change,
                                  const RealSetattr& real) {
  if (IsInfoPath(path)) return -EROFS;
  if (h && h->kind == Handle::Kind::kScratch) return real(h->fd, "");
  std::lock_guard lock(mu_);
  const std::optional<std::string> target = TargetOf(path, h);
  if (!target) return 0;  // an unlinked task: nothing of it is kept
  Kind kind = Classify(*target, *store_->snapshot());
  if (kind == Kind::kNone) return -ENOENT;
  if (kind == Kind::kScratch) return real(-1, *target);
  Status st = attrs_.Set(*target, change);
  return st.ok() ? 0 : -ToErrno(st);
}

int TaskFilesystem::Chmod(const std::string& path, mode_t mode, Handle* h) {
  FileAttributes change;
  change.mode = mode & 07777;
  return SetAttributes(path, h, change, [&](int fd, const std::string& rel) {
    return fd >= 0 ? (::fchmod(fd, mode) == 0 ? 0 : -errno) : scratch_.Chmod(rel, mode);
  });
}

int TaskFilesystem::Chown(const std::string& path, uid_t uid, gid_t gid, Handle* h) {
  FileAttributes change;
  if (uid != static_cast<uid_t>(-1)) change.uid = uid;
  if (gid != static_cast<gid_t>(-1)) change.gid = gid;
  return SetAttributes(path, h, change, [&](int fd, const std::string& rel) {
    return fd >= 0 ? (::fchown(fd, uid, gid) == 0 ? 0 : -errno) : scratch_.Chown(rel, uid, gid);
  });
}

int TaskFilesystem::Utimens(const std::string& path, const struct timespec ts[2], Handle* h) {
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  auto pick = [&](const timespec& t) -> std::optional<timespec> {
    if (t.tv_nsec == UTIME_OMIT) return std::nullopt;
    return t.tv_nsec == UTIME_NOW ? now : t;
  };
  // A task's mtime is otherwise the time of its last change; this one lasts until the next.
  FileAttributes change;
  change.atime = pick(ts[0]);
  change.mtime = pick(ts[1]);
  return SetAttributes(path, h, change, [&](int fd, const std::string& rel) {
    return fd >= 0 ? (::futimens(fd, ts) == 0 ? 0 : -errno) : scratch_.Utimens(rel, ts);
  });
}

}  // namespace taskfs::fusefs
