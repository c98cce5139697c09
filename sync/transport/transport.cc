#include "sync/transport/transport.h"

#include <filesystem>

#include "storage/store_config.h"
#include "sync/transport/folder_remote.h"
#include "sync/transport/git_remote.h"
#include "sync/transport/server_remote.h"

namespace taskfs::sync {

void NameAuthor(const storage::Store& store, Peer* peer) {
  if (peer->head.empty()) return;
  if (auto info = store.Info(peer->head); info.ok()) peer->name = info->author;
}

namespace {

class GitTransport final : public Transport {
 public:
  GitTransport(RemoteInfo remote, TransferOptions options)
      : remote_(std::move(remote)), options_(options) {}

  std::string Describe() const override { return "git repository " + UrlForDisplay(remote_.url); }

  // Who pushes to a git repository it does not record: its one peer is the branch.
  Result<std::vector<Peer>> ListPeers(storage::Store& store) override {
    auto head = BranchHeadOfGit(store, remote_.name, options_);
    if (!head.ok()) return head.status();
    Peer branch;
    branch.id = store.branch_ref();
    branch.head = *head;
    if (auto info = store.Info(branch.head); info.ok()) {
      branch.name = info->author;
      branch.published = info->time;  // its commit's time: git records no push time
    }
    branch.is_us =
        !branch.head.empty() && branch.head == storage::RefTarget(store, store.branch_ref());
    return std::vector<Peer>{branch};
  }

  Result<Fetched> Fetch(storage::Store& store) override {
    auto theirs = FetchFromGit(store, remote_.name, options_);
    if (!theirs.ok()) return theirs.status();
    Fetched fetched;
    fetched.remote_head = *theirs;
    if (!theirs->empty()) fetched.heads.push_back(*theirs);
    return fetched;
  }

  Result<Published> Publish(storage::Store& store, const std::string&) override {
    TASKFS_RETURN_IF_ERROR(PushToGit(store, remote_.name, options_));
    Published published;
    published.pushed = true;
    return published;
  }

 private:
  const RemoteInfo remote_;
  const TransferOptions options_;
};

// Nobody else writes our ref in the folder, so a publish never races.
class FolderTransport final : public Transport {
 public:
  explicit FolderTransport(RemoteInfo remote) : remote_(std::move(remote)) {}

  std::string Describe() const override { return "shared folder " + remote_.url; }

  Result<std::vector<Peer>> ListPeers(storage::Store& store) override {
    auto clients = ListFolderClients(remote_.name, remote_.url);
    if (!clients.ok()) return clients.status();
    std::vector<Peer> peers;
    for (const FolderClient& client : *clients) {
      Peer peer;
      peer.id = client.id;
      peer.head = client.head;
      peer.published = client.written;
      peer.is_us = client.id == store.client_id();
      NameAuthor(store, &peer);
      peers.push_back(std::move(peer));
    }
    return peers;
  }

  Result<Fetched> Fetch(storage::Store& store) override {
    auto folder = FetchFromFolder(store, remote_.name, remote_.url);
    if (!folder.ok()) return folder.status();
    Fetched fetched;
    fetched.heads = std::move(folder->heads);
    fetched.waiting = folder->waiting;
    fetched.garbage = std::move(folder->garbage);
    fetched.refused = std::move(folder->refused);
    return fetched;
  }

  Result<Published> Publish(storage::Store& store, const std::string&) override {
    auto published = PublishToFolder(store, remote_.name, remote_.url);
    if (!published.ok()) return published.status();
    Published result;
    result.pushed = *published;
    return result;
  }

 private:
  const RemoteInfo remote_;
};

}  // namespace

std::unique_ptr<Transport> OpenTransport(const RemoteInfo& remote, const TransferOptions& options) {
  switch (remote.kind) {
    case RemoteKind::kFolder:
      return std::make_unique<FolderTransport>(remote);
    case RemoteKind::kServer:
      return OpenServerTransport(remote);
    case RemoteKind::kGit:
      break;
  }
  return std::make_unique<GitTransport>(remote, options);
}

Result<std::unique_ptr<HeadWatch>> WatchHead(const storage::Store& store,
                                             const RemoteInfo& remote) {
  if (remote.kind == RemoteKind::kServer) return OpenServerHeadWatch(store, remote);
  return Status::NotSupported(std::string(KindName(remote.kind)) +
                              " remotes are watched by inotify or polled");
}

std::vector<std::string> WatchPathsOf(const RemoteInfo& remote) {
  if (remote.kind == RemoteKind::kFolder) {
    return {remote.url + "/refs/clients", remote.url + "/objects/pack"};
  }
  std::string repo = LocalPathOf(remote.url);
  if (repo.empty()) return {};
  std::error_code ec;
  if (std::filesystem::is_directory(repo + "/.git", ec)) repo += "/.git";
  return {repo, repo + "/refs/heads"};
}

}  // namespace taskfs::sync
