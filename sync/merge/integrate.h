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

namespace taskfs::sync {

// What integrating heads did to the store, added up over the heads of one sync.
struct IntegrationReport {
  bool fast_forwarded = false;  // we were behind: took theirs
  bool merged = false;          // both sides had changes: made a merge commit
  int merged_tasks = 0;
  int conflicts = 0;  // values recorded in `conflicts:` keys
  int conflict_copies = 0;
};

// How often a merge is retried when a local commit raced it.
inline constexpr int kMaxIntegrateAttempts = 8;

Status Integrate(storage::Store& store, const std::string& theirs, IntegrationReport* report);

// True for the status a quarantine returns when it refused a peer's history (a peer's fault).
bool IsRefusedHistory(const Status& status);

}  // namespace taskfs::sync
