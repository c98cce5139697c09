// Sync with one remote, whatever its transport (sync/transport/transport.h): fetch the heads it
// offers, integrate each (three-way merge on git's merge base, sync/merge/integrate.h), publish
// ours; when the publish races another client, fetch and merge again.
//
// A sync that stops half-way (network drop, kill, refused push) leaves the store and the remote
// valid: objects are written before refs move, and every ref move is a compare-and-swap; the next
// sync finishes the job. Thread-safety: as Store (any thread; one sync per store at a time).
#pragma once

#include <string>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"
#include "sync/merge/integrate.h"
#include "sync/transport/transport.h"

namespace taskfs::sync {

struct SyncReport : IntegrationReport {
  std::string remote;
  bool pushed = false;               // the remote was behind: it now has ours
  int attempts = 0;                  // fetch-merge-push rounds (more than 1 when a push raced)
  int waiting = 0;                   // folder remotes: clients whose files have not all arrived yet
  std::vector<std::string> garbage;  // folder remotes: ref files that are no client's ref
  std::string Summary() const;
};

inline constexpr int kMaxSyncAttempts = 8;

Result<SyncReport> SyncWithRemote(storage::Store& store, const std::string& remote,
                                  const TransferOptions& options);

}  // namespace taskfs::sync
