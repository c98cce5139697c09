// The ssh and https fixtures of remote_servers.h, proved with plain git (not taskfs): a push and
// a clone back through each, the refusals a real server gives (an unknown key, an unknown host
// key, no or a wrong password, a certificate from a CA nobody trusts), a server stopped and
// started again, and how long each takes to start.
#include "tests/sync/remote_servers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace taskfs::testing {
namespace {

// Plain git with no user or system configuration and no prompts; `env` goes before it.
CommandResult Git(const std::string& env, const std::string& args) {
  return RunCommand("env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 " +
                    env +
                    " git -c user.name=tester -c user.email=tester@example.invalid"
                    " -c init.defaultBranch=main " +
                    args);
}

std::string SshEnv(const std::string& ssh_command) {
  return "GIT_SSH_COMMAND=" + Quote(ssh_command);
}

// Commits a file in a new work tree, pushes it to `url`, clones `url` back and checks the file
// came through; then checks the bare repository at `bare` itself.
void PushAndCloneBack(const TempDir& dir, const std::string& env, const std::string& url,
                      const std::string& bare) {
  const std::string work = dir / "work", clone = dir / "clone";
  const std::string content = "pushed to " + url + "\n";
  ASSERT_EQ(Git("", "init -q " + Quote(work)).exit_code, 0);
  WriteFile(work + "/a.txt", content);
  ASSERT_EQ(Git("", "-C " + Quote(work) + " add a.txt").exit_code, 0);
  CommandResult commit = Git("", "-C " + Quote(work) + " commit -q -m 'add a'");
  ASSERT_EQ(commit.exit_code, 0) << commit.output;

  CommandResult push = Git(env, "-C " + Quote(work) + " push " + Quote(url) + " main");
  ASSERT_EQ(push.exit_code, 0) << push.output;
  CommandResult cloned = Git(env, "clone -q " + Quote(url) + " " + Quote(clone));
  ASSERT_EQ(cloned.exit_code, 0) << cloned.output;
  EXPECT_EQ(ReadFile(clone + "/a.txt"), content);

  EXPECT_EQ(GitSubjects(bare), std::vector<std::string>{"add a"});
  EXPECT_EQ(GitShow(bare, "a.txt"), content);
  EXPECT_EQ(GitFsckErrors(bare), "");
}

// Starts a `T`, printing how long that took and recording it as the test's `start_ms`.
template <typename T>
std::unique_ptr<T> StartTimed(const char* name) {
  const auto start = std::chrono::steady_clock::now();
  auto server = std::make_unique<T>();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("%s started in %lld ms\n", name, static_cast<long long>(ms));
  ::testing::Test::RecordProperty("start_ms", std::to_string(ms));
  return server;
}

TEST(SshServerTest, PlainGitPushesAndClonesWithAKeyFile) {
  auto started = StartTimed<SshServer>("SshServer");
  SshServer& server = *started;
  ASSERT_TRUE(server.running()) << server.Log();
  EXPECT_NE(server.port(), 22);
  EXPECT_EQ(server.host_key_line().rfind(
                "[127.0.0.1]:" + std::to_string(server.port()) + " ssh-ed25519 AAAA", 0),
            0u)
      << server.host_key_line();
  EXPECT_EQ(server.host_key_fingerprint().rfind("SHA256:", 0), 0u);

  const SshKey key = server.MakeUserKey("alice", SshKeyType::kEd25519);
  server.AuthorizeKey(key.public_path);
  const std::string bare = server.CreateBareRepo("tasks");
  TempDir dir;
  PushAndCloneBack(dir, SshEnv(server.GitSshCommand(key)), server.url("tasks"), bare);
  EXPECT_NE(server.Log().find("Accepted publickey for " + server.user()), std::string::npos)
      << server.Log();
}

TEST(SshServerTest, AnUnknownKeyAndAnUnknownHostKeyAreRefused) {
  SshServer server;
  const SshKey known = server.MakeUserKey("known");
  const SshKey stranger = server.MakeUserKey("stranger");
  server.AuthorizeKey(known.public_path);
  server.CreateBareRepo("tasks");

  CommandResult ok = Git(SshEnv(server.GitSshCommand(known)), "ls-remote " + server.url("tasks"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output << server.Log();

  CommandResult refused =
      Git(SshEnv(server.GitSshCommand(stranger)), "ls-remote " + server.url("tasks"));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("Permission denied (publickey)"), std::string::npos)
      << refused.output;

  // The right key, but a known_hosts that does not list this server.
  TempDir dir;
  WriteFile(dir / "known_hosts", "");
  std::string ssh = server.GitSshCommand(known);
  ssh = ssh.substr(0, ssh.find("-o UserKnownHostsFile=")) +
        "-o UserKnownHostsFile=" + Quote(dir / "known_hosts");
  CommandResult unknown_host = Git(SshEnv(ssh), "ls-remote " + server.url("tasks"));
  EXPECT_NE(unknown_host.exit_code, 0);
  EXPECT_NE(unknown_host.output.find("Host key verification failed"), std::string::npos)
      << unknown_host.output;
}

TEST(SshServerTest, AfterARestartItServesOnTheSamePortWithTheSameHostKey) {
  SshServer server;
  const SshKey key = server.MakeUserKey("alice");
  server.AuthorizeKey(key.public_path);
  server.CreateBareRepo("tasks");
  const int port = server.port();
  const std::string line = server.host_key_line();

  server.Stop();
  EXPECT_FALSE(server.running());
  CommandResult down = Git(SshEnv(server.GitSshCommand(key)), "ls-remote " + server.url("tasks"));
  EXPECT_NE(down.exit_code, 0);
  EXPECT_NE(down.output.find("Connection refused"), std::string::npos) << down.output;

  server.Start();
  EXPECT_EQ(server.port(), port);
  EXPECT_EQ(server.host_key_line(), line);
  CommandResult up = Git(SshEnv(server.GitSshCommand(key)), "ls-remote " + server.url("tasks"));
  EXPECT_EQ(up.exit_code, 0) << up.output << server.Log();
}

TEST(SshAgentTest, PlainGitPushesWithAPassphraseRsaKeyOnlyTheAgentHolds) {
  SshServer server;
  auto started = StartTimed<SshAgent>("SshAgent");
  SshAgent& agent = *started;
  const SshKey key = server.MakeUserKey("bob", SshKeyType::kRsa, "correct horse");
  server.AuthorizeKey(key.public_path);
  const std::string bare = server.CreateBareRepo("tasks");
  const std::string env = SshEnv(server.GitSshCommandWithAgent(agent));

  EXPECT_TRUE(agent.List().empty());
  CommandResult empty_agent = Git(env, "ls-remote " + server.url("tasks"));
  EXPECT_NE(empty_agent.exit_code, 0) << "logged in with no key in the agent";

  agent.Add(key);
  ASSERT_EQ(agent.List().size(), 1u);
  EXPECT_NE(agent.List()[0].find("(RSA)"), std::string::npos) << agent.List()[0];
  TempDir dir;
  PushAndCloneBack(dir, env, server.url("tasks"), bare);
}

TEST(HttpsGitServerTest, PlainGitPushesAndClonesWithTheTestCaAndCredentials) {
  auto started = StartTimed<HttpsGitServer>("HttpsGitServer");
  HttpsGitServer& server = *started;
  ASSERT_TRUE(server.running()) << server.Log();
  const std::string bare = server.CreateBareRepo("tasks");
  TempDir dir;
  PushAndCloneBack(dir, "GIT_SSL_CAINFO=" + Quote(server.ca_file()),
                   server.url_with_credentials("tasks"), bare);
}

TEST(HttpsGitServerTest, NoOrAWrongPasswordIs401AndGitFails) {
  HttpsGitServer server;
  server.CreateBareRepo("tasks");
  const std::string refs = server.url("tasks") + "/info/refs?service=git-upload-pack";
  const auto status = [&](const std::string& credentials) {
    return RunCommand("curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert " +
                      Quote(server.ca_file()) + " " + credentials + " " + Quote(refs))
        .output;
  };
  EXPECT_EQ(status(""), "401");
  EXPECT_EQ(status("-u " + Quote(server.user() + ":wrong")), "401");
  EXPECT_EQ(status("-u " + Quote(server.user() + ":" + server.password())), "200");

  const std::string ca = "GIT_SSL_CAINFO=" + Quote(server.ca_file());
  std::string wrong = server.url("tasks");
  wrong.insert(std::string("https://").size(), server.user() + ":wrong@");
  CommandResult bad = Git(ca, "ls-remote " + Quote(wrong));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("Authentication failed"), std::string::npos) << bad.output;
  CommandResult none = Git(ca, "ls-remote " + Quote(server.url("tasks")));
  EXPECT_NE(none.exit_code, 0) << none.output;
  CommandResult good = Git(ca, "ls-remote " + Quote(server.url_with_credentials("tasks")));
  EXPECT_EQ(good.exit_code, 0) << good.output << server.Log();
}

TEST(HttpsGitServerTest, TheCertificateVerifiesOnlyWithTheTestCa) {
  HttpsGitServer server;
  server.CreateBareRepo("tasks");
  CommandResult verify = RunCommand("openssl verify -CAfile " + Quote(server.ca_file()) + " " +
                                    Quote(server.server_cert_file()));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;

  const std::string creds = "-u " + Quote(server.user() + ":" + server.password()) + " ";
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    CommandResult r =
        RunCommand("curl -sS -f -o /dev/null --max-time 10 --cacert " + Quote(server.ca_file()) +
                   " " + creds + Quote(server.url("tasks", host) + "/info/refs"));
    EXPECT_EQ(r.exit_code, 0) << host << ": " << r.output;
  }
  // Without the test CA (the system's CAs only) git refuses the certificate.
  CommandResult untrusted = Git("", "ls-remote " + Quote(server.url_with_credentials("tasks")));
  EXPECT_NE(untrusted.exit_code, 0);
  EXPECT_NE(untrusted.output.find("certificate"), std::string::npos) << untrusted.output;
}

TEST(HttpsGitServerTest, AStoppedServerRefusesAndARestartedOneServesAgain) {
  HttpsGitServer server;
  server.CreateBareRepo("tasks");
  const std::string ca = "GIT_SSL_CAINFO=" + Quote(server.ca_file());
  const std::string url = Quote(server.url_with_credentials("tasks"));
  const int port = server.port();

  server.Stop();
  EXPECT_FALSE(server.running());
  CommandResult down = Git(ca, "ls-remote " + url);
  EXPECT_NE(down.exit_code, 0);
  EXPECT_NE(down.output.find("Failed to connect"), std::string::npos) << down.output;

  server.Start();
  EXPECT_EQ(server.port(), port);
  CommandResult up = Git(ca, "ls-remote " + url);
  EXPECT_EQ(up.exit_code, 0) << up.output << server.Log();
}

}  // namespace
}  // namespace taskfs::testing
