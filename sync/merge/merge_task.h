// MergeTask: the three-way, field-level merge of one task file (DESIGN.md, "Merge rules").
//
// Sync calls it for every task that both sides changed since the merge base. The result depends
// only on the inputs, and swapping the two sides (with their SideInfo) gives the same bytes, so
// two clients merging each other's commits converge on the same tree. Pure function, no shared
// state: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace taskfs::sync {

// Who made one side of the merge and when: decides which value wins a conflict.
struct SideInfo {
  int64_t time = 0;       // commit time of this side (seconds since epoch)
  std::string client_id;  // breaks ties in time: the greater id wins
  std::string author;     // recorded in conflict records ("by")
};

struct TaskMergeResult {
  std::optional<std::string> content;        // merged bytes; nullopt = the task is deleted
  std::optional<std::string> conflict_copy;  // set only when the sides can't be reconciled
                                             // (a side is not a YAML mapping and the lines
                                             // overlap): the losing side's bytes, to be kept as
                                             // a second file
  int conflicts = 0;                         // values recorded in `conflicts:` by this merge
};

// Three-way merge of one task. nullopt = absent on that side (deleted, or never created).
// Never writes conflict markers; the result is a valid task whenever both sides are.
TaskMergeResult MergeTask(const std::optional<std::string>& base,
                          const std::optional<std::string>& ours, const SideInfo& ours_info,
                          const std::optional<std::string>& theirs, const SideInfo& theirs_info);

}  // namespace taskfs::sync
