// taskfs-server as a real process on 127.0.0.1, with certificates made at test time: who is
// admitted (and every refusal logged with its reason), key files, the JSON interchange with
// curl, tombstones kept until every client acknowledged them, bad requests, and 50 clients
// syncing at once. (The ten client scenarios over this transport are in sync_test.cc.)
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "storage/repack.h"
#include "storage/store_config.h"
#include "sync/transport/remotes.h"
#include "sync/transport/transport.h"
#include "tests/sync/test_server.h"

namespace taskfs::testing {
namespace {

using sync::RemoteKind;
using taskfs::testing::YamlAliasBomb;

int CountOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ServerTest : public ::testing::Test {
 protected:
  std::string Url(const std::string& path) const {
    return Quote("https://127.0.0.1:" + std::to_string(server_.port()) + path);
  }
  // GET /hashes as the client whose keys are in `keys`; exit code 0 means admitted.
  CommandResult Hashes(const std::string& keys) const {
    return server_.Curl(keys, "-f " + Url("/hashes"));
  }
  CommandResult Post(const std::string& keys, const std::string& path, const std::string& body,
                     const std::string& extra = "") const {
    WriteFile(dir_ / "body.json", body);
    return server_.Curl(keys, "-w '\\n%{http_code}' -H 'Content-Type: application/json' " + extra +
                                  " --data-binary @" + Quote(dir_ / "body.json") + " " + Url(path));
  }

  // `n` clients enrolled at `server` (default: server_), each with `tasks` tasks of its own
  // committed (not yet synced).
  std::vector<std::unique_ptr<SyncClient>> MakeClients(int n, int tasks,
                                                       TestServer* server = nullptr) {
    if (!server) server = &server_;
    std::vector<std::unique_ptr<SyncClient>> clients;
    for (int i = 0; i < n; ++i) {
      const std::string name = "c" + std::to_string(i);
      clients.push_back(std::make_unique<SyncClient>(dir_.path(), name, server->url(),
                                                     RemoteKind::kServer, server->cert()));
      server->Enroll(*clients.back(), name);
      for (int t = 0; t < tasks; ++t) {
        clients.back()->Write(name + "/t" + std::to_string(t) + ".yaml", "title: " + name + "\n");
      }
    }
    return clients;
  }

  TempDir dir_;
  TestServer server_{dir_.path()};
};

TEST_F(ServerTest, AdmitsOnlyRegisteredKeysAndLogsEveryRefusalWithItsReason) {
  const std::string ada = server_.MakeIdentity(dir_ / "ada", "ada");
  const std::string stranger = server_.MakeIdentity(dir_ / "stranger");
  ASSERT_EQ(Hashes(ada).exit_code, 0) << Hashes(ada).output << server_.Log();

  EXPECT_NE(Hashes("").exit_code, 0);
  EXPECT_NE(Hashes(stranger).exit_code, 0);
  // A revoked key.
  const std::string bob = server_.MakeIdentity(dir_ / "bob", "bob");
  ASSERT_EQ(Hashes(bob).exit_code, 0);
  ASSERT_EQ(server_.Admin("revoke bob").exit_code, 0);
  EXPECT_NE(Hashes(bob).exit_code, 0);
  // A rotated key: without grace the old one stops at once; with grace it works until then.
  const std::string cy = server_.MakeIdentity(dir_ / "cy", "cy");
  const std::string cy2 = server_.MakeIdentity(dir_ / "cy2");
  ASSERT_EQ(server_.Admin("rotate cy " + Quote(cy2 + "/client.pub.pem")).exit_code, 0);
  EXPECT_NE(Hashes(cy).exit_code, 0);
  EXPECT_EQ(Hashes(cy2).exit_code, 0);
  const std::string di = server_.MakeIdentity(dir_ / "di", "di");
  const std::string di2 = server_.MakeIdentity(dir_ / "di2");
  const auto rotated = std::chrono::steady_clock::now();  // at most when the grace began
  ASSERT_EQ(server_.Admin("rotate di " + Quote(di2 + "/client.pub.pem") + " --grace 2s").exit_code,
            0);
  EXPECT_EQ(Hashes(di).exit_code, 0);
  EXPECT_TRUE(WaitUntil([&] { return Hashes(di).exit_code != 0; }));  // once the grace is over
  // Not before (times are kept to the second: at least one of the two seconds).
  EXPECT_GE(std::chrono::steady_clock::now() - rotated, std::chrono::seconds(1));
  EXPECT_EQ(Hashes(di2).exit_code, 0);
  // Plain TCP, and a handshake cut off after a few bytes.
  const std::string py = "python3 - " + std::to_string(server_.port()) + R"( <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /hashes HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    print("plain:", s.recv(100))
except OSError as e:
    print("plain:", e)
s.close()
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + b"\x00" * 20)
s.close()
PY
)";
  CommandResult raw = RunCommand(py);
  EXPECT_EQ(raw.output.find("200 OK"), std::string::npos) << raw.output;

