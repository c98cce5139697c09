// ObjectBuffer: the objects the store writes, held in memory until their commit is made durable,
// then written as one pack.
//
// A commit writes a few objects: the new blobs, the trees on the changed paths, the commit. Loose,
// each would be a file of its own (an inode, a folder entry, and an fsync each to be durable), and
// a bulk save of 1,000 tasks would cost 1,000 fsyncs. Instead, an object-database backend at the
// top of the store's odb takes every object the store writes into memory and serves it from there;
// Flush() writes them all as one pack and its index (storage/pack_writer.h), fsynced with their
// folder, and only then forgets them: libgit2 reads them from the pack. A commit is durable with
// a few fsyncs whatever its size, and no syncfs. storage/repack.h merges the small packs.
//
// Thread-safety: none of its own. The store uses it under its mutex, like the repository handle it
// belongs to (the odb owns the backend and frees it with the repository).
#pragma once

#include <cstddef>
#include <string>

#include "storage/snapshot.h"
#include "storage/status.h"

struct git_repository;

namespace taskfs::storage {

class ObjectBuffer {
 public:
  // Puts a buffer at the top of `repo`'s object database: every object written through `repo`
  // from now on lands in it. The repository owns the buffer's state: the handle returned is valid
  // as long as `repo`.
  static Result<ObjectBuffer> Attach(git_repository* repo);
  // A handle to no buffer (a read-only store): Flush has nothing to do.
  ObjectBuffer() = default;

  // Buffers an object the store made itself (a blob or a tree; `type` a git_object_t), unless the
  // store has it already. Its id, in `id`, is computed here with OpenSSL's SHA-1 (libgit2 would use
  // its slower collision-detecting one, meant for what peers send).
  Status Add(int type, std::string data, ObjectId* id);

  // Writes every buffered object into the repository's objects/pack as one pack, durably, then
  // drops them from memory. Returns the .pack's file name; nothing to write: "", nothing done.
  Result<std::string> Flush();
  // Forgets every buffered object (what a failed commit wrote and nothing refers to).
  void Discard();
  // False for a handle to no buffer.
  bool attached() const { return impl_ != nullptr; }

  struct Impl;

 private:
  explicit ObjectBuffer(Impl* impl) : impl_(impl) {}
  Impl* impl_ = nullptr;  // owned by the odb (freed through the backend's free callback)
};

}  // namespace taskfs::storage
