// Test helpers for sync: client stores that share one real bare repository as their remote.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "storage/store.h"
#include "sync/syncer.h"
#include "sync/transport/remotes.h"
#include "tests/test_util.h"

namespace taskfs::testing {

class SyncClient {
 public:
  SyncClient(const std::string& dir, const std::string& name, const std::string& remote_url,
             sync::RemoteKind kind = sync::RemoteKind::kGit,
             const std::string& server_cert = "");

  // Commits one change, as a save through the mount would.
  void Write(const std::string& path, const std::string& content);
  void Remove(const std::string& path);
  // How a rename commit records the rename: as taskfs writes it (a Taskfs-Rename trailer), or
  // only in the subject, as versions before it did.
  enum class RenameRecord { kTrailer, kSubjectOnly };
  void Rename(const std::string& from, const std::string& to,
              RenameRecord record = RenameRecord::kTrailer);
  sync::SyncReport Sync();
  // Closes and reopens the store (a restart of the client).
  void Restart();

  std::optional<std::string> Read(const std::string& path) const;
  std::map<std::string, std::string> Tree() const;
  storage::Store& store() { return *store_; }
  // Dates this client's commits with `clock` instead of the wall clock.
  void SetClock(std::function<int64_t()> clock);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<storage::Store> store_;
  std::function<int64_t()> clock_;
};

// A fresh bare repository to sync through.
std::string MakeBareRemote(const TempDir& dir, const std::string& name = "remote.git");
// A path for a folder remote (made by the first client that adds it).
std::string MakeRemote(const TempDir& dir, sync::RemoteKind kind);

}  // namespace taskfs::testing

namespace taskfs::sync {
// Names the parameter in test names and failure messages.
inline void PrintTo(RemoteKind kind, std::ostream* os) { *os << KindName(kind); }
}  // namespace taskfs::sync
