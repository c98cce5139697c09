// Owning handles for libgit2 objects, and the one place libgit2 error codes become a Status.
//
// Private to storage/: no other module includes <git2.h>. Every object libgit2 hands out through
// an `out` parameter belongs to the caller and is freed with its own `_free` by these handles.
#pragma once

#include <git2.h>

#include <memory>
#include <string>

#include "storage/object_id.h"
#include "storage/status.h"

namespace taskfs::storage {

template <class T, void (*Free)(T*)>
struct GitFree {
  void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using GitPtr = std::unique_ptr<T, GitFree<T, Free>>;

using RepoPtr = GitPtr<git_repository, git_repository_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;
using BlobPtr = GitPtr<git_blob, git_blob_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using RefPtr = GitPtr<git_reference, git_reference_free>;
using SignaturePtr = GitPtr<git_signature, git_signature_free>;
using OdbPtr = GitPtr<git_odb, git_odb_free>;
using OdbObjectPtr = GitPtr<git_odb_object, git_odb_object_free>;
using ConfigPtr = GitPtr<git_config, git_config_free>;
using RevwalkPtr = GitPtr<git_revwalk, git_revwalk_free>;
using DiffPtr = GitPtr<git_diff, git_diff_free>;
using TreeEntryPtr = GitPtr<git_tree_entry, git_tree_entry_free>;
using RefIteratorPtr = GitPtr<git_reference_iterator, git_reference_iterator_free>;

// Values libgit2 fills in place and frees with their own call: each owns its value for a scope.
template <class T, void (*Free)(T*)>
class GitValue {
 public:
  explicit GitValue(T init = T{}) : value_(init) {}
  ~GitValue() { Free(&value_); }
  GitValue(const GitValue&) = delete;
  GitValue& operator=(const GitValue&) = delete;
  T* get() { return &value_; }
  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }

 private:
  T value_;
};
// A git_buf (GIT_BUF_INIT is all zeros); str() copies its bytes.
struct GitBuf : GitValue<git_buf, git_buf_dispose> {
  std::string str() const { return (*this)->ptr ? std::string((*this)->ptr, (*this)->size) : ""; }
};
using TrailerArray = GitValue<git_message_trailer_array, git_message_trailer_array_free>;
using StrArray = GitValue<git_strarray, git_strarray_dispose>;
using MergeFileResult = GitValue<git_merge_file_result, git_merge_file_result_free>;

// Turns a libgit2 return code into a Status; reads git_error_last() on the calling thread, so
// call it right after the failing call. `what` says what taskfs was doing.
Status GitStatus(int rc, const std::string& what);

// Initialises libgit2 once per process (thread-safe, idempotent).
void EnsureLibgit2();

std::string OidToHex(const git_oid& oid);
// The same 20 bytes as libgit2's id and as a snapshot's ObjectId.
ObjectId ToObjectId(const git_oid& oid);
git_oid ToGitOid(const ObjectId& id);

// A repository handle of one's own (remote transfers use one so as not to hold the store's lock).
Result<RepoPtr> OpenBareRepository(const std::string& git_dir);

// A walk over the commits in from..to (all of `to`'s history when `from` is empty), in
// `sorting` order. InvalidArgument when an id is not a commit id.
Result<RevwalkPtr> WalkRange(git_repository* repo, const std::string& from, const std::string& to,
                             unsigned int sorting);

// The tree of `commit`, and the tree of its parent number `n` (which must exist).
Result<TreePtr> CommitTree(git_commit* commit);
Result<TreePtr> ParentTree(git_commit* commit, unsigned n);

// Makes `repo` see packs added to its objects folder since it last looked.
void RefreshObjects(git_repository* repo);


// Moves branch `ref` to `target` durably: the ref moves with a compare-and-swap from `expected`
// (nullptr: the branch must not exist yet; GIT_EMODIFIED as Conflict when it moved), then the ref
// file and its folder are fsynced. The objects `target` needs must be on disk already (the
// store's ObjectBuffer::Flush, or the quarantine for history from peers).
Status MoveBranch(git_repository* repo, const std::string& ref, const git_oid& target,
                  const git_oid* expected, const std::string& log_message);

}  // namespace taskfs::storage
