// ssh and https remotes end to end, against real servers on 127.0.0.1
// (tests/sync/remote_servers.h): an OpenSSH sshd on a spare port and lighttpd serving `git
// http-backend` over TLS with basic auth. Each test has a HOME of its own (~/.ssh, ~/.gitconfig),
// so nothing of the machine's user leaks in, and checks what the user sees: the sync's result and
// its message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>

#include "sync/sync_status.h"
#include "sync/syncer.h"
#include "sync/transport/remotes.h"
#include "tests/sync/daemon_client.h"
#include "tests/sync/remote_servers.h"
#include "tests/sync/sync_client.h"

namespace taskfs::testing {
namespace {

// Sets (or unsets, with nullopt) an environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A HOME with an empty ~/.ssh (mode 0700, as ssh wants it).
struct OwnHome {
  explicit OwnHome(const std::string& home) {
    std::filesystem::create_directories(home + "/.ssh");
    std::filesystem::permissions(home + "/.ssh", std::filesystem::perms::owner_all);
  }
};

class RemoteAuthTest : public ::testing::Test {
 protected:
  std::string Home() const { return dir_ / "home"; }
  std::string SshDir() const { return dir_ / "home/.ssh"; }

  // A client store whose remote "origin" is `url`; `ca_file` its http.sslCAInfo (set in the
  // store: libgit2 reads ~/.gitconfig from the HOME it saw first, which this test changed).
  std::unique_ptr<SyncClient> Client(const std::string& name, const std::string& url,
                                     const std::string& ca_file = "") {
    auto c = std::make_unique<SyncClient>(dir_.path(), name, url, sync::RemoteKind::kGit);
    if (!ca_file.empty()) {
      EXPECT_EQ(RunCommand("git --git-dir=" + Quote(c->path()) + " config http.sslCAInfo " +
                           Quote(ca_file))
                    .exit_code,
                0);
    }
    return c;
  }
  Result<sync::SyncReport> SyncOf(SyncClient& c, bool accept_new_host_key = false) {
    sync::TransferOptions options;
    options.accept_new_host_key = accept_new_host_key;
    return sync::SyncWithRemote(c.store(), "origin", options);
  }
  // The `taskfs` binary with this test's HOME.
  CommandResult Taskfs(const std::string& args) {
    return RunCommand("HOME=" + Quote(Home()) + " " + Quote(TASKFS_BIN) + " " + args + " 2>&1");
  }

  TempDir dir_;
  OwnHome own_home_{dir_ / "home"};
  ScopedEnv home_{"HOME", dir_ / "home"};
  ScopedEnv agent_{"SSH_AUTH_SOCK", std::nullopt};
  ScopedEnv key_{"TASKFS_SSH_KEY", std::nullopt};
  ScopedEnv passphrase_{"TASKFS_SSH_PASSPHRASE", std::nullopt};
  ScopedEnv token_{"TASKFS_TOKEN", std::nullopt};
  ScopedEnv ca_{"GIT_SSL_CAINFO", std::nullopt};
  ScopedEnv config_{"GIT_CONFIG_NOSYSTEM", "1"};
};

// --- ssh ---

class SshRemoteTest : public RemoteAuthTest {
 protected:
  void SetUp() override {
    repo_ = server_.CreateBareRepo("tasks");
    url_ = server_.url("tasks");
    // The user's default key, as ssh would find it.
    const SshKey key = server_.MakeUserKey("user");
    server_.AuthorizeKey(key.public_path);
    std::filesystem::copy_file(key.private_path, SshDir() + "/id_ed25519");
    std::filesystem::copy_file(key.public_path, SshDir() + "/id_ed25519.pub");
  }
  void TrustServer() { WriteFile(SshDir() + "/known_hosts", server_.host_key_line() + "\n"); }
  void TearDown() override { EXPECT_EQ(GitFsckErrors(repo_), ""); }

