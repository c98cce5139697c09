#include "storage/committer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>

#include "storage/commit_message.h"
#include "storage/deferred_deletes.h"
#include "storage/file_util.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/repack.h"
#include "storage/task_name.h"
#include "storage/thread_name.h"
#include "storage/unique_fd.h"

namespace taskfs::storage {
namespace {

constexpr auto kFirstBackOff = std::chrono::milliseconds(100);
constexpr auto kMaxBackOff = std::chrono::milliseconds(5000);
// In a burst (saves came while the last commit was written), the next commit starts this many
// times the last one's duration after that one started: committing takes at most a twentieth of
// the time (each commit rewrites the trees on its paths, 420 KB for a flat folder of 10,000 tasks,
// and leaves a pack whose trees a merge searches for deltas later), and a commit holds more saves
// the costlier commits are. A save that finds the committer idle is committed at once. The wait is
// at most kMaxPacingDelay, so the last saves of a burst are on `main` soon after it ends.
// (tools/bench/bench_bulk.sh: at a fifth, a `sed -i` over 10,000 tasks made 256 commits whose
// trees and merges took half of the mount's processor time.)
constexpr int kCommitPeriodPerCost = 20;
constexpr auto kMaxPacingDelay = std::chrono::milliseconds(200);
// Packs are merged once no save came for this long: a merge searches deltas in the trees, and in
// the middle of a `sed -i` over every task it would compete with it for the processors...
constexpr auto kQuietBeforeRepack = std::chrono::milliseconds(300);
// ...unless the saves never pause: then after this many checks (one every repack_check_every
// commits), at once: 128 commits, some 20 s of saving at a burst's pace, and at most as many packs
// for a lookup to search. (A `sed -i` over 10,000 tasks makes some 50 commits.)
constexpr int kMaxRepacksAsked = 16;
// A ref update takes milliseconds: a branch lock this old belongs to no live writer.
constexpr auto kStaleLockAge = std::chrono::seconds(60);

// The snapshot a group of changes was made against: for each path, the bytes its writer started
// from. Store::Commit merges a path whose current bytes differ from these.
SnapshotPtr BasesSnapshot(const std::vector<Change>& changes,
                          const std::vector<std::optional<std::string>>& bases) {
  Snapshot::FileMap files;
  for (size_t i = 0; i < changes.size(); ++i) {
    if (!bases[i]) continue;
    FileEntry fe;
    fe.content = std::make_shared<const std::string>(*bases[i]);
    files.emplace(changes[i].path, std::move(fe));
  }
  return std::make_shared<const Snapshot>("", 0, std::move(files));
}

}  // namespace

bool RemoveStaleBranchLock(const Store& store, std::chrono::seconds min_age, bool wait) {
  return RemoveStaleLockFile(store.git_dir() + store.branch_ref() + ".lock", min_age, wait);
}

void RemoveBranchLockOfCrashedWriter(const Store& store) {
  FileLock no_sync(LocalState(store).sync_lock());
  if (no_sync.held()) RemoveStaleBranchLock(store, std::chrono::seconds(2), /*wait=*/true);
}


size_t PendingSaves(const Store& store) {
  return ReadJournal(LocalState(store.local_dir()).journal()).size();
}

namespace {

// Commits what the journal holds when no mount runs (we hold its lock).
Status ReplayJournal(Store& store) {
  auto journal = Journal::Open(LocalState(store.local_dir()).journal());
  if (!journal.ok()) return journal.status();
  if ((*journal)->recovered().empty() &&
      DeferredDeletes(LocalState(store.local_dir()).deferred_deletes()).empty()) {
    return Status::OK();
  }
  RemoveBranchLockOfCrashedWriter(store);
  Committer committer(&store, std::move(journal.value()), {});
  return committer.CommitRecovered();
}

}  // namespace

Status CommitJournal(Store& store, bool deferred_deletes, std::chrono::milliseconds timeout) {
  namespace fs = std::filesystem;
  // Nothing acknowledged and not committed (a mount's open segment is empty): no need to ask.
  if (PendingSaves(store) == 0 &&
      DeferredDeletes(LocalState(store.local_dir()).deferred_deletes()).empty()) {
    return Status::OK();
  }
  {
    FileLock no_mount(LocalState(store).mount_lock());
    if (no_mount.held()) return ReplayJournal(store);
  }
  // A mount runs: ask it (it also has deletes it defers), and wait until it answered by
  // removing the request, or until it is gone (unmounted or killed): then replay ourselves.
  std::error_code ec;
  fs::create_directories(LocalState(store).flush_requests(), ec);
  static std::atomic<unsigned> counter{0};
  const std::string request = LocalState(store).flush_requests() + "/" +
                              (deferred_deletes ? kFlushAllRequest : "flush-") +
                              std::to_string(::getpid()) + "-" + std::to_string(counter++);
  TASKFS_RETURN_IF_ERROR(WriteFileAtomically(request, ""));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int round = 1; fs::exists(request, ec); ++round) {
    if (round % 10 == 0) {
      FileLock no_mount(LocalState(store).mount_lock());
      if (no_mount.held()) {
        fs::remove(request, ec);
        return ReplayJournal(store);
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      fs::remove(request, ec);
      return Status::Unavailable(
          "the mount has saves it could not commit yet (see `taskfs status`); syncing what is "
          "committed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::OK();
}

Committer::Committer(Store* store, std::unique_ptr<Journal> journal, Callbacks callbacks,
                     Options options)
    : store_(store),
      callbacks_(std::move(callbacks)),
      options_(options),
      journal_(std::move(journal)) {
  next_seq_ = journal_->last_seq() + 1;
  committed_seq_ = journal_->last_seq();  // until CommitRecovered says otherwise
}

Committer::~Committer() {
  if (Status st = Stop(std::chrono::seconds(0)); !st.ok()) LogWarning(st.message());
}

Status Committer::CommitRecovered() {
  std::vector<JournalEntry> entries;
  std::vector<uint64_t> segments;
  {
    std::lock_guard lock(mu_);
    entries = journal_->recovered();
    segments = journal_->recovered_segments();
  }
  if (!entries.empty()) {
    LogInfo("committing " + std::to_string(entries.size()) +
            " save(s) the last run acknowledged but had not committed");
    CommitOutcome outcome;
    auto [done, status] = CommitEntries(entries, &outcome);
    if (done < entries.size()) {
      // Keep them first in line: the committer thread retries them before anything new.
      std::lock_guard lock(mu_);
      committed_seq_ = entries[done].seq - 1;
      for (size_t i = done; i < entries.size(); ++i) queue_.push_back(std::move(entries[i]));
      closed_segments_ = segments;
      stats_.last_failure = status.ToString();
      return status;
    }
    if (callbacks_.committed) callbacks_.committed(entries.back().seq, outcome);
  }
  for (uint64_t id : segments) {
    // Left behind, a segment is replayed again at the next start: its saves are committed already,
    // so that makes no commit.
    if (Status st = journal_->Drop(id); !st.ok()) LogWarning(st.message());
  }
  return CommitRecordedDeletes();
}

Status Committer::CommitRecordedDeletes() {
  const std::string dir = LocalState(store_->local_dir()).deferred_deletes();
  const std::vector<std::string> paths = DeferredDeletes(dir);
  if (paths.empty()) return Status::OK();
  // Already gone (committed before the crash, or by another process): nothing to do.
  auto current = store_->Refresh();
  if (!current.ok()) return current.status();
  const SnapshotPtr snap = *current;
  JournalEntry deletes;
  {
    std::lock_guard lock(mu_);
    deletes.seq = committed_seq_;  // not a journal entry: it reports no new save as committed
  }
  std::string names;
  for (const std::string& path : paths) {
    const FileEntry* fe = snap->FindFile(path);
    if (!fe) continue;
    auto base = snap->Content(path, *fe);
    if (!base.ok()) return base.status();
    deletes.changes.push_back({path, std::nullopt});
    deletes.bases.push_back(**base);
    names += (names.empty() ? "" : ", ") + TaskNameOf(path);
  }
  if (!deletes.changes.empty()) {
    LogInfo("committing the delete(s) the last run acknowledged but had not committed: " + names);
    deletes.message = "delete " + names;
    CommitOutcome outcome;
    if (auto [done, status] = CommitEntries({deletes}, &outcome); done == 0) return status;
    if (callbacks_.committed) callbacks_.committed(deletes.seq, outcome);
  }
  for (const std::string& path : paths) ForgetDeferredDelete(dir, path);
  return Status::OK();
}

void Committer::Start() {
  std::lock_guard lock(mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] {
      NameThisThread("taskfs-commit");
      Run();
    });
  if (!repack_thread_.joinable()) repack_thread_ = std::thread([this] {
      NameThisThread("taskfs-repack");
      RunRepacks();
    });
}

Status Committer::Stop(std::chrono::milliseconds timeout) {
  uint64_t last;
  {
    std::lock_guard lock(mu_);
    last = next_seq_ - 1;
  }
  bool all = WaitCommitted(last, timeout);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  repack_work_.notify_all();
  if (repack_thread_.joinable()) repack_thread_.join();
  if (!thread_.joinable()) return Status::OK();
  thread_.join();
  // A store at rest is packed, but for a little.
  Repack(options_.repack_loose_objects / 10, options_.repack_loose_bytes / 10);
  std::lock_guard lock(mu_);
  if (all || queue_.empty()) return Status::OK();
  return Status::Unavailable(std::to_string(queue_.size()) +
                             " save(s) are not committed yet and stay in the journal (" +
                             stats_.last_failure + "); the next mount or sync commits them");
}

Result<uint64_t> Committer::Append(Save save) {
  JournalEntry e;
  e.message = std::move(save.message);
  e.changes = std::move(save.changes);
  e.bases = std::move(save.bases);
  e.bases.resize(e.changes.size());
  std::lock_guard lock(mu_);
  e.seq = next_seq_;
  TASKFS_RETURN_IF_ERROR(journal_->Append(e));
  ++next_seq_;
  last_append_ = std::chrono::steady_clock::now();
  queue_.push_back(std::move(e));
  work_.notify_one();
  return queue_.back().seq;
}

Status Committer::SyncJournal() {
  // Every segment that may hold an uncommitted save: the current one, and those rotated out
  // whose commit is not done yet. Synced with no lock held, so appends go on meanwhile.
  std::vector<std::string> files;
  uint64_t current = 0;
  bool dir_sync_due = false;
  {
    std::lock_guard lock(mu_);
    for (uint64_t id : closed_segments_) files.push_back(journal_->SegmentPath(id));
    current = journal_->current_segment();
    files.push_back(journal_->SegmentPath(current));
    dir_sync_due = current > journal_dir_synced_through_;
  }
  for (const std::string& file : files) {
    const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;  // dropped meanwhile: its saves are committed
    if (::fdatasync(fd.get()) != 0) return Status::FromErrno(errno, "syncing the journal " + file);
  }
  // The segments' names too, when one was made since the last fsync(): until its folder entry is
  // on disk, a power cut loses the whole segment.
  if (!dir_sync_due) return Status::OK();
  TASKFS_RETURN_IF_ERROR(SyncToDisk(journal_->dir()));
  std::lock_guard lock(mu_);
  journal_dir_synced_through_ = std::max(journal_dir_synced_through_, current);
  return Status::OK();
}

bool Committer::WaitCommitted(uint64_t seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return committed_.wait_for(lock, timeout, [&] { return committed_seq_ >= seq; });
}

uint64_t Committer::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}

Committer::Stats Committer::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.pending = static_cast<size_t>(next_seq_ - 1 - committed_seq_);
  return s;
}

Committer::Batch Committer::TakeBatchLocked(bool* whole) {
  Batch batch;
  auto closed = journal_->Rotate();
  if (closed.ok() && *closed != 0) closed_segments_.push_back(*closed);
  *whole = closed.ok();
  batch.entries.assign(std::make_move_iterator(queue_.begin()),
                       std::make_move_iterator(queue_.end()));
  queue_.clear();
  return batch;
}

void Committer::AfterCommitAttempt(const Batch& batch, size_t done, uint64_t committed,
                                   const CommitOutcome& outcome, const Status& status) {
  // Dropping a closed segment touches no state of the journal's: no lock needed.
  for (uint64_t id : batch.segments) {
    if (Status st = journal_->Drop(id); !st.ok()) LogWarning(st.ToString());
  }
  committed_.notify_all();
  if (done > 0 && callbacks_.committed) callbacks_.committed(committed, outcome);
  if (done > 0 && ++commits_since_repack_check_ >= options_.repack_check_every) {
    commits_since_repack_check_ = 0;
    {
      std::lock_guard repack_lock(mu_);
      ++repacks_asked_;
    }
    repack_work_.notify_one();
  }
  if (!status.ok()) {
    LogError("could not commit, will retry: " + status.ToString());
    if (callbacks_.failed) callbacks_.failed(status);
    if (status.code() == Status::Code::kBusy || status.code() == Status::Code::kConflict) {
      RemoveStaleBranchLock(*store_, kStaleLockAge);
    }
  }
}

void Committer::Run() {
  auto back_off = kFirstBackOff;
  std::unique_lock lock(mu_);
  // When the last commit started, how long it took, and whether saves came meanwhile (a burst:
  // the next commit is paced, see kCommitPeriodPerCost).
  auto last_start = std::chrono::steady_clock::time_point();
  auto last_took = std::chrono::steady_clock::duration::zero();
  bool burst = false;
  while (true) {
    work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    if (burst) {
      const auto pause = std::min<std::chrono::steady_clock::duration>(
          last_took * (kCommitPeriodPerCost - 1), kMaxPacingDelay);
      work_.wait_until(lock, last_start + last_took + pause, [&] { return stopping_; });
    }
    last_start = std::chrono::steady_clock::now();
    bool whole = false;
    Batch batch = TakeBatchLocked(&whole);
    lock.unlock();

    CommitOutcome outcome;
    auto [done, status] = CommitEntries(batch.entries, &outcome);
    last_took = std::chrono::steady_clock::now() - last_start;

    lock.lock();
    if (done > 0) committed_seq_ = batch.entries[done - 1].seq;
    if (done == batch.entries.size() && whole) batch.segments.swap(closed_segments_);
    // What failed goes back to the front, before anything that arrived meanwhile.
    queue_.insert(queue_.begin(), std::make_move_iterator(batch.entries.begin() + done),
                  std::make_move_iterator(batch.entries.end()));
    stats_.last_failure = status.ok() ? std::string() : status.ToString();
    const uint64_t committed = committed_seq_;
    burst = status.ok() && !queue_.empty();
    lock.unlock();

    AfterCommitAttempt(batch, done, committed, outcome, status);

    lock.lock();
    if (!status.ok()) {
      if (stopping_) return;  // Stop() waited for what it could; the journal keeps the rest
      work_.wait_for(lock, back_off, [&] { return stopping_; });
      back_off = std::min(back_off * 2, kMaxBackOff);
    } else {
      back_off = kFirstBackOff;
    }
  }
}

void Committer::RunRepacks() {
  std::unique_lock lock(mu_);
  while (true) {
    repack_work_.wait(lock, [&] { return stopping_ || repacks_asked_ > 0; });
    // Wait for the saves to pause (Append notifies repack_work_ only through stopping_).
    while (!stopping_ && repacks_asked_ < kMaxRepacksAsked &&
           std::chrono::steady_clock::now() - last_append_ < kQuietBeforeRepack) {
      repack_work_.wait_until(lock, last_append_ + kQuietBeforeRepack);
    }
    if (stopping_) return;  // Stop() repacks once the committer is done
    repacks_asked_ = 0;
    lock.unlock();
    Repack(options_.repack_loose_objects, options_.repack_loose_bytes);
    lock.lock();
  }
}

void Committer::Repack(size_t objects, uint64_t bytes) {
  const LooseObjects loose = CountLooseObjects(store_->git_dir());
  if (loose.count > objects || loose.bytes > bytes) {
    if (auto packed = PackLooseObjects(*store_); !packed.ok()) {
      LogWarning("could not pack the store's loose objects (retried later): " +
                 packed.status().ToString());
    }
  }
  if (auto merged = MergeSmallPacks(*store_); !merged.ok()) {
    LogWarning("could not merge the store's packs (retried later): " +
               merged.status().ToString());
  }
}

std::pair<size_t, Status> Committer::CommitEntries(const std::vector<JournalEntry>& entries,
                                                   CommitOutcome* outcome) {
  std::vector<const JournalEntry*> all;
  for (const JournalEntry& e : entries) all.push_back(&e);
  auto grouped = CommitGroup(all);
  if (grouped.ok()) {
    *outcome = *grouped;
    return {entries.size(), Status::OK()};
  }
  if (entries.size() == 1) return {0, grouped.status()};
  // One save the store refuses must not hold back the others: commit them one by one, in
  // order, up to the first that fails.
  for (size_t i = 0; i < entries.size(); ++i) {
    auto one = CommitGroup({&entries[i]});
    if (!one.ok()) return {i, one.status()};
    *outcome = *one;
  }
  return {entries.size(), Status::OK()};
}

Result<CommitOutcome> Committer::CommitGroup(const std::vector<const JournalEntry*>& group) {
  // One change per path: the last bytes, and the base of the first save (what the first writer
  // saw; later saves built on the earlier ones).
  std::vector<Change> changes;
  std::vector<std::optional<std::string>> bases;
  std::map<std::string, size_t, std::less<>> index;
  std::vector<std::string> messages;
  for (const JournalEntry* e : group) {
    messages.push_back(e->message);
    for (size_t i = 0; i < e->changes.size(); ++i) {
      const Change& c = e->changes[i];
      auto [it, fresh] = index.emplace(c.path, changes.size());
      if (fresh) {
        changes.push_back(c);
        bases.push_back(i < e->bases.size() ? e->bases[i] : std::nullopt);
      } else {
        changes[it->second].content = c.content;
      }
    }
  }
  return store_->Commit(changes, GroupMessage(messages, changes.size()),
                        BasesSnapshot(changes, bases));
}

}  // namespace taskfs::storage
