// Integrate: brings one commit of another client (fetched from any kind of remote) into the
// store's branch: nothing when we have it already, a fast-forward when we are behind, else a
// three-way merge on git's merge base (MergeTrees) committed with both parents. A local commit
// that races it is merged too (the branch moves by compare-and-swap; we retry).
//
// What it brings was checked before it entered the store: every transport takes a peer's objects
// through a quarantine (storage/quarantine.h).
#pragma once

#include <string>

#include "storage/status.h"
#include "storage/store.h"
#include "sync/syncer.h"

namespace taskfs::sync {

Status Integrate(storage::Store& store, const std::string& theirs, SyncReport* report);

// True for the status a quarantine returns when it refused a peer's history (a peer's fault).
bool IsRefusedHistory(const Status& status);

}  // namespace taskfs::sync
