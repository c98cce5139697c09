#include "sync/server/task_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "storage/file_util.h"
#include "storage/hex.h"
#include "storage/idle_memory.h"
#include "storage/log.h"
#include "storage/packs.h"
#include "storage/quarantine.h"
#include "storage/repack.h"
#include "storage/store.h"
#include "storage/store_config.h"
#include "storage/task_limits.h"
#include "storage/task_name.h"
#include "storage/task_validate.h"
#include "sync/merge/field_task_merger.h"
#include "sync/merge/integrate.h"
#include "sync/merge/merge_task.h"
#include "sync/server/client_registry.h"
#include "sync/server/elastic_thread_pool.h"
#include "sync/server/task_json.h"
#include "sync/server/task_request.h"
#include "sync/server/update_log.h"
#include "sync/transport/tls.h"

namespace taskfs::sync {
namespace {

using nlohmann::json;

// What one TLS connection is: who is at the other end and, while the handshake is not done,
// why it might fail. Kept in the SSL object; logged when a connection that never finished its
// handshake is freed, so every refusal leaves a line with its reason.
struct Connection {
  std::string peer;
  std::string client;  // the registered name, once admitted
  std::string reason;  // why we refused it (our check of its key)
  std::string alert;   // a TLS alert sent or received
  std::string error;   // OpenSSL's error
  bool done = false;
};

std::string PeerOf(const SSL* ssl) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(SSL_get_fd(ssl), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

void FreeConnection(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* c = static_cast<Connection*>(ptr);
  if (!c) return;
  if (!c->done) {
    std::string why = !c->reason.empty() ? c->reason
                      : !c->error.empty()
                          ? c->error + (c->alert.empty() ? "" : " (" + c->alert + ")")
                      : !c->alert.empty() ? c->alert
                                          : "the connection closed during the TLS handshake";
    LogWarning("refused a connection from " + c->peer + ": " + why);
  }
  delete c;
}

int ConnectionIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeConnection);
  return index;
}

Connection* ConnectionOf(const SSL* ssl) {
  return static_cast<Connection*>(SSL_get_ex_data(ssl, ConnectionIndex()));
}

Connection* EnsureConnection(SSL* ssl) {
  Connection* c = ConnectionOf(ssl);
  if (!c) {
    c = new Connection();
    c->peer = PeerOf(ssl);
    SSL_set_ex_data(ssl, ConnectionIndex(), c);
  }
  return c;
}

void OnTlsEvent(const SSL* const_ssl, int where, int ret) {
  Connection* c = EnsureConnection(const_cast<SSL*>(const_ssl));
  if (where & SSL_CB_HANDSHAKE_DONE) c->done = true;
  if (where & SSL_CB_ALERT) {
    c->alert = std::string((where & SSL_CB_READ) ? "the client sent" : "sent") + " alert \"" +
               SSL_alert_desc_string_long(ret) + "\"";
  }
  if ((where & SSL_CB_EXIT) && ret <= 0) {
    if (unsigned long e = ERR_peek_last_error()) {
      const char* reason = ERR_reason_error_string(e);
      c->error = reason ? reason : "TLS error";
    }
  }
}

// Counts itself in `counter` for its life; `count` is the counter's value with it.
struct CountedIn {
  explicit CountedIn(std::atomic<int>& c) : counter(c), count(++c) {}
  ~CountedIn() { --counter; }
  CountedIn(const CountedIn&) = delete;
  CountedIn& operator=(const CountedIn&) = delete;
  std::atomic<int>& counter;
  const int count;
};

std::string Hex(const storage::ObjectId& id) { return storage::Hex(id.data(), id.size()); }

void SendError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump() + "\n", "application/json");
}

// 503 with Retry-After, which taskfs clients honour.
void SendBusy(httplib::Response& res, int retry_after_seconds, const std::string& why) {
  res.set_header("Retry-After", std::to_string(retry_after_seconds));
  SendError(res, 503, "busy: " + why);
}

void SendJson(httplib::Response& res, const json& body) {
  res.set_content(body.dump() + "\n", "application/json");
}

