// A real `taskfs-server serve` process on 127.0.0.1 (any free port) for tests, with its
// directory made by `taskfs-server init` and clients enrolled through `taskfs-server admin`:
// certificates and keys are made at test time. Always stopped (SIGTERM, then SIGKILL).
#pragma once

#include <sys/types.h>

#include <string>

#include "tests/sync/sync_client.h"

namespace taskfs::testing {

class TestServer {
 public:
  explicit TestServer(const std::string& parent_dir, const std::string& extra_args = "");
  ~TestServer();

  std::string url() const { return "taskfs://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  std::string store() const { return dir_ + "/store"; }
  std::string cert() const { return dir_ + "/server.crt"; }
  std::string Log() const { return ReadFile(log_); }

  // Makes a key pair in `key_dir` (client.key 0600, client.crt, client.pub.pem); with
  // `name`, registers it. Returns the directory.
  std::string MakeIdentity(const std::string& key_dir, const std::string& name = "");
  // Gives `client` a key pair and registers it as `name`.
  void Enroll(SyncClient& client, const std::string& name);
  CommandResult Admin(const std::string& args) const;
  // curl with the identity in `key_dir` (none if empty): `args` are curl's, after the URL base.
  CommandResult Curl(const std::string& key_dir, const std::string& args) const;

  void Stop();
  void Kill();  // SIGKILL, in the middle of whatever it does
  // Starts it (again): on the port it had, so clients' remotes stay valid.
  void Start();

 private:
  std::string dir_, log_, port_file_, extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;  // 0 until the first start picked one
};

}  // namespace taskfs::testing
