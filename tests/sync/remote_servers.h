// Real git servers on 127.0.0.1 for tests of remotes as people have them: an OpenSSH sshd
// (`SshServer`), an ssh-agent (`SshAgent`), and lighttpd serving `git http-backend` over TLS
// with basic auth (`HttpsGitServer`). Everything secret is made at test time in a temp folder
// each fixture owns: host keys and user keys by ssh-keygen, a throw-away CA and the server's
// certificate by the openssl CLI. Each server listens on a free port (never 22 or 443), is
// started in its own process group, and is stopped with every process it started (connections,
// CGI children) by Stop() and the destructor. A server never outlives a crashed test
// (PR_SET_PDEATHSIG); a connection it was serving ends when its client does.
//
// Construct them on the test's thread and use them from it (they are not thread-safe; clients
// in other threads or processes may connect at any time). A failure to start is a test failure
// (ADD_FAILURE with the server's log); the object is still safe to destroy.
//
// The servers run as the user the tests run as (root): ssh URLs log in as that user, whose
// login shell must find git-upload-pack and git-receive-pack on the default PATH.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace taskfs::testing {

class SshAgent;

enum class SshKeyType { kEd25519, kEcdsa, kRsa };

// A user key pair made by ssh-keygen (OpenSSH's own private key format; RSA keys are 2048 bits,
// to make them fast).
struct SshKey {
  std::string private_path;  // 0600
  std::string public_path;   // private_path + ".pub"
  std::string passphrase;    // empty: unencrypted
};

// Makes a key pair `dir`/`name` (and `name`.pub). Fails the test if ssh-keygen does.
SshKey MakeSshKey(const std::string& dir, const std::string& name, SshKeyType type,
                  const std::string& passphrase = "");

// `/usr/sbin/sshd -D -e` with its own configuration: public key authentication only (no
// password, no keyboard-interactive), keys from one authorized_keys file, a fresh host key,
// OpenSSH's default algorithms otherwise (so, as on real servers, RSA keys must sign with
// rsa-sha2-256/512: plain ssh-rsa SHA-1 signatures are refused unless `allow_ssh_rsa_sha1`).
class SshServer {
 public:
  struct Options {
    SshKeyType host_key = SshKeyType::kEd25519;
    // Accepts ssh-rsa (SHA-1) signatures, host key and user keys, as OpenSSH before 8.8 did.
    // Debian 12's libssh2 1.10 (libgit2's ssh) signs RSA keys, from a file or an agent, only
    // so: against the default it fails with "Failed to retrieve list of SSH authentication
    // methods" and sshd logs "signature algorithm ssh-rsa not in PubkeyAcceptedAlgorithms".
    bool allow_ssh_rsa_sha1 = false;
  };
  SshServer();
  explicit SshServer(const Options& options);
  ~SshServer();
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  int port() const { return port_; }
  // The login name in url(): the user the tests run as.
  const std::string& user() const { return user_; }
  // `[127.0.0.1]:PORT ssh-ed25519 AAAA...`, the known_hosts line of this server's host key.
  std::string host_key_line() const;
  // A known_hosts file holding host_key_line() (written at each Start()).
  std::string known_hosts_file() const { return dir_ / "known_hosts"; }
  // The host key's public half (`ssh-ed25519 AAAA... comment`) and its `SHA256:...` fingerprint.
  std::string host_public_key_path() const { return dir_ / "host_key.pub"; }
  std::string host_key_fingerprint() const;

  // Lets the holder of the private half of `public_key_path` log in.
  void AuthorizeKey(const std::string& public_key_path);
  // Takes that back (the line goes from authorized_keys; sshd reads it at each login).
  void RevokeKey(const std::string& public_key_path);
  // Makes a user key pair in this server's folder (not yet authorized).
  SshKey MakeUserKey(const std::string& name, SshKeyType type = SshKeyType::kEd25519,
                     const std::string& passphrase = "") const;

  // Where CreateBareRepo puts repositories.
  std::string repo_root() const { return dir_ / "repos"; }
  // Makes `repo_root()/NAME.git` (a bare repository, default branch main); returns its path.
  std::string CreateBareRepo(const std::string& name) const;
  // "ssh://USER@127.0.0.1:PORT/ROOT/NAME.git"
  std::string url(const std::string& name) const;
  // A GIT_SSH_COMMAND for plain git with `key` (unencrypted), this server's known_hosts and no
  // agent or other keys.
  std::string GitSshCommand(const SshKey& key) const;
  // The same with the keys of `agent` instead (and any default ~/.ssh/id_* key, which this
  // server does not know).
  std::string GitSshCommandWithAgent(const SshAgent& agent) const;

  std::string Log() const { return ReadFile(log_); }
  bool running() const { return pid_ > 0; }
  void Stop();
  // Starts it again, on the port it had (so remotes stay valid), with the same host key.
  void Start();

 private:
  Options options_;
  TempDir dir_;
  std::string user_, log_, config_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// `ssh-agent -D -a SOCK`: an agent for tests that authenticate with SSH_AUTH_SOCK.
class SshAgent {
 public:
  SshAgent();
  ~SshAgent();
  SshAgent(const SshAgent&) = delete;
  SshAgent& operator=(const SshAgent&) = delete;

  const std::string& sock() const { return sock_; }
  // Adds `key`, answering its passphrase through SSH_ASKPASS (no terminal needed).
  void Add(const SshKey& key);
  // `ssh-add -l` of the agent: one line per key, empty when it holds none.
  std::vector<std::string> List() const;

 private:
  TempDir dir_;
  std::string sock_, log_;
  pid_t pid_ = -1;
};

// lighttpd with TLS on 127.0.0.1, `git http-backend` at /git/ (smart HTTP, fetch and push) for
// every repository under repo_root(), all of it behind basic auth (401 without the user and
// password). Its certificate, for IP 127.0.0.1 and DNS localhost, is signed by a CA made for
// this server alone (ca_file()), which nothing else trusts.
class HttpsGitServer {
 public:
  HttpsGitServer();
  ~HttpsGitServer();
  HttpsGitServer(const HttpsGitServer&) = delete;
  HttpsGitServer& operator=(const HttpsGitServer&) = delete;

  int port() const { return port_; }
  // "https://HOST:PORT/git/NAME.git" (HOST 127.0.0.1 or localhost: the certificate names both).
  std::string url(const std::string& name, const std::string& host = "127.0.0.1") const;
  // The same with "USER:PASSWORD@" in it.
  std::string url_with_credentials(const std::string& name) const;
  // The test CA's certificate (PEM), the only one that verifies the server.
  std::string ca_file() const { return dir_ / "ca.crt"; }
  std::string server_cert_file() const { return dir_ / "server.crt"; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }

  std::string repo_root() const { return dir_ / "repos"; }
  // Makes `repo_root()/NAME.git`, bare, default branch main, pushable; returns its path.
  std::string CreateBareRepo(const std::string& name) const;

  // lighttpd's output and error log, then its access log (method, URL, status of every request;
  // lighttpd writes it out about once a second, and at Stop()).
  std::string Log() const;
  bool running() const { return pid_ > 0; }
  // Stops it (clients then get "connection refused"); Start() serves again on the same port.
  void Stop();
  void Start();

 private:
  TempDir dir_;
  std::string user_ = "tester", password_, config_, log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace taskfs::testing
