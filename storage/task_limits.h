// TaskLimits: the one definition of what a task file and a tree entry may be, checked at every
// door: the mount, history fetched from a peer or pushed to taskfs-server, a folder remote, the
// server's JSON routes, and the merge.
//
// The checks are linear in the size of what they check, so hostile input costs no more than its
// bytes: a YAML alias bomb (a 1 KB file whose aliases expand to gigabytes for any code that walks
// it) is refused before anything walks it. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/status.h"

namespace taskfs::storage {

// Largest file taskfs keeps in a store (documented in taskfs(5)); larger writes get EFBIG.
inline constexpr size_t kMaxTaskBytes = 1 << 20;
// Deepest nesting of lists and maps in a task.
inline constexpr int kMaxTaskDepth = 64;
// Longest path in a store, in bytes.
inline constexpr size_t kMaxPathBytes = 4096;
// Most files and folders one commit's tree may hold (a tree that lists one subtree twice at each
// of 40 levels spells 2^40 paths in a few kilobytes).
inline constexpr uint64_t kMaxTreePaths = 10'000'000;

// OK when `content` stays within the limits: at most kMaxTaskBytes, no control character but
// tab, newline and carriage return (YAML allows none), one YAML document, lists and maps nested
// at most kMaxTaskDepth deep, no YAML anchors (&a) or aliases (*a). Reads the YAML's events only,
// once; content that is not YAML passes (ValidateTask says what is wrong with it). TooLarge or
// InvalidArgument otherwise, saying what and where.
Status CheckTaskLimits(std::string_view content);

// OK when a name can be a file or folder name in a store: not empty, at most kMaxNameBytes,
// valid UTF-8, no '/', not starting with '.' (so never `.`, `..` or `.git`), and no control
// character (C0 or DEL), which would let a name forge lines or escape sequences in a terminal.
Status CheckEntryName(std::string_view name);

// Git file modes a store's tree may hold.
inline constexpr uint32_t kModeTree = 0040000;
inline constexpr uint32_t kModeFile = 0100644;
inline constexpr uint32_t kModeExecutable = 0100755;  // what a git peer's chmod +x gives

// OK when a tree entry a peer sent can be taken in: a valid name (CheckEntryName), a folder or a
// regular file (never a symlink or a submodule), a path of at most kMaxPathBytes, a file of at
// most kMaxTaskBytes (`size` is ignored for a folder). The message names the entry's path.
Status CheckTreeEntry(std::string_view path, std::string_view name, uint32_t mode, uint64_t size);

// `text` with every control character (C0, DEL, C1) and every byte of invalid UTF-8 written as
// \xNN: safe to print on a terminal or in a log line (no forged lines, no escape sequences).
std::string EscapeForDisplay(std::string_view text);

}  // namespace taskfs::storage
