// Credentials and trust for libgit2 transfers (sync/transport/git_remote.h), as git has them:
//
//  - ssh: the remote resolved through ssh's configuration (sync/transport/ssh_target.h); keys
//    tried in turn: $TASKFS_SSH_KEY or `git config taskfs.sshKey` (passphrase in
//    $TASKFS_SSH_PASSPHRASE), then ssh-agent's, then the IdentityFile keys. An encrypted key with
//    no passphrase given is skipped, never prompted for. The host key must be in known_hosts
//    (sync/transport/known_hosts.h); with accept_new_host_key an unknown host is recorded.
//  - https: $TASKFS_TOKEN, else git's credential helpers (`git credential fill`, approved after a
//    transfer that worked, rejected after a refusal); certificates that libgit2 does not trust
//    are checked against `http.sslCAInfo` (or $GIT_SSL_CAINFO) with OpenSSL.
//
// One GitAuth serves one connection; not thread-safe.
#pragma once

#include <git2.h>

#include <optional>
#include <string>
#include <vector>

#include "storage/status.h"
#include "sync/transport/ssh_target.h"
#include "sync/transport/transport.h"

namespace taskfs::sync {

class GitAuth {
 public:
  // For the remote at `url`, with `repo`'s configuration (global git config included).
  GitAuth(const std::string& url, git_repository* repo, const TransferOptions& options);

  // The URL libgit2 should connect to ("" to use the remote's own): an ssh remote resolved.
  const std::string& connect_url() const { return connect_url_; }

  // libgit2's credential and certificate callbacks, with their arguments.
  int AcquireCredential(git_credential** out, const char* url, const char* user_from_url,
                        unsigned int allowed);
  int CheckCertificate(git_cert* cert, int valid, const char* host);

  // After the transfer: tells git's credential helper whether its credentials worked, and gives
  // a failure the advice a user needs (which keys were tried, what an HTTP status means).
  // `rc` is the transfer's libgit2 result; `what` says what it was ("fetching from origin").
  Status Finish(int rc, const std::string& what);

 private:
  int NextSshKey(git_credential** out, const std::string& user);
  int Password(git_credential** out, const std::string& url, const char* user_from_url);
  int CheckHostKey(const git_cert_hostkey& offered, const std::string& host);
  int CheckX509(const git_cert_x509& offered, const std::string& host);

  TransferOptions options_;
  std::string connect_url_;
  std::optional<SshTarget> ssh_;
  std::string explicit_key_;  // TASKFS_SSH_KEY or taskfs.sshKey
  std::string ca_file_;       // http.sslCAInfo or GIT_SSL_CAINFO
  // ssh keys in the order they are offered: "agent" stands for ssh-agent's.
  std::vector<std::string> keys_;
  size_t next_key_ = 0;
  std::vector<std::string> keys_tried_;
  std::vector<std::string> keys_locked_;  // encrypted, no passphrase given: skipped
  int password_attempts_ = 0;
  bool refused_ = false;  // credentials were offered and refused
  struct HelperCredential {
    std::string url, user, password;
  };
  std::optional<HelperCredential> from_helper_;
};

}  // namespace taskfs::sync
