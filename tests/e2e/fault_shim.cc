// A fault injector for end-to-end tests, loaded into the mount with LD_PRELOAD: it makes chosen
// file-system calls fail, as a full disk or a failing device would, at the file-system edge of
// the store (libgit2's objects and refs, the journal), without mocking anything else.
//
//   TASKFS_FAULT=OP:PATH:AFTER:COUNT:ERRNO   e.g. write:/taskfs/journal/:2:3:ENOSPC
//
// OP is write (write, pwrite), fsync (fsync, fdatasync) or rename (rename, renameat, link); PATH a substring
// of the file's path (for rename: of either name). The first AFTER matching calls pass, the next
// COUNT fail with ERRNO (ENOSPC or EIO), and the rest pass again: a transient fault. Each injected
// fault appends a line to the file TASKFS_FAULT_LOG, so a test can check that its fault happened.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Config {
  std::string op, path, log;
  long after = 0, count = 0;
  int err = EIO;
  std::atomic<long> seen{0};
};

Config& Fault() {
  static Config* config = [] {
    auto* c = new Config;
    const char* spec = std::getenv("TASKFS_FAULT");
    if (const char* log = std::getenv("TASKFS_FAULT_LOG")) c->log = log;
    if (!spec) return c;
    char op[16] = "", path[512] = "", err[16] = "";
    if (std::sscanf(spec, "%15[^:]:%511[^:]:%ld:%ld:%15s", op, path, &c->after, &c->count, err) ==
        5) {
      c->op = op;
      c->path = path;
      c->err = std::strcmp(err, "ENOSPC") == 0 ? ENOSPC : EIO;
    }
    return c;
  }();
  return *config;
}

template <class Fn>
Fn Real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

std::string PathOf(int fd) {
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, n) : std::string();
}

// True (errno set) when this call is one to fail.
bool Inject(const char* op, const std::string& path, const std::string& other = "") {
  Config& c = Fault();
  if (c.op != op) return false;
  if (path.find(c.path) == std::string::npos && other.find(c.path) == std::string::npos) {
    return false;
  }
  const long n = c.seen++;
  if (n < c.after || n >= c.after + c.count) return false;
  if (!c.log.empty()) {
    static auto real_write = Real<ssize_t (*)(int, const void*, size_t)>("write");
    const int fd = open(c.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      const std::string line = std::string(op) + " " + path + "\n";
      real_write(fd, line.data(), line.size());
      close(fd);
    }
  }
  errno = c.err;
  return true;
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t n) {
  static auto real = Real<ssize_t (*)(int, const void*, size_t)>("write");
  if (fd > 2 && !Fault().op.empty() && Inject("write", PathOf(fd))) return -1;
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  static auto real = Real<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (!Fault().op.empty() && Inject("write", PathOf(fd))) return -1;
  return real(fd, buf, n, offset);
}

int fsync(int fd) {
  static auto real = Real<int (*)(int)>("fsync");
  if (!Fault().op.empty() && Inject("fsync", PathOf(fd))) return -1;
  return real(fd);
}

int fdatasync(int fd) {
  static auto real = Real<int (*)(int)>("fdatasync");
  if (!Fault().op.empty() && Inject("fsync", PathOf(fd))) return -1;
  return real(fd);
}

int rename(const char* from, const char* to) {
  static auto real = Real<int (*)(const char*, const char*)>("rename");
  if (!Fault().op.empty() && Inject("rename", from, to)) return -1;
  return real(from, to);
}

// storage::WriteFileAtomically renames through renameat() (a name relative to a folder's
// descriptor, or to the working folder): PATH is matched against the names as given.
int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  static auto real = Real<int (*)(int, const char*, int, const char*)>("renameat");
  if (!Fault().op.empty() && Inject("rename", from, to)) return -1;
  return real(from_dir, from, to_dir, to);
}

// libgit2 moves a new object into place with link() and unlink(), and rename() only if link fails.
int link(const char* from, const char* to) {
  static auto real = Real<int (*)(const char*, const char*)>("link");
  if (!Fault().op.empty() && Inject("rename", from, to)) return -1;
  return real(from, to);
}

}  // extern "C"
