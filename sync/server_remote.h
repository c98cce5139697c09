// The client side of taskfs-server (`taskfs://HOST[:PORT]` remotes): mutual TLS 1.3 with this
// client's key pair (made by `taskfs keygen`), the server pinned by its certificate's public key
// (`taskfs remote add --server-cert`).
//
// A sync: fetch a pack of what the server has and we lack, merge it locally (as with a git
// remote), push a pack of ours; the server takes the push in any case, merging it if others
// pushed meanwhile, and then we fetch that merge. See sync/task_server.h for the server's side.
#pragma once

#include <string>

#include "storage/remote.h"
#include "storage/status.h"
#include "storage/store.h"
#include "sync/syncer.h"

namespace taskfs::sync {

// Where this client's key pair is: git config taskfs.clientKey / taskfs.clientCert of the store,
// else $TASKFS_CLIENT_KEY / $TASKFS_CLIENT_CERT, else $XDG_CONFIG_HOME/taskfs/client.key and
// client.crt (~/.config/taskfs/).
struct ClientIdentityFiles {
  std::string key;
  std::string cert;
};
ClientIdentityFiles ClientIdentityOf(const storage::Store& store);
// The default location, where `taskfs keygen` writes.
ClientIdentityFiles DefaultClientIdentity();

// One sync with a server remote (called by SyncWithRemote, holding the sync lock).
Status SyncWithServer(storage::Store& store, const storage::RemoteInfo& remote, SyncReport* report);

}  // namespace taskfs::sync
