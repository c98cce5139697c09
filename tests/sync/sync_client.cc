#include "tests/sync/sync_client.h"

#include "storage/commit_message.h"
#include "storage/task_name.h"
#include "sync/merge/field_task_merger.h"

namespace taskfs::testing {

SyncClient::SyncClient(const std::string& dir, const std::string& name,
                       const std::string& remote_url, sync::RemoteKind kind,
                       const std::string& server_cert)
    : path_(dir + "/" + name) {
  auto store = storage::Store::Init(path_, name);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store.value());
  store_->SetMerger(std::make_shared<sync::FieldTaskMerger>());
  EXPECT_TRUE(sync::AddRemote(*store_, "origin", remote_url, kind, server_cert).ok());
}

void SyncClient::Write(const std::string& path, const std::string& content) {
  auto r = store_->Commit({{path, content}}, "edit " + path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

void SyncClient::Remove(const std::string& path) {
  auto r = store_->Commit({{path, std::nullopt}}, "delete " + path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

void SyncClient::Rename(const std::string& from, const std::string& to, RenameRecord record) {
  auto content = Read(from);
  ASSERT_TRUE(content.has_value()) << from;
  const std::string a = storage::TaskNameOf(from), b = storage::TaskNameOf(to);
  const std::string message = record == RenameRecord::kTrailer ? storage::RenameMessage(a, b)
                                                               : "rename " + a + " -> " + b;
  auto r = store_->Commit({{from, std::nullopt}, {to, *content}}, message);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

sync::SyncReport SyncClient::Sync() {
  auto r = sync::SyncWithRemote(*store_, "origin", {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : sync::SyncReport{};
}

void SyncClient::SetClock(std::function<int64_t()> clock) {
  clock_ = clock;
  store_->SetClockForTesting(std::move(clock));
}

void SyncClient::Restart() {
  store_.reset();
  auto store = storage::Store::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store.value());
  store_->SetMerger(std::make_shared<sync::FieldTaskMerger>());
  if (clock_) store_->SetClockForTesting(clock_);
}

std::optional<std::string> SyncClient::Read(const std::string& path) const {
  auto content = store_->snapshot()->ContentAt(path);
  EXPECT_TRUE(content.ok()) << content.status().ToString();
  return content.ok() && *content ? std::optional<std::string>(**content) : std::nullopt;
}

std::map<std::string, std::string> SyncClient::Tree() const {
  std::map<std::string, std::string> tree;
  auto snap = store_->snapshot();
  snap->ForEachFile([&](const std::string& p, const storage::FileEntry& fe) {
    auto content = snap->Content(p, fe);
    EXPECT_TRUE(content.ok()) << content.status().ToString();
    if (content.ok()) tree[p] = **content;
  });
  return tree;
}

std::string MakeBareRemote(const TempDir& dir, const std::string& name) {
  const std::string path = dir / name;
  EXPECT_EQ(RunCommand("git init -q --bare -b main " + Quote(path)).exit_code, 0);
  return path;
}

std::string MakeRemote(const TempDir& dir, sync::RemoteKind kind) {
  return kind == sync::RemoteKind::kGit ? MakeBareRemote(dir) : dir / "shared-folder";
}

}  // namespace taskfs::testing
