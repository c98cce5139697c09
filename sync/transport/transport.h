// Transport: how commits move between this store and one remote, whatever the remote is. The
// sync engine (sync/syncer.h) runs one loop over this interface: fetch the heads the remote
// offers, integrate each (sync/merge/), publish ours, and fetch again when the remote says so.
//
// Implementations: a git remote (sync/transport/git_remote.h), a shared folder
// (sync/transport/folder_remote.h), taskfs-server (sync/transport/server_remote.h). Every
// implementation takes a peer's objects through a quarantine (storage/quarantine.h), so what a
// fetch returns is complete and checked.
//
// This folder may include storage/ and itself, nothing else of sync/ (tests/layering enforces it).
// Thread-safety: one Transport per sync; a sync holds the store's sync lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"
#include "sync/transport/remotes.h"

namespace taskfs::sync {

struct TransferOptions {
  bool progress = false;  // a progress line on stderr (when it is a terminal)
  // ssh: a host not yet in known_hosts is recorded there (a changed key is refused all the same).
  bool accept_new_host_key = false;
};

// What a fetch brought.
struct Fetched {
  // The heads to integrate, in order: each one's objects are in the store, its history checked.
  std::vector<std::string> heads;
  // The remote's own branch head when it has one (git, server), "" otherwise: when ours is that
  // head there is nothing to publish.
  std::string remote_head;
  int waiting = 0;  // folder: clients whose head or objects have not all arrived yet
  std::vector<std::string> garbage;  // folder: ref files that are no client's ref
  // Peers' heads refused because their history breaks the store's rules: nothing of them entered
  // the store. The others are taken and ours is published all the same.
  std::vector<Status> refused;
};

// What a publish did.
struct Published {
  bool pushed = false;      // the remote did not have our head and has it now
  bool fetch_again = false;  // the remote merged ours onto newer heads: fetch to take that merge
};

// One machine that syncs through a remote, as the remote records it.
struct Peer {
  std::string id;  // folder: the client id of its ref; server: its registered name; git: the branch
  std::string
      name;  // who made its head, as the head commit's author says ("Ada laptop"); "" if unknown
  std::string head;       // the commit it last published, "" if unknown
  int64_t published = 0;  // when it published that head (unix seconds), 0 if unknown
  bool is_us = false;     // this store
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Where and what the remote is, in one line for people ("git repository ssh://h/t.git, branch
  // main"). No I/O.
  virtual std::string Describe() const = 0;
  // The machines that publish through the remote, with what each published last. May connect.
  virtual Result<std::vector<Peer>> ListPeers(storage::Store& store) = 0;
  virtual Result<Fetched> Fetch(storage::Store& store) = 0;
  // Publishes `head` (our branch's). Conflict when the remote moved since Fetch: fetch again.
  virtual Result<Published> Publish(storage::Store& store, const std::string& head) = 0;
};

// Hears of a remote's head moving without polling it (taskfs-server's GET /sync/wait), for the
// daemon. WaitForHead is called from one thread at a time; Cancel from any thread.
class HeadWatch {
 public:
  virtual ~HeadWatch() = default;
  // The remote's head as soon as it is not `known` ("" for none), or once `timeout` passed
  // whatever it is. NotSupported when the remote cannot wait (an older server): poll instead;
  // Busy when it has too many waiting; Cancelled once Cancel() was called.
  virtual Result<std::string> WaitForHead(const std::string& known,
                                          std::chrono::seconds timeout) = 0;
  // Makes a WaitForHead in progress return Cancelled at once, and every later one.
  virtual void Cancel() = 0;
};

// A watch of `remote`'s head: NotSupported for the kinds that have none (git and folder remotes
// are watched by inotify when local, else polled).
Result<std::unique_ptr<HeadWatch>> WatchHead(const storage::Store& store, const RemoteInfo& remote);

// Sets `peer`'s name from its head commit's author when the store has that commit.
void NameAuthor(const storage::Store& store, Peer* peer);

// The transport for `remote`.
std::unique_ptr<Transport> OpenTransport(const RemoteInfo& remote, const TransferOptions& options);

// Local paths whose change means `remote` has news (the daemon watches them with inotify); empty
// when only polling can tell (a network remote).
std::vector<std::string> WatchPathsOf(const RemoteInfo& remote);

}  // namespace taskfs::sync