  SshServer server_;
  std::string repo_, url_;
};

TEST_F(SshRemoteTest, SyncsOnAPortOtherThan22WithTheDefaultKeyAndAKnownHost) {
  ASSERT_NE(server_.port(), 22);
  TrustServer();
  auto c1 = Client("c1", url_), c2 = Client("c2", url_);
  c1->Write("a.yaml", "title: a\n");
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << server_.Log();
  EXPECT_TRUE(sent->pushed);
  EXPECT_EQ(GitShow(repo_, "a.yaml"), "title: a\n");
  auto got = SyncOf(*c2);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(c2->Read("a.yaml"), "title: a\n");
}

TEST_F(SshRemoteTest, TheIssuesScenarioSshKeyscanOfThePortThenSyncWorks) {
  auto c1 = Client("c1", url_);
  c1->Write("a.yaml", "title: a\n");
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  const std::string message = refused.status().message();
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << message;
  // The fingerprint, and commands that keep the port.
  EXPECT_NE(message.find(server_.host_key_fingerprint()), std::string::npos) << message;
  const std::string keyscan = "ssh-keyscan -p " + std::to_string(server_.port()) + " 127.0.0.1";
  EXPECT_NE(message.find(keyscan), std::string::npos) << message;
  EXPECT_NE(message.find("--accept-host-key"), std::string::npos) << message;
  EXPECT_EQ(GitSubjects(repo_).size(), 0u);  // nothing sent
  // What the message says to do, done with the real ssh-keyscan (hashed, as Debian's ssh_config
  // asks).
  ASSERT_EQ(RunCommand("ssh-keyscan -H -p " + std::to_string(server_.port()) + " 127.0.0.1 >> " +
                       Quote(SshDir() + "/known_hosts") + " 2>/dev/null")
                .exit_code,
            0);
  // Hashed names only (ssh-keyscan also writes "# host:port SSH-2.0-..." comment lines).
  std::istringstream recorded(ReadFile(SshDir() + "/known_hosts"));
  int hashed = 0;
  for (std::string line; std::getline(recorded, line);) {
    if (line.starts_with("#")) continue;
    EXPECT_TRUE(line.starts_with("|1|")) << line;
    ++hashed;
  }
  ASSERT_GT(hashed, 0);
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(GitShow(repo_, "a.yaml"), "title: a\n");
}

TEST_F(SshRemoteTest, RemoteAddWithAcceptHostKeyRecordsAnUnknownHostOnly) {
  auto c1 = Client("c1", url_);
  auto added = Taskfs("--store " + Quote(c1->path()) + " remote add other " + Quote(url_) +
                      " --accept-host-key");
  ASSERT_EQ(added.exit_code, 0) << added.output;
  EXPECT_NE(added.output.find(server_.host_key_fingerprint()), std::string::npos) << added.output;
  const std::string recorded = ReadFile(SshDir() + "/known_hosts");
  EXPECT_NE(recorded.find("[127.0.0.1]:" + std::to_string(server_.port()) + " ssh-ed25519 "),
            std::string::npos)
      << recorded;
  c1->Write("a.yaml", "title: a\n");
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  // The same ssh recognises what taskfs wrote.
  EXPECT_EQ(RunCommand("ssh-keygen -F '[127.0.0.1]:" + std::to_string(server_.port()) + "' -f " +
                       Quote(SshDir() + "/known_hosts") + " >/dev/null")
                .exit_code,
            0);
}

TEST_F(SshRemoteTest, AChangedHostKeyIsRefusedLoudlyEvenWhenAskedToAcceptNewKeys) {
  const SshKey other = MakeSshKey(dir_.path(), "other_host", SshKeyType::kEd25519);
  const std::string other_pub = ReadFile(other.public_path);
  const std::string line = "[127.0.0.1]:" + std::to_string(server_.port()) + " " + other_pub;
  WriteFile(SshDir() + "/known_hosts", line);
  auto c1 = Client("c1", url_);
  c1->Write("a.yaml", "title: a\n");
  for (bool accept : {false, true}) {
    auto refused = SyncOf(*c1, accept);
    ASSERT_FALSE(refused.ok());
    const std::string message = refused.status().message();
    EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << message;
    EXPECT_NE(message.find("CHANGED"), std::string::npos) << message;
    EXPECT_NE(message.find("man-in-the-middle"), std::string::npos) << message;
    EXPECT_NE(message.find(server_.host_key_fingerprint()), std::string::npos) << message;
    EXPECT_NE(message.find("ssh-keygen -R '[127.0.0.1]:"), std::string::npos) << message;
  }
  EXPECT_EQ(ReadFile(SshDir() + "/known_hosts"), line);  // never rewritten
  EXPECT_EQ(GitSubjects(repo_).size(), 0u);
}

TEST_F(SshRemoteTest, ARevokedHostKeyIsRefused) {
  WriteFile(SshDir() + "/known_hosts",
            server_.host_key_line() + "\n@revoked * " + ReadFile(server_.host_public_key_path()));
  auto c1 = Client("c1", url_);
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("@revoked"), std::string::npos)
      << refused.status().message();
}

TEST_F(SshRemoteTest, AnSshConfigAliasGivesHostNamePortUserAndIdentityFile) {
  TrustServer();
  std::filesystem::remove(SshDir() + "/id_ed25519");  // only the configured key may work
  std::filesystem::remove(SshDir() + "/id_ed25519.pub");
  const SshKey work = server_.MakeUserKey("work", SshKeyType::kEcdsa);
  server_.AuthorizeKey(work.public_path);
  WriteFile(SshDir() + "/config", "Host tasks-server\n  HostName 127.0.0.1\n  Port " +
                                      std::to_string(server_.port()) + "\n  User " +
                                      server_.user() + "\n  IdentityFile " + work.private_path +
                                      "\n  IdentitiesOnly yes\n");
  // The scp form, as `git clone tasks-server:...` would take it.
  const std::string alias_url = "tasks-server:" + repo_;
  auto c1 = Client("c1", alias_url);
  c1->Write("a.yaml", "title: a\n");
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << server_.Log();
  EXPECT_EQ(GitShow(repo_, "a.yaml"), "title: a\n");
}

// libssh2 1.10 (Debian 12) signs with RSA keys by SHA-1 only, which OpenSSH 8.8 and later refuse
// by default: the message says so, and a server that still takes ssh-rsa works.
TEST_F(SshRemoteTest, AnRsaKeyIsRefusedByAModernServerWithTheReasonAndWorksWhereSha1IsAllowed) {
  std::filesystem::remove(SshDir() + "/id_ed25519");
  std::filesystem::remove(SshDir() + "/id_ed25519.pub");
  const SshKey rsa = server_.MakeUserKey("rsa", SshKeyType::kRsa);
  server_.AuthorizeKey(rsa.public_path);
  std::filesystem::copy_file(rsa.private_path, SshDir() + "/id_rsa");
  std::filesystem::copy_file(rsa.public_path, SshDir() + "/id_rsa.pub");
  TrustServer();
  auto c1 = Client("c1", url_);
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("RSA keys sign with SHA-1"), std::string::npos)
      << refused.status().message();

