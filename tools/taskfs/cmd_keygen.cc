// taskfs keygen: this client's key pair for taskfs-server remotes.
#include <filesystem>
#include <iostream>

#include "storage/file_util.h"
#include "sync/transport/server_remote.h"
#include "sync/transport/tls.h"
#include "tools/taskfs/commands.h"

namespace taskfs::cli {

int RunKeygen(const std::string& name, bool force) {
  const sync::ClientIdentityFiles files = sync::DefaultClientIdentity();
  std::error_code ec;
  if (!force && std::filesystem::exists(files.key, ec)) {
    auto cert = storage::ReadWholeFile(files.cert);
    auto pub = cert ? sync::PublicKeyPem(*cert) : Result<std::string>(Status::NotFound(""));
    std::cerr << "taskfs keygen: " << files.key
              << " exists already (--force makes a new one; the server's admin must then "
                 "rotate it). Its public key:\n";
    if (pub.ok()) std::cout << *pub;
    return 1;
  }
  auto identity = sync::MakeIdentity(name);
  if (!identity.ok()) {
    std::cerr << "taskfs keygen: " << identity.status().message() << "\n";
    return 1;
  }
  std::filesystem::create_directories(std::filesystem::path(files.key).parent_path(), ec);
  for (Status st : {storage::WriteFileAtomically(files.key, identity->key_pem, 0600),
                    storage::WriteFileAtomically(files.cert, identity->cert_pem, 0644)}) {
    if (!st.ok()) {
      std::cerr << "taskfs keygen: " << st.message() << "\n";
      return 1;
    }
  }
  auto pub = sync::PublicKeyPem(identity->cert_pem);
  auto fingerprint = sync::KeyFingerprint(identity->cert_pem);
  std::cerr << "Wrote " << files.key << " (private, mode 600) and " << files.cert << ".\n"
            << "Give the public key below to the server's admin, who runs\n"
            << "  taskfs-server admin register --name NAME FILE\n"
            << "Its fingerprint: " << (fingerprint.ok() ? *fingerprint : "?") << "\n";
  std::cout << (pub.ok() ? *pub : "");
  return 0;
}

}  // namespace taskfs::cli
