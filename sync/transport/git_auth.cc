#include "sync/transport/git_auth.h"

#include <arpa/inet.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "storage/git_handles.h"
#include "storage/subprocess.h"
#include "sync/transport/known_hosts.h"
#include "sync/transport/remotes.h"

namespace taskfs::sync {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string ConfigString(git_config* cfg, const char* key) {
  storage::GitBuf buf;
  return git_config_get_string_buf(buf.get(), cfg, key) == 0 ? buf.str() : std::string();
}

// `git credential fill|approve|reject` for `url`, never prompting on a terminal.
Result<storage::ProcessOutput> GitCredential(const std::string& action,
                                             const std::string& request) {
  return storage::RunProcess({"git", "credential", action}, request + "\n",
                             {"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS="});
}

int Refuse(int klass, const std::string& message, int code) {
  git_error_set_str(klass, message.c_str());
  return code;
}

std::string Join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

bool IsIpAddress(const std::string& host) {
  in6_addr v6;
  in_addr v4;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

// Whether the DER certificate `der` of `host` chains to a certificate in `ca_file`; "" if so,
// else why not (OpenSSL's words).
std::string VerifyAgainstCa(const unsigned char* der, size_t size, const std::string& ca_file,
                            const std::string& host) {
  struct Free {
    void operator()(X509* p) const { X509_free(p); }
    void operator()(X509_STORE* p) const { X509_STORE_free(p); }
    void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  };
  const unsigned char* p = der;
  std::unique_ptr<X509, Free> cert(d2i_X509(nullptr, &p, static_cast<long>(size)));
  if (!cert) return "the server's certificate could not be read";
  std::unique_ptr<X509_STORE, Free> store(X509_STORE_new());
  if (!store || X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
    return "cannot read the certificate authority file " + ca_file;
  }
  std::unique_ptr<X509_STORE_CTX, Free> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return "out of memory";
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (IsIpAddress(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  }
  if (X509_verify_cert(ctx.get()) == 1) return "";
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

// Whether the key file `key` holds an RSA key (by its public half, or a PEM RSA private key).
bool IsRsaKey(const std::string& key) {
  std::ifstream pub(key + ".pub");
  std::string type;
  if (pub >> type) return type == "ssh-rsa";
  std::ifstream private_key(key);
  std::string first_line;
  std::getline(private_key, first_line);
  return first_line.find("BEGIN RSA PRIVATE KEY") != std::string::npos;
}

// Appends `line` to the known_hosts file `file` (its folder made 0700 if missing).
bool RecordHostKey(const std::string& file, const std::string& line) {
  std::error_code ec;
  const auto folder = std::filesystem::path(file).parent_path();
  if (!std::filesystem::exists(folder, ec)) {
    std::filesystem::create_directories(folder, ec);
    ::chmod(folder.c_str(), 0700);
  }
  std::ofstream out(file, std::ios::app);
  out << line;
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace

GitAuth::GitAuth(const std::string& url, git_repository* repo, const TransferOptions& options)
    : options_(options) {
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, repo) == 0) {
    storage::ConfigPtr config(raw);
    explicit_key_ = ConfigString(raw, "taskfs.sshKey");
    ca_file_ = ConfigString(raw, "http.sslCAInfo");
  }
  if (const std::string key = Env("TASKFS_SSH_KEY"); !key.empty()) explicit_key_ = key;
  if (const std::string ca = Env("GIT_SSL_CAINFO"); !ca.empty()) ca_file_ = ca;
  const auto ssh_url = ParseSshUrl(url);
  if (!ssh_url) return;
  ssh_ = ResolveSshTarget(*ssh_url);
  connect_url_ = ssh_->Url();
  if (!explicit_key_.empty()) {
    keys_ = {explicit_key_};  // named by the user: the only one offered
    return;
  }
  if (!Env("SSH_AUTH_SOCK").empty() && !ssh_->identities_only) keys_.push_back("agent");
  keys_.insert(keys_.end(), ssh_->identity_files.begin(), ssh_->identity_files.end());
}

int GitAuth::AcquireCredential(git_credential** out, const char* url, const char* user_from_url,
                               unsigned int allowed) {
  const std::string user = user_from_url ? user_from_url : ssh_ ? ssh_->user : "git";
  if (allowed & GIT_CREDENTIAL_SSH_KEY) return NextSshKey(out, user);
  if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
    return Password(out, url ? url : "", user_from_url);
  if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
  return GIT_PASSTHROUGH;
}

int GitAuth::Password(git_credential** out, const std::string& url, const char* user_from_url) {
  if (++password_attempts_ > 1) {  // one try: a wrong password is never retried in a loop
    refused_ = true;
    return Refuse(GIT_ERROR_HTTP,
                  "the server refused the credentials (HTTP 401): check TASKFS_TOKEN or what "
                  "git's credential helper stores for " +
                      UrlForDisplay(url),
                  GIT_EAUTH);
  }
  std::string name = user_from_url ? user_from_url : "";
  std::string secret = Env("TASKFS_TOKEN");
  if (secret.empty() && url.find('\n') == std::string::npos) {
    auto filled = GitCredential(
        "fill", "url=" + url + "\n" + (name.empty() ? "" : "username=" + name + "\n"));
    if (filled.ok() && filled->exit_code == 0) {
      std::istringstream lines(filled->output);
      for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("username=")) name = line.substr(9);
        if (line.starts_with("password=")) secret = line.substr(9);
      }
    }
    if (!secret.empty()) from_helper_ = HelperCredential{url, name, secret};
  }
  if (secret.empty()) {
    return Refuse(GIT_ERROR_HTTP,
                  "the server asks for a password (HTTP 401): set TASKFS_TOKEN or configure a "
                  "git credential helper (git config --global credential.helper store)",
                  GIT_EAUTH);
  }
  if (name.empty()) name = "taskfs";
  return git_credential_userpass_plaintext_new(out, name.c_str(), secret.c_str());
}

int GitAuth::NextSshKey(git_credential** out, const std::string& user) {
  const std::string passphrase = Env("TASKFS_SSH_PASSPHRASE");
  while (next_key_ < keys_.size()) {
    const std::string key = keys_[next_key_++];
    if (key == "agent") {
      keys_tried_.push_back("ssh-agent's keys");
      return git_credential_ssh_key_from_agent(out, user.c_str());
    }
    if (passphrase.empty() && KeyFileNeedsPassphrase(key)) {
      keys_locked_.push_back(key);  // libssh2 cannot ask for it, and taskfs never prompts
      continue;
    }
    keys_tried_.push_back(key);
    const std::string pub = key + ".pub";
    std::error_code ec;
    const bool has_pub = std::filesystem::exists(pub, ec);
    return git_credential_ssh_key_new(out, user.c_str(), has_pub ? pub.c_str() : nullptr,
                                      key.c_str(),
                                      passphrase.empty() ? nullptr : passphrase.c_str());
  }
  std::string why;
  if (!keys_tried_.empty()) {
    refused_ = true;
    why = "the server refused every key offered for " + user + " (" + Join(keys_tried_) + ")";
  } else {
    why = "no ssh key to offer for " + user;
  }
  if (std::any_of(keys_tried_.begin(), keys_tried_.end(), IsRsaKey)) {
    why +=
        "; RSA keys sign with SHA-1 here (libssh2 1.10), which OpenSSH 8.8 and later refuse "
        "by default: use an ed25519 or ecdsa key";
  }
  if (!keys_locked_.empty()) {
    why += "; " + Join(keys_locked_) +
           " needs its passphrase: add it to ssh-agent (ssh-add KEY) or set TASKFS_SSH_PASSPHRASE";
  } else if (keys_tried_.empty()) {
    why +=
        ": start ssh-agent and ssh-add your key, or name one with TASKFS_SSH_KEY or "
        "`git config taskfs.sshKey`";
  }
  return Refuse(GIT_ERROR_SSH, "authentication failed: " + why, GIT_EAUTH);
}

int GitAuth::CheckCertificate(git_cert* cert, int valid, const char* host) {
  const std::string name = host ? host : "";
  if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
    return CheckHostKey(*reinterpret_cast<const git_cert_hostkey*>(cert), name);
  }
  if (valid) return 0;
  if (cert->cert_type == GIT_CERT_X509) {
    return CheckX509(*reinterpret_cast<const git_cert_x509*>(cert), name);
  }
  return GIT_PASSTHROUGH;
}

