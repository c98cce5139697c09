#include "sync/syncer.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "storage/committer.h"
#include "storage/file_util.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/repack.h"
#include "storage/task_limits.h"

namespace taskfs::sync {
namespace {
std::string WaitingNote(int waiting) {
  return "; waiting for the files of " + std::to_string(waiting) +
         " client(s) to arrive in the folder";
}
std::string GarbageNote(const std::vector<std::string>& garbage) {
  std::string files;
  for (const std::string& f : garbage) files += (files.empty() ? "" : ", ") + f;
  return "; ignored file(s) in the folder that are no client's ref (delete them): " +
         storage::EscapeForDisplay(files);
}
}  // namespace

std::string SyncReport::Summary() const {
  std::string s = remote + ":";
  std::string notes = waiting ? WaitingNote(waiting) : "";
  if (!garbage.empty()) notes += GarbageNote(garbage);
  if (!fast_forwarded && !merged && !pushed) return s + " up to date" + notes;
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
  return s + notes;
}

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

namespace {

// Fetch, integrate, publish; a publish that lost a race fetches and integrates again.
Status SyncThrough(storage::Store& store, Transport& transport, SyncReport* report) {
  Status last = Status::OK();
  for (report->attempts = 1; report->attempts <= kMaxSyncAttempts; ++report->attempts) {
    auto fetched = transport.Fetch(store);
    if (!fetched.ok()) return fetched.status();
    report->waiting = fetched->waiting;
    report->garbage = fetched->garbage;
    for (const std::string& head : fetched->heads) {
      TASKFS_RETURN_IF_ERROR(Integrate(store, head, report));
    }
    // A peer whose history was refused holds back neither the others nor our publishing; the
    // refusal is this sync's error, so it shows in `taskfs status` until that peer fixes it.
    const Status refused = fetched->refused.empty() ? Status::OK() : fetched->refused.front();
    auto head = store.Head();
    if (!head.ok()) return head.status();
    const std::string ours = *head;
    if (ours.empty() || ours == fetched->remote_head) return refused;
    auto published = transport.Publish(store, ours);
    if (published.ok()) {
      report->pushed = published->pushed;
      if (published->fetch_again) {
        auto merged = transport.Fetch(store);
        if (!merged.ok()) return merged.status();
        for (const std::string& h : merged->heads) TASKFS_RETURN_IF_ERROR(Integrate(store, h, report));
      }
      return refused;
    }
    last = published.status();
    if (last.code() != Status::Code::kConflict) return last;
    // Another client published first: back off a little (randomly, so racers spread out).
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(0, 25 * report->attempts)(rng)));
  }
  return Status::Busy("sync with " + report->remote + " gave up after " +
                      std::to_string(kMaxSyncAttempts) + " attempts: " + last.message());
}

}  // namespace

Result<SyncReport> SyncWithRemote(storage::Store& store, const std::string& remote,
                                  const TransferOptions& options) {
  auto info = FindRemote(store, remote);
  if (!info.ok()) return info.status();
  // Every save acknowledged so far goes with this sync (deletes an editor's rename dance delays
  // too only when asked by hand: `taskfs sync` calls CommitJournal itself first).
  if (Status st = storage::CommitJournal(store); !st.ok()) LogWarning(st.message());
  // One sync of a store at a time; one that runs already (the daemon's) is waited for. The
  // kernel drops the lock when its holder dies, so a lock file left under refs/remotes/ while
  // we hold it was left by a killed sync.
  const storage::FileLock lock(storage::LocalState(store).sync_lock(), std::chrono::seconds(60), [] {
    LogInfo("waiting for the sync that is running (the daemon's) to finish");
  });
  if (!lock.held()) {
    return Status::SyncRunning("another sync of " + store.git_dir() +
                        " is still running after a minute; try again later");
  }
  RemoveStaleLocks(store);
  SyncReport report;
  report.remote = remote;
  report.attempts = 1;
  const std::unique_ptr<Transport> transport = OpenTransport(*info, options);
  const Status st = SyncThrough(store, *transport, &report);
  if (!st.ok()) return st;
  // A sync leaves packs (what it fetched, the merge it made): merged a tier at a time, as a
  // mount's committer does (the two may run at once: a merge keeps every object).
  if (auto merged = storage::MergeSmallPacks(store); !merged.ok()) {
    LogWarning("could not merge the store's packs (retried at the next sync): " +
               merged.status().message());
  }
  store.ReleaseRemovedPacksIfAnyWentAway();  // packs a mount merged (the daemon's store lives on)
  return report;
}

}  // namespace taskfs::sync
