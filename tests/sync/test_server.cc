#include "tests/sync/test_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "storage/file_util.h"
#include "storage/store_config.h"
#include "sync/transport/remotes.h"
#include "sync/transport/tls.h"

namespace taskfs::testing {

TestServer::TestServer(const std::string& parent_dir, const std::string& extra_args)
    : dir_(parent_dir + "/server"),
      log_(parent_dir + "/server.log"),
      port_file_(parent_dir + "/server.port"),
      extra_args_(extra_args) {
  CommandResult init =
      RunCommand(std::string(TASKFS_SERVER_BIN) + " init " + Quote(dir_) + " --host 127.0.0.1");
  EXPECT_EQ(init.exit_code, 0) << init.output;
  Start();
}

void TestServer::Start() {
  ASSERT_LE(pid_, 0) << "running already";
  std::remove(port_file_.c_str());
  pid_ = SpawnLogged(std::string(TASKFS_SERVER_BIN) + " serve " + Quote(dir_) +
                         " --listen 127.0.0.1:" + std::to_string(port_) + " --port-file " +
                         Quote(port_file_) + " " + extra_args_,
                     log_);
  EXPECT_TRUE(WaitUntil([&] {
    const int port = Exists(port_file_) ? std::atoi(ReadFile(port_file_).c_str()) : 0;
    if (port > 0) port_ = port;
    return port > 0;
  })) << Log();
}

void TestServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

TestServer::~TestServer() { Stop(); }

void TestServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  bool exited = WaitUntil([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; },
                          std::chrono::seconds(10));
  if (!exited) {
    ADD_FAILURE() << "taskfs-server did not stop on SIGTERM";
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

CommandResult TestServer::Admin(const std::string& args) const {
  return RunCommand(std::string(TASKFS_SERVER_BIN) + " admin --dir " + Quote(dir_) + " " + args);
}

std::string TestServer::MakeIdentity(const std::string& key_dir, const std::string& name) {
  auto id = sync::MakeIdentity(name.empty() ? "test client" : name);
  EXPECT_TRUE(id.ok());
  std::filesystem::create_directories(key_dir);
  EXPECT_TRUE(storage::WriteFileAtomically(key_dir + "/client.key", id->key_pem, 0600).ok());
  WriteFile(key_dir + "/client.crt", id->cert_pem);
  auto public_key = sync::PublicKeyPem(id->cert_pem);
  EXPECT_TRUE(public_key.ok());
  WriteFile(key_dir + "/client.pub.pem", public_key.ok() ? *public_key : "");
  if (!name.empty()) {
    CommandResult r =
        Admin("register --name " + Quote(name) + " " + Quote(key_dir + "/client.pub.pem"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  return key_dir;
}

void TestServer::Enroll(SyncClient& client, const std::string& name) {
  const std::string keys = MakeIdentity(client.path() + "-keys", name);
  EXPECT_TRUE(
      storage::SetConfigValue(client.store(), "taskfs.clientKey", keys + "/client.key").ok());
  EXPECT_TRUE(
      storage::SetConfigValue(client.store(), "taskfs.clientCert", keys + "/client.crt").ok());
}

CommandResult TestServer::Curl(const std::string& key_dir, const std::string& args) const {
  std::string cmd = "curl -sS --max-time 10 --cacert " + Quote(cert());
  if (!key_dir.empty()) {
    cmd += " --cert " + Quote(key_dir + "/client.crt") + " --key " + Quote(key_dir + "/client.key");
  }
  return RunCommand(cmd + " " + args);
}

}  // namespace taskfs::testing
