// Checks an SSH server's host key against the user's known_hosts, as ssh(1) would, so that a sync
// over ssh never talks to an impostor. Uses ssh-keygen(1) to read the files (hashed host names
// included). Thread-safe (no shared state; runs child processes).
#pragma once

#include <string>

namespace taskfs::sync {

enum class HostKeyCheck {
  kKnown,        // a recorded key of this host has this fingerprint
  kUnknownHost,  // no key recorded for this host
  kMismatch,     // keys are recorded for this host, none with this fingerprint
};

// `md5` is the key's MD5 fingerprint (16 bytes, as libgit2 reports it). Looks in
// $HOME/.ssh/known_hosts and /etc/ssh/ssh_known_hosts.
HostKeyCheck CheckKnownHost(const std::string& host, const unsigned char md5[16]);

}  // namespace taskfs::sync
