#include "sync/transport/server_remote.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "storage/file_util.h"
#include "storage/log.h"
#include "storage/packs.h"
#include "storage/quarantine.h"
#include "storage/store_config.h"
#include "storage/store_location.h"
#include "sync/transport/tls.h"

namespace taskfs::sync {
namespace {

using nlohmann::json;

constexpr int kDefaultPort = 7443;

struct Endpoint {
  std::string host;
  int port = kDefaultPort;
};

Result<Endpoint> ParseUrl(const std::string& url) {
  const std::string rest = url.substr(std::string("taskfs://").size());
  std::string hostport = rest.substr(0, rest.find('/'));
  Endpoint e;
  size_t colon = hostport.rfind(':');
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    const size_t close = hostport.find(']');
    e.host = hostport.substr(1, close - 1);
    colon = hostport.find(':', close);
  } else {
    e.host = hostport.substr(0, colon);
  }
  if (colon != std::string::npos) e.port = std::atoi(hostport.c_str() + colon + 1);
  if (e.host.empty() || e.port <= 0 || e.port > 65535) {
    return Status::InvalidArgument("not a taskfs:// URL: " + url + " (taskfs://HOST[:PORT])");
  }
  return e;
}

// The server's key must be the pinned one: checked in the handshake, before anything is sent.
struct Pin {
  std::string fingerprint;
  bool mismatch = false;
};

int CheckPin(X509_STORE_CTX* ctx, void* arg) {
  auto* pin = static_cast<Pin*>(arg);
  auto seen = KeyFingerprint(X509_STORE_CTX_get0_cert(ctx));
  if (seen.ok() && *seen == pin->fingerprint) return 1;
  pin->mismatch = true;
  return 0;
}

// One HTTPS connection to the server, with this client's certificate and the pin.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const storage::Store& store,
                                                  const RemoteInfo& remote) {
    // A server that drops the connection while we write to it must be an error, not SIGPIPE
    // killing the process: OpenSSL writes to the socket with write(), which raises it.
    static std::once_flag ignore_sigpipe;
    std::call_once(ignore_sigpipe, [] { ::signal(SIGPIPE, SIG_IGN); });
    auto endpoint = ParseUrl(remote.url);
    if (!endpoint.ok()) return endpoint.status();
    const ClientIdentityFiles id = ClientIdentityOf(store);
    std::error_code ec;
    if (!std::filesystem::exists(id.key, ec) || !std::filesystem::exists(id.cert, ec)) {
      return Status::NotFound("no client key at " + id.key +
                              ": run `taskfs keygen` and give the public key it prints to the "
                              "server's admin (`taskfs-server admin register`)");
    }
    TASKFS_RETURN_IF_ERROR(CheckSecretFile(id.key));
    auto pinned = storage::ReadWholeFile(remote.server_cert);
    if (!pinned) {
      return Status::NotFound("remote " + remote.name + ": the server's certificate " +
                              remote.server_cert +
                              " is missing (add the remote again with "
                              "--server-cert)");
    }
    auto fingerprint = KeyFingerprint(*pinned);
    if (!fingerprint.ok()) return fingerprint.status();
    std::unique_ptr<Connection> c(new Connection());
    c->where_ = remote.name + " (" + remote.url + ")";
    c->pin_.fingerprint = *fingerprint;
    c->http_ =
        std::make_unique<httplib::SSLClient>(endpoint->host, endpoint->port, id.cert, id.key);
    if (!c->http_->is_valid()) {
      return Status::InvalidArgument("cannot use the client key " + id.key + " and certificate " +
                                     id.cert);
    }
    c->http_->enable_server_certificate_verification(false);  // the pin below instead
    SSL_CTX* ctx = c->http_->ssl_context();
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, CheckPin, &c->pin_);
    // A socket made after Cancel() (a request that started as it was called) fails at once.
    c->http_->set_socket_options([conn = c.get()](socket_t sock) {
      if (conn->cancelled_.load()) ::shutdown(sock, SHUT_RDWR);
    });
    c->http_->set_connection_timeout(10, 0);
    c->http_->set_read_timeout(120, 0);
    c->http_->set_write_timeout(120, 0);
    return c;
  }

  // POSTs `body`; the response, or an error that says what went wrong (see Send).
  Result<httplib::Response> Post(const std::string& path, const std::string& body,
                                 const std::string& content_type) {
    return Send(path, [&] { return http_->Post(path.c_str(), body, content_type.c_str()); });
  }

  // `retry_busy` false: a 503 is Busy at once.
  Result<httplib::Response> Get(const std::string& path, bool retry_busy = true) {
    return Send(
        path, [&] { return http_->Get(path.c_str()); }, retry_busy);
  }

  // One connection for request after request (a long-poll's), not one each.
  void KeepAlive() { http_->set_keep_alive(true); }

  // Thread-safe: the request in progress fails now, and every later one.
  void Cancel() {
    cancelled_.store(true);
    http_->stop();
  }

 private:
  Connection() = default;

  // The answer to the request `attempt` makes (to `path`), or an error that says what went wrong. A
  // busy server's 503 is retried after the Retry-After it names (plus jitter, so waiting clients
  // spread out), for at most kBusyRetries attempts.
  template <class Attempt>
  Result<httplib::Response> Send(const std::string& path, const Attempt& attempt,
                                 bool retry_busy = true) {
    constexpr int kBusyRetries = 30;
    httplib::Result res = attempt();
    for (int tries = 1; retry_busy && res && res->status == 503 && tries <= kBusyRetries; ++tries) {
      const int seconds =
          std::clamp(std::atoi(res->get_header_value("Retry-After").c_str()), 1, 30);
      thread_local std::mt19937 rng(std::random_device{}());
      const auto wait =
          std::chrono::milliseconds(seconds * 1000) + std::chrono::milliseconds(rng() % 1000);
      Log(LogLevel::kDebug,
          where_ + " is busy; retrying in " + std::to_string(wait.count()) + " ms");
      std::this_thread::sleep_for(wait);
      res = attempt();
    }
    if (cancelled_.load()) return Status::Cancelled("the request to " + where_ + " was cancelled");
    if (!res) {
      if (pin_.mismatch) {
        return Status::PermissionDenied(
            "the server at " + where_ +
            " is not the one pinned by its certificate: refusing to talk to it (if its key "
            "really changed, add the remote again with the new --server-cert)");
      }
      return Status::Unavailable("cannot sync with " + where_ + ": " +
                                 httplib::to_string(res.error()) +
                                 " (is the server running, and this client's key registered "
                                 "there and not revoked?)");
    }
    if (res->status == 200) return *res;
    json error = json::parse(res->body, nullptr, false);
    const std::string message = error.is_object() ? error.value("error", res->body) : res->body;
    if (res->status == 403) {
      return Status::PermissionDenied(where_ + " refused this client: " + message);
    }
    if (res->status == 422) {  // the server's checks for incoming history refused a push
      return Status::Refused(where_ + " answered 422: " + message);
    }
    if (res->status == 404) {
      return Status::NotSupported(where_ + " has no " + path.substr(0, path.find('?')) +
                                  " (a taskfs-server older than this client)");
    }
    if (res->status == 503) return Status::Busy(where_ + " is busy: " + message);
    return Status::IOError(where_ + " answered " + std::to_string(res->status) + ": " + message);
  }

  std::string where_;
  std::atomic<bool> cancelled_{false};
  Pin pin_;
  std::unique_ptr<httplib::SSLClient> http_;
};

