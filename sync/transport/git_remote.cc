#include "sync/transport/git_remote.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/quarantine.h"
#include "storage/store_config.h"
#include "sync/transport/git_auth.h"
#include "sync/transport/remotes.h"

namespace taskfs::sync {

using storage::EnsureLibgit2;
using storage::FileLock;
using storage::GitStatus;
using storage::OidToHex;
using storage::Quarantine;
using storage::RefTarget;
using storage::RemoveStaleLockFile;
using storage::RepoPtr;
using storage::Store;

namespace {

Result<RepoPtr> OpenRepo(const Store& store) { return storage::OpenBareRepository(store.git_dir()); }

struct CallbackState {
  const TransferOptions* options;
  std::unique_ptr<GitAuth> auth;
  std::string rejected;  // push: why the remote refused our branch
  bool printed_progress = false;
};

int AcquireCredential(git_credential** out, const char* url, const char* user_from_url,
                      unsigned int allowed, void* payload) {
  return static_cast<CallbackState*>(payload)->auth->AcquireCredential(out, url, user_from_url,
                                                                       allowed);
}

int CheckCertificate(git_cert* cert, int valid, const char* host, void* payload) {
  return static_cast<CallbackState*>(payload)->auth->CheckCertificate(cert, valid, host);
}

int FetchProgress(const git_indexer_progress* p, void* payload) {
  auto* st = static_cast<CallbackState*>(payload);
  if (!st->options->progress || p->total_objects == 0) return 0;
  std::fprintf(stderr, "\rReceiving objects: %u/%u (%zu KiB)", p->received_objects,
               p->total_objects, p->received_bytes / 1024);
  st->printed_progress = true;
  return 0;
}

int PushProgress(unsigned int current, unsigned int total, size_t bytes, void* payload) {
  auto* st = static_cast<CallbackState*>(payload);
  if (!st->options->progress || total == 0) return 0;
  std::fprintf(stderr, "\rWriting objects: %u/%u (%zu KiB)", current, total, bytes / 1024);
  st->printed_progress = true;
  return 0;
}

int PushUpdate(const char* refname, const char* status, void* payload) {
  if (status) static_cast<CallbackState*>(payload)->rejected = std::string(refname) + ": " + status;
  return 0;
}

git_remote_callbacks MakeCallbacks(CallbackState* state) {
  git_remote_callbacks cb = GIT_REMOTE_CALLBACKS_INIT;
  cb.credentials = AcquireCredential;
  cb.certificate_check = CheckCertificate;
  cb.transfer_progress = FetchProgress;
  cb.push_transfer_progress = PushProgress;
  cb.push_update_reference = PushUpdate;
  cb.payload = state;
  return cb;
}

std::string BranchName(const Store& store) {
  const std::string& ref = store.branch_ref();
  return ref.starts_with("refs/heads/") ? ref.substr(11) : ref;
}

// A repository handle and a remote of it, ready for a transfer.
struct Connection {
  RepoPtr repo;
  RemotePtr remote;
  CallbackState state;

