// What taskfs-server remembers about updates for its clients (DIR/updates.json): a version
// number for every update it accepted (a push of commits or a JSON task), the commit each made,
// the tombstones of the tasks updates deleted, and the version each client acknowledged.
//
// A tombstone (and the record of an update) is forgotten only once every registered, non-revoked
// client has acknowledged a version at or past it: a client that stays away keeps them alive;
// revoking it releases them.
//
// It also keeps, for each client, the commit it last published (a push, or the commit a JSON
// task update of it made) and when: what `taskfs remote show` lists as the server's peers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::sync {

struct Tombstone {
  std::string task;  // name without .yaml
  int64_t version = 0;
};

struct UpdateRecord {
  int64_t version = 0;
  std::string commit;
};

struct PublishRecord {
  std::string commit;
  int64_t time = 0;  // unix seconds
};

class UpdateLog {
 public:
  static Result<UpdateLog> Load(const std::string& file);
  Status Save(const std::string& file) const;

  // An accepted update that made `commit` and deleted `deleted` (task names), and created or
  // edited `written` (their tombstones go). Returns its version.
  int64_t Record(const std::string& commit, const std::vector<std::string>& deleted,
                 const std::vector<std::string>& written);
  // `client` has applied everything up to `version` (never moves back). True if that is news.
  bool Acknowledge(const std::string& client, int64_t version);
  // The version of the update that made `commit`; 0 if none is remembered.
  int64_t VersionOf(const std::string& commit) const;
  // `client` published `commit` at `time`.
  void RecordPublish(const std::string& client, const std::string& commit, int64_t time);
  // Forgets tombstones and update records every client in `active` has acknowledged, and what
  // clients no longer in `active` acknowledged or published. True if it forgot anything.
  bool Forget(const std::vector<std::string>& active);

  int64_t version() const { return version_; }
  const std::vector<Tombstone>& tombstones() const { return tombstones_; }
  const std::vector<UpdateRecord>& updates() const { return updates_; }
  int64_t acknowledged(const std::string& client) const;
  const std::map<std::string, PublishRecord>& published() const { return published_; }

 private:
  int64_t version_ = 0;
  std::vector<UpdateRecord> updates_;
  std::vector<Tombstone> tombstones_;
  std::map<std::string, int64_t> acked_;
  std::map<std::string, PublishRecord> published_;
};

}  // namespace taskfs::sync