  // The server still serves the others, and logged each refusal with its reason.
  EXPECT_EQ(Hashes(ada).exit_code, 0);
  std::string log;
  EXPECT_TRUE(WaitUntil([&] {
    log = server_.Log();
    return CountOf(log, "refused a connection from 127.0.0.1") >= 7;
  })) << log;
  EXPECT_NE(log.find("did not return a certificate"), std::string::npos) << log;
  EXPECT_NE(log.find("unknown client key"), std::string::npos) << log;
  EXPECT_NE(log.find("the key of bob is revoked"), std::string::npos) << log;
  EXPECT_EQ(CountOf(log, "was rotated out and its grace period is over"), 2) << log;
  EXPECT_NE(log.find("http request"), std::string::npos) << log;    // plain TCP
  EXPECT_NE(log.find("unexpected eof"), std::string::npos) << log;  // cut off
}

TEST_F(ServerTest, KeyFilesAreOwnerOnlyAndTheServerRefusesAReadableKey) {
  auto mode = [](const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(server_.dir() + "/server.key"), 0600u);
  EXPECT_EQ(mode(server_.dir() + "/clients.json"), 0600u);
  CommandResult keygen =
      RunCommand("XDG_CONFIG_HOME=" + Quote(dir_ / "cfg") + " " + TASKFS_BIN + " keygen");
  ASSERT_EQ(keygen.exit_code, 0) << keygen.output;
  EXPECT_NE(keygen.output.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  EXPECT_EQ(mode(dir_ / "cfg/taskfs/client.key"), 0600u);
  EXPECT_NE(
      RunCommand("XDG_CONFIG_HOME=" + Quote(dir_ / "cfg") + " " + TASKFS_BIN + " keygen").exit_code,
      0);  // never overwrites a key without --force

  server_.Stop();
  ::chmod((server_.dir() + "/server.key").c_str(), 0644);
  CommandResult serve = RunCommand(std::string(TASKFS_SERVER_BIN) + " serve " +
                                   Quote(server_.dir()) + " --listen 127.0.0.1:0");
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_NE(serve.output.find("readable by others"), std::string::npos) << serve.output;
  ::chmod((server_.dir() + "/clients.json").c_str(), 0644);
  CommandResult admin = server_.Admin("list");
  CommandResult reg = server_.Admin("register --name x " + Quote(dir_ / "cfg/taskfs/client.crt"));
  EXPECT_EQ(reg.exit_code, 1);
  EXPECT_NE(reg.output.find("readable by others"), std::string::npos) << reg.output;
}

TEST_F(ServerTest, JsonInterchangeMergesOnTheServerAndShowsDeletionsAsTombstones) {
  SyncClient git_client(dir_.path(), "laptop", server_.url(), RemoteKind::kServer, server_.cert());
  server_.Enroll(git_client, "laptop");
  const std::string web = server_.MakeIdentity(dir_ / "web", "web");
  git_client.Write("a.yaml", "title: a\nstatus: pending\npriority: L\n");
  git_client.Sync();

  CommandResult hashes = Hashes(web);
  const std::string blob =
      RunCommand("git --git-dir=" + Quote(server_.store()) + " rev-parse main:a.yaml").output;
  EXPECT_EQ(hashes.output, "{\"a\":\"" + blob.substr(0, 40) + "\"}\n");

  // The laptop changes the priority; the web client, from the old version, the status.
  git_client.Write("a.yaml", "title: a\nstatus: pending\npriority: H\n");
  git_client.Sync();
  CommandResult posted = Post(web, "/task/a",
                              R"({"client_state": {"title": "a", "status": "done",
                                  "priority": "L"}, "base": ")" +
                                  blob.substr(0, 40) + "\"}");
  EXPECT_NE(posted.output.find(R"("server_state":{"title":"a","status":"done","priority":"H"})"),
            std::string::npos)
      << posted.output;
  git_client.Sync();
  EXPECT_EQ(git_client.Read("a.yaml"), "title: a\nstatus: done\npriority: H\n");

  // Create, then delete: the deletion shows as a tombstone (null).
  posted = Post(web, "/task/work/new", R"({"client_state": {"title": "from the web"}})");
  EXPECT_NE(posted.output.find("\n200"), std::string::npos) << posted.output;
  git_client.Sync();
  EXPECT_EQ(git_client.Read("work/new.yaml"), "title: from the web\n");
  posted = Post(web, "/task/work/new", R"({"client_state": null})");
  EXPECT_NE(posted.output.find(R"({"server_state":null,"hash":null})"), std::string::npos)
      << posted.output;
  EXPECT_NE(Hashes(web).output.find(R"("work/new":null)"), std::string::npos);
  git_client.Sync();
  EXPECT_EQ(git_client.Read("work/new.yaml"), std::nullopt);

  // Bad requests: clear errors, nothing changed, the server goes on.
  EXPECT_NE(Post(web, "/task/a", "{nope").output.find("\n400"), std::string::npos);
  CommandResult invalid = Post(web, "/task/a", R"({"client_state": {"status": "bogus"}})");
  EXPECT_NE(invalid.output.find("\n422"), std::string::npos) << invalid.output;
  EXPECT_NE(invalid.output.find("status must be one of"), std::string::npos) << invalid.output;
  EXPECT_NE(Post(web, "/task/.hidden", R"({"client_state": null})").output.find("\n400"),
            std::string::npos);
  EXPECT_NE(Post(web, "/sync/push?new=" + std::string(40, 'a'), "not a pack").output.find("\n400"),
            std::string::npos);
  EXPECT_NE(Post(web, "/ack", R"({"version": "x"})").output.find("\n400"), std::string::npos);
  EXPECT_EQ(git_client.Read("a.yaml"), "title: a\nstatus: done\npriority: H\n");
  EXPECT_EQ(GitFsckErrors(server_.store()), "");
}

