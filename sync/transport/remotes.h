// The remotes of a store: their configuration, kept in the repository's own config like
// `git remote` (a folder remote is marked remote.NAME.taskfsFolder = true; a server remote's
// pinned certificate is remote.NAME.taskfsServerCert). Each call opens its own repository
// handle. Thread-safe.
#pragma once

#include <git2.h>

#include <string>
#include <vector>

#include "storage/git_handles.h"
#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::sync {

enum class RemoteKind {
  kGit,     // any URL libgit2 understands: fetch, merge, push one branch
  kFolder,  // a shared folder (Dropbox, Syncthing): see sync/transport/folder_remote.h
  kServer,  // taskfs-server (taskfs://host:port): see sync/transport/server_remote.h
};

// "git", "folder" or "server", as `taskfs remote` shows them.
const char* KindName(RemoteKind kind);

struct RemoteInfo {
  std::string name;
  std::string url;  // for a folder: its absolute path
  RemoteKind kind = RemoteKind::kGit;
  std::string server_cert;  // kServer: the pinned certificate of the server (a file)
};

// A taskfs:// URL is a server remote, whose pinned certificate `server_cert` names (a file);
// it is copied into the store's local dir. A folder remote's folder is made if missing.
Status AddRemote(const storage::Store& store, const std::string& name, const std::string& url,
                 RemoteKind kind = RemoteKind::kGit, const std::string& server_cert = "");
Result<RemoteInfo> FindRemote(const storage::Store& store, const std::string& name);
Status RemoveRemote(const storage::Store& store, const std::string& name);
Result<std::vector<RemoteInfo>> ListRemotes(const storage::Store& store);

// refs/remotes/NAME/BRANCH: where a git or server remote's branch head, as the last fetch or
// push saw it, is recorded (BRANCH: our branch's name).
std::string TrackingRefOf(const storage::Store& store, const std::string& remote);

// Commits on our branch that the remote does not have, as far as we know (the tracking refs
// refs/remotes/NAME/* that the last fetch or push recorded).
Result<int> PendingCommits(const storage::Store& store, const std::string& remote);

// The local path a git remote's URL names ("/srv/x.git", "file:///srv/x.git"), or "" for a
// network URL. The daemon watches such a repository instead of polling it.
std::string LocalPathOf(const std::string& url);

// `url` with any password or token in it replaced by "***", for messages and logs.
std::string UrlForDisplay(const std::string& url);

// For transports: the libgit2 remote `name` of `repo`; NotFound (saying how to add one) if none.
using RemotePtr = storage::GitPtr<git_remote, git_remote_free>;
Result<RemotePtr> LookupRemote(git_repository* repo, const std::string& name);

}  // namespace taskfs::sync
