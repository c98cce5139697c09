// The sync daemon's record of how syncing goes, per remote: kept as JSON beside the store
// (<local dir>/sync-status.json, rewritten atomically after every sync) and shown by
// `taskfs status` and the mount's read-only file `.taskfs/status`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::sync {

struct RemoteSyncState {
  std::string name;
  std::string url;
  std::string kind;          // "git", "folder" or "server"
  int64_t last_success = 0;  // seconds since the epoch; 0: never
  int64_t last_attempt = 0;
  std::string last_error;            // empty when the last attempt succeeded
  bool credentials_refused = false;  // the last error: the remote refused our key or password
  int64_t error_since = 0;           // first failure of the current run of failures
  int64_t next_attempt = 0;          // 0: when something changes
  int failures = 0;                  // in a row
  int waiting = 0;                   // folder remotes: clients whose files have not all arrived
  std::vector<std::string> garbage;  // folder remotes: ref files that are no client's ref
  int64_t syncs = 0;                 // attempts since the daemon started
  bool instant = false;              // server remote: it tells us of new heads (no polling)
};

struct SyncStatus {
  int pid = 0;  // the daemon's
  int64_t started = 0;
  std::vector<RemoteSyncState> remotes;
};

Status SaveSyncStatus(const storage::Store& store, const SyncStatus& status);
// nullopt when no daemon ever ran for this store (or the file is unreadable).
std::optional<SyncStatus> LoadSyncStatus(const storage::Store& store);

// Lines for people: whether the daemon runs, and per remote the last successful sync, the
// current error and since when, the next attempt, and the local commits not yet sent.
std::string RenderSyncStatus(const storage::Store& store);

}  // namespace taskfs::sync
