#include "storage/git_handles.h"

#include <cstring>
#include <mutex>

#include "storage/file_util.h"
#include "storage/hex.h"

namespace taskfs::storage {

Status GitStatus(int rc, const std::string& what) {
  if (rc >= 0) return Status::OK();
  const git_error* e = git_error_last();
  std::string detail = (e && e->message) ? e->message : "unknown libgit2 error";
  std::string msg = what + ": " + detail;
  switch (rc) {
    case GIT_ENOTFOUND:
      return Status::NotFound(msg);
    case GIT_EEXISTS:
      return Status::AlreadyExists(msg);
    case GIT_ELOCKED:
      return Status::Busy(msg +
                          " (a lock file exists: another git process is running or one "
                          "crashed; remove the .lock file if no git process is running)");
    case GIT_EMODIFIED:
      return Status::Conflict(msg);
    case GIT_EAUTH:         // credentials refused
    case GIT_ECERTIFICATE:  // a host key or certificate refused
      return Status::PermissionDenied(msg);
    case GIT_EINVALIDSPEC:
    case GIT_EINVALID:
      return Status::InvalidArgument(msg);
    default:
      break;
  }
  if (e && e->klass == GIT_ERROR_OS) {
    if (detail.find("No space left") != std::string::npos) return Status::NoSpace(msg);
  }
  if (e &&
      (e->klass == GIT_ERROR_ODB || e->klass == GIT_ERROR_OBJECT || e->klass == GIT_ERROR_ZLIB)) {
    return Status::Corruption(msg);
  }
  return Status::IOError(msg);
}

void EnsureLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // No fsync of every file and folder libgit2 writes: taskfs fsyncs what a durability point
    // needs (a commit's pack, the branch; storage/object_buffer.h, MoveBranch).
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
    // No re-hashing of every object read (a fifth of reading a 100,000-task tree), as git does
    // not either: every object that enters the store is hashed once, by libgit2 writing it or by
    // its indexer naming the objects of a fetched pack (storage/packs.cc); damage on disk still
    // fails zlib's checksum. `git fsck` checks the rest.
    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
    // Pack windows stay at libgit2's defaults (1 GB each, 8 GB in all). With windows of 4 MB, or
    // 16 MB mapped in all (either alone; tried to bound a mount's mapped pack pages), libgit2
    // 1.5's indexer stops reading a 28 MB pack of 113,802 objects partway and refuses it
    // ("unexpected data at the end of the pack"): merges and fetches of big packs would fail.
  });
}

Result<RevwalkPtr> WalkRange(git_repository* repo, const std::string& from, const std::string& to,
                             unsigned int sorting) {
  git_revwalk* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_revwalk_new(&raw, repo), "reading history"));
  RevwalkPtr walk(raw);
  git_revwalk_sorting(raw, sorting);
  git_oid oid;
  if (git_oid_fromstr(&oid, to.c_str()) != 0)
    return Status::InvalidArgument("not a commit id: '" + to + "'");
  TASKFS_RETURN_IF_ERROR(GitStatus(git_revwalk_push(raw, &oid), "reading history"));
  if (!from.empty()) {
    if (git_oid_fromstr(&oid, from.c_str()) != 0) {
      return Status::InvalidArgument("not a commit id: '" + from + "'");
    }
    TASKFS_RETURN_IF_ERROR(GitStatus(git_revwalk_hide(raw, &oid), "reading history"));
  }
  return walk;
}

void RefreshObjects(git_repository* repo) {
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, repo) == 0) {
    git_odb_refresh(odb);
    git_odb_free(odb);
  }
}

Result<RepoPtr> OpenBareRepository(const std::string& git_dir) {
  EnsureLibgit2();
  git_repository* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_repository_open_bare(&raw, git_dir.c_str()), "opening store " + git_dir));
  return RepoPtr(raw);
}

Result<TreePtr> CommitTree(git_commit* commit) {
  git_tree* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_commit_tree(&raw, commit),
                "reading the tree of commit " + OidToHex(*git_commit_id(commit))));
  return TreePtr(raw);
}

Result<TreePtr> ParentTree(git_commit* commit, unsigned n) {
  git_commit* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_commit_parent(&raw, commit, n),
                "reading a parent of commit " + OidToHex(*git_commit_id(commit))));
  CommitPtr parent(raw);
  return CommitTree(raw);
}

Status MoveBranch(git_repository* repo, const std::string& ref, const git_oid& target,
                  const git_oid* expected, const std::string& log_message) {
  git_reference* out = nullptr;
  int rc;
  if (!expected) {
    rc = git_reference_create(&out, repo, ref.c_str(), &target, 0, log_message.c_str());
    if (rc == GIT_EEXISTS) rc = GIT_EMODIFIED;
  } else {
    rc = git_reference_create_matching(&out, repo, ref.c_str(), &target, 1, expected,
                                       log_message.c_str());
  }
  git_reference_free(out);
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "moving " + ref));
  // libgit2 wrote the ref loose (a lock file renamed over it): the file, then its folder.
  const std::string file = std::string(git_repository_path(repo)) + ref;
  TASKFS_RETURN_IF_ERROR(SyncToDisk(file));
  return SyncToDisk(file.substr(0, file.rfind('/')));
}

std::string OidToHex(const git_oid& oid) { return Hex(oid.id, GIT_OID_RAWSZ); }

ObjectId ToObjectId(const git_oid& oid) {
  ObjectId id;
  std::memcpy(id.data(), oid.id, id.size());
  return id;
}

git_oid ToGitOid(const ObjectId& id) {
  git_oid oid;
  std::memcpy(oid.id, id.data(), id.size());
  return oid;
}

}  // namespace taskfs::storage
