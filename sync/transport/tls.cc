#include "sync/transport/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "storage/hex.h"

namespace taskfs::sync {
namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
// OPENSSL_free is a macro (it passes the caller's file and line).
struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

Status OpenSslError(const std::string& what) {
  char buf[256] = "unknown error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return Status::InvalidArgument(what + ": " + buf);
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// The public key in a PEM certificate or PEM public key.
Result<KeyPtr> ReadPublicKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)); cert) {
    return KeyPtr(X509_get_pubkey(cert.get()));
  }
  ERR_clear_error();
  bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (KeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)); key) return key;
  return OpenSslError("not a PEM certificate or public key");
}

Status AddAltNames(X509* cert, const std::vector<std::string>& hosts) {
  if (hosts.empty()) return Status::OK();
  std::string names;
  for (const std::string& h : hosts) {
    in6_addr addr6;
    in_addr addr4;
    const bool ip =
        inet_pton(AF_INET, h.c_str(), &addr4) == 1 || inet_pton(AF_INET6, h.c_str(), &addr6) == 1;
    names += (names.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + h;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, names.c_str()));
  if (!ext) return OpenSslError("subjectAltName " + names);
  X509_add_ext(cert, ext.get(), -1);
  return Status::OK();
}

}  // namespace

Result<Identity> MakeIdentity(const std::string& common_name,
                              const std::vector<std::string>& hosts) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generating a key");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn) return OpenSslError("making a serial number");
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  TASKFS_RETURN_IF_ERROR(AddAltNames(cert.get(), hosts));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return OpenSslError("signing");

  BioPtr key_bio(BIO_new(BIO_s_mem())), cert_bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ||
      !PEM_write_bio_X509(cert_bio.get(), cert.get())) {
    return OpenSslError("writing PEM");
  }
  return Identity{BioText(key_bio.get()), BioText(cert_bio.get())};
}

Result<std::string> PublicKeyPem(const std::string& cert_or_key_pem) {
  auto key = ReadPublicKey(cert_or_key_pem);
  if (!key.ok()) return key.status();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PUBKEY(bio.get(), key->get())) return OpenSslError("writing PEM");
  return BioText(bio.get());
}

Result<std::string> KeyFingerprint(const std::string& cert_or_key_pem) {
  auto key = ReadPublicKey(cert_or_key_pem);
  if (!key.ok()) return key.status();
  unsigned char* raw_der = nullptr;
  const int len = i2d_PUBKEY(key->get(), &raw_der);
  if (len <= 0) return OpenSslError("encoding a public key");
  const std::unique_ptr<unsigned char, OpenSslFree> der(raw_der);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(der.get(), static_cast<size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
  return "sha256:" + storage::Hex(digest, digest_len);
}

Result<std::string> KeyFingerprint(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!cert || !PEM_write_bio_X509(bio.get(), cert)) return OpenSslError("reading a certificate");
  return KeyFingerprint(BioText(bio.get()));
}

Status CheckSecretFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, path);
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return Status::PermissionDenied(path + " is readable by others (mode " + mode +
                                    "): refusing to use it; run `chmod 600 " + path + "`");
  }
  return Status::OK();
}

}  // namespace taskfs::sync
