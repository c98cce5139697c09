// Where an ssh remote really is. Its URL is read as git reads one (ssh://[user@]host[:port]/path
// and the scp form [user@]host:path), then resolved through OpenSSH's own configuration by
// running `ssh -G` (~/.ssh/config aliases, HostName, Port, User, IdentityFile, IdentitiesOnly,
// UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias), so a remote that works with git, which
// runs ssh, works with taskfs, whose libgit2 (libssh2) reads no ssh configuration.
// "~" is $HOME, as git and libgit2 read it. Thread-safe (runs a child process).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace taskfs::sync {

struct SshUrl {
  std::string user;  // "" when the URL names none
  std::string host;
  int port = 0;      // 0 when the URL names none
  std::string path;  // as the server's git-upload-pack gets it: "/srv/t.git", "~/t.git", "t.git"
};

// The parts of an ssh URL; nullopt for any other URL (a path, https://, file://, taskfs://).
std::optional<SshUrl> ParseSshUrl(const std::string& url);

struct SshTarget {
  std::string user;
  std::string hostname;  // what to connect to
  int port = 22;
  std::string path;
  std::vector<std::string> identity_files;  // existing key files, in the order ssh tries them
  bool identities_only = false;             // IdentitiesOnly: no ssh-agent keys
  std::vector<std::string> known_hosts_files;
  std::string known_hosts_name;  // the host's name in them (HostKeyAlias, "[host]:port", ...)

  // The URL libgit2 connects to: ssh://user@hostname:port/path.
  std::string Url() const;
};

// `url` resolved through `ssh -G` ($HOME/.ssh/config when it exists; ssh's defaults otherwise,
// or git's when ssh is not installed).
SshTarget ResolveSshTarget(const SshUrl& url);

// True when the private key file is encrypted (OpenSSH or PEM format) and so needs a passphrase.
bool KeyFileNeedsPassphrase(const std::string& path);

}  // namespace taskfs::sync
