// Incoming history: the check a peer's commits pass before any of them reaches the store, like
// git's `transfer.fsckObjects`.
//
// A remote, a shared folder or a client pushing to taskfs-server may send trees that would
// poison a store: entries named `..` or `.git`, names with control characters, symbolic links,
// submodules, files far over the task size. Every tree entry that is new in a commit (against its
// first parent) must pass CheckTreeEntry (storage/task_limits.h); one entry that does not refuses
// the whole commit, and with it everything that builds on it. Received objects wait in a
// quarantine (storage/quarantine.h) until their history passes, so a refused commit never
// enters the store at all.
//
// The work is linear in what changed: a tree entry the parent already had is not looked at again.
// Thread-safe: each call works on its own repository handle.
#pragma once

#include <set>
#include <string>

#include "storage/status.h"

struct git_repository;

namespace taskfs::storage {

// Checks, in `repo` (a quarantine's view), the commits of `theirs`'s history that `known` (our
// branch head; empty: none) does not have. Refused, its message beginning "refused commit ID from
// PEER: entry 'PATH': ...", when one breaks a rule. On refusal, `hostile` (if given)
// receives the ids of the objects that break the rules: the commits whose tree holds a bad entry
// or that descend from one, and the trees that hold one (at any depth). No other object, so
// nothing an honest history may share is in it.
Status CheckIncomingHistory(git_repository* repo, const std::string& known,
                            const std::string& theirs, const std::string& peer,
                            std::set<std::string>* hostile);

}  // namespace taskfs::storage