int64_t Now() { return std::time(nullptr); }

// The JSON object of a request (sync/server/task_request.h), or nullopt once a 400 is sent.
template <class Json = json>
std::optional<Json> ParseBody(const httplib::Request& req, httplib::Response& res,
                              const std::string& expected) {
  RequestError error;
  auto body = ParseRequestBody<Json>(req.body, expected, &error);
  if (!body) SendError(res, error.http_status, error.message);
  return body;
}

// Why the task `id`, at `path`, cannot be written: not a task name, or a component of its path
// the store refuses.
Status CheckTaskPath(const std::string& id, const std::string& path) {
  if (!storage::IsTaskPath(path)) return Status::InvalidArgument("not a task name: " + id);
  for (size_t start = 0; start <= path.size();) {
    const size_t slash = std::min(path.find('/', start), path.size());
    TASKFS_RETURN_IF_ERROR(storage::CheckComponent(path.substr(start, slash - start)));
    start = slash + 1;
  }
  return Status::OK();
}

// What to commit at `path` for a client's version `theirs` made on `base`, where the server has
// `ours` (its commit made at `server_time`): theirs when only the client changed it, else the
// merge of both (and a conflict copy when they cannot be reconciled); nothing if theirs is ours.
std::vector<storage::Change> TaskChanges(const std::string& path,
                                         const std::optional<std::string>& base,
                                         const std::optional<std::string>& ours,
                                         const std::optional<std::string>& theirs,
                                         int64_t server_time, const std::string& client) {
  std::vector<storage::Change> changes;
  if (theirs == ours) return changes;
  if (base == ours) {
    changes.push_back({path, theirs});  // only the client changed it
    return changes;
  }
  const SideInfo server{server_time, "taskfs-server", "taskfs-server"};
  const SideInfo sender{Now(), client, client};
  TaskMergeResult merged = MergeTask(base, ours, server, theirs, sender);
  changes.push_back({path, merged.content});
  if (merged.conflict_copy) {
    changes.push_back(
        {storage::ConflictCopyPath(path, *merged.conflict_copy), merged.conflict_copy});
  }
  return changes;
}

// Answers a task update with the server's version of the task at `path` in `tree` (none: null).
void SendTaskState(httplib::Response& res, const storage::Snapshot& tree, const std::string& path) {
  nlohmann::ordered_json out = {{"server_state", nullptr}, {"hash", nullptr}};
  if (const storage::FileEntry* result = tree.FindFile(path)) {
    auto content = tree.Content(path, *result);
    if (!content.ok()) return SendError(res, 500, content.status().message());
    auto as_json = TaskToJson(**content);
    out["server_state"] = as_json.ok() ? *as_json : nlohmann::ordered_json(**content);
    out["hash"] = Hex(result->blob);
  }
  res.set_content(out.dump() + "\n", "application/json");
}

}  // namespace

ServerPaths::ServerPaths(const std::string& d)
    : dir(d),
      store(d + "/store"),
      key(d + "/server.key"),
      cert(d + "/server.crt"),
      clients(d + "/clients.json"),
      updates(d + "/updates.json") {}

Status InitServer(const std::string& dir, const std::vector<std::string>& hosts) {
  ServerPaths paths(dir);
  std::error_code ec;
  if (std::filesystem::exists(paths.key, ec)) {
    return Status::AlreadyExists(dir + " is a taskfs-server directory already");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "creating " + dir);
  ::chmod(dir.c_str(), 0700);
  auto store = storage::Store::Init(paths.store, "taskfs-server");
  if (!store.ok()) return store.status();
  auto identity = MakeIdentity(hosts.empty() ? "taskfs-server" : hosts.front(), hosts);
  if (!identity.ok()) return identity.status();
  TASKFS_RETURN_IF_ERROR(storage::WriteFileAtomically(paths.key, identity->key_pem, 0600));
  TASKFS_RETURN_IF_ERROR(storage::WriteFileAtomically(paths.cert, identity->cert_pem, 0644));
  return ClientRegistry().Save(paths.clients);
}

