// LocalState: every file and folder taskfs keeps beside a store, in GITDIR/taskfs/
// (Store::local_dir()), named in this one place. None of it is synced: it is this machine's.
//
//   journal/            acknowledged saves not committed yet (storage/journal.h)
//   deferred-deletes    deletes held back for an editor's rename dance
//   attributes          owners, modes and times of the mount's files (fusefs/local_attributes.h)
//   drafts/, scratch/   invalid saves kept aside; local-only files (editors' temp files)
//   mount, mount-head   the live mount's record (MountRecord) and the commit it shows
//   *.lock              mount.lock, sync.lock, repack.lock, daemon.lock, history-index.lock:
//                       flock(2)s, never stale
//   requests/           `taskfs sync` asking the mount to commit its journal
//   quarantine/         what a peer sent, until its history is checked (storage/quarantine.h)
//   sync-status.json    the daemon's record of each remote; last-error: the mount's last failure
//   folder-NAME.packs   the packs taken from folder remote NAME; server-NAME.crt: its pinned cert
//   history-index       what each commit changed, for `taskfs log` (storage/history_index.h)
//
// Thread-safety: values; the functions that read and write the mount record are thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "storage/status.h"

namespace taskfs::storage {

class Store;

class LocalState {
 public:
  explicit LocalState(std::string local_dir) : dir_(std::move(local_dir)) {}
  explicit LocalState(const Store& store);

  const std::string& dir() const { return dir_; }
  std::string journal() const { return dir_ + "/journal"; }
  std::string deferred_deletes() const { return dir_ + "/deferred-deletes"; }
  std::string attributes() const { return dir_ + "/attributes"; }
  std::string drafts() const { return dir_ + "/drafts"; }
  std::string scratch() const { return dir_ + "/scratch"; }
  std::string mount_record() const { return dir_ + "/mount"; }
  std::string mount_head() const { return dir_ + "/mount-head"; }
  std::string mount_lock() const { return dir_ + "/mount.lock"; }
  std::string sync_lock() const { return dir_ + "/sync.lock"; }
  std::string repack_lock() const { return dir_ + "/repack.lock"; }
  std::string daemon_lock() const { return dir_ + "/daemon.lock"; }
  // Held by the process that updates history_index(): two at once would do the same work twice.
  std::string history_index_lock() const { return dir_ + "/history-index.lock"; }
  std::string flush_requests() const { return dir_ + "/requests"; }
  std::string quarantine() const { return dir_ + "/quarantine"; }
  std::string sync_status() const { return dir_ + "/sync-status.json"; }
  std::string last_error() const { return dir_ + "/last-error"; }
  std::string history_index() const { return dir_ + "/history-index"; }
  std::string folder_packs(const std::string& remote) const {
    return dir_ + "/folder-" + remote + ".packs";
  }
  std::string server_cert(const std::string& remote) const {
    return dir_ + "/server-" + remote + ".crt";
  }

 private:
  std::string dir_;
};

// What a live mount records about itself: its pid and its mount point (any bytes but NUL).
struct MountRecord {
  pid_t pid = 0;
  std::string mountpoint;
};

// Written as "PID\nMOUNTPOINT\n", atomically; read back whatever bytes the mount point holds
// (spaces, newlines).
Status WriteMountRecord(const std::string& file, const MountRecord& record);
// The record, or nullopt when there is none or it cannot be read.
std::optional<MountRecord> ReadMountRecord(const std::string& file);

}  // namespace taskfs::storage