TEST_F(ServerTest, EveryFieldOfTheJsonProtocolIsValidated) {
  SyncClient laptop(dir_.path(), "laptop", server_.url(), RemoteKind::kServer, server_.cert());
  server_.Enroll(laptop, "laptop");
  const std::string web = server_.MakeIdentity(dir_ / "web", "web");
  laptop.Write("a.yaml", "title: a\n");
  laptop.Sync();
  // Each body is malformed in one field: 400 with what was expected, and nothing changes.
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  const std::pair<std::string, std::string> bad[] = {
      {"/task/a", R"({"client_state": {"title": "b"}, "base": "zzzz"})"},
      {"/task/a", R"({"client_state": {"title": "b"}, "base": 42})"},
      {"/task/a", R"({"client_state": {"title": "b"}, "base": ")" + std::string(40, 'a') + "\"}"},
      {"/task/a", R"({"client_state": {"title": "b", "x": )" + deep + "}}"},
      {"/task/a", R"({"base": null})"},
      {"/task/a", "[]"},
      {"/sync/fetch", R"({"have": ["nope"]})"},
      {"/sync/fetch", R"({"have": "x"})"},
      {"/sync/fetch", R"({"have": [], "applied": 7})"},
      {"/sync/fetch", R"({"have": )" + deep + "}"},
      {"/ack", deep},
  };
  for (const auto& [path, body] : bad) {
    CommandResult r = Post(web, path, body);
    EXPECT_NE(r.output.find("\n400"), std::string::npos)
        << path << " " << body.substr(0, 80) << ": " << r.output;
    EXPECT_NE(r.output.find("{\"error\":"), std::string::npos) << r.output;
  }
  laptop.Sync();
  EXPECT_EQ(laptop.Read("a.yaml"), "title: a\n");
  EXPECT_EQ(GitFsckErrors(server_.store()), "");
}

