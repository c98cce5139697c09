#include "sync/transport/transport.h"

#include <filesystem>

#include "sync/transport/folder_remote.h"
#include "sync/transport/git_remote.h"
#include "sync/transport/server_remote.h"

namespace taskfs::sync {
namespace {

class GitTransport final : public Transport {
 public:
  GitTransport(std::string name, TransferOptions options)
      : name_(std::move(name)), options_(options) {}

  Result<Fetched> Fetch(storage::Store& store) override {
    auto theirs = FetchFromGit(store, name_, options_);
    if (!theirs.ok()) return theirs.status();
    Fetched fetched;
    fetched.remote_head = *theirs;
    if (!theirs->empty()) fetched.heads.push_back(*theirs);
    return fetched;
  }

  Result<Published> Publish(storage::Store& store, const std::string&) override {
    TASKFS_RETURN_IF_ERROR(PushToGit(store, name_, options_));
    Published published;
    published.pushed = true;
    return published;
  }

 private:
  const std::string name_;
  const TransferOptions options_;
};

// Nobody else writes our ref in the folder, so a publish never races.
class FolderTransport final : public Transport {
 public:
  explicit FolderTransport(RemoteInfo remote) : remote_(std::move(remote)) {}

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
  return std::make_unique<GitTransport>(remote.name, options);
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
