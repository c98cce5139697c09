// Idle memory: what the long-lived processes (the mount, the daemon, the server) do so that their
// resident memory stays flat over months of saves and syncs. Big buffers are mapped apart and
// unmapped when freed; once a burst of work is over, the store lets go of the packs it read (their
// pages count in the process's memory while mapped) and the heap's free pages go back to the
// system.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/store.h"

namespace taskfs::storage {

// How long a process stays quiet after work before it releases: long enough that a burst of saves
// or requests keeps its packs open, short enough that an idle process is small within seconds.
constexpr std::chrono::seconds kIdleBeforeRelease{5};

// Makes glibc map every buffer of 128 KB and more apart, and unmap it when freed. Its default
// raises that threshold after the first such free, up to 32 MB, and later big buffers (a merged
// pack, a large listing) came from its arenas and stayed: a mount's own memory stepped up by
// 20 MB over 10,000 save/sync cycles (tools/bench/bench_scale.sh --cycles). Call at start-up.
void MapLargeBuffersApart();

// Lets go of `store`'s packs (Store::ReleasePacks) and hands the heap's free pages back to the
// system (malloc_trim). Takes the store's lock briefly, no caller's lock; walks the whole heap.
void ReleaseIdleMemory(const Store& store);
// Only the heap's free pages (malloc_trim): no lock.
void ReleaseFreeHeap();

// Calls ReleaseIdleMemory once kIdleBeforeRelease (or `quiet`) passed without a Touch() since the
// last one, on a thread of its own: for processes whose work comes on many threads (the server).
class IdleMemoryReleaser {
 public:
  explicit IdleMemoryReleaser(const Store* store,
                              std::chrono::milliseconds quiet = kIdleBeforeRelease);
  ~IdleMemoryReleaser();  // stops the thread (without a last release)
  IdleMemoryReleaser(const IdleMemoryReleaser&) = delete;
  IdleMemoryReleaser& operator=(const IdleMemoryReleaser&) = delete;

  // Some work was done: release once the process has been quiet for `quiet`.
  void Touch();

 private:
  using Clock = std::chrono::steady_clock;
  void Loop();

  const Store* const store_;
  const std::chrono::milliseconds quiet_;
  std::mutex mu_;                 // guards last_touch_, stopping_
  std::condition_variable wake_;  // notified on the first Touch() after a release, and at stop
  std::optional<Clock::time_point> last_touch_;  // unset: nothing to release
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above are set
};

}  // namespace taskfs::storage
