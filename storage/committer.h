// Committer: the write path's back half. Saves are appended to the journal (journal.h) in the
// order they happen and acknowledged at once; one committer thread turns them into git commits.
//
// Idle, it commits a lone save at once (no timer): a save made by a person is its own commit with
// its own message (`edit x`). Whatever arrives while a commit is being written goes into the next
// one (group commit: `edit 120 tasks`, the names in the body); in such a burst, commits are paced
// so that committing takes at most a twentieth of the time, and each holds more saves. A batch's
// journal segments are dropped only once its commit is durable. A failed commit keeps every entry,
// in order, and is retried with back-off (0.1 s doubling to 5 s); a branch lock a crashed process
// left is cleared (RemoveStaleBranchLock). What an earlier run left in the journal is committed by
// CommitRecovered() before anything new, and so are the deletes it had deferred. A second thread
// merges the small packs commits leave (storage/repack.h) when the saves pause (or after many
// commits without a pause), so the store stays small and no commit waits for a merge.
//
// Each change carries the bytes its writer started from (its base): if another process changed
// the task since, the commit merges the two with the store's TaskMerger instead of overwriting.
//
// Thread-safety: Append/SyncJournal/WaitCommitted/stats from any thread. The callbacks run on the
// committer thread with no lock of the committer held. The repack thread touches only files (with
// its own repository handle), never the Store's handle. Lock order: a caller's locks, then mu_,
// then the store's. mu_ is never held across a commit (git I/O) or an fdatasync; it is held
// across a journal append (a write() into the page cache) so that the journal's order is the
// order of Append().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/journal.h"
#include "storage/store.h"

