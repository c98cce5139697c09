// taskfs-server's threads in this process, so that ThreadSanitizer sees them (the other server
// tests run the binary): long-polls waiting while pushes from other threads move the branch,
// peers listed meanwhile, and a stop that answers every wait. Real TLS on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <mutex>
#include <thread>

#include "storage/file_util.h"
#include "storage/store.h"
#include "storage/store_config.h"
#include "sync/server/client_registry.h"
#include "sync/server/task_server.h"
#include "sync/syncer.h"
#include "sync/transport/remotes.h"
#include "sync/transport/tls.h"
#include "sync/transport/transport.h"
#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using testing::TempDir;

class InProcessServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = dir_ / "server";
    ASSERT_TRUE(InitServer(dir, {"127.0.0.1"}).ok());
    ServerOptions options;
    options.dir = dir;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    auto server = TaskServer::Open(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    auto port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    url_ = "taskfs://127.0.0.1:" + std::to_string(*port);
    serving_ = std::thread([this] { EXPECT_TRUE(server_->Serve().ok()); });
  }
  void TearDown() override { StopServer(); }
  void StopServer() {
    if (!server_) return;
    server_->Stop();
    serving_.join();
    server_.reset();
  }

  // A store of its own whose remote "origin" is the server, with a key registered as `name`.
  std::unique_ptr<storage::Store> Client(const std::string& name) {
    const std::string path = dir_ / name;
    auto store = storage::Store::Init(path, name);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    auto id = MakeIdentity(name);
    EXPECT_TRUE(id.ok());
    EXPECT_TRUE(storage::WriteFileAtomically(path + ".key", id->key_pem, 0600).ok());
    EXPECT_TRUE(storage::WriteFileAtomically(path + ".crt", id->cert_pem, 0644).ok());
    const ServerPaths paths(dir_ / "server");
    auto registry = ClientRegistry::Load(paths.clients);
    EXPECT_TRUE(registry.ok());
    EXPECT_TRUE(registry->Register(name, id->cert_pem, std::time(nullptr)).ok());
    EXPECT_TRUE(registry->Save(paths.clients).ok());
    EXPECT_TRUE(AddRemote(**store, "origin", url_, RemoteKind::kServer, paths.cert).ok());
    EXPECT_TRUE(storage::SetConfigValue(**store, "taskfs.clientKey", path + ".key").ok());
    EXPECT_TRUE(storage::SetConfigValue(**store, "taskfs.clientCert", path + ".crt").ok());
    return std::move(*store);
  }
  std::unique_ptr<HeadWatch> Watch(const storage::Store& store) {
    auto remote = FindRemote(store, "origin");
    EXPECT_TRUE(remote.ok());
    auto watch = WatchHead(store, *remote);
    EXPECT_TRUE(watch.ok()) << watch.status().ToString();
    return watch.ok() ? std::move(*watch) : nullptr;
  }
  // Commits `rounds` edits of a task of its own in `store`, syncing after each.
  static void EditAndSync(storage::Store& store, const std::string& name, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      auto committed = store.Commit(
          {{name + ".yaml", "title: " + name + " " + std::to_string(i) + "\n"}}, "edit " + name);
      ASSERT_TRUE(committed.ok()) << committed.status().ToString();
      auto synced = SyncWithRemote(store, "origin", {});
      ASSERT_TRUE(synced.ok()) << synced.status().ToString();
    }
  }

  TempDir dir_;
  std::unique_ptr<TaskServer> server_;
  std::thread serving_;
  std::string url_;
};

TEST_F(InProcessServerTest, WaitsHearOfPushesFromOtherThreadsWhileOthersListPeers) {
  auto ada = Client("ada"), bob = Client("bob"), cy = Client("cy");
  auto watch = Watch(*cy);
  ASSERT_NE(watch, nullptr);
  std::atomic<bool> done{false};
  std::mutex mu;
  std::string heard;  // guarded by mu: the newest head the watch answered
  std::thread watcher([&] {
    std::string known;
    while (!done.load()) {
      auto head = watch->WaitForHead(known, std::chrono::seconds(2));
      ASSERT_TRUE(head.ok()) << head.status().ToString();
      known = *head;
      std::lock_guard lock(mu);
      heard = known;
    }
  });
  std::thread lister([&] {
    auto remote = FindRemote(*cy, "origin");
    auto transport = OpenTransport(*remote, {});
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(transport->ListPeers(*cy).ok());
  });
  std::thread a([&] { EditAndSync(*ada, "ada", 4); });
  std::thread b([&] { EditAndSync(*bob, "bob", 4); });
  a.join();
  b.join();
  ASSERT_TRUE(SyncWithRemote(*ada, "origin", {}).ok());  // takes bob's last push
  const std::string server_head = storage::RefTarget(*ada, TrackingRefOf(*ada, "origin"));
  EXPECT_TRUE(testing::WaitUntil([&] {
    std::lock_guard lock(mu);
    return heard == server_head;
  }));
  done = true;
  watcher.join();
  lister.join();
}

TEST_F(InProcessServerTest, StoppingAnswersEveryWaitAtOnce) {
  auto ada = Client("ada");
  EditAndSync(*ada, "ada", 1);
  const std::string head = ada->snapshot()->commit_id();
  std::vector<std::unique_ptr<HeadWatch>> watches;
  for (int i = 0; i < 3; ++i) watches.push_back(Watch(*ada));
  std::atomic<int> connected{0};
  std::vector<Result<std::string>> answers(watches.size(), Status::Unavailable("none"));
  std::vector<std::thread> waiters;
  for (size_t i = 0; i < watches.size(); ++i) {
    waiters.emplace_back([&, i] {
      (void)watches[i]->WaitForHead(head, std::chrono::seconds(0));  // opens the connection
      ++connected;
      answers[i] = watches[i]->WaitForHead(head, std::chrono::seconds(50));
    });
  }
  ASSERT_TRUE(testing::WaitUntil([&] { return connected.load() == 3; }));
  StopServer();  // joins Serve(): returns only once every wait was answered
  for (auto& t : waiters) t.join();
  for (auto& answer : answers) {
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    EXPECT_EQ(*answer, head);
  }
}

}  // namespace
}  // namespace taskfs::sync
