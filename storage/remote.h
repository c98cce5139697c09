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

enum class RemoteKind {
  kGit,     // any URL libgit2 understands: fetch, merge, push one branch
  kFolder,  // a shared folder (Dropbox, Syncthing): see storage/folder_remote.h
  kServer,  // taskfs-server (taskfs://host:port): see sync/server_remote.h
};

// "git", "folder" or "server", as `taskfs remote` shows them.
const char* KindName(RemoteKind kind);

struct RemoteInfo {
  std::string name;
  std::string url;  // for a folder: its absolute path
  RemoteKind kind = RemoteKind::kGit;
  std::string server_cert;  // kServer: the pinned certificate of the server (a file)
};

// A folder remote is marked in the config with remote.NAME.taskfsFolder = true.
// A taskfs:// URL is a server remote, whose pinned certificate `server_cert` names (a file);
// it is copied into the store's local dir.
Status AddRemote(const Store& store, const std::string& name, const std::string& url,
                 RemoteKind kind = RemoteKind::kGit, const std::string& server_cert = "");
Result<RemoteInfo> FindRemote(const Store& store, const std::string& name);
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

// A value of the store's git config; "" when unset.
std::string ConfigValue(const Store& store, const std::string& key);
Status SetConfigValue(const Store& store, const std::string& key, const std::string& value);
// The commit ref `ref` points to; "" if there is no such ref.
std::string RefTarget(const Store& store, const std::string& ref);
// Records `commit` as ref `ref` (a remote-tracking ref), whatever it was.
Status SetRef(const Store& store, const std::string& ref, const std::string& commit);

// Commits on our branch that the remote does not have, as far as we know (the tracking refs
// refs/remotes/NAME/* that the last fetch or push recorded).
Result<int> PendingCommits(const Store& store, const std::string& remote);

// The local path a git remote's URL names ("/srv/x.git", "file:///srv/x.git"), or "" for a
// network URL. The daemon watches such a repository instead of polling it.
std::string LocalPathOf(const std::string& url);

}  // namespace taskfs::storage
