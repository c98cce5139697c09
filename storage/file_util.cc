#include "storage/file_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "storage/log.h"

namespace taskfs::storage {
namespace {

namespace fs = std::filesystem;

std::string TempNameFor(const std::string& file, const std::string& temp_dir) {
  static std::atomic<unsigned> counter{0};
  const fs::path path(file);
  const std::string dir = temp_dir.empty() ? path.parent_path().string() : temp_dir;
  return (dir.empty() ? std::string(".") : dir) + "/." + path.filename().string() + ".tmp-" +
         std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Makes a rename in `dir` durable.
void SyncFolder(int dir_fd, const std::string& dir) {
  const UniqueFd fd(
      ::openat(dir_fd, dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

// Writes all of `content` to `fd`; 0 or the errno of the write that failed.
int WriteAll(int fd, const std::string& content) {
  for (size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno != EINTR) return errno;
    if (n > 0) done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

Status SyncToDisk(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::FromErrno(errno, "opening " + path);
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "syncing " + path + " to disk");
  return Status::OK();
}

Status AppendToFile(const std::string& file, const std::string& content) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return Status::FromErrno(errno, "appending to " + file);
  int err = WriteAll(fd.get(), content);
  if (::close(fd.release()) != 0 && err == 0) err = errno;
  return err == 0 ? Status::OK() : Status::FromErrno(err, "appending to " + file);
}

Status WriteFileAtomically(const std::string& file, const std::string& content, mode_t mode,
                           const std::string& temp_dir) {
  return WriteFileAtomicallyAt(AT_FDCWD, file, content, mode, temp_dir);
}

Status WriteFileAtomicallyAt(int dir_fd, const std::string& file, const std::string& content,
                             mode_t mode, const std::string& temp_dir,
                             FolderSync folder_sync) {
  const std::string tmp = TempNameFor(file, temp_dir);
  UniqueFd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return Status::FromErrno(errno, "writing " + file);
  int err = WriteAll(fd.get(), content);
  if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
  // Closed by hand: on some file systems (NFS) a write error shows only here.
  if (::close(fd.release()) != 0 && err == 0) err = errno;
  if (err == 0 && ::renameat(dir_fd, tmp.c_str(), dir_fd, file.c_str()) != 0) err = errno;
  if (err == 0) {
    if (folder_sync == FolderSync::kSync) SyncFolder(dir_fd, fs::path(file).parent_path().string());
    return Status::OK();
  }
  ::unlinkat(dir_fd, tmp.c_str(), 0);
  return Status::FromErrno(err, "writing " + file);
}

bool IsAtomicWriteTemp(const std::string& name) {
  static const std::regex kTemp(R"(\..+\.tmp-[0-9]+-[0-9]+|.+\.tmp-[0-9]+|.+\.(tmp|taskfs-tmp))");
  return std::regex_match(name, kTemp);
}

int RemoveStaleTempFiles(const std::string& dir, std::chrono::seconds min_age) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !IsAtomicWriteTemp(name)) continue;
    const auto written = entry.last_write_time(ec);
    if (ec || now - written < min_age) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

FileLock::FileLock(const std::string& file, std::chrono::milliseconds wait,
                   const std::function<void()>& on_wait) {
  fd_.reset(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_) return;
  held_ = ::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0;
  if (held_ || wait.count() <= 0) return;
  if (on_wait) on_wait();
  // Polled, not a blocking flock: a blocking one could not give up at the deadline.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!held_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    held_ = ::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0;
  }
}

Status FileLock::Record(const std::string& text) {
  if (!held_) return Status::Busy("recording in a lock that is not held");
  if (::ftruncate(fd_.get(), 0) != 0 || ::pwrite(fd_.get(), text.data(), text.size(), 0) < 0) {
    return Status::FromErrno(errno, "writing the lock file");
  }
  return Status::OK();
}

std::optional<std::string> ReadWholeFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

bool RemoveStaleLockFile(const std::string& lock, std::chrono::seconds min_age, bool wait) {
  std::error_code ec;
  const auto written = fs::last_write_time(lock, ec);
  if (ec) return false;
  const auto age = fs::file_time_type::clock::now() - written;
  if (age < min_age) {
    if (!wait) return false;
    std::this_thread::sleep_for(min_age - age);
    if (fs::last_write_time(lock, ec) != written || ec) return false;  // gone, or a new one
  }
  if (!fs::remove(lock, ec)) return false;
  LogWarning("removed the lock " + lock + " that a crashed process left");
  return true;
}

}  // namespace taskfs::storage
