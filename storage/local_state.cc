#include "storage/local_state.h"

#include <charconv>

#include "storage/file_util.h"
#include "storage/store.h"

namespace taskfs::storage {

LocalState::LocalState(const Store& store) : dir_(store.local_dir()) {}

Status WriteMountRecord(const std::string& file, const MountRecord& record) {
  return WriteFileAtomically(file, std::to_string(record.pid) + "\n" + record.mountpoint + "\n");
}

std::optional<MountRecord> ReadMountRecord(const std::string& file) {
  const std::optional<std::string> text = ReadWholeFile(file);
  if (!text) return std::nullopt;
  const size_t newline = text->find('\n');
  if (newline == std::string::npos || !text->ends_with('\n') || newline + 1 > text->size() - 1) {
    return std::nullopt;
  }
  MountRecord record;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + newline, record.pid);
  if (ec != std::errc() || end != text->data() + newline || record.pid <= 0) return std::nullopt;
  record.mountpoint = text->substr(newline + 1, text->size() - newline - 2);
  return record;
}

}  // namespace taskfs::storage
