// Commit messages taskfs writes and reads back. The subject is for people ("rename a -> b",
// "edit 120 tasks"); what a program needs to read back is data, in git trailers in the last
// paragraph (git-interpret-trailers(1)):
//
//   Taskfs-Rename: a -> b        a task (names without .yaml) or a folder (paths) moved
//
// Commits that older versions wrote carry a rename only as a line `rename a -> b` (the subject,
// or a line of a group commit's body); RenamesIn reads those too.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace taskfs::storage {

struct Rename {
  std::string from;
  std::string to;
  bool operator==(const Rename&) const = default;
};

// The message of one rename: `rename FROM -> TO` and its trailer.
std::string RenameMessage(const std::string& from, const std::string& to);

// `subject_and_body` with `renames` appended as trailers (nothing appended when there are none).
std::string WithRenameTrailers(std::string subject_and_body, const std::vector<Rename>& renames);

// The renames a commit message records, in order: its Taskfs-Rename trailers; for a message that
// has none (an older commit), its `rename FROM -> TO` lines.
std::vector<Rename> RenamesIn(const std::string& message);

// The message of a commit holding `messages` (one per save, in order) that changed `tasks`
// distinct tasks: the message itself for one save; for several saves of one task, `create x` or
// `edit x`; else `edit 120 tasks` (or `create`, `delete`, or `change` when they differ) with the
// saves' subjects listed in the body, and every rename they record as a trailer.
std::string GroupMessage(const std::vector<std::string>& messages, size_t tasks);

}  // namespace taskfs::storage
