// Folder remotes: sync through a folder that a file syncer (Dropbox, Syncthing, a USB disk)
// carries between machines. The folder holds a bare git repository in which each client writes
// only files that no other client writes:
//
//   objects/pack/pack-HASH.pack, .idx   immutable, named after their content, written once
//   refs/clients/CLIENT-ID              that client's branch head (a commit id)
//
// so a syncer never carries two machines' writes to one file. Reading tolerates what syncers do:
// a ref that arrives before its objects, a half-copied pack, "conflicted copy" files, a deleted
// ref. What is incomplete is skipped (and counted) and picked up by a later sync; nothing from
// the folder enters the store before it is verified (a pack is indexed and checksummed, a head
// is taken only when every object it reaches is present).
//
// Thread-safety: each call opens its own repository handle; one sync per store at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::sync {

// Creates the layout in `path` (made if missing). `path` must be missing, empty, or already a
// folder remote.
Status InitFolderRemote(const std::string& path);
// True if `path` holds a folder remote's layout.
bool IsFolderRemote(const std::string& path);

struct FolderFetch {
  // Every other client's head we have completely, recorded as refs/remotes/REMOTE/CLIENT-ID.
  std::vector<std::string> heads;
  int waiting = 0;  // clients whose head or objects have not all arrived yet
  // Files in refs/clients/ named like a client's ref whose content never can be one: reported,
  // not waited for.
  std::vector<std::string> garbage;
  // Heads refused because their history breaks the store's rules (storage/incoming_history.h):
  // nothing of them entered the store.
  std::vector<Status> refused;
};

// Imports the folder's new packs into the store and records each other client's head once all
// its objects are here and its history passed the checks (packs wait in a quarantine until then;
// a pack holding a refused head's hostile objects never enters the store).
Result<FolderFetch> FetchFromFolder(const storage::Store& store, const std::string& remote,
                                    const std::string& path);

// One client's ref in the folder (ours included).
struct FolderClient {
  std::string id;
  std::string head;     // "" while its ref file is incomplete
  int64_t written = 0;  // when its ref file was last written (unix seconds)
};
// The clients whose refs the folder holds, by id; NotFound when `path` is no folder remote.
Result<std::vector<FolderClient>> ListFolderClients(const std::string& remote,
                                                    const std::string& path);

// Writes our branch to the folder: a pack of the objects the folder lacks, then our ref. Returns
// false when the folder already had our head.
Result<bool> PublishToFolder(const storage::Store& store, const std::string& remote,
                             const std::string& path);

}  // namespace taskfs::sync
