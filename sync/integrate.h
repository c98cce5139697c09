// Integrate: brings one commit of another client (fetched from any kind of remote) into the
// store's branch: nothing when we have it already, a fast-forward when we are behind, else a
// three-way merge on git's merge base (MergeTrees) committed with both parents. A local commit
// that races it is merged too (the branch moves by compare-and-swap; we retry).
//
// The history it brings is checked first (storage/incoming_history.h): a commit with an entry
// that breaks the store's rules is refused with a message naming `peer` ("remote origin",
// "client laptop"), and nothing of it is taken in.
#pragma once

#include <string>

#include "storage/status.h"
#include "storage/store.h"
#include "sync/syncer.h"

namespace taskfs::sync {

Status Integrate(storage::Store& store, const std::string& theirs, const std::string& peer,
                 SyncReport* report);

// True for the status Integrate returns when it refused the history (a peer's fault).
bool IsRefusedHistory(const Status& status);

}  // namespace taskfs::sync