  SshServer::Options legacy;
  legacy.allow_ssh_rsa_sha1 = true;
  SshServer old_server(legacy);
  const std::string old_repo = old_server.CreateBareRepo("tasks");
  old_server.AuthorizeKey(rsa.public_path);
  WriteFile(SshDir() + "/known_hosts", old_server.host_key_line() + "\n");
  auto c2 = Client("c2", old_server.url("tasks"));
  c2->Write("a.yaml", "title: a\n");
  auto sent = SyncOf(*c2);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << old_server.Log();
  EXPECT_EQ(GitShow(old_repo, "a.yaml"), "title: a\n");
}

TEST_F(SshRemoteTest, AgentKeysWorkAPassphraseKeyWithoutAgentIsAClearErrorNotAHang) {
  TrustServer();
  std::filesystem::remove(SshDir() + "/id_ed25519");
  std::filesystem::remove(SshDir() + "/id_ed25519.pub");
  const SshKey locked = server_.MakeUserKey("locked", SshKeyType::kEd25519, "correct horse");
  server_.AuthorizeKey(locked.public_path);
  std::filesystem::copy_file(locked.private_path, SshDir() + "/id_ed25519");
  auto c1 = Client("c1", url_);
  c1->Write("a.yaml", "title: a\n");
  // No agent, no passphrase: refused at once with what to do (libssh2 could not prompt, and
  // taskfs never reads a terminal).
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  std::string message = refused.status().message();
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << message;
  EXPECT_NE(message.find("id_ed25519 needs its passphrase"), std::string::npos) << message;
  EXPECT_NE(message.find("ssh-add"), std::string::npos) << message;
  // Through an agent holding it.
  SshAgent agent;
  agent.Add(locked);
  {
    ScopedEnv sock("SSH_AUTH_SOCK", agent.sock());
    auto sent = SyncOf(*c1);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << server_.Log();
  }
  // Or with its passphrase given.
  c1->Write("b.yaml", "title: b\n");
  ScopedEnv pass("TASKFS_SSH_PASSPHRASE", "correct horse");
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << server_.Log();
  EXPECT_EQ(GitShow(repo_, "b.yaml"), "title: b\n");
}