// Takes the server's commits we lack; returns its head ("" when it has none).
Result<std::string> Fetch(storage::Store& store, Connection& c, const std::string& remote) {
  const std::string tracking = TrackingRefOf(store, remote);
  auto branch = store.Head();
  if (!branch.ok()) return branch.status();
  const std::string head = *branch;
  const std::string known = storage::RefTarget(store, tracking);
  json request = {{"have", json::array()}, {"applied", ""}};
  for (const std::string& id : {head, known}) {
    if (!id.empty()) request["have"].push_back(id);
  }
  // Everything up to the server head we merged is applied here: that acknowledges it.
  if (!known.empty() && !head.empty()) {
    auto base = store.MergeBase(head, known);
    if (base.ok() && *base == known) request["applied"] = known;
  }
  auto res = c.Post("/sync/fetch", request.dump(), "application/json");
  if (!res.ok()) return res.status();
  const std::string server_head = res->get_header_value("X-Taskfs-Head");
  if (server_head.empty()) return std::string();
  TASKFS_RETURN_IF_ERROR(storage::AdmitPack(store, res->body, server_head,
                                            {store.branch_ref(), tracking}, head,
                                            "server remote " + remote, "the pack from " + remote));
  TASKFS_RETURN_IF_ERROR(storage::SetRef(store, tracking, server_head));
  return server_head;
}

// Sends our branch; returns the server's head after it took it (ours, or its merge of ours).
Result<std::string> Push(storage::Store& store, Connection& c, const std::string& remote) {
  const std::string tracking = TrackingRefOf(store, remote);
  auto branch = store.Head();
  if (!branch.ok()) return branch.status();
  const std::string head = *branch;
  const std::string known = storage::RefTarget(store, tracking);
  auto pack = storage::BuildPack(store, head, {known});
  if (!pack.ok()) return pack.status();
  auto res = c.Post("/sync/push?new=" + head, *pack, "application/x-git-packfile");
  if (!res.ok()) return res.status();
  json answer = json::parse(res->body, nullptr, false);
  if (!answer.is_object() || !answer.value("head", json()).is_string()) {
    return Status::IOError(remote + " answered a push with " + res->body);
  }
  TASKFS_RETURN_IF_ERROR(storage::SetRef(store, tracking, head));  // it has ours now
  return answer["head"].get<std::string>();
}