struct TaskServer::Impl {
  ServerOptions options;
  ServerPaths paths{""};
  std::unique_ptr<storage::Store> store;
  // Touched after every request but long-polls (which read nothing): once the server is quiet,
  // the store lets go of the packs the requests read.
  std::unique_ptr<storage::IdleMemoryReleaser> idle_release;
  std::unique_ptr<httplib::SSLServer> http;

  std::mutex registry_mu;  // guards registry, registry_mtime
  ClientRegistry registry;
  timespec registry_mtime{};

  std::mutex update_mu;  // one update (push, task, ack) at a time; guards log
  UpdateLog log;

  std::atomic<int> requests_in_flight{0};  // admitted requests being served

  // The branch head as the last update left it, for long-polls (GET /sync/wait) to compare with.
  // Set under update_mu as well, right after the update that moved it.
  std::mutex head_mu;  // guards head, stopping; a leaf (taken under update_mu, never around it)
  std::condition_variable head_moved;  // notified when head or stopping changes
  std::string head;
  bool stopping = false;
  std::atomic<int> waiters{0};  // GET /sync/wait requests waiting now
  static constexpr int kMaxWaitSeconds = 60;

  // Every push and every task update leaves a pack in the store: merged a tier at a time
  // (storage/repack.h) once kUpdatesPerRepack updates came, by the request that finds it due,
  // before its response, under no lock of the server's (MergeSmallPacks takes the store's repack
  // lock; a merge keeps every object, so readers are safe).
  static constexpr int kUpdatesPerRepack = 8;
  std::atomic<int> updates_since_repack{0};

  // --- who may connect ---

  // The registry as the admin last wrote it.
  void ReloadRegistry() {
    struct stat st;
    if (::stat(paths.clients.c_str(), &st) != 0) return;
    if (st.st_mtim.tv_sec == registry_mtime.tv_sec &&
        st.st_mtim.tv_nsec == registry_mtime.tv_nsec) {
      return;
    }
    auto loaded = ClientRegistry::Load(paths.clients);
    if (!loaded.ok()) {
      LogError(loaded.status().message() + "; keeping the registry read before");
      return;
    }
    registry = std::move(loaded.value());
    registry_mtime = st.st_mtim;
  }

  Result<std::string> Admit(X509* cert) {
    auto fingerprint = KeyFingerprint(cert);
    if (!fingerprint.ok()) return fingerprint.status();
    std::lock_guard lock(registry_mu);
    ReloadRegistry();
    return registry.Admit(*fingerprint, Now());
  }

  std::vector<std::string> ActiveClients() {
    std::lock_guard lock(registry_mu);
    ReloadRegistry();
    return registry.ActiveNames();
  }