TEST_F(ServerTest, AnAliasBombChangedByTwoClientsMergesWithoutHangingAnything) {
  auto clients = MakeClients(2, 0);
  clients[0]->Write("bomb.yaml", YamlAliasBomb("lol"));
  clients[0]->Sync();
  clients[1]->Sync();
  // Both change it; the second push races the first and the server merges the two.
  clients[0]->Write("bomb.yaml", YamlAliasBomb("first"));
  clients[1]->Write("bomb.yaml", YamlAliasBomb("lol") + "status: done\n");
  clients[0]->Sync();
  clients[1]->Sync();
  clients[0]->Sync();
  EXPECT_EQ(clients[0]->Read("bomb.yaml"), YamlAliasBomb("first") + "status: done\n");
  EXPECT_EQ(clients[1]->Read("bomb.yaml"), clients[0]->Read("bomb.yaml"));
  const std::string web = server_.MakeIdentity(dir_ / "web", "web");
  EXPECT_EQ(Hashes(web).exit_code, 0);  // the server still answers
}

TEST_F(ServerTest, OversizeBodiesAreRefusedWithA413) {
  server_.Stop();
  TestServer small(dir_ / "small", "--max-body 65536");
  const std::string web = small.MakeIdentity(dir_ / "web", "web");
  WriteFile(dir_ / "big.json", std::string(200000, ' '));
  CommandResult r =
      small.Curl(web, "-w '\\n%{http_code}' --data-binary @" + Quote(dir_ / "big.json") +
                          " https://127.0.0.1:" + std::to_string(small.port()) + "/task/a");
  EXPECT_NE(r.output.find("413"), std::string::npos) << r.output;
  EXPECT_EQ(
      small.Curl(web, "-f https://127.0.0.1:" + std::to_string(small.port()) + "/hashes").exit_code,
      0);
}

TEST_F(ServerTest, ATombstoneLivesUntilEveryActiveClientAcknowledgedIt) {
  const std::string a = server_.MakeIdentity(dir_ / "a", "a");
  const std::string b = server_.MakeIdentity(dir_ / "b", "b");
  server_.MakeIdentity(dir_ / "c", "c");  // registered, never connects
  ASSERT_NE(Post(a, "/task/t", R"({"client_state": {"title": "t"}})").output.find("\n200"),
            std::string::npos);
  ASSERT_NE(Post(a, "/task/t", R"({"client_state": null})").output.find("\n200"),
            std::string::npos);
  CommandResult h = server_.Curl(a, "-D - " + Url("/hashes"));
  ASSERT_NE(h.output.find(R"("t":null)"), std::string::npos) << h.output;
  const size_t at = h.output.find("X-Taskfs-Version: ");
  ASSERT_NE(at, std::string::npos) << h.output;
  const std::string version = h.output.substr(at + 18, h.output.find('\r', at) - at - 18);
  for (const std::string& who : {a, b}) {
    EXPECT_NE(Post(who, "/ack", "{\"version\": " + version + "}").output.find("\n200"),
              std::string::npos);
  }
  EXPECT_NE(Hashes(a).output.find(R"("t":null)"), std::string::npos)
      << "c has not acknowledged it yet";
  ASSERT_EQ(server_.Admin("revoke c").exit_code, 0);
  EXPECT_EQ(Hashes(a).output, "{}\n") << "revoking c releases it";
}

size_t PackCount(const std::string& git_dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(git_dir + "/objects/pack")) {
    n += e.path().extension() == ".pack";
  }
  return n;
}

// Every commit and every push leaves a pack: a client that syncs with no mount (so no committer
// to merge them) and the server both merge them, and every version stays.
TEST_F(ServerTest, PacksThatSavesAndSyncsLeaveAreMergedOnBothSides) {
  SyncClient client(dir_.path(), "laptop", server_.url(), RemoteKind::kServer, server_.cert());
  server_.Enroll(client, "laptop");
  const int rounds = 4 * static_cast<int>(storage::kPackFanout);
  for (int i = 0; i < rounds; ++i) {
    client.Write("a.yaml", "title: " + std::to_string(i) + "\n");
    client.Sync();
  }
  EXPECT_LE(PackCount(client.store().git_dir()), 2 * storage::kPackFanout);
  EXPECT_LE(PackCount(server_.store()), 2 * storage::kPackFanout);
  EXPECT_EQ(GitFsckErrors(server_.store()), "");
  EXPECT_EQ(GitFsckErrors(client.store().git_dir()), "");
  EXPECT_EQ(RunCommand("git --git-dir=" + Quote(server_.store()) + " show main~" +
                       std::to_string(rounds - 1) + ":a.yaml")
                .output,
            "title: 0\n");
}

