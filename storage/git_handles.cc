#include "storage/git_handles.h"

#include <mutex>

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
      return Status::Busy(msg + " (a lock file exists: another git process is running or one "
                                "crashed; remove the .lock file if no git process is running)");
    case GIT_EMODIFIED:
      return Status::Conflict(msg);
    case GIT_EINVALIDSPEC:
    case GIT_EINVALID:
      return Status::InvalidArgument(msg);
    default:
      break;
  }
  if (e && e->klass == GIT_ERROR_OS) {
    if (detail.find("No space left") != std::string::npos) return Status::NoSpace(msg);
  }
  if (e && (e->klass == GIT_ERROR_ODB || e->klass == GIT_ERROR_OBJECT ||
            e->klass == GIT_ERROR_ZLIB)) {
    return Status::Corruption(msg);
  }
  return Status::IOError(msg);
}

void EnsureLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    // Objects and refs are fsynced so that a commit that returned is durable.
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
  });
}

std::string OidToHex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

}  // namespace taskfs::storage
