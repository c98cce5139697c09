#include "storage/quarantine.h"

#include <git2/sys/odb_backend.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/incoming_history.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/packs.h"

namespace taskfs::storage {
namespace fs = std::filesystem;

namespace {

constexpr auto kStaleQuarantineAge = std::chrono::hours(1);


// Removes the quarantines that a crash left (a live one is minutes old at most).
void RemoveStaleQuarantines(const std::string& root) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const auto written = fs::last_write_time(entry.path(), ec);
    if (!ec && now - written > kStaleQuarantineAge) fs::remove_all(entry.path(), ec);
  }
}

// True if the pack whose .idx is `idx` holds one of `ids`, or cannot be read (then it must go).
bool PackHoldsAny(const std::string& idx, const std::set<std::string>& ids) {
  git_odb_backend* backend = nullptr;
  if (git_odb_backend_one_pack(&backend, idx.c_str()) != 0) return true;
  git_odb* raw = nullptr;
  if (git_odb_new(&raw) != 0) {
    backend->free(backend);
    return true;
  }
  OdbPtr odb(raw);
  if (git_odb_add_backend(raw, backend, 1) != 0) {
    backend->free(backend);
    return true;
  }
  for (const std::string& hex : ids) {
    git_oid oid;
    if (git_oid_fromstr(&oid, hex.c_str()) == 0 && git_odb_exists(raw, &oid)) return true;
  }
  return false;
}

std::string IdxOf(const std::string& pack) { return pack.substr(0, pack.size() - 5) + ".idx"; }

}  // namespace

void Quarantine::RepoDeleter::operator()(git_repository* repo) const { git_repository_free(repo); }

Quarantine::Quarantine(const Store& store, std::string dir) : store_(store), dir_(std::move(dir)) {}

Quarantine::~Quarantine() {
  repo_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Result<std::unique_ptr<Quarantine>> Quarantine::Create(const Store& store) {
  static std::atomic<unsigned> counter{0};
  const std::string root = LocalState(store).quarantine();
  RemoveStaleQuarantines(root);
  const std::string dir =
      root + "/q-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::error_code ec;
  fs::remove_all(dir, ec);  // one a crashed process of the same pid left: never admitted unchecked
  fs::create_directories(dir + "/pack", ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + dir);
  std::unique_ptr<Quarantine> q(new Quarantine(store, dir));
  TASKFS_RETURN_IF_ERROR(q->Reopen());
  return q;
}

Status Quarantine::Reopen() {
  auto repo = OpenBareRepository(store_.git_dir());
  if (!repo.ok()) return repo.status();
  repo_.reset(repo->release());
  return AttachTo(repo_.get());
}

Status Quarantine::AttachTo(git_repository* repo) {
  git_odb* odb = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_repository_odb(&odb, repo), "opening objects"));
  OdbPtr odb_ptr(odb);
  git_odb_backend* backend = nullptr;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_odb_backend_pack(&backend, dir_.c_str()), "opening the quarantine " + dir_));
  // Above the store's own backends: a received pack is written here, not into the store.
  const int rc = git_odb_add_backend(odb, backend, 1000);
  if (rc != 0) backend->free(backend);
  return GitStatus(rc, "opening the quarantine " + dir_);
}

Status Quarantine::AddPack(std::string_view pack, const std::string& what) {
  auto name = WritePack(dir_ + "/pack", pack, what);
  if (!name.ok()) return name.status();
  RefreshObjects(repo_.get());
  return Status::OK();
}

std::vector<std::string> Quarantine::Packs() const {
  std::vector<std::string> packs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/pack", ec)) {
    if (e.path().extension() == ".pack" && fs::exists(IdxOf(e.path().string()), ec)) {
      packs.push_back(e.path().string());
    }
  }
  return packs;
}

Status Quarantine::Check(const std::string& known, const std::string& theirs,
                         const std::string& peer) {
  RefreshObjects(repo_.get());  // packs a fetch wrote meanwhile
  std::set<std::string> hostile;
  Status st = CheckIncomingHistory(repo_.get(), known, theirs, peer, &hostile);
  if (st.ok()) return st;
  // Without a hostile object to point at (a history that could not be read whole), every pack
  // goes: only what was checked may enter.
  bool dropped = false;
  for (const std::string& pack : Packs()) {
    if (!hostile.empty() && !PackHoldsAny(IdxOf(pack), hostile)) continue;
    std::error_code ec;
    fs::remove(IdxOf(pack), ec);
    fs::remove(pack, ec);
    dropped = true;
  }
  if (dropped) {
    if (Status reopened = Reopen(); !reopened.ok()) LogWarning(reopened.ToString());
  }
  return st;
}

Status Quarantine::Admit() {
  const std::string store_packs = store_.git_dir() + "objects/pack";
  const std::vector<std::string> packs = Packs();
  if (packs.empty()) return Status::OK();
  for (const std::string& pack : packs) {
    TASKFS_RETURN_IF_ERROR(SyncToDisk(pack));
    TASKFS_RETURN_IF_ERROR(SyncToDisk(IdxOf(pack)));
  }
  // The .pack before its .idx: readers find a pack by its index.
  for (const std::string& pack : packs) {
    const std::string name = fs::path(pack).filename().string();
    const std::string target = store_packs + "/" + name;
    if (::rename(pack.c_str(), target.c_str()) != 0) {
      return Status::FromErrno(errno, "moving " + pack + " into the store");
    }
    if (::rename(IdxOf(pack).c_str(), IdxOf(target).c_str()) != 0) {
      const int err = errno;
      ::rename(target.c_str(), pack.c_str());  // no pack without its index in the store
      return Status::FromErrno(err, "moving " + IdxOf(pack) + " into the store");
    }
  }
  return SyncToDisk(store_packs);
}

Status AdmitPack(const Store& store, std::string_view pack, const std::string& tip,
                 const std::vector<std::string>& complete_refs, const std::string& known,
                 const std::string& peer, const std::string& what) {
  auto q = Quarantine::Create(store);
  if (!q.ok()) return q.status();
  if (!pack.empty()) TASKFS_RETURN_IF_ERROR((*q)->AddPack(pack, what));
  if (!HasEverything((*q)->repo(), tip, complete_refs)) {
    return Status::Corruption(what + " lacks objects of commit " + tip);
  }
  TASKFS_RETURN_IF_ERROR((*q)->Check(known, tip, peer));
  return (*q)->Admit();
}

}  // namespace taskfs::storage
