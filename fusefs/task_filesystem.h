// TaskFilesystem: the mount's logic, kernel-free. Maps file operations on paths to store
// operations, so it can be tested by calling it directly; fuse_bridge.cc binds it to libfuse.
//
// What a path is:
//  - a task ("x.yaml", see storage/task_name.h): bytes come from, in order, a file open for
//    writing (its buffer), a draft (an invalid save), a save not yet committed (pending_), the
//    store's snapshot. Writes are buffered and saved on the writer's flush/fsync (close), never
//    per write(), and never by a reader's close: a reader sees the bytes written so far (as on a
//    local disk) but only the writer's close saves them.
//  - a file in the store's tree that is not a task (e.g. a README committed by git): read-only.
//  - anything else: local scratch (editor swap files, temp files), a real file in the store's
//    local dir, never committed.
//  - a folder: a folder of the tree, or of scratch (empty folders live there).
//
// Owners and modes: the kernel checks every request against what GetAttr reports
// (default_permissions). A task's, tree file's or folder's owner, mode and utimensat times live
// in attrs_ (fusefs/local_attributes.h; git keeps none), a local-only file's in the real file
// (fusefs/scratch_dir.h). What a caller makes is theirs (Caller).
//
// The write path: a save is validated, appended to the journal and shown at once (pending_); the
// committer thread (storage/committer.h) makes the git commits behind, grouping what arrives
// while it writes. close() returns once the save is journaled (safe against kill -9), fsync()
// once the journal is on disk (safe against power loss).
//
// A task removed or renamed to a scratch name (vim's backup dance: x.yaml -> x.yaml~, write
// x.yaml; `mv` from another filesystem: unlink x.yaml, create x.yaml) is not deleted in the store
// at once: the delete waits kPendingDeleteDelay (or the unmount, or a sync asking for
// CommitEverything), recorded beside the store so that a crash meanwhile still carries it
// (storage/deferred_deletes.h), and a new save of the same task in the meantime becomes a plain
// edit, so history stays continuous and a sync never sees the task deleted in between.
//
// Every operation returns 0 (or a byte count) or -errno, and never throws.
// Thread-safety: all public methods may be called concurrently (the FUSE loop is
// multithreaded). Lock order: mu_, then the committer's lock, then the store's locks. mu_ guards
// in-memory state only and is held across no git I/O: commits run on the committer thread,
// which takes mu_ only to drop what it committed from pending_.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fusefs/drafts.h"
#include "fusefs/local_attributes.h"
#include "fusefs/scratch_dir.h"
#include "storage/committer.h"
#include "storage/history_warmer.h"
#include "storage/store.h"

namespace taskfs::fusefs {

inline constexpr std::chrono::milliseconds kPendingDeleteDelay{2000};
// Largest local-only file (an editor's swap file, a tool's temp file): past it, EFBIG, so that
// one runaway program cannot fill the disk through a single scratch file. Documented in taskfs(1).
inline constexpr uint64_t kMaxScratchBytes = uint64_t{16} << 20;
// The modes of a task and of a folder that chmod did not change (git commits a task as 0644).
inline constexpr mode_t kTaskMode = 0644;
inline constexpr mode_t kFolderMode = 0755;

// `.taskfs/` at the root: read-only files about the mount, not in the store. `.taskfs/status`
// says how syncing goes (see sync/sync_status.h) and lists the drafts, made anew on each open.
inline constexpr const char* kInfoDir = ".taskfs";
inline constexpr const char* kStatusFile = ".taskfs/status";
bool IsInfoPath(const std::string& path);

// 0 if `path`'s last component may be created; -ENAMETOOLONG or -EINVAL (empty, NUL, or a
// ".yaml" name that is not UTF-8) otherwise.
int CheckNewName(const std::string& path);
// The length of the longest name in `path` (its components).
size_t LongestNameIn(std::string_view path);
// A file unlinked while still open, kept by libfuse under this name until its last close.
bool IsHiddenUnlinked(std::string_view name);
// "work/ops/x.yaml" -> "work/ops"; "x.yaml" -> "" (the root).
std::string ParentOf(const std::string& path);

// Who makes a file or folder (the FUSE request's uid and gid): what they make is theirs.
struct Caller {
  uid_t uid;
  gid_t gid;
};

// A task open for writing; shared by every handle open on it.
struct TaskNode {
  std::string path;  // current path; empty once unlinked
  std::string content;
  // The saved bytes the edit started from (nullopt: a new task), so that a change another
  // process committed meanwhile is merged, not overwritten.
  std::optional<std::string> base;
  bool dirty = false;
  bool failed = false;  // the last commit attempt failed (not a validation error)
  int open_count = 0;
  int64_t mtime = 0;
};

// What an open file descriptor refers to.
struct Handle {
  enum class Kind { kTask, kTreeFile, kScratch } kind = Kind::kTask;
  std::shared_ptr<TaskNode> node;              // kTask opened for writing, or shared
  std::shared_ptr<const std::string> content;  // kTask read-only, or kTreeFile
  std::string path;                            // with `content`: what was opened
  int64_t mtime = 0;                           // with `content`
  int fd = -1;                                 // kScratch
  bool writable = false;
  bool wrote = false;      // this handle changed the bytes since its last save: its close saves
  bool generated = false;  // `content` was made at open (.taskfs/status): never cache it
};

class TaskFilesystem {
 public:
  // `store` must outlive this object. Deletes wait `pending_delete_delay` (see above; tests
  // shorten it).
  explicit TaskFilesystem(storage::Store* store,
                          std::chrono::milliseconds pending_delete_delay = kPendingDeleteDelay);
  ~TaskFilesystem();

