// UniqueFd: the one owner of a POSIX file descriptor, so that no path out of a function (an
// early return, an error, an exception) can leak it or close it twice.
//
// Move-only, like std::unique_ptr: the destructor closes the fd it holds; -1 means "holds none".
// release() hands the fd to a new owner (libfuse, the kernel, another struct) without closing it.
// close(2)'s result is ignored, and errno is left as it was, so that a handle closed on an error
// path never changes the errno a caller is about to report. Where a close error matters (after
// writing data that must be on disk), check fsync, or close(release()) by hand.
// Not thread-safe: one thread owns a UniqueFd at a time, like any other value.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace taskfs::storage {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership: the caller now closes the returned fd.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  // Closes the fd held (if any) and takes `fd` (default: none).
  void reset(int fd = -1) {
    const int old = std::exchange(fd_, fd);
    if (old < 0) return;
    const int saved_errno = errno;
    ::close(old);
    errno = saved_errno;
  }

 private:
  int fd_ = -1;
};

}  // namespace taskfs::storage