// The server's clients with what each published last (GET /sync/peers).
Result<std::vector<Peer>> ListServerPeers(const storage::Store& store, Connection& c,
                                          const std::string& remote) {
  auto res = c.Get("/sync/peers");
  if (!res.ok()) return res.status();
  const json answer = json::parse(res->body, nullptr, false);
  const auto bad = [&] {
    return Status::IOError(remote + " answered /sync/peers with " + res->body);
  };
  if (!answer.is_object() || !answer.value("peers", json()).is_array()) return bad();
  const std::string you = answer.value("you", "");
  std::vector<Peer> peers;
  for (const json& entry : answer["peers"]) {
    if (!entry.is_object() || !entry.value("client", json()).is_string() ||
        !entry.value("head", json()).is_string() ||
        !entry.value("published", json()).is_number_integer()) {
      return bad();
    }
    Peer peer;
    peer.id = entry["client"].get<std::string>();
    peer.head = entry["head"].get<std::string>();
    peer.published = entry["published"].get<int64_t>();
    peer.is_us = peer.id == you;
    NameAuthor(store, &peer);
    peers.push_back(std::move(peer));
  }
  return peers;
}

}  // namespace

ClientIdentityFiles DefaultClientIdentity() {
  const std::string dir = storage::ConfigDir() + "/taskfs";
  return {dir + "/client.key", dir + "/client.crt"};
}

ClientIdentityFiles ClientIdentityOf(const storage::Store& store) {
  ClientIdentityFiles files = DefaultClientIdentity();
  if (const char* key = std::getenv("TASKFS_CLIENT_KEY"); key && *key) files.key = key;
  if (const char* cert = std::getenv("TASKFS_CLIENT_CERT"); cert && *cert) files.cert = cert;
  if (auto key = storage::ConfigValue(store, "taskfs.clientKey"); !key.empty()) files.key = key;
  if (auto cert = storage::ConfigValue(store, "taskfs.clientCert"); !cert.empty()) {
    files.cert = cert;
  }
  return files;
}

namespace {

class ServerTransport final : public Transport {
 public:
  explicit ServerTransport(RemoteInfo remote) : remote_(std::move(remote)) {}

  std::string Describe() const override { return "taskfs-server " + remote_.url; }

  Result<std::vector<Peer>> ListPeers(storage::Store& store) override {
    TASKFS_RETURN_IF_ERROR(Connect(store));
    return ListServerPeers(store, *connection_, remote_.name);
  }

  Result<Fetched> Fetch(storage::Store& store) override {
    TASKFS_RETURN_IF_ERROR(Connect(store));
    auto theirs = sync::Fetch(store, *connection_, remote_.name);
    if (!theirs.ok()) return theirs.status();
    Fetched fetched;
    fetched.remote_head = *theirs;
    if (!theirs->empty()) fetched.heads.push_back(*theirs);
    return fetched;
  }

  // The server takes the push in any case; if others pushed first it merges ours onto theirs,
  // and that merge is what the next fetch brings.
  Result<Published> Publish(storage::Store& store, const std::string& head) override {
    auto server_head = Push(store, *connection_, remote_.name);
    if (!server_head.ok()) return server_head.status();
    Published published;
    published.pushed = true;
    published.fetch_again = *server_head != head;
    return published;
  }

 private:
  Status Connect(const storage::Store& store) {
    if (connection_) return Status::OK();
    auto c = Connection::Open(store, remote_);
    if (!c.ok()) return c.status();
    connection_ = std::move(*c);
    return Status::OK();
  }

  const RemoteInfo remote_;
  std::unique_ptr<Connection> connection_;  // opened by the first Fetch or ListPeers
};

class ServerHeadWatch final : public HeadWatch {
 public:
  explicit ServerHeadWatch(std::unique_ptr<Connection> connection)
      : connection_(std::move(connection)) {}

  Result<std::string> WaitForHead(const std::string& known, std::chrono::seconds timeout) override {
    auto res =
        connection_->Get("/sync/wait?head=" + known + "&timeout=" + std::to_string(timeout.count()),
                         /*retry_busy=*/false);
    if (!res.ok()) return res.status();
    const json answer = json::parse(res->body, nullptr, false);
    if (!answer.is_object() || !answer.value("head", json()).is_string()) {
      return Status::IOError("the server answered /sync/wait with " + res->body);
    }
    return answer["head"].get<std::string>();
  }

  void Cancel() override { connection_->Cancel(); }

 private:
  const std::unique_ptr<Connection> connection_;
};

}  // namespace

std::unique_ptr<Transport> OpenServerTransport(const RemoteInfo& remote) {
  return std::make_unique<ServerTransport>(remote);
}

Result<std::unique_ptr<HeadWatch>> OpenServerHeadWatch(const storage::Store& store,
                                                       const RemoteInfo& remote) {
  auto c = Connection::Open(store, remote);
  if (!c.ok()) return c.status();
  (*c)->KeepAlive();
  return std::unique_ptr<HeadWatch>(std::make_unique<ServerHeadWatch>(std::move(*c)));
}

}  // namespace taskfs::sync
