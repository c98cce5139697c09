// ScratchDir: the folder beside the store that holds the mount's local-only files (editors' swap
// and temp files, FIFOs, symlinks) and its empty folders. Every call takes a path relative to it
// and works through a descriptor of the folder (the *at(2) calls), so that any path the mount can
// be given (up to PATH_MAX below the mount point) works here too, however long the store's own
// path is. Calls return 0 (or a count, or a descriptor) or -errno, like the FUSE operations.
//
// Thread-safe: the descriptor is set once, by Open(), before the mount serves.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "storage/status.h"
#include "storage/unique_fd.h"

namespace taskfs::fusefs {

class ScratchDir {
 public:
  explicit ScratchDir(std::string root) : root_(std::move(root)) {}
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Makes the folder if missing and opens it.
  Status Open();

  struct Entry {
    std::string name;
    bool is_folder;
  };
  // What folder `rel` holds ("" is the scratch root itself); empty if it is not a folder here.
  std::vector<Entry> List(const std::string& rel) const;

  int Lstat(const std::string& rel, struct stat* st) const;
  // A new descriptor (O_CLOEXEC added), or -errno.
  int OpenFile(const std::string& rel, int flags, mode_t mode = 0) const;
  // Makes the folders above `rel` that are missing.
  int MakeParents(const std::string& rel) const;
  int Mkdir(const std::string& rel, mode_t mode) const;
  int Mknod(const std::string& rel, mode_t mode, dev_t dev) const;
  int Symlink(const std::string& target, const std::string& rel) const;
  // Reads the link's target into `buf` (NUL-terminated, cut to size - 1).
  int Readlink(const std::string& rel, char* buf, size_t size) const;
  int Unlink(const std::string& rel) const;
  int Rmdir(const std::string& rel) const;
  int Rename(const std::string& from, const std::string& to) const;
  int Chmod(const std::string& rel, mode_t mode) const;
  int Chown(const std::string& rel, uid_t uid, gid_t gid) const;  // of a symlink itself
  int Utimens(const std::string& rel, const struct timespec ts[2]) const;
  int Truncate(const std::string& rel, off_t size) const;
  // Replaces `rel` with `content` through a temp file beside it, fsync and rename.
  int WriteWhole(const std::string& rel, const std::string& content) const;
  // Reads the whole regular file `rel` into `out`.
  int ReadWhole(const std::string& rel, std::string* out) const;

 private:
  // "." for the root, so that the *at calls act on the folder itself.
  static const char* At(const std::string& rel) { return rel.empty() ? "." : rel.c_str(); }

  const std::string root_;
  storage::UniqueFd fd_;
};

}  // namespace taskfs::fusefs
