// What counts as a task: the naming rules of taskfs(5).
//
// A task is a file whose path ends in ".yaml", whose every component is valid UTF-8 without a
// control character (C0, DEL), does not start with '.', and is at most 255 bytes. Everything else
// in the mount is either a folder or local scratch (editor swap files, temp files), which is never
// committed. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "storage/status.h"

namespace taskfs::storage {

inline constexpr size_t kMaxNameBytes = 255;
inline constexpr std::string_view kTaskSuffix = ".yaml";

// True when `path` (relative, '/'-separated, no leading '/') names a task file.
bool IsTaskPath(std::string_view path);

// True when every component of `path` could be part of a task path (a folder that may hold
// tasks): no hidden component, valid UTF-8.
bool IsTaskFolderPath(std::string_view path);

// Checks one path component the kernel handed us; InvalidArgument for names taskfs can't keep
// (empty, NUL, a control character, over 255 bytes).
Status CheckComponent(std::string_view name);

// The task's name: its path without ".yaml" ("work/buy-milk.yaml" -> "work/buy-milk").
std::string TaskNameOf(std::string_view path);
// The inverse: "work/buy-milk" -> "work/buy-milk.yaml" (unchanged when it already ends so).
std::string TaskPathOf(std::string_view name);

bool IsValidUtf8(std::string_view s);

// Where the second version of a task that could not be merged is kept, beside it:
// "<name>.conflict-<hash of content>.yaml" (the same name on every client).
std::string ConflictCopyPath(std::string_view path, std::string_view content);

}  // namespace taskfs::storage