// libgit2 1.5 always gives the key itself (it fails before calling us without it), and its
// SHA-256 when libssh2 has one; the key is compared, not a fingerprint.
int GitAuth::CheckHostKey(const git_cert_hostkey& offered, const std::string& host) {
  HostKey key;
  if ((offered.type & GIT_CERT_SSH_RAW) && offered.hostkey != nullptr) {
    key.blob = {reinterpret_cast<const unsigned char*>(offered.hostkey), offered.hostkey_len};
  }
  if (offered.type & GIT_CERT_SSH_SHA256) key.sha256 = offered.hash_sha256;
  const std::string name = ssh_ ? ssh_->known_hosts_name : host;
  const std::vector<std::string> files =
      ssh_ && !ssh_->known_hosts_files.empty() ? ssh_->known_hosts_files : DefaultKnownHostsFiles();
  const std::string fingerprint = Sha256Fingerprint(key);
  if (fingerprint.empty()) {
    return Refuse(GIT_ERROR_SSH,
                  "libgit2 gave neither the host key of " + name +
                      " nor its SHA-256: cannot check it against known_hosts, refusing to connect",
                  GIT_ECERTIFICATE);
  }
  const int port = ssh_ ? ssh_->port : 22;
  const std::string scan = "ssh-keyscan " + (port == 22 ? "" : "-p " + std::to_string(port) + " ") +
                           (ssh_ ? ssh_->hostname : host) + " >> " + files.front();
  switch (CheckKnownHost(files, name, key)) {
    case HostKeyCheck::kKnown:
      return 0;
    case HostKeyCheck::kMismatch:
      return Refuse(GIT_ERROR_SSH,
                    "the host key of " + name + " has CHANGED: it offers " + fingerprint +
                        ", which is not the key known_hosts records for it. Refusing to connect: "
                        "someone may be intercepting the connection (a man-in-the-middle "
                        "attack). If the server's key really changed, remove the old one with "
                        "`ssh-keygen -R '" +
                        name + "'`, then record the new one with `" + scan + "`",
                    GIT_ECERTIFICATE);
    case HostKeyCheck::kRevoked:
      return Refuse(GIT_ERROR_SSH,
                    "the host key of " + name + " (" + fingerprint +
                        ") is marked @revoked in known_hosts: refusing to connect (the key may "
                        "be in an attacker's hands)",
                    GIT_ECERTIFICATE);
    case HostKeyCheck::kUnknownHost:
      break;
  }
  const auto line = KnownHostsLine(name, key);
  if (!options_.accept_new_host_key || !line) {
    return Refuse(GIT_ERROR_SSH,
                  "the host key of " + name + " is not in known_hosts (" + Join(files) +
                      "); the server offers " + fingerprint +
                      ". If that is the server's fingerprint (ask its admin), record it with `" +
                      scan +
                      "`, or add the remote again with `taskfs remote add NAME URL "
                      "--accept-host-key`",
                  GIT_ECERTIFICATE);
  }
  if (!RecordHostKey(files.front(), *line)) {
    return Refuse(GIT_ERROR_SSH, "cannot record the host key of " + name + " in " + files.front(),
                  GIT_ECERTIFICATE);
  }
  std::fprintf(stderr, "taskfs: recorded the host key of %s (%s) in %s\n", name.c_str(),
               fingerprint.c_str(), files.front().c_str());
  return 0;
}

