// Small whole-file helpers for local state files (status, records, refs in folder remotes).
//
// Every file taskfs replaces as a whole goes through WriteFileAtomically, so there is one rule
// for temp files: they are named `.NAME.tmp-PID-N`, hidden, and live where the caller says (by
// default beside the file). Callers whose folder is read by others (a folder remote's refs/,
// which git and every other client read) put them elsewhere, so no reader ever sees one.
// Thread-safe: each call uses its own temp name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "storage/status.h"
#include "storage/unique_fd.h"

namespace taskfs::storage {

// Writes `content` to `file` through a temp file in `temp_dir` (default: the file's own
// folder; it must be on the same file system), fsync and rename: readers see the old bytes or
// the new ones, never a half-written file, also after a crash. A failed write leaves no temp.
Status WriteFileAtomically(const std::string& file, const std::string& content, mode_t mode = 0644,
                           const std::string& temp_dir = "");

// Whether an atomic write fsyncs the file's folder after its rename (the name is on disk once it
// returns), or leaves that to a caller that writes several files into one folder and syncs it once.
enum class FolderSync { kSync, kLeaveToCaller };

// The same, with `file` (and `temp_dir`) relative to the folder open as `dir_fd` (the *at(2)
// calls): for paths that are too long to be given whole.
Status WriteFileAtomicallyAt(int dir_fd, const std::string& file, const std::string& content,
                             mode_t mode = 0644, const std::string& temp_dir = "",
                             FolderSync folder_sync = FolderSync::kSync);

// Appends `content` to `file` (made if missing) in O_APPEND mode, without an fsync: for caches,
// whose reader survives a last record cut short.
Status AppendToFile(const std::string& file, const std::string& content);

// fsync(2) of a file or folder: its content, or the names in it, are on disk once this returns.
Status SyncToDisk(const std::string& path);

// True if `name` (a file name, no folder) is a temp file WriteFileAtomically makes, or one the
// versions before it made (`NAME.tmp-PID`, `NAME.tmp`, `NAME.taskfs-tmp`).
bool IsAtomicWriteTemp(const std::string& name);

// Removes, in `dir`, the temp files of writes that crashed: those older than `min_age` (a live
// write takes milliseconds). Returns how many it removed.
int RemoveStaleTempFiles(const std::string& dir,
                         std::chrono::seconds min_age = std::chrono::seconds(60));

// An exclusive flock(2) on `file` (made if missing), held while this object lives, if it could be
// had at once (or, with `wait`, within that time: `on_wait` runs once before it waits). The kernel
// drops it when the process dies, so a lock a crash left never blocks. The one lock-file helper.
class FileLock {
 public:
  explicit FileLock(const std::string& file,
                    std::chrono::milliseconds wait = std::chrono::milliseconds(0),
                    const std::function<void()>& on_wait = nullptr);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return held_; }
  // With the lock held: writes `text` (the holder's pid) into the lock file, for those who find
  // it held to say who holds it (ReadWholeFile).
  Status Record(const std::string& text);

 private:
  UniqueFd fd_;
  bool held_ = false;
};

// Removes the lock file `lock` (a git `.lock`) when it is older than `min_age`; with `wait`, a
// younger one is waited for until it is that old, and removed if it is still the same file.
// Returns true if it removed one. Call it only where no live holder can be older than `min_age`.
bool RemoveStaleLockFile(const std::string& lock, std::chrono::seconds min_age, bool wait);

// The whole file, or nullopt if it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& file);

}  // namespace taskfs::storage
