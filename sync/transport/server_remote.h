// The client side of taskfs-server (`taskfs://HOST[:PORT]` remotes): mutual TLS 1.3 with this
// client's key pair (made by `taskfs keygen`), the server pinned by its certificate's public key
// (`taskfs remote add --server-cert`).
//
// A sync: fetch a pack of what the server has and we lack, merge it locally (as with a git
// remote), push a pack of ours; the server takes the push in any case, merging it if others
// pushed meanwhile, and then we fetch that merge. See sync/server/task_server.h for the server's side.
#pragma once

#include <memory>
#include <string>

#include "storage/status.h"
#include "storage/store.h"
#include "sync/transport/transport.h"

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

// The transport of a server remote (its connection is opened by the first fetch).
std::unique_ptr<Transport> OpenServerTransport(const RemoteInfo& remote);
// A watch of the server's head through GET /sync/wait, on a connection of its own.
Result<std::unique_ptr<HeadWatch>> OpenServerHeadWatch(const storage::Store& store,
                                                       const RemoteInfo& remote);

}  // namespace taskfs::sync