namespace taskfs::storage {

// One save for the committer: changes applied together, and for each the bytes its writer
// started from (nullopt: the file did not exist for it).
struct Save {
  std::string message;  // "edit x", "rename a -> b", "delete y"
  std::vector<Change> changes;
  std::vector<std::optional<std::string>> bases;  // parallel to changes
};

// Removes the branch's lock file (`refs/heads/main.lock`) when it is stale: older than `min_age`
// (a live ref update takes milliseconds). With `wait`, a younger lock is waited for until it is
// that old and removed if still there. Returns true if it removed one.
bool RemoveStaleBranchLock(const Store& store, std::chrono::seconds min_age, bool wait = false);

// Clears a branch lock that a crashed taskfs left (the mount or a sync killed in a commit), once
// no taskfs process can hold it: the caller holds the mount lock, and no sync runs. A lock of a
// live `git` command is respected (it is gone within two seconds).
void RemoveBranchLockOfCrashedWriter(const Store& store);

// Makes sure every save acknowledged on this store is committed, before the caller reads the
// branch (sync, the daemon, log). When no mount runs, commits what the journal holds itself;
// when one runs, asks it to commit and waits up to `timeout`. With `deferred_deletes`, the
// mount also commits the deletes it delays for editors' rename dances (what `taskfs sync` by
// hand wants: `rm x.yaml && taskfs sync`; the daemon must not cut a dance in two).
Status CommitJournal(Store& store, bool deferred_deletes = false,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
// The prefix of a request file in LocalState::flush_requests() that asks for deferred deletes too.
inline constexpr const char* kFlushAllRequest = "flush-all-";
// Saves journaled and not yet committed (for `taskfs status`).
size_t PendingSaves(const Store& store);

class Committer {
 public:
  struct Callbacks {
    // Saves up to `seq` are committed; `outcome` is the last commit's.
    std::function<void(uint64_t seq, const CommitOutcome& outcome)> committed;
    // A commit failed; its saves stay journaled and are retried.
    std::function<void(const Status& status)> failed;
  };
  struct Stats {
    size_t pending = 0;        // saves acknowledged, not yet committed
    std::string last_failure;  // empty when the last attempt worked
  };

  struct Options {
    // Every `repack_check_every` commits, once no save came for a moment (or at once after 16
    // times as many in saves that never pause), and at Stop(), the repack thread merges small
    // packs (storage/repack.h) and packs loose objects (git commands run in the store write
    // them) past these numbers or bytes (a tenth of either at Stop()).
    size_t repack_loose_objects = 2000;
    uint64_t repack_loose_bytes = uint64_t{8} << 20;
    int repack_check_every = 8;
  };

  Committer(Store* store, std::unique_ptr<Journal> journal, Callbacks callbacks, Options options);
  Committer(Store* store, std::unique_ptr<Journal> journal, Callbacks callbacks)
      : Committer(store, std::move(journal), std::move(callbacks), Options{}) {}
  ~Committer();
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Commits what earlier runs left in the journal, then the deletes they acknowledged and had
  // not journaled yet (storage/deferred_deletes.h). Call before Start().
  Status CommitRecovered();
  void Start();
  // Commits everything appended (waiting up to `timeout`), then stops the thread. Returns the
  // last failure if saves are left journaled.
  Status Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Journals `save` after every earlier one and queues it; returns its sequence number. On error
  // nothing was journaled.
  Result<uint64_t> Append(Save save);
  // Makes every save appended so far durable against power loss (fdatasync of the journal
  // segments that may hold one), holding no lock while the disk works.
  Status SyncJournal();
  // Waits until every save up to `seq` is committed. False on timeout.
  bool WaitCommitted(uint64_t seq, std::chrono::milliseconds timeout);
  // The last sequence number given out.
  uint64_t last_seq() const;
  Stats stats() const;

 private:
  struct Batch {
    std::vector<JournalEntry> entries;
    std::vector<uint64_t> segments;  // to drop once committed
  };
  void Run();
  // With mu_ held: everything queued becomes the batch; later saves go to a new journal segment.
  // `whole` tells whether the rotated-out segments hold this batch alone (they can be dropped
  // once all of it is committed).
  Batch TakeBatchLocked(bool* whole);
  // With no lock held, after a commit attempt that committed `done` entries of `batch` (up to
  // `committed`): drops the segments it made safe, wakes the waiters, tells the callbacks, asks
  // for a repack now and then, and reports a failure.
  void AfterCommitAttempt(const Batch& batch, size_t done, uint64_t committed,
                          const CommitOutcome& outcome, const Status& status);
  // The repack thread: merges packs when the committer asks and the saves pause.
  void RunRepacks();
  // Commits `entries` in order (one commit, or one per run of saves the store must keep apart).
  // Returns how many entries are committed, and the status of the first failure.
  std::pair<size_t, Status> CommitEntries(const std::vector<JournalEntry>& entries,
                                          CommitOutcome* outcome);
  // Commits the recorded deferred deletes of earlier runs and forgets them.
  Status CommitRecordedDeletes();
  Result<CommitOutcome> CommitGroup(const std::vector<const JournalEntry*>& group);
  // Merges small packs, and packs the loose objects once there are more than `objects` or
  // `bytes` (on the repack thread, or at Stop()).
  void Repack(size_t objects, uint64_t bytes);

  Store* const store_;
  const Callbacks callbacks_;
  const Options options_;
  int commits_since_repack_check_ = 0;  // committer thread only

  mutable std::mutex mu_;
  std::condition_variable work_;           // guarded by mu_: new saves, or stopping_
  std::condition_variable committed_;      // guarded by mu_: committed_seq_ moved
  std::unique_ptr<Journal> journal_;       // guarded by mu_
  std::deque<JournalEntry> queue_;         // guarded by mu_: journaled, not committed, in order
  std::vector<uint64_t> closed_segments_;  // guarded by mu_: rotated out, not yet dropped
  // guarded by mu_: the newest segment whose name an fsync of the journal folder made durable
  // (segment ids only grow: a newer current segment means a folder fsync is due)
  uint64_t journal_dir_synced_through_ = 0;
  uint64_t next_seq_ = 1;                  // guarded by mu_
  uint64_t committed_seq_ = 0;             // guarded by mu_
  Stats stats_;                            // guarded by mu_ (pending is computed)
  bool stopping_ = false;                  // guarded by mu_
  std::condition_variable repack_work_;    // guarded by mu_: repacks_asked_, last_append_, stopping_
  int repacks_asked_ = 0;                  // guarded by mu_: checks due since the last repack
  std::chrono::steady_clock::time_point last_append_;  // guarded by mu_
  std::thread thread_;
  std::thread repack_thread_;
};

}  // namespace taskfs::storage
