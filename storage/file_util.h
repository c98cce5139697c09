// Small whole-file helpers for local state files (status, records, refs in folder remotes).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "storage/status.h"

namespace taskfs::storage {

// Writes `content` to `file` through a temp file beside it, fsync and rename: readers see the
// old bytes or the new ones, never a half-written file, also after a crash.
Status WriteFileAtomically(const std::string& file, const std::string& content, mode_t mode = 0644);

// The whole file, or nullopt if it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& file);

}  // namespace taskfs::storage
