#include "storage/deferred_deletes.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

namespace taskfs::storage {
namespace {

// A task path as a file name: its bytes in hex (a path holds '/', and may hold any UTF-8).
std::string RecordName(const std::string& path) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  for (unsigned char c : path) {
    name += kHex[c >> 4];
    name += kHex[c & 0xf];
  }
  return name;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The task path a record names; nullopt for any other file.
std::optional<std::string> PathOfRecord(const std::string& name) {
  if (name.empty() || name.size() % 2 != 0) return std::nullopt;
  std::string path;
  for (size_t i = 0; i < name.size(); i += 2) {
    const int hi = HexDigit(name[i]), lo = HexDigit(name[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    path += static_cast<char>(hi << 4 | lo);
  }
  return path;
}

}  // namespace

std::string DeferredDeleteDir(const std::string& local_dir) {
  return local_dir + "/deferred-deletes";
}

Status RecordDeferredDelete(const std::string& dir, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string file = dir + "/" + RecordName(path);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "recording the delete of " + path + " in " + dir);
  ::close(fd);
  return Status::OK();
}

void ForgetDeferredDelete(const std::string& dir, const std::string& path) {
  ::unlink((dir + "/" + RecordName(path)).c_str());
}

std::vector<std::string> DeferredDeletes(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (auto path = PathOfRecord(entry.path().filename().string())) paths.push_back(*path);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace taskfs::storage
