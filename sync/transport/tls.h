// TLS identities for taskfs-server and its clients (OpenSSL 3): key pairs with self-signed
// certificates, the fingerprint that names a public key (SHA-256 of its SubjectPublicKeyInfo),
// and key files that only their owner may read.
//
// A client's identity is its key pair; the certificate around the public key is only what TLS
// needs to carry it. The server admits a client by the fingerprint of that public key, and a
// client pins the server's public key the same way, so no certificate authority is involved.
#pragma once

#include <string>
#include <vector>

#include "storage/status.h"

struct x509_st;  // OpenSSL's X509

namespace taskfs::sync {

struct Identity {
  std::string key_pem;   // private key (PKCS#8 PEM)
  std::string cert_pem;  // self-signed certificate (PEM) for `common_name`
};

// A new P-256 key pair and a self-signed certificate valid for ten years. `hosts` (DNS names or
// IP addresses) become subjectAltNames, for clients that check host names.
Result<Identity> MakeIdentity(const std::string& common_name,
                              const std::vector<std::string>& hosts = {});

// The public key of a certificate or of a public key, as PEM ("-----BEGIN PUBLIC KEY-----").
Result<std::string> PublicKeyPem(const std::string& cert_or_key_pem);
// "sha256:" and the hex SHA-256 of the DER SubjectPublicKeyInfo of a PEM certificate or public
// key: the name of a key in the registry and in pins.
Result<std::string> KeyFingerprint(const std::string& cert_or_key_pem);

// The same for a certificate OpenSSL holds (X509*).
Result<std::string> KeyFingerprint(x509_st* cert);

// Fails unless `path` is readable by its owner only (no group or other permission bits).
Status CheckSecretFile(const std::string& path);

}  // namespace taskfs::sync