TEST_F(SshRemoteTest, AKeyTheServerDoesNotKnowIsRefusedNamingTheKeysTried) {
  TrustServer();
  const SshKey stranger = MakeSshKey(dir_.path(), "stranger", SshKeyType::kEd25519);
  ScopedEnv key("TASKFS_SSH_KEY", stranger.private_path);
  auto c1 = Client("c1", url_);
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  const std::string message = refused.status().message();
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << message;
  EXPECT_NE(message.find("refused every key offered"), std::string::npos) << message;
  EXPECT_NE(message.find(stranger.private_path), std::string::npos) << message;
}

// The daemon with a key the server refuses: one try, then a minute's wait or more (not the
// one second of an unreachable remote), and `taskfs status` says the credentials were refused.
TEST_F(SshRemoteTest, TheDaemonBacksOffARefusedKeyAndStatusSaysWhy) {
  TrustServer();
  const SshKey stranger = MakeSshKey(dir_.path(), "stranger", SshKeyType::kEd25519);
  ScopedEnv key("TASKFS_SSH_KEY", stranger.private_path);
  DaemonClient d(dir_.path(), "d", url_, sync::RemoteKind::kGit);
  d.Write("a.yaml", "title: a\n");
  d.Start();
  std::optional<sync::SyncStatus> st;
  ASSERT_TRUE(WaitUntil([&] {
    st = sync::LoadSyncStatus(d.store());
    return st && !st->remotes.empty() && st->remotes[0].failures >= 1 &&
           st->remotes[0].next_attempt > 0;
  })) << d.Log();
  const sync::RemoteSyncState& r = st->remotes[0];
  EXPECT_TRUE(r.credentials_refused) << r.last_error;
  EXPECT_NE(r.last_error.find("refused every key offered"), std::string::npos) << r.last_error;
  EXPECT_GE(r.next_attempt - r.last_attempt, 45) << "retried too soon for a refused key";
  const std::string status = sync::RenderSyncStatus(d.store());
  EXPECT_NE(status.find("refused our credentials"), std::string::npos) << status;
  d.Stop();
  EXPECT_EQ(sync::LoadSyncStatus(d.store())->remotes[0].failures, 1) << d.Log();
  EXPECT_EQ(d.Read("a.yaml"), "title: a\n");  // nothing lost
}

