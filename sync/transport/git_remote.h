// A git remote as a sync transport: fetch and push one branch with libgit2, over any URL it
// understands (a path, file://, ssh:// and user@host:path, https://). Keys, passwords, host keys
// and certificates: sync/transport/git_auth.h. Each call opens its own repository handle, so a
// slow network never holds the store's lock. Thread-safe.
#pragma once

#include <string>

#include "storage/status.h"
#include "storage/store.h"
#include "sync/transport/transport.h"

namespace taskfs::sync {

// Fetches the remote's branch (the one named like ours) into refs/remotes/NAME/BRANCH, through
// a quarantine (storage/quarantine.h). Returns its commit id, or "" when the remote has no such
// branch yet.
Result<std::string> FetchFromGit(const storage::Store& store, const std::string& remote,
                                 const TransferOptions& options);

// The commit the remote's branch (the one named like ours) is at now, "" when it has none; asks
// the remote (connects, transfers no objects).
Result<std::string> BranchHeadOfGit(const storage::Store& store, const std::string& remote,
                                    const TransferOptions& options);

// Pushes our branch to the remote's. Conflict when the remote moved since our last fetch (not a
// fast-forward): fetch, merge and push again.
Status PushToGit(const storage::Store& store, const std::string& remote,
                 const TransferOptions& options);

}  // namespace taskfs::sync
