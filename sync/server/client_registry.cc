#include "sync/server/client_registry.h"

#include <nlohmann/json.hpp>

#include "storage/file_util.h"
#include "sync/transport/tls.h"

namespace taskfs::sync {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ClientKey, fingerprint, public_key_pem, added,
                                                expires)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ClientRecord, name, registered, revoked, keys)

Result<ClientRegistry> ClientRegistry::Load(const std::string& file) {
  ClientRegistry registry;
  auto text = storage::ReadWholeFile(file);
  if (!text) return registry;
  try {
    registry.clients_ = nlohmann::json::parse(*text).at("clients").get<std::vector<ClientRecord>>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(file + " is damaged: " + e.what());
  }
  return registry;
}

Status ClientRegistry::Save(const std::string& file) const {
  nlohmann::json doc = {{"clients", clients_}};
  return storage::WriteFileAtomically(file, doc.dump(2) + "\n", 0600);
}

ClientRecord* ClientRegistry::Find(const std::string& name) {
  for (auto& c : clients_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Status ClientRegistry::RefuseKnownKey(const std::string& fingerprint) const {
  for (const auto& c : clients_) {
    for (const auto& k : c.keys) {
      if (k.fingerprint == fingerprint) {
        return Status::AlreadyExists("this key is " + c.name + "'s already");
      }
    }
  }
  return Status::OK();
}

Status ClientRegistry::Register(const std::string& name, const std::string& public_key,
                                int64_t now) {
  if (name.empty()) return Status::InvalidArgument("a client needs a name");
  if (Find(name)) return Status::AlreadyExists("a client named " + name + " is registered");
  auto fingerprint = KeyFingerprint(public_key);
  if (!fingerprint.ok()) return fingerprint.status();
  auto pem = PublicKeyPem(public_key);
  if (!pem.ok()) return pem.status();
  TASKFS_RETURN_IF_ERROR(RefuseKnownKey(*fingerprint));
  clients_.push_back({name, now, 0, {{*fingerprint, *pem, now, 0}}});
  return Status::OK();
}

Status ClientRegistry::Revoke(const std::string& name, int64_t now) {
  ClientRecord* c = Find(name);
  if (!c) return Status::NotFound("no client named " + name);
  if (!c->revoked) c->revoked = now;
  return Status::OK();
}

Status ClientRegistry::Rotate(const std::string& name, const std::string& new_public_key,
                              int64_t grace_seconds, int64_t now) {
  ClientRecord* c = Find(name);
  if (!c) return Status::NotFound("no client named " + name);
  if (c->revoked) return Status::InvalidArgument(name + " is revoked; register a new client");
  auto fingerprint = KeyFingerprint(new_public_key);
  if (!fingerprint.ok()) return fingerprint.status();
  auto pem = PublicKeyPem(new_public_key);
  if (!pem.ok()) return pem.status();
  // Checked before anything changes: a refused rotation leaves every key as it was.
  TASKFS_RETURN_IF_ERROR(RefuseKnownKey(*fingerprint));
  for (ClientKey& k : c->keys) {
    // Old keys stay listed, expired, so that a client still using one is told why it is refused.
    if (k.expires == 0 || k.expires > now + grace_seconds) k.expires = now + grace_seconds;
  }
  c->keys.push_back({*fingerprint, *pem, now, 0});
  return Status::OK();
}

Result<std::string> ClientRegistry::Admit(const std::string& fingerprint, int64_t now) const {
  for (const auto& c : clients_) {
    for (const auto& k : c.keys) {
      if (k.fingerprint != fingerprint) continue;
      if (c.revoked) return Status::PermissionDenied("the key of " + c.name + " is revoked");
      if (k.expires && k.expires <= now) {
        return Status::PermissionDenied("the old key of " + c.name +
                                        " was rotated out and its grace period is over");
      }
      return c.name;
    }
  }
  return Status::PermissionDenied("unknown client key " + fingerprint +
                                  " (register it with `taskfs-server admin register`)");
}

std::vector<std::string> ClientRegistry::ActiveNames() const {
  std::vector<std::string> names;
  for (const auto& c : clients_) {
    if (!c.revoked) names.push_back(c.name);
  }
  return names;
}

}  // namespace taskfs::sync
