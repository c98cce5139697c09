// Snapshot: an immutable, in-memory copy of one commit's tree (every file's blob id and mtime).
//
// The mount serves every read from a Snapshot, so reads never wait for a commit. A snapshot loaded
// from git holds blob ids only; Content() reads a file's bytes from the object database on demand
// (storage/blob_reader.h, no store lock). Bytes a commit just wrote stay in memory with their
// entry. A Store publishes a new Snapshot after each commit or refresh; holders of an old one keep
// it alive through shared_ptr. A snapshot made by Derive() shares its parent's bulk (a base layer)
// and holds only the recent changes in a small overlay, so a commit costs O(changes), not
// O(tasks). Immutable once built: any thread may read it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/object_id.h"
#include "storage/status.h"

namespace taskfs::storage {

class BlobReader;

struct FileEntry {
  ObjectId blob{};
  std::shared_ptr<const std::string> content;  // null: not loaded, Snapshot::Content() reads it
  int64_t mtime = 0;  // seconds since the epoch: when this path last changed, as far as known
};

class Snapshot;
using SnapshotPtr = std::shared_ptr<const Snapshot>;

class Snapshot {
 public:
  using FileMap = std::map<std::string, FileEntry, std::less<>>;
  // Path -> new entry, or nullopt when the path was removed.
  using ChangeMap = std::map<std::string, std::optional<FileEntry>, std::less<>>;

  // `blobs` reads the content of entries that hold none (null: every entry holds its content).
  Snapshot(std::string commit_id, int64_t commit_time, FileMap files,
           std::shared_ptr<const BlobReader> blobs = nullptr);
  // `parent` with `changes` applied, sharing the parent's base layer.
  static SnapshotPtr Derive(const SnapshotPtr& parent, std::string commit_id, int64_t commit_time,
                            const ChangeMap& changes);

  // Hex id of the commit this tree belongs to; empty for a store with no commit yet.
  const std::string& commit_id() const { return commit_id_; }
  int64_t commit_time() const { return commit_time_; }

  const FileEntry* FindFile(std::string_view path) const;
  // True for "" (the root) and for every folder that holds at least one file.
  bool IsDir(std::string_view path) const;
  // Names directly inside folder `dir` ("" is the root), files and folders, sorted.
  std::vector<std::string> List(std::string_view dir) const;
  // The folders directly inside folder `dir`, sorted; costs the number of folders below `dir`.
  std::vector<std::string> ListFolders(std::string_view dir) const;
  size_t file_count() const;
  // The bytes of `entry` (one of this snapshot's, at `path`): kept ones, or read from git.
  Result<std::shared_ptr<const std::string>> Content(const std::string& path,
                                                     const FileEntry& entry) const;
  // The bytes of the file at `path`; null when there is none.
  Result<std::shared_ptr<const std::string>> ContentAt(const std::string& path) const;
  // The size of `entry` in bytes, without reading its content.
  Result<uint64_t> Size(const std::string& path, const FileEntry& entry) const;
  // Calls `fn` for every file in path order.
  void ForEachFile(const std::function<void(const std::string&, const FileEntry&)>& fn) const;

  // Paths whose bytes differ between `a` and `b` (added, removed or changed), sorted.
  static std::vector<std::string> ChangedPaths(const Snapshot& a, const Snapshot& b);

 private:
  struct Layer {
    FileMap files;
    std::map<std::string, int, std::less<>> dir_file_counts;  // files below each folder
  };
  Snapshot() = default;
  FileMap Materialize() const;
  int DirFileCount(std::string_view dir) const;

  std::string commit_id_;
  int64_t commit_time_ = 0;
  std::shared_ptr<const Layer> base_;
  std::shared_ptr<const BlobReader> blobs_;  // shared with every snapshot derived from this one
  ChangeMap overlay_;                                  // changes on top of base_
  std::map<std::string, int, std::less<>> dir_delta_;  // how overlay_ changes dir_file_counts
};

}  // namespace taskfs::storage
