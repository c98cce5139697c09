#include "storage/sha1.h"

#include <openssl/evp.h>

#include <memory>

namespace taskfs::storage {

Result<Sha1Digest> Sha1(std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1) {
    return Status::IOError("computing a SHA-1: OpenSSL could not start one");
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) {
      return Status::IOError("computing a SHA-1");
    }
  }
  Sha1Digest digest;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1 || len != digest.size()) {
    return Status::IOError("computing a SHA-1");
  }
  return digest;
}

}  // namespace taskfs::storage
