// LocalAttributes: what POSIX keeps of a file and git does not (owner, group, permission bits,
// and times set by utimensat) for the tasks, tree files and folders of a mount. Git keeps none
// of it for a task (a task is committed as a 0644 blob), so it lives beside the store, for this
// machine only: another machine has other users. Local-only (scratch) files are real files and
// keep their attributes themselves.
//
// Kept as an append-only log of changes (one JSON object a line), replayed and compacted at
// load; a torn last line (a crash mid-append) is skipped. A path with no entry has the mount's
// defaults (TaskFilesystem: the mounting user, 0644 for a task, 0755 for a folder).
//
// Not thread-safe: TaskFilesystem guards it with its mutex.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "storage/status.h"
#include "storage/unique_fd.h"

namespace taskfs::fusefs {

struct FileAttributes {
  std::optional<mode_t> mode;  // permission bits (07777)
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<timespec> mtime;  // set by utimensat; dropped by the next change of the file
  std::optional<timespec> atime;
};

class LocalAttributes {
 public:
  explicit LocalAttributes(std::string file) : file_(std::move(file)) {}
  LocalAttributes(const LocalAttributes&) = delete;
  LocalAttributes& operator=(const LocalAttributes&) = delete;

  // Replays the log, forgets the paths for which `exists` is false (removed meanwhile, e.g. by a
  // sync) and rewrites the log compacted.
  Status Load(const std::function<bool(const std::string&)>& exists);

  // Null when `path` has the defaults.
  const FileAttributes* Find(std::string_view path) const;
  // Sets the fields `change` holds; the others stay.
  Status Set(const std::string& path, const FileAttributes& change);
  // Drops the times set by utimensat: the file (or folder) changed since.
  Status ClearTimes(const std::string& path);
  // Forgets `path` and everything below it.
  Status Remove(const std::string& path);
  // Moves the entries of `from` and of everything below it to `to`.
  Status Move(const std::string& from, const std::string& to);

 private:
  // Applies one log record to attrs_; false if it is not one.
  bool Apply(std::string_view line);
  Status Append(const std::string& line);

  const std::string file_;
  storage::UniqueFd fd_;  // the log, open for appending once Load() ran
  std::map<std::string, FileAttributes, std::less<>> attrs_;
};

}  // namespace taskfs::fusefs
