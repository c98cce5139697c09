#include "storage/task_name.h"

#include <cstdint>
#include <cstdio>

namespace taskfs::storage {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    if (c == 0) return false;
    i += len;
  }
  return true;
}

static bool HasControlCharacter(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

static bool IsTaskComponent(std::string_view c) {
  return !c.empty() && c.size() <= kMaxNameBytes && c.front() != '.' && IsValidUtf8(c) &&
         !HasControlCharacter(c);
}

bool IsTaskFolderPath(std::string_view path) {
  if (path.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view c =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!IsTaskComponent(c)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool IsTaskPath(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.size() <= kTaskSuffix.size() || !base.ends_with(kTaskSuffix)) return false;
  return IsTaskFolderPath(path);
}

Status CheckComponent(std::string_view name) {
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("name longer than 255 bytes");
  }
  if (name.empty() || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("empty name or name with a NUL byte");
  }
  if (HasControlCharacter(name)) {
    // A newline or an escape sequence in a name would forge lines or drive the terminal
    // wherever the name is printed.
    return Status::InvalidArgument("name with a control character");
  }
  return Status::OK();
}

std::string TaskNameOf(std::string_view path) {
  if (path.ends_with(kTaskSuffix)) path.remove_suffix(kTaskSuffix.size());
  return std::string(path);
}

std::string ConflictCopyPath(std::string_view path, std::string_view content) {
  uint32_t h = 2166136261u;  // FNV-1a: stable across machines and runs
  for (unsigned char c : content) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return TaskNameOf(path) + ".conflict-" + hex + ".yaml";
}

std::string TaskPathOf(std::string_view name) {
  if (name.ends_with(kTaskSuffix)) return std::string(name);
  return std::string(name) + std::string(kTaskSuffix);
}

}  // namespace taskfs::storage
