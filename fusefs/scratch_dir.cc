#include "fusefs/scratch_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "fusefs/errno_map.h"
#include "storage/file_util.h"

namespace taskfs::fusefs {
namespace {
int Rc(int result) { return result == 0 ? 0 : -errno; }
}  // namespace

ScratchDir::~ScratchDir() {
  if (fd_ >= 0) ::close(fd_);
}

Status ScratchDir::Open() {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + root_);
  fd_ = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) return Status::FromErrno(errno, "opening " + root_);
  return Status::OK();
}

std::vector<ScratchDir::Entry> ScratchDir::List(const std::string& rel) const {
  std::vector<Entry> entries;
  int fd = ::openat(fd_, At(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return entries;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return entries;
  }
  while (struct dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") entries.push_back({name, e->d_type == DT_DIR});
  }
  ::closedir(dir);
  return entries;
}

int ScratchDir::Lstat(const std::string& rel, struct stat* st) const {
  return Rc(::fstatat(fd_, At(rel), st, AT_SYMLINK_NOFOLLOW));
}

int ScratchDir::OpenFile(const std::string& rel, int flags, mode_t mode) const {
  int fd = ::openat(fd_, At(rel), flags | O_CLOEXEC, mode);
  return fd >= 0 ? fd : -errno;
}

int ScratchDir::MakeParents(const std::string& rel) const {
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (::mkdirat(fd_, rel.substr(0, slash).c_str(), 0700) != 0 && errno != EEXIST) return -errno;
  }
  return 0;
}

int ScratchDir::Mkdir(const std::string& rel, mode_t mode) const {
  return Rc(::mkdirat(fd_, At(rel), mode));
}

int ScratchDir::Mknod(const std::string& rel, mode_t mode, dev_t dev) const {
  return Rc(::mknodat(fd_, At(rel), mode, dev));
}

int ScratchDir::Symlink(const std::string& target, const std::string& rel) const {
  return Rc(::symlinkat(target.c_str(), fd_, At(rel)));
}

int ScratchDir::Readlink(const std::string& rel, char* buf, size_t size) const {
  ssize_t n = ::readlinkat(fd_, At(rel), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int ScratchDir::Unlink(const std::string& rel) const { return Rc(::unlinkat(fd_, At(rel), 0)); }

int ScratchDir::Rmdir(const std::string& rel) const {
  return Rc(::unlinkat(fd_, At(rel), AT_REMOVEDIR));
}

int ScratchDir::Rename(const std::string& from, const std::string& to) const {
  return Rc(::renameat(fd_, At(from), fd_, At(to)));
}

int ScratchDir::Chmod(const std::string& rel, mode_t mode) const {
  return Rc(::fchmodat(fd_, At(rel), mode, 0));
}

int ScratchDir::Chown(const std::string& rel, uid_t uid, gid_t gid) const {
  return Rc(::fchownat(fd_, At(rel), uid, gid, AT_SYMLINK_NOFOLLOW));
}

int ScratchDir::Utimens(const std::string& rel, const struct timespec ts[2]) const {
  return Rc(::utimensat(fd_, At(rel), ts, AT_SYMLINK_NOFOLLOW));
}

int ScratchDir::Truncate(const std::string& rel, off_t size) const {
  int fd = OpenFile(rel, O_WRONLY);
  if (fd < 0) return fd;
  int rc = Rc(::ftruncate(fd, size));
  ::close(fd);
  return rc;
}

int ScratchDir::WriteWhole(const std::string& rel, const std::string& content) const {
  Status st = storage::WriteFileAtomicallyAt(fd_, rel, content);
  return st.ok() ? 0 : -ToErrno(st);
}

int ScratchDir::ReadWhole(const std::string& rel, std::string* out) const {
  int fd = OpenFile(rel, O_RDONLY);
  if (fd < 0) return fd;
  out->clear();
  char buf[65536];
  int rc = 0;
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return rc;
}

}  // namespace taskfs::fusefs
