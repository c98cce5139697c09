// Drafts: saves that were not valid tasks, kept beside the store until the user fixes or deletes
// them, so nothing typed is lost. A draft shadows the committed task at the same path: the mount
// shows the draft's bytes there. Each draft is a file under `root` (the store's local dir), so
// drafts survive a remount or a crash.
//
// Not thread-safe: TaskFilesystem guards it with its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::fusefs {

struct Draft {
  std::shared_ptr<const std::string> content;
  std::string reason;  // why it was not committed
  int64_t mtime = 0;
};

// Why `content` cannot be committed ("empty file", or the validation error).
std::string DraftReason(const std::string& content);

class Drafts {
 public:
  explicit Drafts(std::string root) : root_(std::move(root)) {}

  // Reads every draft under root (on start-up; also used by `taskfs status`).
  Status Load();
  const Draft* Find(const std::string& path) const;
  // Writes the draft durably (fsync) before returning.
  Status Put(const std::string& path, const std::string& content, const std::string& reason);
  Status Remove(const std::string& path);
  const std::map<std::string, Draft>& all() const { return drafts_; }
  // Drafts directly inside folder `dir` ("" is the root) and the folders that hold drafts.
  std::vector<std::string> ListDir(const std::string& dir) const;
  bool HoldsFolder(const std::string& dir) const;

 private:
  std::string root_;
  std::map<std::string, Draft> drafts_;
};

}  // namespace taskfs::fusefs