TEST_F(SshRemoteTest, AKeyRevokedOnTheServerIsRefusedAndWhatWasSentStays) {
  TrustServer();
  auto c1 = Client("c1", url_);
  c1->Write("a.yaml", "title: a\n");
  ASSERT_TRUE(SyncOf(*c1).ok()) << server_.Log();
  server_.RevokeKey(SshDir() + "/id_ed25519.pub");
  c1->Write("b.yaml", "title: b\n");
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << refused.status().message();
  EXPECT_NE(refused.status().message().find("refused every key offered"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(c1->Read("b.yaml"), "title: b\n");  // kept locally, sent once the key is back
  EXPECT_EQ(GitShow(repo_, "a.yaml"), "title: a\n");
  server_.AuthorizeKey(SshDir() + "/id_ed25519.pub");
  ASSERT_TRUE(SyncOf(*c1).ok());
  EXPECT_EQ(GitShow(repo_, "b.yaml"), "title: b\n");
}

// The daemon syncs through ssh as `taskfs sync` does: what one machine saves reaches the other
// with no command run by hand.
TEST_F(SshRemoteTest, TwoDaemonsSyncThroughSsh) {
  TrustServer();
  DaemonClient a(dir_.path(), "a", url_, sync::RemoteKind::kGit);
  DaemonClient b(dir_.path(), "b", url_, sync::RemoteKind::kGit);
  a.Start();
  b.Start("--interval 1");  // a network remote: polled
  a.Write("from-a.yaml", "title: a\n");
  EXPECT_TRUE(WaitUntil([&] { return b.Tree().count("from-a.yaml") == 1; }))
      << a.Log() << b.Log() << server_.Log();
  a.Stop();
  b.Stop();
}

TEST_F(SshRemoteTest, ServerDownIsAClearErrorAndLosesNothing) {
  TrustServer();
  auto c1 = Client("c1", url_);
  c1->Write("a.yaml", "title: a\n");
  server_.Stop();
  auto down = SyncOf(*c1);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("origin"), std::string::npos) << down.status().message();
  EXPECT_EQ(c1->Read("a.yaml"), "title: a\n");
  server_.Start();
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(GitShow(repo_, "a.yaml"), "title: a\n");
}

TEST_F(SshRemoteTest, CloneOfAnUnknownHostKeepsNothingAndWithAcceptHostKeyClones) {
  auto c1 = Client("c1", url_);
  TrustServer();
  c1->Write("a.yaml", "title: a\n");
  ASSERT_TRUE(SyncOf(*c1).ok());
  std::filesystem::remove(SshDir() + "/known_hosts");
  const std::string store = dir_ / "cloned";
  auto refused = Taskfs("--store " + Quote(store) + " clone " + Quote(url_) + " --name c2");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("not in known_hosts"), std::string::npos) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(store)) << refused.output;
  auto cloned =
      Taskfs("--store " + Quote(store) + " clone " + Quote(url_) + " --name c2 --accept-host-key");
  ASSERT_EQ(cloned.exit_code, 0) << cloned.output;
  EXPECT_EQ(GitShow(store, "a.yaml"), "title: a\n");
}

// --- https ---

class HttpsRemoteTest : public RemoteAuthTest {
 protected:
  void SetUp() override {
    repo_ = server_.CreateBareRepo("tasks");
    url_ = server_.url("tasks");
  }
  void TearDown() override { EXPECT_EQ(GitFsckErrors(repo_), ""); }
  // git's credential store with `password` for the server: what a user sets up once.
  void SetUpUser(const std::string& password) {
    WriteFile(Home() + "/.gitconfig", "[credential]\n\thelper = store\n");
    WriteFile(Home() + "/.git-credentials", "https://" + server_.user() + ":" + password +
                                                "@127.0.0.1:" + std::to_string(server_.port()) +
                                                "\n");
  }

  HttpsGitServer server_;
  std::string repo_, url_;
};

TEST_F(HttpsRemoteTest, SyncsWithTheCredentialHelperAndTheServersOwnCa) {
  SetUpUser(server_.password());
  auto c1 = Client("c1", url_, server_.ca_file()), c2 = Client("c2", url_, server_.ca_file());
  c1->Write("a.yaml", "title: a\n");
  auto sent = SyncOf(*c1);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString() << "\n" << server_.Log();
  EXPECT_EQ(GitShow(repo_, "a.yaml"), "title: a\n");
  auto got = SyncOf(*c2);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(c2->Read("a.yaml"), "title: a\n");
}

