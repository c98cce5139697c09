#include "sync/transport/known_hosts.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <vector>

#include "storage/subprocess.h"

namespace taskfs::sync {
namespace {

// The bytes `text` encodes, or nullopt unless it is canonical padded base64 (what ssh-keygen
// writes). EVP_DecodeBlock alone is lenient (it skips blanks, decodes '=' in the middle and
// reports padding as zero bytes), so the result must encode back to `text` exactly.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > (1u << 20)) return std::nullopt;
  std::string bytes(text.size() / 4 * 3, '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()));
  const size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  if (size < 0 || static_cast<size_t>(size) < padding) return std::nullopt;
  bytes.resize(static_cast<size_t>(size) - padding);
  std::string again(text.size() + 1, '\0');  // EVP_EncodeBlock ends it with a NUL
  const int again_size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(again.data()),
                                         reinterpret_cast<const unsigned char*>(bytes.data()),
                                         static_cast<int>(bytes.size()));
  if (again_size < 0 || std::string_view(again.data(), static_cast<size_t>(again_size)) != text) {
    return std::nullopt;
  }
  return bytes;
}

// The key type a key blob starts with (an SSH string: 4-byte big-endian length, then the name).
std::string_view BlobType(std::string_view blob) {
  if (blob.size() < 4) return {};
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<unsigned char>(blob[i]);
  if (length > blob.size() - 4) return {};
  return blob.substr(4, length);
}

// Whether the key blob `blob` is the server's key: byte for byte if libgit2 gave the key, else by
// SHA-256.
bool IsServerKey(const std::string& blob, const HostKey& key) {
  if (!key.blob.empty()) {
    return std::equal(blob.begin(), blob.end(), key.blob.begin(), key.blob.end(),
                      [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; });
  }
  if (key.sha256 == nullptr) return false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(blob.data(), blob.size(), digest, &digest_size, EVP_sha256(), nullptr) != 1 ||
      digest_size != 32) {
    return false;
  }
  return std::equal(digest, digest + 32, key.sha256);
}

// What `ssh-keygen ARGS` prints ("" if it cannot run).
std::string SshKeygen(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ssh-keygen"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = storage::RunProcess(argv);
  return run.ok() ? run->output : "";
}

}  // namespace

HostKeyCheck MatchKnownHostLines(std::string_view lines, const HostKey& key) {
  bool host_listed = false;
  bool known = false;
  std::istringstream input{std::string(lines)};
  for (std::string line; std::getline(input, line);) {
    std::istringstream fields(line);
    std::string first, host, type, base64;
    if (!(fields >> first) || first[0] == '#') continue;
    std::string marker;
    if (first[0] == '@') {
      marker = first;
      fields >> host;
    } else {
      host = first;
    }
    if (!(fields >> type >> base64)) continue;  // a comment may follow; it is not read
    if (marker == "@cert-authority") continue;       // vouches for host certificates only
    if (!marker.empty() && marker != "@revoked") continue;  // a marker ssh does not know either
    const auto blob = DecodeBase64(base64);
    if (!blob || BlobType(*blob) != type) continue;
    const bool is_server_key = IsServerKey(*blob, key);
    if (marker == "@revoked") {
      if (is_server_key) return HostKeyCheck::kRevoked;  // whatever the other lines say
      continue;  // a revoked key does not record this host
    }
    host_listed = true;
    known = known || is_server_key;
  }
  if (known) return HostKeyCheck::kKnown;
  return host_listed ? HostKeyCheck::kMismatch : HostKeyCheck::kUnknownHost;
}

HostKeyCheck CheckKnownHost(const std::string& host, const HostKey& key) {
  std::vector<std::string> files;
  if (const char* home = std::getenv("HOME"))
    files.push_back(std::string(home) + "/.ssh/known_hosts");
  files.push_back("/etc/ssh/ssh_known_hosts");
  // The lines of this host in every file (ssh-keygen -F also finds hashed names and the patterns
  // that match it), judged together: a @revoked line in one file refuses a key the other records.
  std::string lines;
  for (const auto& file : files) {
    if (::access(file.c_str(), R_OK) != 0) continue;
    lines += SshKeygen({"-F", host, "-f", file});
  }
  return MatchKnownHostLines(lines, key);
}

}  // namespace taskfs::sync
