// Checks an SSH server's host key against known_hosts files, as ssh(1) would, so that a sync over
// ssh never talks to an impostor. The files are read here, not through ssh-keygen: host patterns
// (lists, `*` and `?` wildcards, `!` negations, `[host]:port` names, hashed `|1|salt|hash` names
// checked with HMAC-SHA1) and the key blob of each line (base64, decoded with OpenSSL) are
// compared with the key libgit2 reports. Also makes the line that records a new host.
// Thread-safe (no shared state).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// The name known_hosts records a host under, as ssh writes it: "host" on port 22,
// "[host]:port" on any other.
std::string KnownHostsName(const std::string& host, int port);

// $HOME/.ssh/known_hosts and /etc/ssh/ssh_known_hosts, the files ssh reads by default.
std::vector<std::string> DefaultKnownHostsFiles();

// The verdict of `files` (missing ones are skipped) on the key `name` (see KnownHostsName)
// offered, all files judged together: a @revoked line in one refuses a key another records.
HostKeyCheck CheckKnownHost(const std::vector<std::string>& files, const std::string& name,
                            const HostKey& key);
// The same over the default files.
HostKeyCheck CheckKnownHost(const std::string& name, const HostKey& key);

// The verdict of known_hosts `text` on `key` of host `name`. A line is
// [@revoked|@cert-authority] PATTERNS TYPE BASE64 [COMMENT]; '#' lines, lines that do not parse
// (bad base64, a blob not of TYPE) and @cert-authority lines (libgit2 gives no host
// certificates, only plain keys) are skipped. What CheckKnownHost decides with; public for tests.
HostKeyCheck MatchKnownHosts(std::string_view text, const std::string& name, const HostKey& key);

// The key's fingerprint as ssh prints it ("SHA256:" and unpadded base64), "" without the key or
// its SHA-256.
std::string Sha256Fingerprint(const HostKey& key);

// The known_hosts line recording `key` for `name` ("NAME TYPE BASE64\n"); nullopt unless the
// key blob itself was offered.
std::optional<std::string> KnownHostsLine(const std::string& name, const HostKey& key);

}  // namespace taskfs::sync