  static int VerifyClient(X509_STORE_CTX* store_ctx, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    Connection* c = EnsureConnection(ssl);
    X509* cert = X509_STORE_CTX_get0_cert(store_ctx);
    if (!cert) {
      c->reason = "no client certificate";
      return 0;
    }
    auto name = self->Admit(cert);
    if (!name.ok()) {
      c->reason = name.status().message();
      X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
    c->client = *name;
    return 1;
  }

  bool SetUpTls(SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_chain_file(&ctx, paths.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(&ctx, paths.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      LogError("cannot load " + paths.cert + " and " + paths.key);
      return false;
    }
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_cert_verify_callback(&ctx, VerifyClient, this);
    SSL_CTX_set_info_callback(&ctx, OnTlsEvent);
    return true;
  }

  // The registered name of the client on this request's connection ("" if none: never served).
  static std::string ClientOf(const httplib::Request& req) {
    const Connection* c = req.ssl ? ConnectionOf(req.ssl) : nullptr;
    return c ? c->client : "";
  }

  // Forgets what every client acknowledged, and writes the log if `changed` or it forgot any.
  void SaveLog(bool changed = true) {
    if (!log.Forget(ActiveClients()) && !changed) return;
    if (Status st = log.Save(paths.updates); !st.ok()) LogError(st.message());
  }

  // Records an update from `before` to the branch now (a push or a task); returns its version.
  int64_t RecordUpdate(const storage::Snapshot& before, const storage::Snapshot& after) {
    std::vector<std::string> deleted, written;
    for (const std::string& p : storage::Snapshot::ChangedPaths(before, after)) {
      if (!storage::IsTaskPath(p)) continue;
      (after.FindFile(p) ? written : deleted).push_back(storage::TaskNameOf(p));
    }
    updates_since_repack.fetch_add(1);
    return log.Record(after.commit_id(), deleted, written);
  }

  void MergePacksIfDue() {
    if (updates_since_repack.load() < kUpdatesPerRepack) return;
    updates_since_repack.store(0);
    if (auto merged = storage::MergeSmallPacks(*store); !merged.ok()) {
      LogWarning("could not merge the store's packs (retried later): " + merged.status().message());
    }
  }

  // --- commit sync ---

  // Wakes the long-polls waiting for the head to move.
  void AnnounceHead(const std::string& commit) {
    {
      std::lock_guard lock(head_mu);
      if (head == commit) return;
      head = commit;
    }
    head_moved.notify_all();
  }

  // GET /sync/wait?head=COMMIT&timeout=SECONDS: {"head": ...} as soon as the branch head is not
  // COMMIT ("" for none), or once the timeout (at most kMaxWaitSeconds) passes with it unchanged.
  // Daemons hold one open to hear of others' pushes at once. A waiting request does no work, so
  // it is not counted in max_requests; at most max_waiters wait at once, more get 503.
  void Wait(const httplib::Request& req, httplib::Response& res) {
    const std::string known = req.get_param_value("head");
    if (!known.empty() && !IsObjectId(json(known))) {
      return SendError(res, 400, "?head= must be a commit id or empty");
    }
    const int seconds =
        std::clamp(std::atoi(req.get_param_value("timeout").c_str()), 0, kMaxWaitSeconds);
    const CountedIn waiting(waiters);
    if (waiting.count > options.max_waiters) {
      return SendBusy(
          res, 30,
          std::to_string(options.max_waiters) + " clients wait for news already; poll instead");
    }
    std::string now;
    {
      std::unique_lock lock(head_mu);
      head_moved.wait_for(lock, std::chrono::seconds(seconds),
                          [&] { return stopping || head != known; });
      now = head;
    }
    SendJson(res, {{"head", now}});
  }

  // POST /sync/fetch {"have": [commit...], "applied": commit}: a pack of what the client lacks.
  void Fetch(const httplib::Request& req, httplib::Response& res, const std::string& client) {
    const std::string expected = "{\"have\": [commit ids], \"applied\": commit id or \"\"}";
    auto parsed = ParseBody(req, res, expected);
    if (!parsed) return;
    const json& body = *parsed;
    const json no_ids = json::array();
    const json& have_ids = body.contains("have") ? body["have"] : no_ids;
    const json applied_id = body.value("applied", json(""));
    if (!have_ids.is_array() || !(applied_id == "" || IsObjectId(applied_id))) {
      return SendError(res, 400, "expected " + expected);
    }
    std::vector<std::string> have;
    for (const auto& h : have_ids) {
      if (!IsObjectId(h)) return SendError(res, 400, "not a commit id in \"have\": " + h.dump());
      have.push_back(h.get<std::string>());
    }
    if (const std::string applied = applied_id.get<std::string>(); !applied.empty()) {
      std::lock_guard lock(update_mu);
      const int64_t v = log.VersionOf(applied);
      SaveLog(v && log.Acknowledge(client, v));
    }
    auto snap = store->Refresh();
    if (!snap.ok()) return SendError(res, 500, snap.status().message());
    const std::string head = (*snap)->commit_id();
    std::string pack;
    if (!head.empty()) {
      auto built = storage::BuildPack(*store, head, have);
      if (!built.ok()) return SendError(res, 500, built.status().message());
      pack = std::move(built.value());
    }
    res.set_header("X-Taskfs-Head", head);
    res.set_content(pack, "application/x-git-packfile");
  }

  // POST /sync/push?new=COMMIT with a pack: the server takes `new` onto its branch (a
  // fast-forward, or a merge when others pushed since the client fetched).
  void Push(const httplib::Request& req, httplib::Response& res, const std::string& client) {
    const std::string pushed = req.get_param_value("new");
    if (!IsObjectId(json(pushed))) return SendError(res, 400, "missing ?new=COMMIT");
    // Checked aside before anything enters the store: a refused push leaves no trace.
    if (Status st = storage::AdmitPack(*store, req.body, pushed, {store->branch_ref()},
                                       storage::RefTarget(*store, store->branch_ref()),
                                       "client " + client, "the pushed pack");
        !st.ok()) {
      if (IsRefusedHistory(st)) {
        LogWarning(storage::EscapeForDisplay(st.message()));
        return SendError(res, 422, st.message());
      }
      return SendError(res, 400, st.message());
    }
    std::lock_guard lock(update_mu);
    auto before = store->Refresh();
    if (!before.ok()) return SendError(res, 500, before.status().message());
    IntegrationReport report;
    if (Status st = Integrate(*store, pushed, &report); !st.ok()) {
      return SendError(res, 500, st.message());
    }
    auto after = store->Refresh();
    if (!after.ok()) return SendError(res, 500, after.status().message());
    int64_t version = log.version();
    if ((*after)->commit_id() != (*before)->commit_id()) {
      version = RecordUpdate(**before, **after);
    }
    if (report.fast_forwarded || (*after)->commit_id() == pushed) {
      log.Acknowledge(client, version);  // it has all of this version: it made it
    }
    log.RecordPublish(client, pushed, Now());
    SaveLog();
    AnnounceHead((*after)->commit_id());
    LogInfo(client + " pushed " + pushed.substr(0, 12) +
            (report.merged ? ", merged on the server" : ""));
    SendJson(res, {{"head", (*after)->commit_id()}, {"version", version}});
  }

  // GET /sync/peers: every client not revoked, with the commit it last published and when
  // ("" and 0 if it never did), and which of them is asking.
  void Peers(httplib::Response& res, const std::string& client) {
    const std::vector<std::string> active = ActiveClients();
    std::lock_guard lock(update_mu);
    json peers = json::array();
    for (const std::string& name : active) {
      auto it = log.published().find(name);
      const PublishRecord record = it == log.published().end() ? PublishRecord{} : it->second;
      peers.push_back({{"client", name}, {"head", record.commit}, {"published", record.time}});
    }
    SendJson(res, {{"you", client}, {"peers", peers}});
  }

  // --- JSON interchange ---

  void Hashes(httplib::Response& res) {
    std::lock_guard lock(update_mu);
    SaveLog(/*changed=*/false);  // forgets what all acknowledged (also after a revoke)
    auto snap = store->Refresh();
    if (!snap.ok()) return SendError(res, 500, snap.status().message());
    json out = json::object();
    for (const auto& t : log.tombstones()) out[t.task] = nullptr;
    (*snap)->ForEachFile([&](const std::string& path, const storage::FileEntry& fe) {
      if (storage::IsTaskPath(path)) out[storage::TaskNameOf(path)] = Hex(fe.blob);
    });
    res.set_header("X-Taskfs-Version", std::to_string(log.version()));
    SendJson(res, out);
  }

  // The version a task update was made on: the blob it names (InvalidArgument if the server has
  // none such), else `ours` for a delete (it deletes the current one), else none (a create).
  Result<std::optional<std::string>> BaseOf(const TaskUpdate& update,
                                            const std::optional<std::string>& ours) {
    std::optional<std::string> base;
    if (update.base) {
      auto blob = store->ReadBlob(*update.base);
      if (!blob.ok()) {
        return Status::InvalidArgument("unknown base " + *update.base +
                                       ": not a version of a task this server has");
      }
      base = *blob;
    } else if (!update.text) {
      base = ours;  // a delete that names no version deletes the current one
    }
    return base;
  }

  // POST /task/NAME {"client_state": null | {...}, "base": null | hash}: the client's version of
  // one task, merged with the server's when both changed it; answers with what the server has.
  void PostTask(const httplib::Request& req, httplib::Response& res, const std::string& client) {
    const std::string id = req.matches[1];
    const std::string path = storage::TaskPathOf(id);
    if (Status st = CheckTaskPath(id, path); !st.ok()) return SendError(res, 400, st.message());
    RequestError error;
    auto update = ParseTaskUpdate(req.body, &error);
    if (!update) return SendError(res, error.http_status, error.message);
    std::lock_guard lock(update_mu);
    auto before = store->Refresh();
    if (!before.ok()) return SendError(res, 500, before.status().message());
    auto current = (*before)->ContentAt(path);
    if (!current.ok()) return SendError(res, 500, current.status().message());
    std::optional<std::string> ours;
    if (*current) ours = **current;
    auto base = BaseOf(*update, ours);
    if (!base.ok()) return SendError(res, 400, base.status().message());
    const std::vector<storage::Change> changes =
        TaskChanges(path, *base, ours, update->text, (*before)->commit_time(), client);
    if (!changes.empty() && changes[0].content != ours) {
      const std::string verb = !changes[0].content ? "delete " : (ours ? "edit " : "create ");
      auto committed =
          store->Commit(changes, verb + id + "\n\nby " + client + " through taskfs-server");
      if (!committed.ok()) return SendError(res, 500, committed.status().message());
      RecordUpdate(**before, *committed->snapshot);
      log.RecordPublish(client, committed->snapshot->commit_id(), Now());
      SaveLog();
      AnnounceHead(committed->snapshot->commit_id());
    }
    auto now = store->snapshot();
    SendTaskState(res, *now, path);
  }

  void Ack(const httplib::Request& req, httplib::Response& res, const std::string& client) {
    const std::string expected = "{\"version\": N} (from X-Taskfs-Version)";
    auto body = ParseBody(req, res, expected);
    if (!body) return;
    if (!body->value("version", json()).is_number_integer()) {
      return SendError(res, 400, "expected " + expected);
    }
    std::lock_guard lock(update_mu);
    SaveLog(log.Acknowledge(client, (*body)["version"].get<int64_t>()));
    SendJson(res, {{"acknowledged", log.acknowledged(client)}});
  }

  // Runs a handler for an admitted client; anything else is refused.
  template <class Fn>
  httplib::Server::Handler Admitted(Fn fn) {
    return [fn](const httplib::Request& req, httplib::Response& res) {
      const std::string client = ClientOf(req);
      if (client.empty()) return SendError(res, 403, "unknown client");
      fn(req, res, client);
    };
  }

  // Admitted, and counted: past max_requests at once the answer is 503 with Retry-After, which
  // taskfs clients honour: a busy server stays quick to answer instead of letting connections
  // time out.
  template <class Fn>
  httplib::Server::Handler Authenticated(Fn fn) {
    return Admitted([this, fn](const httplib::Request& req, httplib::Response& res,
                               const std::string& client) {
      const CountedIn in_flight(requests_in_flight);
      if (in_flight.count > options.max_requests) {
        return SendBusy(
            res, 1, std::to_string(options.max_requests) + " requests in progress, retry shortly");
      }
      fn(req, res, client);
    });
  }

  void Route() {
    http->Get("/sync/head", Authenticated([this](auto&, auto& res, auto&) {
                auto snap = store->Refresh();
                if (!snap.ok()) return SendError(res, 500, snap.status().message());
                SendJson(res, {{"head", (*snap)->commit_id()}});
              }));
    http->Post("/sync/fetch", Authenticated([this](auto& q, auto& r, auto& c) { Fetch(q, r, c); }));
    http->Post("/sync/push", Authenticated([this](auto& q, auto& r, auto& c) { Push(q, r, c); }));
    http->Get("/sync/wait", Admitted([this](auto& q, auto& r, auto&) { Wait(q, r); }));
    http->Get("/sync/peers", Authenticated([this](auto&, auto& r, auto& c) { Peers(r, c); }));
    http->Get("/hashes", Authenticated([this](auto&, auto& r, auto&) { Hashes(r); }));
    http->Post(R"(/task/(.+))",
               Authenticated([this](auto& q, auto& r, auto& c) { PostTask(q, r, c); }));
    http->Post("/ack", Authenticated([this](auto& q, auto& r, auto& c) { Ack(q, r, c); }));
    http->set_post_routing_handler([this](const httplib::Request& req, auto&) {
      MergePacksIfDue();
      if (req.path != "/sync/wait") idle_release->Touch();
    });
    http->set_exception_handler([](const auto&, auto& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        LogError(std::string("request failed: ") + e.what());
      } catch (...) {
        LogError("request failed");
      }
      SendError(res, 500, "internal error");
    });
    http->set_logger([](const httplib::Request& req, const httplib::Response& res) {
      if (res.status >= 400) {
        LogWarning(req.method + " " + req.path + " from " + ClientOf(req) + ": " +
                   std::to_string(res.status) + " " + res.body);
      }
    });
  }
};

TaskServer::TaskServer() : impl_(std::make_unique<Impl>()) {}
TaskServer::~TaskServer() = default;

Result<std::unique_ptr<TaskServer>> TaskServer::Open(const ServerOptions& options) {
  std::unique_ptr<TaskServer> server(new TaskServer());
  Impl& s = *server->impl_;
  s.options = options;
  s.paths = ServerPaths(options.dir);
  storage::RemoveStaleTempFiles(options.dir);  // of a registry or log write a crash cut short
  for (const std::string& secret : {s.paths.key, s.paths.clients}) {
    TASKFS_RETURN_IF_ERROR(CheckSecretFile(secret));
  }
  auto store = storage::Store::Open(s.paths.store);
  if (!store.ok()) return store.status();
  s.store = std::move(store.value());
  s.store->SetMerger(std::make_shared<FieldTaskMerger>());
  s.idle_release = std::make_unique<storage::IdleMemoryReleaser>(s.store.get());
  s.head = s.store->snapshot()->commit_id();
  auto log = UpdateLog::Load(s.paths.updates);
  if (!log.ok()) return log.status();
  s.log = std::move(log.value());
  s.ReloadRegistry();
  s.http = std::make_unique<httplib::SSLServer>([&s](SSL_CTX& ctx) { return s.SetUpTls(ctx); });
  if (!s.http->is_valid()) return Status::InvalidArgument("cannot set up TLS (see the log)");
  // Enough workers that every admitted request and every waiting one, and the handshake of one
  // that will get 503, find one at once.
  s.http->new_task_queue = [min = options.threads,
                            max = options.threads + options.max_requests + options.max_waiters] {
    return new ElasticThreadPool(min, max);
  };
  s.http->set_payload_max_length(options.max_body);
  s.http->set_read_timeout(options.timeout_seconds, 0);
  s.http->set_write_timeout(options.timeout_seconds, 0);
  s.http->set_keep_alive_timeout(options.timeout_seconds);
  s.Route();
  return server;
}

Result<int> TaskServer::Bind() {
  Impl& s = *impl_;
  if (s.options.port == 0) {
    int port = s.http->bind_to_any_port(s.options.host.c_str());
    if (port <= 0) return Status::Unavailable("cannot listen on " + s.options.host);
    return port;
  }
  if (!s.http->bind_to_port(s.options.host.c_str(), s.options.port)) {
    return Status::Unavailable("cannot listen on " + s.options.host + ":" +
                               std::to_string(s.options.port) + " (in use, or not allowed)");
  }
  return s.options.port;
}

Status TaskServer::Serve() {
  if (!impl_->http->listen_after_bind()) return Status::IOError("the server stopped on an error");
  return Status::OK();
}

void TaskServer::Stop() {
  // The listening socket goes first: a worker that answers a long-poll after it sees the server
  // stopping and ends its connection, instead of keeping it alive for the next request.
  impl_->http->stop();
  {
    std::lock_guard lock(impl_->head_mu);
    impl_->stopping = true;
  }
  impl_->head_moved.notify_all();  // long-polls answer now, so their workers can be joined
}

}  // namespace taskfs::sync
