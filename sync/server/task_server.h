// taskfs-server: a sync server for taskfs stores and for clients that don't speak git, over
// HTTPS with mutual TLS 1.3 (cpp-httplib on OpenSSL 3).
//
// A client is admitted during the TLS handshake only if the public key of its certificate is in
// the registry (client_registry.h) and neither revoked nor rotated out; every refused connection
// (no certificate, unknown, revoked or expired key, plain TCP, a broken handshake) is logged with
// the reason, and the server goes on serving the others.
//
// Commit sync (`taskfs://` remotes): a client fetches a pack of the commits it lacks, merges them
// locally, and pushes a pack of its own; the server takes a push whatever happened meanwhile,
// merging it onto its branch with the same rules as any sync when others pushed first (so 50
// clients pushing at once all succeed in one round trip), and the client fetches that merge next.
// JSON interchange: GET /hashes, POST /task/ID, POST /ack (see man taskfs-server.8).
//
// Layout of a server directory: store/ (the bare repository), server.key (0600), server.crt,
// clients.json (0600), updates.json (update_log.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::sync {

struct ServerPaths {
  explicit ServerPaths(const std::string& dir);
  std::string dir, store, key, cert, clients, updates;
};

// Creates a server directory: the store, a key pair and a self-signed certificate naming
// `hosts` (the names and addresses clients connect to).
Status InitServer(const std::string& dir, const std::vector<std::string>& hosts);

struct ServerOptions {
  std::string dir;
  std::string host = "0.0.0.0";
  int port = 7443;                     // 0: any free port
  int threads = 16;                    // workers always running; more start while all are busy
  int max_requests = 64;               // requests served at once; more get 503 + Retry-After
  int max_waiters = 256;               // GET /sync/wait held open at once; more get 503
  size_t max_body = size_t{64} << 20;  // larger requests get 413
  int timeout_seconds = 10;            // for each read or write on a connection
};

class TaskServer {
 public:
  // Checks the directory (key files must be readable by their owner only) and opens the store.
  static Result<std::unique_ptr<TaskServer>> Open(const ServerOptions& options);
  ~TaskServer();

  // Binds the listening socket; returns the port.
  Result<int> Bind();
  // Serves until Stop().
  Status Serve();
  void Stop();

 private:
  TaskServer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskfs::sync
