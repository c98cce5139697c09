#include "storage/deferred_deletes.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include "storage/file_util.h"
#include "storage/unique_fd.h"

namespace taskfs::storage {
namespace {

// A record's file name: a hash of the task's path (a path may be far longer than a file name
// may be); the path itself is the file's content.
std::string RecordName(const std::string& path) {
  uint64_t h = 14695981039346656037u;  // FNV-1a
  for (unsigned char c : path) h = (h ^ c) * 1099511628211u;
  char name[17];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(h));
  return name;
}

}  // namespace


Status RecordDeferredDelete(const std::string& dir, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string file = dir + "/" + RecordName(path);
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return Status::FromErrno(errno, "recording the delete of " + path + " in " + dir);
  if (::write(fd.get(), path.data(), path.size()) != static_cast<ssize_t>(path.size())) {
    const int err = errno;
    fd.reset();
    ::unlink(file.c_str());
    return Status::FromErrno(err, "recording the delete of " + path + " in " + dir);
  }
  return Status::OK();
}

void ForgetDeferredDelete(const std::string& dir, const std::string& path) {
  ::unlink((dir + "/" + RecordName(path)).c_str());
}

std::vector<std::string> DeferredDeletes(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    // A record cut short by a crash names no task: skipped (its delete was not acknowledged).
    auto path = ReadWholeFile(entry.path().string());
    if (path && *path != "" && RecordName(*path) == entry.path().filename().string()) {
      paths.push_back(*path);
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace taskfs::storage
