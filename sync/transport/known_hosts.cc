#include "sync/transport/known_hosts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <vector>

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

// Whether `text` matches the ssh pattern `pattern` ('*' any run, '?' any one character),
// ignoring case as ssh does for host names.
bool MatchesPattern(std::string_view text, std::string_view pattern) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (MatchesPattern(text.substr(skip), pattern.substr(1))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] != '?' && std::tolower(static_cast<unsigned char>(pattern[0])) !=
                               std::tolower(static_cast<unsigned char>(text[0]))) {
    return false;
  }
  return MatchesPattern(text.substr(1), pattern.substr(1));
}

// Whether a hashed name "|1|SALT|HASH" (HashKnownHosts) is `name`: HASH is HMAC-SHA1(SALT, name).
bool MatchesHashedName(std::string_view hashed, const std::string& name) {
  const size_t bar = hashed.find('|', 3);
  if (!hashed.starts_with("|1|") || bar == std::string_view::npos) return false;
  const auto salt = DecodeBase64(hashed.substr(3, bar - 3));
  const auto hash = DecodeBase64(hashed.substr(bar + 1));
  if (!salt || !hash || hash->size() != 20) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (!HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()),
            reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac, &mac_size) ||
      mac_size != 20) {
    return false;
  }
  return std::equal(mac, mac + 20, hash->begin(),
                    [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); });
}

// Whether a line's host field (a hashed name, or patterns separated by commas, '!' negating)
// applies to `name`: some pattern matches and no negated one does.
bool HostFieldMatches(std::string_view field, const std::string& name) {
  if (field.starts_with("|")) return MatchesHashedName(field, name);
  bool matched = false;
  while (!field.empty()) {
    const size_t comma = field.find(',');
    std::string_view pattern = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
    const bool negated = pattern.starts_with('!');
    if (negated) pattern.remove_prefix(1);
    if (!MatchesPattern(name, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

std::string EncodeBase64(std::span<const unsigned char> bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock ends it with a NUL
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                   static_cast<int>(bytes.size()));
  text.resize(size < 0 ? 0 : static_cast<size_t>(size));
  return text;
}

}  // namespace

HostKeyCheck MatchKnownHosts(std::string_view text, const std::string& name, const HostKey& key) {
  bool host_listed = false;
  bool known = false;
  std::istringstream input{std::string(text)};
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
    if (!HostFieldMatches(host, name)) continue;
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

std::string KnownHostsName(const std::string& host, int port) {
  return port == 22 || port <= 0 ? host : "[" + host + "]:" + std::to_string(port);
}

std::vector<std::string> DefaultKnownHostsFiles() {
  std::vector<std::string> files;
  if (const char* home = std::getenv("HOME")) {
    files.push_back(std::string(home) + "/.ssh/known_hosts");
  }
  files.push_back("/etc/ssh/ssh_known_hosts");
  return files;
}

HostKeyCheck CheckKnownHost(const std::vector<std::string>& files, const std::string& name,
                            const HostKey& key) {
  std::string text;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) continue;
    text += std::string(std::istreambuf_iterator<char>(in), {}) + "\n";
  }
  return MatchKnownHosts(text, name, key);
}

HostKeyCheck CheckKnownHost(const std::string& name, const HostKey& key) {
  return CheckKnownHost(DefaultKnownHostsFiles(), name, key);
}

std::string Sha256Fingerprint(const HostKey& key) {
  unsigned char digest[32];
  if (!key.blob.empty()) {
    unsigned int size = 0;
    if (EVP_Digest(key.blob.data(), key.blob.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
      return "";
    }
  } else if (key.sha256 != nullptr) {
    std::copy(key.sha256, key.sha256 + 32, digest);
  } else {
    return "";
  }
  std::string text = EncodeBase64(digest);
  while (text.ends_with('=')) text.pop_back();
  return "SHA256:" + text;
}

std::optional<std::string> KnownHostsLine(const std::string& name, const HostKey& key) {
  if (key.blob.empty()) return std::nullopt;
  const std::string_view blob(reinterpret_cast<const char*>(key.blob.data()), key.blob.size());
  const std::string_view type = BlobType(blob);
  if (type.empty()) return std::nullopt;
  return name + " " + std::string(type) + " " + EncodeBase64(key.blob) + "\n";
}

}  // namespace taskfs::sync
