// Checks an SSH server's host key against the user's known_hosts, as ssh(1) would, so that a sync
// over ssh never talks to an impostor. Uses ssh-keygen(1) to find a host's lines (hashed host names
// included), then compares the key blob of each line (base64, decoded with OpenSSL) with the key
// the server offered. Thread-safe (no shared state; runs child processes).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace taskfs::sync {

enum class HostKeyCheck {
  kKnown,        // a recorded key of this host is this key
  kUnknownHost,  // no key recorded for this host
  kMismatch,     // keys are recorded for this host, none is this one
  kRevoked,      // a @revoked line applying to this host names this key (even if also recorded)
};

// The server's host key as libgit2 reports it (git_cert_hostkey): the key blob (SSH wire format,
// what known_hosts holds in base64), else its SHA-256. With neither, no line matches it.
struct HostKey {
  std::span<const unsigned char> blob;    // empty if not offered
  const unsigned char* sha256 = nullptr;  // 32 bytes, or null if not offered
};

// Looks in $HOME/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
HostKeyCheck CheckKnownHost(const std::string& host, const HostKey& key);

// The verdict of known_hosts `lines` (those of one host, as `ssh-keygen -F` prints them) on `key`.
// A line is [@revoked|@cert-authority] HOSTS TYPE BASE64 [COMMENT]; '#' lines, lines that do not
// parse (bad base64, a blob not of TYPE) and @cert-authority lines (libgit2 gives no host
// certificates, only plain keys) are skipped. What CheckKnownHost decides with; public for tests.
HostKeyCheck MatchKnownHostLines(std::string_view lines, const HostKey& key);

}  // namespace taskfs::sync