TEST_F(ServerTest, CommandLineVersionHelpAndATaskfsRemoteWithoutItsCertificate) {
  CommandResult server_version = RunCommand(std::string(TASKFS_SERVER_BIN) + " --version");
  CommandResult client_version = RunCommand(std::string(TASKFS_BIN) + " --version");
  EXPECT_EQ(server_version.output.substr(server_version.output.find(' ')),
            client_version.output.substr(client_version.output.find(' ')));
  for (const char* sub : {"init", "admin", "serve"}) {
    CommandResult help = RunCommand(std::string(TASKFS_SERVER_BIN) + " " + sub + " --help");
    EXPECT_EQ(help.exit_code, 0) << sub;
  }
  EXPECT_EQ(RunCommand(std::string(TASKFS_SERVER_BIN) + " serve").exit_code, 2);
  SyncClient c(dir_.path(), "c", server_.url(), RemoteKind::kServer, server_.cert());
  CommandResult no_cert = RunCommand(std::string(TASKFS_BIN) + " --store " + Quote(c.path()) +
                                     " remote add other " + server_.url());
  EXPECT_EQ(no_cert.exit_code, 1);
  EXPECT_NE(no_cert.output.find("--server-cert"), std::string::npos) << no_cert.output;
  // Not enrolled: its key is not registered, and without one it cannot even try.
  auto unregistered = sync::SyncWithRemote(c.store(), "origin", {});
  ASSERT_FALSE(unregistered.ok());
  EXPECT_NE(unregistered.status().message().find("taskfs keygen"), std::string::npos)
      << unregistered.status().message();
  server_.MakeIdentity(c.path() + "-keys");  // a key pair the server does not know
  ASSERT_TRUE(
      storage::SetConfigValue(c.store(), "taskfs.clientKey", c.path() + "-keys/client.key").ok());
  ASSERT_TRUE(
      storage::SetConfigValue(c.store(), "taskfs.clientCert", c.path() + "-keys/client.crt").ok());
  unregistered = sync::SyncWithRemote(c.store(), "origin", {});
  ASSERT_FALSE(unregistered.ok());
  EXPECT_NE(unregistered.status().message().find("registered there"), std::string::npos)
      << unregistered.status().message();
  // A server that is not the pinned one is refused by the client.
  TestServer impostor(dir_ / "impostor");
  ASSERT_TRUE(
      sync::AddRemote(c.store(), "fake", impostor.url(), RemoteKind::kServer, server_.cert())
          .ok());
  auto fake = sync::SyncWithRemote(c.store(), "fake", {});
  ASSERT_FALSE(fake.ok());
  EXPECT_NE(fake.status().message().find("not the one pinned"), std::string::npos)
      << fake.status().message();
}

