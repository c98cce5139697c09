#include "storage/object_buffer.h"

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <sys/stat.h>

#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/git_handles.h"
#include "storage/pack_writer.h"
#include "storage/sha1.h"

namespace taskfs::storage {
namespace {

// Above libgit2's loose objects (1) and packs (2): every write lands here.
constexpr int kBufferPriority = 10;

struct OidHash {
  size_t operator()(const git_oid& oid) const {
    size_t h;
    std::memcpy(&h, oid.id, sizeof h);
    return h;
  }
};
struct OidEqual {
  bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_equal(&a, &b); }
};

}  // namespace

// The backend libgit2 calls. It derives from git_odb_backend, so the pointer libgit2 hands back
// is this object.
struct ObjectBuffer::Impl : git_odb_backend {
  struct Object {
    git_object_t type;
    std::string data;
  };
  git_repository* repo = nullptr;
  std::vector<git_oid> order;  // the objects in the order they were written
  std::unordered_map<git_oid, Object, OidHash, OidEqual> objects;

  static Impl* From(git_odb_backend* b) { return static_cast<Impl*>(b); }

  const Object* Find(const git_oid* id) const {
    auto it = objects.find(*id);
    return it == objects.end() ? nullptr : &it->second;
  }

  static int Read(void** out, size_t* len, git_object_t* type, git_odb_backend* b,
                  const git_oid* id) {
    const Object* o = From(b)->Find(id);
    if (!o) return GIT_ENOTFOUND;
    void* copy = git_odb_backend_data_alloc(b, o->data.size());
    if (!copy) return -1;
    std::memcpy(copy, o->data.data(), o->data.size());
    *out = copy;
    *len = o->data.size();
    *type = o->type;
    return 0;
  }

  static int ReadHeader(size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* id) {
    const Object* o = From(b)->Find(id);
    if (!o) return GIT_ENOTFOUND;
    *len = o->data.size();
    *type = o->type;
    return 0;
  }

  static int Write(git_odb_backend* b, const git_oid* id, const void* data, size_t len,
                   git_object_t type) {
    From(b)->Put(*id, type, std::string(static_cast<const char*>(data), len));
    return 0;
  }

  void Put(const git_oid& id, git_object_t type, std::string data) {
    auto [it, added] = objects.try_emplace(id);
    if (!added) return;
    it->second = {type, std::move(data)};
    order.push_back(id);
  }

  static int Exists(git_odb_backend* b, const git_oid* id) { return From(b)->Find(id) != nullptr; }

  static void Free(git_odb_backend* b) { delete From(b); }

  void Clear() {
    order.clear();
    objects.clear();
  }

  std::vector<PackObject> InOrder() const {
    std::vector<PackObject> out;
    out.reserve(order.size());
    for (const git_oid& id : order) {
      const Object& o = objects.at(id);
      out.push_back({id, o.type, o.data});
    }
    return out;
  }
};

Result<ObjectBuffer> ObjectBuffer::Attach(git_repository* repo) {
  git_odb* odb_raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_odb(&odb_raw, repo), "opening object db"));
  OdbPtr odb(odb_raw);
  auto* impl = new Impl();
  git_odb_init_backend(impl, GIT_ODB_BACKEND_VERSION);
  impl->repo = repo;
  impl->read = &Impl::Read;
  impl->read_header = &Impl::ReadHeader;
  impl->write = &Impl::Write;
  impl->exists = &Impl::Exists;
  impl->free = &Impl::Free;
  if (int rc = git_odb_add_backend(odb_raw, impl, kBufferPriority); rc != 0) {
    delete impl;
    return GitStatus(rc, "opening object db");
  }
  return ObjectBuffer(impl);
}

Result<std::string> ObjectBuffer::Flush() {
  if (!impl_ || impl_->order.empty()) return std::string();
  const std::string pack_dir = std::string(git_repository_path(impl_->repo)) + "objects/pack";
  ::mkdir(pack_dir.c_str(), 0755);  // a repository made by hand may lack it
  auto pack = WritePackDurably(pack_dir, impl_->InOrder());
  if (!pack.ok()) return pack.status();
  RefreshObjects(impl_->repo);  // libgit2 reads them from the pack from now on
  impl_->Clear();
  return pack;
}

Status ObjectBuffer::Add(int type, std::string data, ObjectId* id) {
  if (!impl_) return Status::PermissionDenied("store opened read-only: no object can be written");
  const auto git_type = static_cast<git_object_t>(type);
  // An object's id: the SHA-1 of "<type> <size>\0" and its bytes.
  const std::string header =
      std::string(git_object_type2string(git_type)) + " " + std::to_string(data.size());
  auto digest = Sha1({header, std::string_view("\0", 1), data});
  if (!digest.ok()) return digest.status();
  *id = *digest;
  git_oid oid;
  std::memcpy(oid.id, id->data(), id->size());
  // Stored already (an older version a task went back to): nothing to write. No rescan of the
  // packs folder for it (libgit2 would rescan on every miss, and a new object is one).
  if (git_odb_exists_ext(impl_->odb, &oid, GIT_ODB_LOOKUP_NO_REFRESH) == 1) return Status::OK();
  impl_->Put(oid, git_type, std::move(data));
  return Status::OK();
}

void ObjectBuffer::Discard() {
  if (impl_) impl_->Clear();
}

}  // namespace taskfs::storage