  // Loads drafts, commits what the journal kept from an earlier run, and starts the committer
  // and the background thread (pending deletes). Call after daemonizing.
  Status Start();
  // Saves what is still buffered, deletes what is pending and commits everything; called at
  // unmount.
  void Shutdown();
  // Journals the pending deletes now and waits (up to `timeout`) until every save so far is
  // committed: what a sync or an unmount asks for. False on timeout.
  bool CommitEverything(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits (up to `timeout`) until every save so far is committed; pending deletes stay pending.
  bool WaitForCommits(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Saves acknowledged and not yet committed, and the last commit failure ("" if none).
  storage::Committer::Stats CommitStats() const;

  // Paths are relative, without a leading '/' ("" is the root).
  int GetAttr(const std::string& path, struct stat* st, Handle* h);
  int ReadDir(const std::string& path, std::vector<std::string>* names);
  int Open(const std::string& path, int flags, std::unique_ptr<Handle>* out);
  // `caller` (default: the mounting user) owns what Create, Mkdir, Mknod and Symlink make.
  int Create(const std::string& path, mode_t mode, int flags, std::unique_ptr<Handle>* out,
             std::optional<Caller> caller = std::nullopt);
  int Read(Handle* h, char* buf, size_t size, off_t offset);
  int Write(Handle* h, const char* buf, size_t size, off_t offset);
  int Truncate(const std::string& path, off_t size, Handle* h);
  // fallocate(2) (and glibc's posix_fallocate): for a task, mode 0 extends it with zeros and
  // FALLOC_FL_KEEP_SIZE does nothing; a size past the limit is EFBIG before any byte changes.
  int Fallocate(Handle* h, int mode, off_t offset, off_t length);
  int Flush(Handle* h);
  int Fsync(Handle* h);
  int Release(Handle* h);
  int Unlink(const std::string& path);
  int Rename(const std::string& from, const std::string& to, unsigned flags);
  int Mkdir(const std::string& path, mode_t mode, std::optional<Caller> caller = std::nullopt);
  // FIFOs, sockets (and devices, if the mount may make them) under local-only names; a task
  // name takes a regular file only (an empty new task), anything else is EPERM.
  int Mknod(const std::string& path, mode_t mode, dev_t dev,
            std::optional<Caller> caller = std::nullopt);
  int Rmdir(const std::string& path);
  int Symlink(const std::string& target, const std::string& path,
              std::optional<Caller> caller = std::nullopt);
  int Readlink(const std::string& path, char* buf, size_t size);
  int Chmod(const std::string& path, mode_t mode, Handle* h);
  int Chown(const std::string& path, uid_t uid, gid_t gid, Handle* h);
  int Utimens(const std::string& path, const struct timespec ts[2], Handle* h);
  int StatFs(struct statvfs* st);

  // Another process moved the store's branch: reload, and return the paths whose content changed
  // (and their folders), for the caller to invalidate in the kernel's caches with no lock held.
  std::vector<std::string> Refresh();
  // Set by the bridge: invalidates the kernel's caches for these paths (called with no lock held).
  void SetInvalidator(std::function<void(const std::vector<std::string>&)> fn);
  // Hands freed memory back to the system at the next idle moment (after a listing of many
  // thousands of names: libfuse and the listing leave megabytes of freed buffers), and lets go of
  // the packs read since (Store::ReleasePacks: their pages count in the mount's resident memory).
  void TrimMemorySoon();
  // Set by the mount: the text of .taskfs/status.
  void SetStatusText(std::function<std::string()> fn);

 private:
  enum class Kind { kNone, kTask, kTreeFile, kDir, kScratch };
  struct PendingDelete {
    std::chrono::steady_clock::time_point due;
  };

  // All of these expect mu_ held.
  Kind Classify(const std::string& path, const storage::Snapshot& snap) const;
  // The bytes the mount shows for task `path` (null: none). Reads git when only the snapshot
  // holds them: disk I/O, so hot read paths use HeldInMemory() first and read without mu_.
  Result<std::shared_ptr<const std::string>> TaskContent(const std::string& path,
                                                         const storage::Snapshot& snap) const;
  // True when an open node, a draft or a save not yet committed holds the bytes of `path`.
  bool HeldInMemory(const std::string& path) const;
  bool TaskExists(const std::string& path, const storage::Snapshot& snap) const;
  int64_t TaskMtime(const std::string& path, const storage::Snapshot& snap) const;
  bool IsDir(const std::string& path, const storage::Snapshot& snap) const;
  int ListLocked(const std::string& path, const storage::Snapshot& snap,
                 std::vector<std::string>* names) const;
  Result<std::shared_ptr<TaskNode>> NodeFor(const std::string& path,
                                            const storage::SnapshotPtr& snap);
  struct SaveResult {
    int rc;     // 0, -EBADMSG for an invalid task, or -errno of a failed journal append
    bool kept;  // the bytes are safe (journaled, or kept as a draft)
    bool journaled = false;  // saved as the task's new version (not a draft)
  };
  int SaveNode(TaskNode& node);
  SaveResult SaveTask(const std::string& path, const std::string& content,
                      const std::optional<std::string>& base);
  // Journals `changes` as one save and shows them at once. `bases` (parallel to changes) are
  // the bytes each writer started from; by default what the mount showed before the change.
  int JournalChanges(std::vector<storage::Change> changes, const std::string& message,
                     std::vector<std::optional<std::string>> bases = {});
  // The saved bytes of a task: a save not yet committed, else the snapshot's. Null if none.
  Result<std::shared_ptr<const std::string>> SavedContent(const std::string& path,
                                                          const storage::Snapshot& snap) const;
  // A task's bytes could not be read from git: logs `st` (it names the task) and returns the
  // -errno for the kernel. Needs no lock.
  int ReadFailed(const Status& st) const;
  // Whether SavedContent() would find bytes, without reading them.
  bool HasSaved(const std::string& path, const storage::Snapshot& snap) const;
  // Fills `st` for the committed file at `path` in `snap`, reading its size from git with
  // `lock` (on mu_) released.
  int StatCommitted(std::unique_lock<std::mutex>& lock, const std::string& path,
                    const storage::SnapshotPtr& snap, bool read_only, struct stat* st) const;
  // Called by the committer (no lock held) once saves up to `seq` are committed.
  void OnCommitted(uint64_t seq, const storage::CommitOutcome& outcome);
  // The errno a rename of `from` (a `kf`) onto `to` (a `kt`) is refused with, or 0.
  int CheckRename(const std::string& from, const std::string& to, Kind kf, Kind kt, unsigned flags,
                  const storage::Snapshot& snap) const;
  int TaskToTask(const std::string& from, const std::string& to, const storage::SnapshotPtr& snap);
  int RenameDir(const std::string& from, const std::string& to, const storage::SnapshotPtr& snap);
  // The saved tasks below `folder`: committed, or saved and not committed yet.
  Result<std::map<std::string, std::shared_ptr<const std::string>>> SavedBelow(
      const std::string& folder, const storage::Snapshot& snap) const;
  // What renaming folder `from` to `to` journals, with each change's base (the bytes read once);
  // the tasks inside whose delete was deferred (removed by the user: not carried over) go to
  // `pending_inside`.
  Result<storage::Save> RenameDirChanges(const std::string& from, const std::string& to,
                                         const storage::Snapshot& snap,
                                         std::vector<std::string>* pending_inside) const;
  int TaskToScratch(const std::string& from, const std::string& to,
                    const storage::SnapshotPtr& snap);
  int ScratchToTask(const std::string& from, const std::string& to,
                    const storage::SnapshotPtr& snap);
  // Holds back the delete of `path` (recorded beside the store at once, so a crash still
  // carries it), and forgets it when the task is saved or renamed onto again.
  void DeferDelete(const std::string& path);
  void CancelDeferredDelete(const std::string& path);
  // Commits the pending deletes that are due, or all of them, or those below folder `under`.
  void CommitDuePendingDeletes(bool all, const std::string& under = "");
  void RecordError(const std::string& message);
  void BackgroundLoop();
  // The attributes of a task (or tree file) at `path` ("" once unlinked): the defaults, with
  // what attrs_ keeps for it on top.
  void FillTaskStat(struct stat* st, const std::string& path, size_t size, int64_t mtime,
                    bool read_only = false) const;
  void FillDirStat(struct stat* st, const std::string& path, const storage::Snapshot& snap) const;
  // Subfolders of `path`, for its link count (2 + this).
  size_t CountSubfolders(const std::string& path, const storage::Snapshot& snap) const;
  void ApplyAttributes(const std::string& path, struct stat* st) const;
  // Makes a local-only file (not a folder) just made the caller's, with exactly `mode` (the
  // kernel applied the creator's umask; the mount's own must not be applied again). -EACCES, and
  // the file is removed, when the mount cannot give it to the caller (it does not run as root).
  int AdoptScratch(const std::string& path, mode_t mode, const Caller& caller, bool is_symlink);
  // A task or folder was just made at `path` by `caller` with `mode`: what attrs_ keeps of it
  // (nothing when that is the default).
  void RecordCreated(const std::string& path, mode_t mode, mode_t default_mode,
                     const Caller& caller);
  // Something was made or removed in the folder of `path`: its utimensat times are over.
  void ClearParentTimes(const std::string& path);
  // Attributes kept for a task that a rename turns into a local-only file, and back.
  void AttributesToScratch(const std::string& task, const std::string& scratch);
  void AttributesFromScratch(const struct stat& scratch, const std::string& task);
  // chmod, chown or utimensat: `change` goes to attrs_ for a task, tree file or folder; a
  // local-only file gets `real(fd, "")` through its handle or `real(-1, path)`, which return 0
  // or -errno.
  using RealSetattr = std::function<int(int fd, const std::string& path)>;
  int SetAttributes(const std::string& path, Handle* h, const FileAttributes& change,
                    const RealSetattr& real);
  // The path a setattr acts on: `path`, or with a handle the file it has open (nullopt once
  // unlinked).
  static std::optional<std::string> TargetOf(const std::string& path, const Handle* h);
  Caller Owner() const { return {uid_, gid_}; }
  int InfoGetAttr(const std::string& path, struct stat* st);
  int OpenInfo(const std::string& path, int flags, std::unique_ptr<Handle>* out);

  storage::Store* store_;
  const std::chrono::milliseconds pending_delete_delay_;
  ScratchDir scratch_;  // local-only files; thread-safe itself
  const std::string last_error_file_;
  const std::string deferred_delete_dir_;  // storage/deferred_deletes.h
  bool error_recorded_ = false;            // last_error_file_ holds an error (guarded by mu_)
  bool trim_due_ = false;                  // guarded by mu_: TrimMemorySoon() was called
  // Guarded by mu_: the commit at the last periodic check. Commits since free old snapshots (one
  // every few hundred changes is rebuilt whole, storage/snapshot.h): their memory goes back too.
  std::string commit_at_last_trim_check_;
  std::string last_error_;                 // guarded by mu_: also when the disk took no file

  // A save journaled and not yet committed: its bytes (null for a delete) and when it was made.
  struct PendingSave {
    std::shared_ptr<const std::string> content;
    uint64_t seq = 0;
    int64_t mtime = 0;
  };

  mutable std::mutex mu_;  // lock order: see above; never held while invalidating
  Drafts drafts_;          // guarded by mu_
  LocalAttributes attrs_;  // guarded by mu_
  std::map<std::string, std::shared_ptr<TaskNode>> nodes_;   // guarded by mu_: open for writing
  std::map<std::string, PendingDelete> pending_deletes_;     // guarded by mu_
  std::map<std::string, PendingSave, std::less<>> pending_;  // guarded by mu_
  std::unique_ptr<storage::Committer> committer_;            // set by Start(); thread-safe itself
  std::condition_variable cv_;  // with mu_: wakes the background thread
  bool stopping_ = false;       // guarded by mu_
  std::thread background_;      // Start() and Shutdown() only
  // Start() and Shutdown() only: the history index kept ready for `taskfs log`.
  std::unique_ptr<storage::HistoryWarmer> history_warmer_;
  std::function<void(const std::vector<std::string>&)> invalidate_;  // guarded by mu_
  std::function<std::string()> status_text_;                         // guarded by mu_
  storage::SnapshotPtr shown_;  // guarded by mu_: the snapshot the kernel's caches reflect
  const uid_t uid_;
  const gid_t gid_;
};

}  // namespace taskfs::fusefs
