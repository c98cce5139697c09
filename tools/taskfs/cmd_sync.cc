// taskfs remote add|remove|show|list, sync, clone, conflicts.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "storage/committer.h"
#include "storage/format_time.h"
#include "storage/local_state.h"
#include "storage/store.h"
#include "storage/store_location.h"
#include "storage/task_limits.h"
#include "sync/merge/conflicts.h"
#include "sync/syncer.h"
#include "sync/transport/folder_remote.h"
#include "sync/transport/git_remote.h"
#include "sync/transport/remotes.h"
#include "sync/transport/transport.h"
#include "tools/taskfs/commands.h"

namespace taskfs::cli {
namespace {

// When a mount serves this store, waits (up to 2 s) until it shows the branch's new head, so that
// a `cat` right after `taskfs sync` sees the merged tasks.
void WaitForMountToCatchUp(const storage::Store& store) {
  const auto record = storage::ReadMountRecord(storage::LocalState(store).mount_record());
  if (!record || ::kill(record->pid, 0) != 0) return;
  auto head = store.Head();
  if (!head.ok()) return;
  for (int i = 0; i < 200; ++i) {
    std::ifstream shown(storage::LocalState(store).mount_head());
    std::string id;
    if (shown >> id && id == *head) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// A git repository (bare or not) that is not a taskfs shared folder.
bool IsGitRepository(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (sync::IsFolderRemote(path)) return false;
  return fs::exists(fs::path(path) / "HEAD", ec) || fs::exists(fs::path(path) / ".git", ec);
}

// True when `url` is a local path, not a URL or an scp-like `host:path`.
bool IsPath(const std::string& url) {
  return url.find("://") == std::string::npos &&
         (url.find(':') == std::string::npos || url.find('/') < url.find(':'));
}

// `url` as stored in the remote: a path made absolute (it would only work from this folder).
std::string RemoteUrlOf(const std::string& url) {
  std::string where =
      IsPath(url) ? std::filesystem::absolute(url).lexically_normal().string() : url;
  while (where.size() > 1 && where.back() == '/') where.pop_back();
  return where;
}

int Fail(const std::string& command, const Status& st) {
  std::cerr << "taskfs " << command << ": " << st.message() << "\n";
  return 1;
}

}  // namespace

int RunRemoteAdd(const GlobalOptions& g, const std::string& name, const std::string& url,
                 RemoteKindChoice choice, const std::string& server_cert, bool accept_host_key) {
  auto store = OpenStore(g, storage::Store::Access::kReadOnly, storage::Store::Load::kOnFirstUse);
  if (!store.ok()) return Fail("remote add", store.status());
  const bool is_path = IsPath(url);
  const std::string where = RemoteUrlOf(url);
  sync::RemoteKind kind = sync::RemoteKind::kGit;
  if (choice == RemoteKindChoice::kFolder) {
    kind = sync::RemoteKind::kFolder;
  } else if (choice == RemoteKindChoice::kAuto && is_path && !IsGitRepository(where)) {
    kind = sync::RemoteKind::kFolder;
  }
  if (url.starts_with("taskfs://")) kind = sync::RemoteKind::kServer;
  if (Status st = sync::AddRemote(**store, name, where, kind, server_cert); !st.ok()) {
    return Fail("remote add", st);
  }
  const char* what = kind == sync::RemoteKind::kFolder   ? "shared folder"
                     : kind == sync::RemoteKind::kServer ? "taskfs server"
                                                            : "git remote";
  std::cout << "Added " << what << " " << name << " (" << sync::UrlForDisplay(where) << ").\n";
  if (accept_host_key && kind == sync::RemoteKind::kGit) {
    // Connects once, so that an ssh host not yet known is recorded now.
    sync::TransferOptions options;
    options.accept_new_host_key = true;
    if (auto head = sync::BranchHeadOfGit(**store, name, options); !head.ok()) {
      return Fail("remote add", head.status());
    }
  }
  std::cout << "It syncs whenever the store is mounted or `taskfs daemon` runs; now: taskfs sync\n";
  return 0;
}

int RunRemoteRemove(const GlobalOptions& g, const std::string& name) {
  auto store = OpenStore(g, storage::Store::Access::kReadOnly, storage::Store::Load::kOnFirstUse);
  if (!store.ok()) return Fail("remote remove", store.status());
  if (Status st = sync::RemoveRemote(**store, name); !st.ok()) {
    return Fail("remote remove", st);
  }
  return 0;
}

int RunRemoteList(const GlobalOptions& g) {
  auto store = OpenStore(g, storage::Store::Access::kReadOnly, storage::Store::Load::kOnFirstUse);
  if (!store.ok()) return Fail("remote", store.status());
  auto remotes = sync::ListRemotes(**store);
  if (!remotes.ok()) return Fail("remote", remotes.status());
  for (const auto& r : *remotes) {
    std::cout << r.name << "\t" << sync::KindName(r.kind) << "\t" << sync::UrlForDisplay(r.url)
              << "\n";
  }
  return 0;
}

int RunRemoteShow(const GlobalOptions& g, const std::string& name) {
  auto store = OpenStore(g, storage::Store::Access::kReadOnly, storage::Store::Load::kOnFirstUse);
  if (!store.ok()) return Fail("remote show", store.status());
  auto remote = sync::FindRemote(**store, name);
  if (!remote.ok()) return Fail("remote show", remote.status());
  auto transport = sync::OpenTransport(*remote, {});
  std::cout << name << ": " << transport->Describe() << "\n";
  auto peers = transport->ListPeers(**store);
  if (!peers.ok()) return Fail("remote show", peers.status());
  if (peers->empty()) std::cout << "  no machine has synced through it yet\n";
  for (const sync::Peer& peer : *peers) {
    std::cout << "  " << storage::EscapeForDisplay(peer.id) << "  "
              << (peer.name.empty() ? "?" : storage::EscapeForDisplay(peer.name)) << "  "
              << (peer.head.empty() ? "(no head yet)" : peer.head.substr(0, 12));
    if (peer.published > 0) std::cout << "  " << FormatTime(peer.published, "%Y-%m-%d %H:%M:%S");
    if (peer.is_us) std::cout << "  (this store)";
    std::cout << "\n";
  }
  return 0;
}

int RunSync(const GlobalOptions& g, std::vector<std::string> remotes) {
  auto store = OpenStore(g, storage::Store::Access::kReadWrite, storage::Store::Load::kOnFirstUse);
  if (!store.ok()) return Fail("sync", store.status());
  if (remotes.empty()) {
    auto all = sync::ListRemotes(**store);
    if (!all.ok()) return Fail("sync", all.status());
    for (const auto& r : *all) remotes.push_back(r.name);
    if (remotes.empty()) {
      std::cerr << "taskfs sync: no remotes configured (add one with `taskfs remote add NAME "
                   "URL`)\n";
      return 1;
    }
  }
  // What was saved or removed right before goes with this sync: `rm x.yaml && taskfs sync`.
  if (Status st = storage::CommitJournal(**store, /*deferred_deletes=*/true); !st.ok()) {
    std::cerr << "taskfs sync: " << st.message() << "\n";
  }
  sync::TransferOptions options;
  options.progress = ::isatty(2);
  int rc = 0;
  for (const auto& remote : remotes) {
    auto report = sync::SyncWithRemote(**store, remote, options);
    if (!report.ok()) {
      rc = Fail("sync", report.status());
      continue;
    }
    std::cout << report->Summary() << "\n";
    if (report->merged || report->fast_forwarded) WaitForMountToCatchUp(**store);
  }
  return rc;
}

int RunClone(const GlobalOptions& g, const std::string& url, const std::string& name,
             bool accept_host_key) {
  const std::string path = storage::ResolveStorePath(g.store);
  auto store = storage::Store::Init(path, name);
  if (!store.ok()) return Fail("clone", store.status());
  // A shared folder is recognised by its layout: taken for a plain git repository, its clients
  // would each read and write a branch the others never look at.
  const std::string where = RemoteUrlOf(url);
  const sync::RemoteKind kind = IsPath(url) && sync::IsFolderRemote(where)
                                       ? sync::RemoteKind::kFolder
                                       : sync::RemoteKind::kGit;
  if (Status st = sync::AddRemote(**store, "origin", where, kind); !st.ok()) {
    return Fail("clone", st);
  }
  sync::TransferOptions options;
  options.progress = ::isatty(2);
  options.accept_new_host_key = accept_host_key;
  auto report = sync::SyncWithRemote(**store, "origin", options);
  if (!report.ok()) {
    // Like `git clone`, a clone that failed leaves nothing behind: the next try starts afresh.
    store->reset();
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    std::cerr << "taskfs clone: " << report.status().message() << "\n(nothing was kept at " << path
              << ")\n";
    return 1;
  }
  std::cout << "Cloned " << url << " into " << path
            << " (files: " << (*store)->snapshot()->file_count() << ").\n";
  return 0;
}

int RunConflicts(const GlobalOptions& g) {
  // What was saved right before counts: `sed -i ...; taskfs conflicts` shows the result.
  auto store = OpenCommittedStore(g);
  if (!store.ok()) return Fail("conflicts", store.status());
  auto tasks = (*store)->Refresh();
  if (!tasks.ok()) return Fail("conflicts", tasks.status());
  // Names and values come from any machine's commits: printed escaped.
  const auto shown = [](const std::string& s) { return storage::EscapeForDisplay(s); };
  for (const auto& task : sync::FindConflicts(**tasks)) {
    if (!task.copy_of.empty()) {
      std::cout << shown(task.path) << "\n  another version of " << shown(task.copy_of)
                << " that could not be merged: keep what you need, then delete this file\n";
      continue;
    }
    std::cout << shown(task.path) << "\n";
    for (const auto& r : task.records) {
      std::cout << "  " << shown(r.key) << ": kept the other value; lost " << shown(r.value);
      if (!r.by.empty()) std::cout << " by " << shown(r.by);
      if (!r.at.empty()) std::cout << " at " << shown(r.at);
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace taskfs::cli