TEST_F(ServerTest, AServerKilledDuringSyncsLosesNothingAndTheNextSyncsFinish) {
  constexpr int kClients = 8;
  auto clients = MakeClients(kClients, 40);
  for (int delay_ms : RandomMomentsMs(3, 5, 80)) {
    std::vector<std::thread> threads;
    for (auto& c : clients) {
      // These syncs may fail when the server dies under them: that is the point.
      threads.emplace_back([&c] { (void)sync::SyncWithRemote(c->store(), "origin", {}); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    server_.Kill();
    for (auto& t : threads) t.join();
    EXPECT_EQ(GitFsckErrors(server_.store()), "") << "after a kill at " << delay_ms << " ms";
    server_.Start();
  }
  for (int round = 0; round < 2; ++round) {
    for (auto& c : clients) c->Sync();  // must succeed now
  }
  for (auto& c : clients) {
    EXPECT_EQ(c->Tree().size(), static_cast<size_t>(kClients * 40)) << c->path();
    EXPECT_EQ(GitFsckErrors(c->path()), "");
  }
  EXPECT_EQ(GitFsckErrors(server_.store()), "");
}

TEST_F(ServerTest, FiftyClientsSyncingAtOnceAllSucceedAndConverge) {
  constexpr int kClients = 50;
  auto clients = MakeClients(kClients, 1);
  std::vector<std::thread> threads;
  for (auto& c : clients) threads.emplace_back([&c] { c->Sync(); });  // each must succeed
  for (auto& t : threads) t.join();
  for (auto& c : clients) c->Sync();
  for (auto& c : clients) {
    auto tree = c->Tree();
    EXPECT_EQ(tree.size(), static_cast<size_t>(kClients)) << c->path();
  }
  EXPECT_EQ(clients.front()->Tree(), clients.back()->Tree());
  EXPECT_EQ(GitFsckErrors(server_.store()), "");
}

TEST_F(ServerTest, ABusyServerAnswers503AndEveryClientRetriesUntilItSucceeds) {
  // One worker and one request at a time: nearly every client is told to come back.
  std::filesystem::create_directories(dir_ / "busy");
  TestServer busy(dir_ / "busy", "--threads 1 --max-requests 1");
  constexpr int kClients = 12;
  auto clients = MakeClients(kClients, 1, &busy);
  std::vector<std::thread> threads;
  for (auto& c : clients) threads.emplace_back([&c] { c->Sync(); });  // each must succeed
  for (auto& t : threads) t.join();
  EXPECT_NE(busy.Log().find(": 503 "), std::string::npos) << busy.Log();
  for (auto& c : clients) c->Sync();
  for (auto& c : clients) EXPECT_EQ(c->Tree().size(), static_cast<size_t>(kClients)) << c->path();
  EXPECT_EQ(GitFsckErrors(busy.store()), "");
}

}  // namespace
}  // namespace taskfs::testing

namespace taskfs::testing {
namespace {

std::string BranchOf(const std::string& git_dir) {
  CommandResult r = RunCommand("git --git-dir=" + Quote(git_dir) + " rev-parse refs/heads/main");
  while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
  return r.output;
}

// GET /sync/wait, as the daemon uses it (sync::WatchHead): answers at once when the head is not
// the one named, with the same head when the timeout passes, at once when another client pushes,
// and when cancelled or when the server stops.
class ServerWaitTest : public ServerTest {
 protected:
  void SetUp() override {
    clients_ = MakeClients(2, 1);
    clients_[0]->Sync();
    auto remote = sync::FindRemote(clients_[1]->store(), "origin");
    ASSERT_TRUE(remote.ok()) << remote.status().ToString();
    auto watch = sync::WatchHead(clients_[1]->store(), *remote);
    ASSERT_TRUE(watch.ok()) << watch.status().ToString();
    watch_ = std::move(*watch);
  }
  std::string ServerHead() { return BranchOf(server_.store()); }

  std::vector<std::unique_ptr<SyncClient>> clients_;
  std::unique_ptr<sync::HeadWatch> watch_;
};

TEST_F(ServerWaitTest, AnswersAtOnceWhenTheHeadDiffersAndWithTheSameHeadAfterTheTimeout) {
  const std::string head = ServerHead();
  auto first = watch_->WaitForHead("", std::chrono::seconds(30));
  ASSERT_TRUE(first.ok()) << first.status().ToString() << server_.Log();
  EXPECT_EQ(*first, head);
  auto timed_out = watch_->WaitForHead(head, std::chrono::seconds(1));
  ASSERT_TRUE(timed_out.ok()) << timed_out.status().ToString();
  EXPECT_EQ(*timed_out, head);
  // A head that is not the server's (a stale one): at once.
  auto stale = watch_->WaitForHead(std::string(40, '0'), std::chrono::seconds(30));
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_EQ(*stale, head);
}

TEST_F(ServerWaitTest, AnotherClientsPushEndsTheWaitWithItsHead) {
  const std::string before = ServerHead();
  Result<std::string> heard = Status::Unavailable("not answered");
  std::thread waiter([&] { heard = watch_->WaitForHead(before, std::chrono::seconds(50)); });
  clients_[0]->Write("news.yaml", "title: news\n");
  clients_[0]->Sync();
  waiter.join();  // within the 50 s only if the push woke it
  ASSERT_TRUE(heard.ok()) << heard.status().ToString() << server_.Log();
  EXPECT_NE(*heard, before);
  EXPECT_EQ(*heard, ServerHead());
  EXPECT_EQ(*heard, clients_[0]->store().snapshot()->commit_id());
}

TEST_F(ServerWaitTest, CancelEndsAWaitInProgressAndEveryLaterOne) {
  const std::string head = ServerHead();
  Result<std::string> heard = std::string("not cancelled");
  std::thread waiter([&] { heard = watch_->WaitForHead(head, std::chrono::seconds(50)); });
  // Whether the request is on its way, at the server or not yet sent, it ends.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  watch_->Cancel();
  waiter.join();
  EXPECT_EQ(heard.status().code(), Status::Code::kCancelled) << heard.status().ToString();
  auto later = watch_->WaitForHead("", std::chrono::seconds(50));
  EXPECT_EQ(later.status().code(), Status::Code::kCancelled) << later.status().ToString();
}

TEST_F(ServerWaitTest, StoppingTheServerAnswersTheWaitsSoItStopsAtOnce) {
  const std::string head = ServerHead();
  std::atomic<bool> connected{false};
  Result<std::string> heard = Status::Unavailable("not answered");
  std::thread waiter([&] {
    // The first wait opens the (kept-alive) connection; the second is sent on it at once and
    // is waiting at the server by the time the test sees `connected`.
    (void)watch_->WaitForHead(head, std::chrono::seconds(0));
    connected = true;
    heard = watch_->WaitForHead(head, std::chrono::seconds(50));
  });
  ASSERT_TRUE(WaitUntil([&] { return connected.load(); }));
  server_.Stop();  // fails the test unless the server exits within 10 s of SIGTERM
  waiter.join();
  ASSERT_TRUE(heard.ok()) << heard.status().ToString();  // answered, not cut off
  EXPECT_EQ(*heard, head);
}

TEST_F(ServerTest, PastMaxWaitersAWaitIsBusyAndOtherRequestsAreServed) {
  TestServer server(dir_ / "busy", "--max-waiters 0");
  auto clients = MakeClients(1, 1, &server);
  auto remote = sync::FindRemote(clients[0]->store(), "origin");
  ASSERT_TRUE(remote.ok());
  auto watch = sync::WatchHead(clients[0]->store(), *remote);
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  auto busy = (*watch)->WaitForHead("", std::chrono::seconds(5));
  EXPECT_EQ(busy.status().code(), Status::Code::kBusy) << busy.status().ToString();
  clients[0]->Sync();  // sync itself is not limited by waiters
  EXPECT_EQ(BranchOf(server.store()), clients[0]->store().snapshot()->commit_id());
}

// Quiet for a few seconds after requests, the server holds no pack of its store (their pages
// would count in its memory), and serves as before afterwards.
TEST_F(ServerTest, AServerIdleAfterRequestsKeepsNoPackMapped) {
  auto clients = MakeClients(2, 20);
  const std::string pid = std::to_string(server_.pid());
  const std::string keys = server_.MakeIdentity(dir_ / "reader", "reader");
  for (int round = 0; round < 2; ++round) {
    clients[0]->Write("c0/t0.yaml", "title: round " + std::to_string(round) + "\n");
    for (auto& c : clients) c->Sync();
    clients[0]->Sync();
    ASSERT_EQ(Hashes(keys).exit_code, 0) << server_.Log();
    EXPECT_TRUE(WaitUntil([&] { return PacksHeldBy(pid, server_.store()).held == 0; },
                          std::chrono::seconds(15)))
        << PacksHeldBy(pid, server_.store()).held << " pack files still open or mapped in round "
        << round;
  }
  EXPECT_EQ(clients[0]->Tree(), clients[1]->Tree());
  EXPECT_EQ(clients[1]->Tree().at("c0/t0.yaml"), "title: round 1\n");
  EXPECT_EQ(GitFsckErrors(server_.store()), "");
}

}  // namespace
}  // namespace taskfs::testing
