// The registry of taskfs-server's clients: who may connect, by public key. Kept only on the
// server's host (DIR/clients.json, mode 0600), changed only by `taskfs-server admin` there; the
// server reads it again whenever the file changes, so a revoke or a rotation applies to the next
// connection.
//
// A client has a name and one key, or two while a rotation's grace period runs (the old key
// works until it ends). A revoked client keeps its record (so its name is not reused by mistake)
// but no key of it is admitted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::sync {

struct ClientKey {
  std::string fingerprint;  // see tls.h KeyFingerprint
  std::string public_key_pem;
  int64_t added = 0;
  int64_t expires = 0;  // 0: no end; else the end of a rotation's grace period
};

struct ClientRecord {
  std::string name;
  int64_t registered = 0;
  int64_t revoked = 0;  // 0: not revoked; else when
  std::vector<ClientKey> keys;
};

class ClientRegistry {
 public:
  // A missing file is an empty registry.
  static Result<ClientRegistry> Load(const std::string& file);
  Status Save(const std::string& file) const;

  // `public_key` is a PEM public key or certificate.
  Status Register(const std::string& name, const std::string& public_key, int64_t now);
  Status Revoke(const std::string& name, int64_t now);
  // The new key works at once; the old one until now + grace_seconds (0: not at all).
  Status Rotate(const std::string& name, const std::string& new_public_key, int64_t grace_seconds,
                int64_t now);

  // The name of the client holding this key now, or PermissionDenied saying why not (unknown,
  // revoked, rotated out).
  Result<std::string> Admit(const std::string& fingerprint, int64_t now) const;
  // Names of the clients that are not revoked.
  std::vector<std::string> ActiveNames() const;
  const std::vector<ClientRecord>& clients() const { return clients_; }

 private:
  ClientRecord* Find(const std::string& name);
  // AlreadyExists when any client, revoked or not, has (or had) the key `fingerprint`.
  Status RefuseKnownKey(const std::string& fingerprint) const;
  std::vector<ClientRecord> clients_;
};

}  // namespace taskfs::sync
