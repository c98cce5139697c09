// BlobReader: reads task bytes out of the store's object database, from any thread.
//
// Snapshots loaded from git hold blob ids only; a reader asks for the bytes when a file is first
// opened (the kernel's page cache keeps them after that). The reader has its own git_odb, apart
// from the Store's repository, so a read never waits for the store's lock or for a commit:
// libgit2's odb is safe to share between threads (docs/threading.md). Packs a commit adds later
// are found on the first miss (libgit2 refreshes its pack list then); Release() lets go of the
// packs it has open, removed since or not (libgit2 never does). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "storage/object_id.h"
#include "storage/status.h"

struct git_odb;  // libgit2, seen only by storage/*.cc

namespace taskfs::storage {

class BlobReader {
 public:
  // Opens the object database in `objects_dir` (a repository's objects/, alternates included).
  static Result<std::shared_ptr<const BlobReader>> Open(const std::string& objects_dir);
  ~BlobReader();
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  // The bytes of blob `id`; `path` only names it in an error.
  Result<std::shared_ptr<const std::string>> Read(const ObjectId& id,
                                                  const std::string& path) const;
  // The size of blob `id` in bytes, read from its header without inflating it.
  Result<uint64_t> Size(const ObjectId& id, const std::string& path) const;

  // Lets go of the object database: its packs (descriptors, mapped pages) are freed once the reads
  // under way end (the handle is freed by its last reader), unless another object database in
  // the process holds them too: libgit2 shares a pack between the handles that have it open. The
  // next read opens a fresh one.
  void Release() const;

 private:
  using OdbHandle = std::shared_ptr<git_odb>;
  static Result<OdbHandle> OpenOdb(const std::string& objects_dir);
  BlobReader(std::string objects_dir, OdbHandle odb)
      : objects_dir_(std::move(objects_dir)), odb_(std::move(odb)) {}
  // The object database, opened (with no lock held) if released.
  Result<OdbHandle> odb() const;

  const std::string objects_dir_;
  mutable std::mutex mu_;  // guards odb_ (a leaf, held for a pointer copy)
  mutable OdbHandle odb_;  // null once released; thread-safe itself by libgit2's own locks
};

}  // namespace taskfs::storage
