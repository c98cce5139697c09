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
#include "storage/subprocess.h"
#include "sync/transport/known_hosts.h"
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

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Asks git's credential helpers for a username and password for `url` (`git credential fill`,
// never prompting on a terminal).
bool CredentialHelper(const std::string& url, std::string* user, std::string* password) {
  if (url.find('\n') != std::string::npos) return false;  // would end the request early
  auto filled = storage::RunProcess({"git", "credential", "fill"}, "url=" + url + "\n\n",
                                    {"GIT_TERMINAL_PROMPT=0"});
  if (!filled.ok() || filled->exit_code != 0) return false;
  std::istringstream lines(filled->output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("username=")) *user = line.substr(9);
    if (line.starts_with("password=")) *password = line.substr(9);
  }
  return !password->empty();
}

struct CallbackState {
  const TransferOptions* options;
  std::string config_key_file;
  int credential_attempts = 0;
  std::string rejected;  // push: why the remote refused our branch
  bool printed_progress = false;
};

int AcquireCredential(git_credential** out, const char* url, const char* user_from_url,
                      unsigned int allowed, void* payload) {
  auto* st = static_cast<CallbackState*>(payload);
  if (++st->credential_attempts > 3) {
    git_error_set_str(GIT_ERROR_NET,
                      "authentication failed (ssh: is the key loaded in ssh-agent or named by "
                      "TASKFS_SSH_KEY? https: set TASKFS_TOKEN or a git credential helper)");
    return GIT_EAUTH;
  }
  const std::string user = user_from_url ? user_from_url : "git";
  if (allowed & GIT_CREDENTIAL_SSH_KEY) {
    std::string key = Env("TASKFS_SSH_KEY");
    if (key.empty()) key = st->config_key_file;
    if (!key.empty()) {
      const std::string pass = Env("TASKFS_SSH_PASSPHRASE");
      return git_credential_ssh_key_new(out, user.c_str(), nullptr, key.c_str(),
                                        pass.empty() ? nullptr : pass.c_str());
    }
    return git_credential_ssh_key_from_agent(out, user.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    std::string name = user_from_url ? user_from_url : "";
    std::string secret = Env("TASKFS_TOKEN");
    if (secret.empty() && !CredentialHelper(url, &name, &secret)) {
      git_error_set_str(GIT_ERROR_NET,
                        "the server asks for a password: set TASKFS_TOKEN or configure a git "
                        "credential helper");
      return GIT_EAUTH;
    }
    if (name.empty()) name = "taskfs";
    return git_credential_userpass_plaintext_new(out, name.c_str(), secret.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
  return GIT_PASSTHROUGH;
}

// ssh: the server's host key must be recorded in known_hosts (libgit2 1.5 would accept any key).
// libgit2 1.5 always gives the key itself (it fails before calling us without it), and its
// SHA-256 when libssh2 has one (1.9 and later); the key is compared, not its MD5.
// https: libgit2's own certificate verification decides.
int CheckCertificate(git_cert* cert, int valid, const char* host, void*) {
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return valid ? 0 : GIT_PASSTHROUGH;
  const auto* offered = reinterpret_cast<const git_cert_hostkey*>(cert);
  const std::string name = host ? host : "";
  HostKey key;
  if ((offered->type & GIT_CERT_SSH_RAW) && offered->hostkey != nullptr) {
    key.blob = {reinterpret_cast<const unsigned char*>(offered->hostkey), offered->hostkey_len};
  }
  if (offered->type & GIT_CERT_SSH_SHA256) key.sha256 = offered->hash_sha256;
  if (key.blob.empty() && key.sha256 == nullptr) {
    git_error_set_str(GIT_ERROR_SSH, ("libgit2 gave neither the host key of " + name +
                                      " nor its SHA-256: cannot check it against known_hosts, "
                                      "refusing to connect")
                                         .c_str());
    return GIT_ECERTIFICATE;
  }
  std::string error;
  switch (CheckKnownHost(name, key)) {
    case HostKeyCheck::kKnown:
      return 0;
    case HostKeyCheck::kMismatch:
      error = "the host key of " + name +
              " does not match the one in known_hosts: refusing to connect (someone may be "
              "intercepting the connection, a man-in-the-middle attack; if the server's key "
              "really changed, remove the old one with `ssh-keygen -R " +
              name + "` and connect once with `ssh " + name + "`)";
      break;
    case HostKeyCheck::kRevoked:
      error = "the host key of " + name +
              " is marked @revoked in known_hosts: refusing to connect (the key may be in an "
              "attacker's hands)";
      break;
    case HostKeyCheck::kUnknownHost:
      error = "the host key of " + name + " is not in ~/.ssh/known_hosts: connect once with `ssh " +
              name + "` to check and record it";
      break;
  }
  git_error_set_str(GIT_ERROR_SSH, error.c_str());
  return GIT_ECERTIFICATE;
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

CallbackState MakeState(const TransferOptions& options, git_repository* repo) {
  CallbackState state{&options, "", 0, "", false};
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, repo) == 0) {
    storage::ConfigPtr config(cfg);
    const char* key = nullptr;  // valid while the snapshot lives
    if (git_config_get_string(&key, cfg, "taskfs.sshKey") == 0 && key) {
      state.config_key_file = key;
    }
  }
  state.options = &options;
  return state;
}

// A repository handle and a remote of it, ready for a transfer.
struct Connection {
  RepoPtr repo;
  RemotePtr remote;
  CallbackState state;

  std::string Where() const {
    const char* url = git_remote_url(remote.get());
    return std::string(git_remote_name(remote.get())) + " (" + (url ? url : "") + ")";
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
  c->state = MakeState(options, repo->get());
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
  TASKFS_RETURN_IF_ERROR(GitStatus(git_remote_connect((*c)->remote.get(), GIT_DIRECTION_FETCH,
                                                      &callbacks, nullptr, nullptr),
                                   "connecting to " + (*c)->Where()));
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
  const std::string tracking = "refs/remotes/" + name + "/" + branch;
  // A download only: no ref moves (not even the tracking ref, which git_remote_fetch would
  // update) until the history is admitted.
  char* specs[] = {const_cast<char*>(remote_branch.c_str())};
  git_strarray refspecs = {specs, 1};
  int rc = git_remote_download((*c)->remote.get(), &refspecs, &opts);
  if ((*c)->state.printed_progress) std::fprintf(stderr, "\n");
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "fetching from " + (*c)->Where()));
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
  return GitStatus(rc, "pushing to " + where);
}

}  // namespace taskfs::sync
