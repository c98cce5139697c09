#include "storage/task_name.h"

#include <cstdint>
#include <cstdio>

namespace taskfs::storage {

// A checked decoder (RFC 3629, table 3-7 of the Unicode standard): the second byte's range
// depends on the first, which refuses overlong forms, UTF-16 surrogates (U+D800..U+DFFF) and
// code points past U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = byte(0);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) low = 0xa0;   // overlong below U+0800
      if (c == 0xed) high = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) low = 0x90;   // overlong below U+10000
      if (c == 0xf4) high = 0x8f;  // past U+10FFFF
    } else {
      return false;  // a continuation byte, C0/C1 (overlong ASCII) or F5..FF
    }
    if (i + len > s.size() || byte(1) < low || byte(1) > high) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((byte(k) >> 6) != 0x2) return false;
    }
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
