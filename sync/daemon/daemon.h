// SyncDaemon: keeps a store in sync with all its remotes, in the background, so that nobody has
// to run `taskfs sync`. The mount only ever reads and writes the local store; the daemon meets it
// there (git refs), never through the mount, so either can be killed and restarted alone.
//
// When it syncs each remote:
//  - once at start-up;
//  - after local commits (inotify on the store's refs), debounced: it waits for `debounce` of
//    quiet, but no longer than `max_delay` after the first commit of a burst, so a burst of
//    saves is a handful of syncs;
//  - when a folder remote's files change, or a git remote that is a local path moves (inotify);
//  - every `interval` for remotes it cannot watch (network URLs);
//  - after another remote brought changes, so that they travel on to the others.
// A failing remote is retried with exponential back-off (1 s doubling to `max_backoff`). Sleeps
// in poll() in between: no CPU while idle; quiet for a few seconds after syncs, it hands their
// memory back (storage/idle_memory.h). The commits syncs bring are indexed in the background for
// `taskfs log` (storage/history_warmer.h). Records what happens in the sync status file.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "storage/file_util.h"
#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::sync {

struct DaemonOptions {
  std::chrono::milliseconds debounce{100};
  std::chrono::milliseconds max_delay{2000};
  std::chrono::seconds interval{60};
  std::chrono::seconds max_backoff{300};
  // Stop when this file disappears (a daemon started by a mount stops at its unmount; a mount
  // killed with kill -9 leaves its record, and syncing goes on). Empty: run until stopped.
  std::string stop_when_removed;
};

// Held for the daemon's life: at most one daemon per store. The pid is written into the lock
// file for error messages; the kernel releases the lock when the process dies however it dies.
class DaemonLock {
 public:
  static Result<std::unique_ptr<DaemonLock>> Acquire(const storage::Store& store);

 private:
  explicit DaemonLock(std::unique_ptr<storage::FileLock> lock) : lock_(std::move(lock)) {}
  std::unique_ptr<storage::FileLock> lock_;  // held for the daemon's life
};

class SyncDaemon {
 public:
  SyncDaemon(storage::Store* store, DaemonOptions options);
  ~SyncDaemon();

  // Runs until Stop() (or the stop file is removed). Returns an error only if it cannot start.
  Status Run();
  // Async-signal-safe: may be called from a signal handler.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskfs::sync
