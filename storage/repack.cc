#include "storage/repack.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "storage/git_handles.h"
#include "storage/packs.h"

namespace taskfs::storage {
namespace {

namespace fs = std::filesystem;
using PackbuilderPtr = GitPtr<git_packbuilder, git_packbuilder_free>;

struct LooseObject {
  git_oid id;
  fs::path file;
};

std::vector<LooseObject> ListLooseObjects(const std::string& git_dir) {
  std::vector<LooseObject> objects;
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(git_dir + "/objects", ec)) {
    const std::string prefix = dir.path().filename().string();
    if (prefix.size() != 2 || !dir.is_directory(ec)) continue;
    for (const auto& file : fs::directory_iterator(dir.path(), ec)) {
      const std::string hex = prefix + file.path().filename().string();
      LooseObject o;
      if (hex.size() == GIT_OID_HEXSZ && git_oid_fromstr(&o.id, hex.c_str()) == 0) {
        o.file = file.path();
        objects.push_back(std::move(o));
      }
    }
  }
  return objects;
}

Status SyncFile(const std::string& file, int flags = O_RDONLY) {
  int fd = ::open(file.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening " + file);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::FromErrno(err, "syncing " + file);
}

}  // namespace

size_t CountLooseObjects(const std::string& git_dir) { return ListLooseObjects(git_dir).size(); }

Result<size_t> PackLooseObjects(const Store& store) {
  const std::vector<LooseObject> loose = ListLooseObjects(store.git_dir());
  if (loose.empty()) return size_t{0};
  auto repo = OpenBareRepository(store.git_dir());
  if (!repo.ok()) return repo.status();
  git_packbuilder* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_packbuilder_new(&raw, repo->get()), "packing"));
  PackbuilderPtr pb(raw);
  for (const LooseObject& o : loose) {
    TASKFS_RETURN_IF_ERROR(
        GitStatus(git_packbuilder_insert(pb.get(), &o.id, nullptr), "packing loose objects"));
  }
  git_buf buf = GIT_BUF_INIT;
  const int rc = git_packbuilder_write_buf(&buf, pb.get());
  const std::string pack = rc == 0 ? std::string(buf.ptr, buf.size) : std::string();
  git_buf_dispose(&buf);
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "writing a pack of loose objects"));
  const std::string pack_dir = store.git_dir() + "objects/pack";
  auto name = WritePack(pack_dir, pack, "the pack of loose objects");
  if (!name.ok()) return name.status();
  // The pack must be on disk before the only other copies go.
  const std::string base = pack_dir + "/" + name->substr(0, name->size() - 5);
  for (const std::string& file : {base + ".pack", base + ".idx"}) {
    TASKFS_RETURN_IF_ERROR(SyncFile(file));
  }
  TASKFS_RETURN_IF_ERROR(SyncFile(pack_dir, O_RDONLY | O_DIRECTORY));
  std::error_code ec;
  for (const LooseObject& o : loose) fs::remove(o.file, ec);
  return loose.size();
}

}  // namespace taskfs::storage