  std::string Where() const {
    const char* url = git_remote_url(remote.get());
    return std::string(git_remote_name(remote.get())) + " (" + UrlForDisplay(url ? url : "") + ")";
  }
};

Result<std::unique_ptr<Connection>> Connect(const Store& store, const std::string& name,
                                            const TransferOptions& options) {
  EnsureLibgit2();
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  auto remote = LookupRemote(repo->get(), name);
  if (!remote.ok()) return remote.status();
  auto c = std::make_unique<Connection>();
  const char* url = git_remote_url(remote->get());
  c->state.options = &options;
  c->state.auth = std::make_unique<GitAuth>(url ? url : "", repo->get(), options);
  // An ssh remote goes where ssh's configuration sends it (its aliases, ports, users).
  if (const std::string& resolved = c->state.auth->connect_url(); !resolved.empty()) {
    TASKFS_RETURN_IF_ERROR(GitStatus(git_remote_set_instance_url(remote->get(), resolved.c_str()),
                                     "connecting to " + resolved));
  }
  c->repo = std::move(repo.value());
  c->remote = std::move(remote.value());
  return c;
}

// The commit `branch` (a full ref name) is at on the connected remote, nullopt when it has none.
Result<std::optional<git_oid>> AdvertisedHead(Connection& c, const std::string& branch) {
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  TASKFS_RETURN_IF_ERROR(
      GitStatus(git_remote_ls(&heads, &count, c.remote.get()), "reading " + c.Where()));
  for (size_t i = 0; i < count; ++i) {
    if (branch == heads[i]->name) return std::optional<git_oid>(heads[i]->oid);
  }
  return std::optional<git_oid>();
}

}  // namespace

Result<std::string> BranchHeadOfGit(const Store& store, const std::string& name,
                                    const TransferOptions& options) {
  auto c = Connect(store, name, options);
  if (!c.ok()) return c.status();
  git_remote_callbacks callbacks = MakeCallbacks(&(*c)->state);
  const int rc =
      git_remote_connect((*c)->remote.get(), GIT_DIRECTION_FETCH, &callbacks, nullptr, nullptr);
  TASKFS_RETURN_IF_ERROR((*c)->state.auth->Finish(rc, "connecting to " + (*c)->Where()));
  auto head = AdvertisedHead(**c, "refs/heads/" + BranchName(store));
  git_remote_disconnect((*c)->remote.get());
  if (!head.ok()) return head.status();
  return *head ? OidToHex(**head) : std::string();
}

Result<std::string> FetchFromGit(const Store& store, const std::string& name,
                                 const TransferOptions& options) {
  auto c = Connect(store, name, options);
  if (!c.ok()) return c.status();
  // The received pack waits in a quarantine until the history it brings passed the checks.
  auto quarantine = Quarantine::Create(store);
  if (!quarantine.ok()) return quarantine.status();
  TASKFS_RETURN_IF_ERROR((*quarantine)->AttachTo((*c)->repo.get()));
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.callbacks = MakeCallbacks(&(*c)->state);
  const std::string branch = BranchName(store);
  const std::string remote_branch = "refs/heads/" + branch;
  const std::string tracking = TrackingRefOf(store, name);
  // A download only: no ref moves (not even the tracking ref, which git_remote_fetch would
  // update) until the history is admitted.
  char* specs[] = {const_cast<char*>(remote_branch.c_str())};
  git_strarray refspecs = {specs, 1};
  int rc = git_remote_download((*c)->remote.get(), &refspecs, &opts);
  if ((*c)->state.printed_progress) std::fprintf(stderr, "\n");
  TASKFS_RETURN_IF_ERROR((*c)->state.auth->Finish(rc, "fetching from " + (*c)->Where()));
  auto head = AdvertisedHead(**c, remote_branch);
  if (!head.ok()) return head.status();
  if (!*head) return std::string();  // an empty remote
  const git_oid head_oid = **head;
  const std::string theirs = OidToHex(head_oid);
  git_remote_disconnect((*c)->remote.get());
  TASKFS_RETURN_IF_ERROR(
      (*quarantine)->Check(RefTarget(store, store.branch_ref()), theirs, "remote " + name));
  TASKFS_RETURN_IF_ERROR((*quarantine)->Admit());
  git_reference* out = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(
      git_reference_create(&out, (*c)->repo.get(), tracking.c_str(), &head_oid, 1, "taskfs: fetch"),
      "recording " + tracking));
  storage::RefPtr recorded(out);
  return theirs;
}

Status PushToGit(const Store& store, const std::string& name,
                 const TransferOptions& options) {
  auto c = Connect(store, name, options);
  if (!c.ok()) return c.status();
  // A repository on a local path: taskfs pushers hold this flock on it, so with it held a branch
  // lock older than 2 s belongs to no live taskfs push (a killed one left it) and a live git
  // command's is gone within that time: it is removed instead of refusing every push for good.
  std::optional<FileLock> local_pushers;
  const char* url = git_remote_url((*c)->remote.get());
  if (std::string path = LocalPathOf(url ? url : ""); !path.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(path + "/.git", ec)) path += "/.git";
    local_pushers.emplace(path + "/taskfs-push.lock");
    if (local_pushers->held()) {
      RemoveStaleLockFile(path + "/" + store.branch_ref() + ".lock", std::chrono::seconds(2),
                          /*wait=*/true);
    }
  }
  CallbackState& state = (*c)->state;
  git_push_options opts = GIT_PUSH_OPTIONS_INIT;
  opts.callbacks = MakeCallbacks(&state);
  const std::string refspec = store.branch_ref() + ":" + store.branch_ref();
  char* specs[] = {const_cast<char*>(refspec.c_str())};
  git_strarray refspecs = {specs, 1};
  int rc = git_remote_push((*c)->remote.get(), &refspecs, &opts);
  if (state.printed_progress) std::fprintf(stderr, "\n");
  const std::string where = (*c)->Where();
  // A local path's push says GIT_ENONFASTFORWARD; a server's refusal comes through the callback.
  if (rc == GIT_ENONFASTFORWARD || !state.rejected.empty()) {
    return Status::Conflict("push to " + where + " was refused: the remote moved (" +
                            (state.rejected.empty() ? "not a fast-forward" : state.rejected) + ")");
  }
  return state.auth->Finish(rc, "pushing to " + where);
}

}  // namespace taskfs::sync
