#include "storage/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace taskfs::storage {

Status WriteFileAtomically(const std::string& file, const std::string& content, mode_t mode) {
  const std::string tmp = file + ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a crashed writer's: O_EXCL below makes a new one with `mode`
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "writing " + file);
  size_t done = 0;
  int err = 0;
  while (done < content.size() && err == 0) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), file.c_str()) != 0) err = errno;
  if (err == 0) return Status::OK();
  ::unlink(tmp.c_str());
  return Status::FromErrno(err, "writing " + file);
}

std::optional<std::string> ReadWholeFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

}  // namespace taskfs::storage
