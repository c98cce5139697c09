// PatchTaskText: the winner's bytes, edited only where a field merge changed a key, so that
// comments and layout on every other line survive a merge that git's line merge could not do
// (edits on adjacent lines, an added `conflicts:` record).
//
// Internal to sync/ (merge_task.cc). Pure function: thread-safe.
#pragma once

#include <optional>
#include <string>

#include "sync/merge/task_fields.h"

namespace taskfs::sync {

// Rewrites, in `winner_text`, the block of each top-level key whose merged value differs: with the
// loser's lines for that key when the loser holds the merged value, else freshly written; keys
// the merge dropped are removed and new ones appended. Returns nullopt unless the result parses
// to exactly `merged` (the caller then writes the task afresh).
std::optional<std::string> PatchTaskText(const std::string& winner_text,
                                         const TaskFields& winner_fields,
                                         const std::string& loser_text,
                                         const TaskFields& loser_fields, const TaskFields& merged);

}  // namespace taskfs::sync
