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

Result<BlobReader::OdbHandle> BlobReader::odb() const {
  {
    std::lock_guard lock(mu_);
    if (odb_) return odb_;
  }
  auto fresh = OpenOdb(objects_dir_);  // lists objects/pack: no lock held
  if (!fresh.ok()) return fresh.status();
  std::lock_guard lock(mu_);
  if (!odb_) odb_ = std::move(*fresh);  // else another read opened one meanwhile: use it
  return odb_;
}

void BlobReader::Release() const {
  OdbHandle old;
  std::lock_guard lock(mu_);
  old = std::exchange(odb_, nullptr);
}  // `old` is freed after the lock (here or by the last read using it)

Result<std::shared_ptr<const std::string>> BlobReader::Read(const ObjectId& id,
                                                            const std::string& path) const {
  const git_oid oid = ToGitOid(id);
  git_odb_object* raw = nullptr;
  const auto odb = this->odb();
  if (!odb.ok()) return odb.status();
  TASKFS_RETURN_IF_ERROR(ReadStatus(git_odb_read(&raw, odb->get(), &oid), "reading " + path, oid));
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
  const auto odb = this->odb();
  if (!odb.ok()) return odb.status();
  TASKFS_RETURN_IF_ERROR(ReadStatus(git_odb_read_header(&size, &type, odb->get(), &oid),
                                    "reading the size of " + path, oid));
  return static_cast<uint64_t>(size);
}

}  // namespace taskfs::storage
