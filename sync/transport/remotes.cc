#include "sync/transport/remotes.h"

#include "storage/file_util.h"
#include "storage/local_state.h"
#include "storage/store_config.h"
#include "sync/transport/folder_remote.h"

namespace taskfs::sync {

using storage::EnsureLibgit2;
using storage::GitStatus;
using storage::ReadWholeFile;
using storage::RevwalkPtr;
using storage::SetConfigValue;
using storage::Store;
using storage::WriteFileAtomically;

namespace {

Result<storage::RepoPtr> OpenRepo(const Store& store) {
  return storage::OpenBareRepository(store.git_dir());
}

std::string FolderKey(const std::string& name) { return "remote." + name + ".taskfsFolder"; }
std::string ServerCertKey(const std::string& name) {
  return "remote." + name + ".taskfsServerCert";
}

Result<RemoteInfo> Describe(git_repository* repo, const std::string& name) {
  auto remote = LookupRemote(repo, name);
  if (!remote.ok()) return remote.status();
  const char* url = git_remote_url(remote->get());
  RemoteInfo info{name, url ? url : "", RemoteKind::kGit, ""};
  if (info.url.starts_with("taskfs://")) info.kind = RemoteKind::kServer;
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, repo) == 0) {
    storage::ConfigPtr config(cfg);
    int folder = 0;
    if (git_config_get_bool(&folder, cfg, FolderKey(name).c_str()) == 0 && folder) {
      info.kind = RemoteKind::kFolder;
    }
    storage::GitBuf cert;
    if (git_config_get_string_buf(cert.get(), cfg, ServerCertKey(name).c_str()) == 0) {
      info.server_cert = cert.str();
    }
  }
  return info;
}

}  // namespace

Result<RemotePtr> LookupRemote(git_repository* repo, const std::string& name) {
  git_remote* raw = nullptr;
  int rc = git_remote_lookup(&raw, repo, name.c_str());
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound("no remote named '" + name + "' (add one with `taskfs remote add " +
                            name + " URL`)");
  }
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "remote " + name));
  return RemotePtr(raw);
}

Status AddRemote(const Store& store, const std::string& name, const std::string& url,
                 RemoteKind kind, const std::string& server_cert) {
  if (url.starts_with("taskfs://")) kind = RemoteKind::kServer;
  if (kind == RemoteKind::kFolder) TASKFS_RETURN_IF_ERROR(InitFolderRemote(url));
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  git_remote* raw = nullptr;
  int rc = git_remote_create(&raw, repo->get(), name.c_str(), url.c_str());
  if (rc == GIT_EEXISTS) return Status::AlreadyExists("a remote named '" + name + "' exists");
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "adding remote " + name));
  RemotePtr added(raw);
  if (kind == RemoteKind::kFolder) return SetConfigValue(store, FolderKey(name), "true");
  if (kind == RemoteKind::kServer) {
    auto pem = ReadWholeFile(server_cert);
    if (server_cert.empty() || !pem) {
      (void)RemoveRemote(store, name);  // undoing the half-added remote; the error below says why
      return Status::InvalidArgument(
          "a taskfs:// remote needs --server-cert FILE: the server's certificate (server.crt "
          "in its directory), to check that it is the server");
    }
    const std::string pinned = storage::LocalState(store).server_cert(name);
    TASKFS_RETURN_IF_ERROR(WriteFileAtomically(pinned, *pem));
    return SetConfigValue(store, ServerCertKey(name), pinned);
  }
  return Status::OK();
}

const char* KindName(RemoteKind kind) {
  switch (kind) {
    case RemoteKind::kFolder:
      return "folder";
    case RemoteKind::kServer:
      return "server";
    case RemoteKind::kGit:
      break;
  }
  return "git";
}

Status RemoveRemote(const Store& store, const std::string& name) {
  EnsureLibgit2();
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  int rc = git_remote_delete(repo->get(), name.c_str());
  if (rc == GIT_ENOTFOUND) return Status::NotFound("no remote named '" + name + "'");
  return GitStatus(rc, "removing remote " + name);
}

Result<std::vector<RemoteInfo>> ListRemotes(const Store& store) {
  EnsureLibgit2();
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  storage::StrArray names;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_remote_list(names.get(), repo->get()), "listing remotes"));
  std::vector<RemoteInfo> remotes;
  for (size_t i = 0; i < names->count; ++i) {
    auto remote = Describe(repo->get(), names->strings[i]);
    if (remote.ok()) remotes.push_back(*remote);
  }
  return remotes;
}

Result<RemoteInfo> FindRemote(const Store& store, const std::string& name) {
  EnsureLibgit2();
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  return Describe(repo->get(), name);
}

std::string TrackingRefOf(const Store& store, const std::string& remote) {
  const std::string& branch = store.branch_ref();
  return "refs/remotes/" + remote + "/" +
         (branch.starts_with("refs/heads/") ? branch.substr(11) : branch);
}

Result<int> PendingCommits(const Store& store, const std::string& remote) {
  EnsureLibgit2();
  auto repo = OpenRepo(store);
  if (!repo.ok()) return repo.status();
  git_revwalk* raw = nullptr;
  TASKFS_RETURN_IF_ERROR(GitStatus(git_revwalk_new(&raw, repo->get()), "walking history"));
  RevwalkPtr walk(raw);
  int rc = git_revwalk_push_ref(walk.get(), store.branch_ref().c_str());
  if (rc == GIT_ENOTFOUND) return 0;  // no commits yet
  TASKFS_RETURN_IF_ERROR(GitStatus(rc, "walking history"));
  const std::string glob = "refs/remotes/" + remote + "/*";
  git_revwalk_hide_glob(walk.get(), glob.c_str());  // none yet: everything is pending
  int count = 0;
  git_oid oid;
  while ((rc = git_revwalk_next(&oid, walk.get())) == 0) ++count;
  if (rc != GIT_ITEROVER) return GitStatus(rc, "walking history");
  return count;
}

std::string LocalPathOf(const std::string& url) {
  if (url.starts_with("file://")) return url.substr(7);
  if (url.starts_with("/")) return url;
  return "";
}

std::string UrlForDisplay(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t at = url.find('@', scheme);
  const size_t slash = url.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace taskfs::sync