TEST_F(HttpsRemoteTest, ATokenFromTaskfsTokenWorksAndIsNeverPrinted) {
  const std::string user_url = "https://" + server_.user() +
                               "@127.0.0.1:" + std::to_string(server_.port()) + "/git/tasks.git";
  auto c1 = Client("c1", user_url, server_.ca_file());
  c1->Write("a.yaml", "title: a\n");
  {
    ScopedEnv token("TASKFS_TOKEN", server_.password());
    auto sent = SyncOf(*c1);
    ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  }
  // A wrong token in the URL itself: refused, and the message shows no secret.
  auto c2 = Client("c2",
                   "https://" + server_.user() + ":not-the-token-x9@127.0.0.1:" +
                       std::to_string(server_.port()) + "/git/tasks.git",
                   server_.ca_file());
  auto refused = SyncOf(*c2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().find("not-the-token-x9"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(Taskfs("--store " + Quote(c2->path()) + " remote show origin")
                .output.find("not-the-token-x9"),
            std::string::npos);
}

TEST_F(HttpsRemoteTest, AWrongPasswordIsTriedOnceAndRejectedFromTheHelper) {
  SetUpUser("wrong-password");
  auto c1 = Client("c1", url_, server_.ca_file());
  c1->Write("a.yaml", "title: a\n");
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  const std::string message = refused.status().message();
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << message;
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_EQ(message.find("wrong-password"), std::string::npos) << message;
  // As git does, the helper forgets credentials the server refused.
  EXPECT_EQ(ReadFile(Home() + "/.git-credentials").find("wrong-password"), std::string::npos);
  EXPECT_EQ(GitSubjects(repo_).size(), 0u);
}

TEST_F(HttpsRemoteTest, AnUntrustedCertificateSaysHowToTrustTheServersCa) {
  WriteFile(Home() + "/.git-credentials", "");
  auto c1 = Client("c1", url_);
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied) << refused.status().message();
  EXPECT_NE(refused.status().message().find("http.sslCAInfo"), std::string::npos)
      << refused.status().message();
  // A CA file that did not sign it (the server's own certificate is no CA): still refused, with
  // OpenSSL's reason.
  auto c2 = Client("c2", url_, server_.server_cert_file());
  auto wrong_ca = SyncOf(*c2);
  ASSERT_FALSE(wrong_ca.ok());
  EXPECT_NE(wrong_ca.status().message().find("not trusted"), std::string::npos)
      << wrong_ca.status().message();
}

TEST_F(HttpsRemoteTest, ARepositoryThisAccountMayNotSeeIsA403WithItsAdvice) {
  SetUpUser(server_.password());
  server_.CreateBareRepo("forbidden");
  auto c1 = Client("c1", server_.url("forbidden"), server_.ca_file());
  auto refused = SyncOf(*c1);
  ASSERT_FALSE(refused.ok());
  const std::string message = refused.status().message();
  EXPECT_NE(message.find("HTTP 403: the server refused this account access"), std::string::npos)
      << message << "\n"
      << server_.Log();
  EXPECT_EQ(message.find(server_.password()), std::string::npos) << message;
}

TEST_F(HttpsRemoteTest, AMissingRepositoryAndADownServerAreClearErrors) {
  SetUpUser(server_.password());
  auto missing = Client("c1", server_.url("nosuch"), server_.ca_file());
  auto not_found = SyncOf(*missing);
  ASSERT_FALSE(not_found.ok());
  EXPECT_NE(not_found.status().message().find("404"), std::string::npos)
      << not_found.status().message();
  auto c2 = Client("c2", url_, server_.ca_file());
  c2->Write("a.yaml", "title: a\n");
  server_.Stop();
  auto down = SyncOf(*c2);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("origin"), std::string::npos) << down.status().message();
  EXPECT_EQ(c2->Read("a.yaml"), "title: a\n");
}

}  // namespace
}  // namespace taskfs::testing
