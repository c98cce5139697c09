// HistoryWarmer: keeps a store's history index (storage/history_index.h) up to date on a thread
// of its own in the long-lived processes (the mount, the daemon), so that the first `taskfs log`
// of a store with a long history, or after a sync brought thousands of commits, answers at once
// instead of reading every new commit first (seconds at 50,000 commits). It opens the store a
// second time, read-only: the process's own store and its lock are never held for it. It runs at
// a low priority (nice 10), and a `taskfs log` run meanwhile waits for it instead of doing the
// same work alongside (TaskHistory, storage/history.h). After a pass over many commits, the
// process's own store lets go of the packs the pass read (libgit2 shares a pack's mapped pages
// between the handles of one process: 48 MB of them stayed in a mount after indexing 50,000
// commits) and the heap is trimmed.
//
// Thread-safety: Poke() may be called from any thread; the destructor by the owner.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

namespace taskfs::storage {

class Store;

// A pass that added this many commits, or recorded this many changed paths (a first commit of
// 100,000 tasks reads as many tree entries: it left 21 MB of pack pages mapped in a mount),
// lets go of the process's packs (storage/idle_memory.h).
struct HistoryPassWorthARelease {
  size_t commits = 1000;
  size_t paths = 10000;
};

class HistoryWarmer {
 public:
  // Starts bringing the index of `store` (the process's, which must outlive the warmer) up to
  // date with its branch. Every pass that added commits hands its heap back; one worth a release
  // lets go of the packs too, a smaller one leaves them open (a mount that just read its tasks
  // keeps them until its own idle release).
  explicit HistoryWarmer(const Store* store, HistoryPassWorthARelease worth_a_release = {});
  // Stops the work between two commits and waits for it: what was indexed by then is saved.
  ~HistoryWarmer();
  HistoryWarmer(const HistoryWarmer&) = delete;
  HistoryWarmer& operator=(const HistoryWarmer&) = delete;

  // The branch moved (a sync brought commits): index them too, once the current pass is done.
  void Poke();

 private:
  void Loop();
  // One update of the index, until `stop` returns true.
  void Pass(const std::function<bool()>& stop);

  const Store* const store_;
  const HistoryPassWorthARelease worth_a_release_;
  std::mutex mu_;                 // guards poked_, stopping_
  std::condition_variable wake_;  // notified by Poke() and at stop
  bool poked_ = true;             // a pass is due: the first one at start
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above are set
};

}  // namespace taskfs::storage
