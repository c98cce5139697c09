// Git remotes of a store: configuration (kept in the repository's own config, like `git remote`)
// and the network side of sync: fetch and push with libgit2.
//
// Authentication: ssh keys through ssh-agent, or the key file named by $TASKFS_SSH_KEY (or git
// config taskfs.sshKey; passphrase in $TASKFS_SSH_PASSPHRASE); https with a token from
// $TASKFS_TOKEN, else git's credential helper (`git credential fill`). Each call opens its own
// repository handle, so a slow network never holds the store's lock. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::storage {

struct RemoteInfo {
  std::string name;
  std::string url;
};

Status AddRemote(const Store& store, const std::string& name, const std::string& url);
Status RemoveRemote(const Store& store, const std::string& name);
Result<std::vector<RemoteInfo>> ListRemotes(const Store& store);

struct TransferOptions {
  bool progress = false;  // a progress line on stderr (when it is a terminal)
};

// Fetches the remote's branch (the one named like ours) into refs/remotes/NAME/BRANCH. Returns
// its commit id, or "" when the remote has no such branch yet.
Result<std::string> Fetch(const Store& store, const std::string& remote,
                          const TransferOptions& options);

// Pushes our branch to the remote's. Conflict when the remote moved since our last fetch (not a
// fast-forward): fetch, merge and push again.
Status Push(const Store& store, const std::string& remote, const TransferOptions& options);

}  // namespace taskfs::storage
