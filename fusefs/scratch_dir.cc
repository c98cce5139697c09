#include "fusefs/scratch_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>

#include "fusefs/errno_map.h"
#include "storage/file_util.h"

namespace taskfs::fusefs {
namespace {
int Rc(int result) { return result == 0 ? 0 : -errno; }

struct CloseDir {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
}  // namespace

Status ScratchDir::Open() {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + root_);
  fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd_) return Status::FromErrno(errno, "opening " + root_);
  return Status::OK();
}

std::vector<ScratchDir::Entry> ScratchDir::List(const std::string& rel) const {
  std::vector<Entry> entries;
  storage::UniqueFd fd(::openat(fd_.get(), At(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return entries;
  std::unique_ptr<DIR, CloseDir> dir(::fdopendir(fd.get()));
  if (!dir) return entries;
  (void)fd.release();  // the DIR owns it now: closedir closes it
  while (struct dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") entries.push_back({name, e->d_type == DT_DIR});
  }
  return entries;
}

int ScratchDir::Lstat(const std::string& rel, struct stat* st) const {
  return Rc(::fstatat(fd_.get(), At(rel), st, AT_SYMLINK_NOFOLLOW));
}

int ScratchDir::OpenFile(const std::string& rel, int flags, mode_t mode) const {
  int fd = ::openat(fd_.get(), At(rel), flags | O_CLOEXEC, mode);
  return fd >= 0 ? fd : -errno;
}

int ScratchDir::MakeParents(const std::string& rel) const {
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (::mkdirat(fd_.get(), rel.substr(0, slash).c_str(), 0700) != 0 && errno != EEXIST)
      return -errno;
  }
  return 0;
}

int ScratchDir::Mkdir(const std::string& rel, mode_t mode) const {
  return Rc(::mkdirat(fd_.get(), At(rel), mode));
}

int ScratchDir::Mknod(const std::string& rel, mode_t mode, dev_t dev) const {
  return Rc(::mknodat(fd_.get(), At(rel), mode, dev));
}

int ScratchDir::Symlink(const std::string& target, const std::string& rel) const {
  return Rc(::symlinkat(target.c_str(), fd_.get(), At(rel)));
}

int ScratchDir::Readlink(const std::string& rel, char* buf, size_t size) const {
  ssize_t n = ::readlinkat(fd_.get(), At(rel), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int ScratchDir::Unlink(const std::string& rel) const {
  return Rc(::unlinkat(fd_.get(), At(rel), 0));
}

int ScratchDir::Rmdir(const std::string& rel) const {
  return Rc(::unlinkat(fd_.get(), At(rel), AT_REMOVEDIR));
}

int ScratchDir::Rename(const std::string& from, const std::string& to) const {
  return Rc(::renameat(fd_.get(), At(from), fd_.get(), At(to)));
}

int ScratchDir::Chmod(const std::string& rel, mode_t mode) const {
  return Rc(::fchmodat(fd_.get(), At(rel), mode, 0));
}

int ScratchDir::Chown(const std::string& rel, uid_t uid, gid_t gid) const {
  return Rc(::fchownat(fd_.get(), At(rel), uid, gid, AT_SYMLINK_NOFOLLOW));
}

int ScratchDir::Utimens(const std::string& rel, const struct timespec ts[2]) const {
  return Rc(::utimensat(fd_.get(), At(rel), ts, AT_SYMLINK_NOFOLLOW));
}

int ScratchDir::Truncate(const std::string& rel, off_t size) const {
  const int opened = OpenFile(rel, O_WRONLY);
  if (opened < 0) return opened;
  const storage::UniqueFd fd(opened);
  return Rc(::ftruncate(fd.get(), size));
}

int ScratchDir::WriteWhole(const std::string& rel, const std::string& content) const {
  Status st = storage::WriteFileAtomicallyAt(fd_.get(), rel, content);
  return st.ok() ? 0 : -ToErrno(st);
}

int ScratchDir::ReadWhole(const std::string& rel, std::string* out) const {
  const int opened = OpenFile(rel, O_RDONLY);
  if (opened < 0) return opened;
  const storage::UniqueFd fd(opened);
  out->clear();
  char buf[65536];
  int rc = 0;
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      rc = -errno;
      break;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  return rc;
}

}  // namespace taskfs::fusefs