int GitAuth::CheckX509(const git_cert_x509& offered, const std::string& host) {
  if (ca_file_.empty()) {
    return Refuse(GIT_ERROR_SSL,
                  "the certificate of " + host +
                      " is not trusted (no certificate authority of this system signed it). If "
                      "the server uses a certificate authority of its own, name its "
                      "certificate: git config --global http.sslCAInfo /path/to/ca.pem",
                  GIT_ECERTIFICATE);
  }
  const std::string why =
      VerifyAgainstCa(static_cast<const unsigned char*>(offered.data), offered.len, ca_file_, host);
  if (why.empty()) return 0;
  return Refuse(GIT_ERROR_SSL,
                "the certificate of " + host + " is not trusted: " + why + " (checked against " +
                    ca_file_ + ", http.sslCAInfo)",
                GIT_ECERTIFICATE);
}

Status GitAuth::Finish(int rc, const std::string& what) {
  if (from_helper_) {
    const std::string request = "url=" + from_helper_->url + "\nusername=" + from_helper_->user +
                                "\npassword=" + from_helper_->password + "\n";
    if (rc == 0) {
      (void)GitCredential("approve", request);
    } else if (refused_) {
      (void)GitCredential("reject", request);
    }
  }
  if (rc >= 0) return Status::OK();
  // libgit2 says an HTTP status only in its message.
  const git_error* e = git_error_last();
  const std::string detail = e && e->message ? e->message : "";
  std::string advice;
  if (detail.find("status code: 404") != std::string::npos) {
    advice = " (HTTP 404: there is no repository at this URL, or this account may not see it)";
  } else if (detail.find("status code: 403") != std::string::npos) {
    advice = " (HTTP 403: the server refused this account access to the repository)";
  }
  if (!advice.empty()) git_error_set_str(e->klass, (detail + advice).c_str());
  return storage::GitStatus(rc, what);
}

}  // namespace taskfs::sync
