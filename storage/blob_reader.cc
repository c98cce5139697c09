#include "storage/blob_reader.h"

#include <utility>

#include "storage/git_handles.h"

namespace taskfs::storage {
namespace {

// A blob a snapshot names is part of the store: its absence is damage, not "no such task".
Status ReadStatus(int rc, const std::string& what, const git_oid& oid) {
  if (rc == GIT_ENOTFOUND) {
    return Status::Corruption(what + ": object " + OidToHex(oid) + " is missing from the store");
  }
  return GitStatus(rc, what);
}

}  // namespace

Result<BlobReader::OdbHandle> BlobReader::OpenOdb(const std::string& objects_dir) {
  EnsureLibgit2();
  git_odb* odb = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_odb_open(&odb, objects_dir.c_str()),
                                   "opening the object database " + objects_dir));
  return OdbHandle(odb, git_odb_free);
}

Result<std::shared_ptr<const BlobReader>> BlobReader::Open(const std::string& objects_dir) {
  auto odb = OpenOdb(objects_dir);
  if (!odb.ok()) return odb.status();
  return std::shared_ptr<const BlobReader>(new BlobReader(objects_dir, std::move(*odb)));
}

BlobReader::~BlobReader() = default;

BlobReader::OdbHandle BlobReader::odb() const {
  std::lock_guard lock(mu_);
  return odb_;
}

Status BlobReader::Reopen() const {
  auto fresh = OpenOdb(objects_dir_);
  if (!fresh.ok()) return fresh.status();
  OdbHandle old;
  std::lock_guard lock(mu_);
  old = std::exchange(odb_, std::move(*fresh));
  return Status::OK();  // `old` is freed after the lock (here or by the last read using it)
}

Result<std::shared_ptr<const std::string>> BlobReader::Read(const ObjectId& id,
                                                            const std::string& path) const {
  const git_oid oid = ToGitOid(id);
  git_odb_object* raw = nullptr;
  const OdbHandle odb = this->odb();
  TASKFS_RETURN_IF_ERROR(ReadStatus(git_odb_read(&raw, odb.get(), &oid), "reading " + path, oid));
  const OdbObjectPtr object(raw);
  if (git_odb_object_type(raw) != GIT_OBJECT_BLOB) {
    return Status::Corruption("reading " + path + ": object " + OidToHex(oid) + " is not a blob");
  }
  return std::make_shared<const std::string>(static_cast<const char*>(git_odb_object_data(raw)),
                                             git_odb_object_size(raw));
}

Result<uint64_t> BlobReader::Size(const ObjectId& id, const std::string& path) const {
  const git_oid oid = ToGitOid(id);
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  TASKFS_RETURN_IF_ERROR(ReadStatus(git_odb_read_header(&size, &type, odb().get(), &oid),
                                    "reading the size of " + path, oid));
  return static_cast<uint64_t>(size);
}

}  // namespace taskfs::storage
