#include "sync/syncer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "storage/log.h"
#include "storage/task_name.h"
#include "sync/merge_tree.h"

namespace taskfs::sync {
namespace {

Result<SideInfo> InfoOf(const storage::Store& store, const std::string& commit) {
  auto info = store.Info(commit);
  if (!info.ok()) return info.status();
  return SideInfo{info->time, info->client_id, info->author};
}

// Merges `theirs` into the branch at `ours`. Conflict when the branch moved meanwhile.
Status Merge(storage::Store& store, const storage::SnapshotPtr& ours, const std::string& theirs,
             const std::string& remote, SyncReport* report) {
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
  std::string message = "merge " + remote;
  if (merged.merged_tasks) {
    message += ": " + std::to_string(merged.merged_tasks) + " task(s) changed on both sides";
  }
  if (merged.conflicts) message += ", " + std::to_string(merged.conflicts) + " conflict(s)";
  if (!merged.renames.empty()) message += "\n";
  for (const auto& [from, to] : merged.renames) {
    message += "\nrename " + storage::TaskNameOf(from) + " -> " + storage::TaskNameOf(to);
  }
  auto committed = store.CommitMerge(ours, merged.changes, theirs, message);
  if (!committed.ok()) return committed.status();
  report->merged = true;
  report->merged_tasks += merged.merged_tasks;
  report->conflicts += merged.conflicts;
  report->conflict_copies += merged.conflict_copies;
  return Status::OK();
}

}  // namespace

std::string SyncReport::Summary() const {
  std::string s = remote + ":";
  if (!fast_forwarded && !merged && !pushed) return s + " up to date";
  if (fast_forwarded) s += " received changes;";
  if (merged) {
    s += " merged (" + std::to_string(merged_tasks) + " task(s) changed on both sides";
    if (conflicts) s += ", " + std::to_string(conflicts) + " conflict(s) recorded";
    if (conflict_copies) s += ", " + std::to_string(conflict_copies) + " kept as two files";
    s += ");";
  }
  if (pushed) s += " sent changes;";
  s.pop_back();
  if (conflicts || conflict_copies) s += " (see `taskfs conflicts`)";
  return s;
}

// Held while a sync runs: one sync of a store at a time. The kernel drops it when the process
// dies, so a lock file left under refs/remotes/ while we hold it was left by a killed sync.
class SyncLock {
 public:
  explicit SyncLock(const storage::Store& store) {
    fd_ = ::open((store.local_dir() + "/sync.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    held_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  ~SyncLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

// Lock files a killed sync left behind. Under refs/remotes/ only a sync writes, and we hold the
// sync lock: any lock there is stale. A branch lock may belong to a live commit of the mount (it
// holds one for milliseconds): one still there after two seconds is stale too.
void RemoveStaleLocks(const storage::Store& store) {
  namespace fs = std::filesystem;
  constexpr auto kLiveWriterGrace = std::chrono::seconds(2);
  std::error_code ec;
  std::vector<fs::path> locks;
  for (auto it = fs::recursive_directory_iterator(store.git_dir() + "refs", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".lock") locks.push_back(it->path());
  }
  for (const fs::path& p : locks) {
    if (p.string().find("/refs/remotes/") == std::string::npos) {
      const auto written = fs::last_write_time(p, ec);
      if (ec) continue;  // gone already
      const auto age = fs::file_time_type::clock::now() - written;
      if (age < kLiveWriterGrace) std::this_thread::sleep_for(kLiveWriterGrace - age);
      if (!fs::exists(p, ec)) continue;
    }
    LogWarning("removing a lock file a killed process left: " + p.string());
    fs::remove(p, ec);
  }
}

Result<SyncReport> SyncWithRemote(storage::Store& store, const std::string& remote,
                                  const storage::TransferOptions& options) {
  SyncLock lock(store);
  if (!lock.held()) {
    return Status::Busy("another sync of " + store.git_dir() + " is running; try again later");
  }
  RemoveStaleLocks(store);
  SyncReport report;
  report.remote = remote;
  Status last = Status::OK();
  for (report.attempts = 1; report.attempts <= kMaxSyncAttempts; ++report.attempts) {
    auto theirs = storage::Fetch(store, remote, options);
    if (!theirs.ok()) return theirs.status();
    auto ours = store.Refresh();
    if (!ours.ok()) return ours.status();
    const std::string ours_id = (*ours)->commit_id();

    if (!theirs->empty() && *theirs != ours_id) {
      auto base =
          ours_id.empty() ? Result<std::string>(std::string()) : store.MergeBase(ours_id, *theirs);
      if (!base.ok()) return base.status();
      if (*base == *theirs) {
        // They are behind us: nothing to take.
      } else if (*base == ours_id && !ours_id.empty()) {
        last = store.FastForward(*ours, *theirs).status();
        if (last.code() == Status::Code::kConflict) continue;  // a local commit raced us
        if (!last.ok()) return last;
        report.fast_forwarded = true;
        return report;  // the remote has everything we have
      } else if (ours_id.empty()) {
        last = store.FastForward(*ours, *theirs).status();
        if (last.code() == Status::Code::kConflict) continue;
        if (!last.ok()) return last;
        report.fast_forwarded = true;
        return report;
      } else {
        last = Merge(store, *ours, *theirs, remote, &report);
        if (last.code() == Status::Code::kConflict) continue;
        if (!last.ok()) return last;
      }
    }
    auto head = store.Refresh();
    if (!head.ok()) return head.status();
    if ((*head)->commit_id().empty() || (*head)->commit_id() == *theirs) return report;
    last = storage::Push(store, remote, options);
    if (last.ok()) {
      report.pushed = true;
      return report;
    }
    if (last.code() != Status::Code::kConflict) return last;
    // Another client pushed first: back off a little (randomly, so racers spread out).
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(0, 25 * report.attempts)(rng)));
  }
  return Status::Busy("sync with " + remote + " gave up after " + std::to_string(kMaxSyncAttempts) +
                      " attempts: " + last.message());
}

}  // namespace taskfs::sync
