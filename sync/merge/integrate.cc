#include "sync/merge/integrate.h"

#include <algorithm>
#include <set>

#include "storage/commit_message.h"
#include "storage/task_name.h"
#include "sync/merge/merge_tree.h"

namespace taskfs::sync {
namespace {

Result<SideInfo> InfoOf(const storage::Store& store, const std::string& commit) {
  auto info = store.Info(commit);
  if (!info.ok()) return info.status();
  return SideInfo{info->time, info->client_id, info->author};
}

// Merges `theirs` into the branch at `ours`. Conflict when the branch moved meanwhile.
Status Merge(storage::Store& store, const storage::SnapshotPtr& ours, const std::string& theirs,
             IntegrationReport* report) {
  auto base_id = store.MergeBase(ours->commit_id(), theirs);
  if (!base_id.ok()) return base_id.status();
  auto base = store.SnapshotOf(*base_id);
  auto their_tree = store.SnapshotOf(theirs);
  if (!base.ok()) return base.status();
  if (!their_tree.ok()) return their_tree.status();
  auto ours_info = InfoOf(store, ours->commit_id());
  auto theirs_info = InfoOf(store, theirs);
  if (!ours_info.ok()) return ours_info.status();
  if (!theirs_info.ok()) return theirs_info.status();
  auto ours_renames = store.Renames(*base_id, ours->commit_id());
  auto theirs_renames = store.Renames(*base_id, theirs);
  if (!ours_renames.ok()) return ours_renames.status();
  if (!theirs_renames.ok()) return theirs_renames.status();

  TreeSide ours_side{ours.get(), *ours_info, *ours_renames, {}};
  TreeSide theirs_side{their_tree->get(), *theirs_info, *theirs_renames, {}};
  // Tasks both sides changed: who changed each last, on each side.
  std::vector<std::string> both;
  const auto theirs_changed = storage::Snapshot::ChangedPaths(**base, **their_tree);
  const std::set<std::string> theirs_set(theirs_changed.begin(), theirs_changed.end());
  for (const auto& p : storage::Snapshot::ChangedPaths(**base, *ours)) {
    if (theirs_set.count(p)) both.push_back(p);
  }
  for (auto [side, head] :
       {std::pair{&ours_side, ours->commit_id()}, std::pair{&theirs_side, theirs}}) {
    auto changes = store.LastChanges(*base_id, head, both);
    if (!changes.ok()) return changes.status();
    for (const auto& [path, c] : *changes)
      side->last_change[path] = {c.time, c.client_id, c.author};
  }
  TreeMergeResult merged = MergeTrees(**base, ours_side, theirs_side);
  if (!merged.status.ok()) return merged.status;
  // Two clients that merge the same two heads write the same commit (storage: CommitMerge), so
  // the message must not depend on which side we are or where their head came from.
  std::string message = "merge";
  if (merged.merged_tasks) {
    message += ": " + std::to_string(merged.merged_tasks) + " task(s) changed on both sides";
  }
  if (merged.conflicts) message += ", " + std::to_string(merged.conflicts) + " conflict(s)";
  auto renames = merged.renames;
  std::sort(renames.begin(), renames.end());
  std::vector<storage::Rename> recorded;
  for (const auto& [from, to] : renames) {
    recorded.push_back({storage::TaskNameOf(from), storage::TaskNameOf(to)});
  }
  auto committed = store.CommitMerge(ours, merged.changes, theirs,
                                     storage::WithRenameTrailers(message, recorded));
  if (!committed.ok()) return committed.status();
  report->merged = true;
  report->merged_tasks += merged.merged_tasks;
  report->conflicts += merged.conflicts;
  report->conflict_copies += merged.conflict_copies;
  return Status::OK();
}

}  // namespace

Status Integrate(storage::Store& store, const std::string& theirs, IntegrationReport* report) {
  Status last = Status::OK();
  for (int attempt = 0; attempt < kMaxIntegrateAttempts; ++attempt) {
    // Decided from the commits alone: a sync with nothing to take reads no tree.
    auto head = store.Head();
    if (!head.ok()) return head.status();
    const std::string ours_id = *head;
    if (theirs.empty() || theirs == ours_id) return Status::OK();
    std::string base;
    if (!ours_id.empty()) {
      auto found = store.MergeBase(ours_id, theirs);
      if (!found.ok()) return found.status();
      base = *found;
    }
    if (base == theirs) return Status::OK();  // they are behind us: nothing to take
    auto ours = store.Refresh();
    if (!ours.ok()) return ours.status();
    if ((*ours)->commit_id() != ours_id) {  // a local commit just now: decide again
      last = Status::Conflict("the branch moved while integrating " + theirs);
      continue;
    }
    if (ours_id.empty() || base == ours_id) {
      last = store.FastForward(*ours, theirs).status();
      if (last.ok()) report->fast_forwarded = true;
    } else {
      last = Merge(store, *ours, theirs, report);
    }
    if (last.code() != Status::Code::kConflict) return last;  // else a local commit raced us
  }
  return last;
}

bool IsRefusedHistory(const Status& status) {
  return status.code() == Status::Code::kRefused;
}

}  // namespace taskfs::sync
