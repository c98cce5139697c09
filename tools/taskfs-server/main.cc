// taskfs-server: a self-hosted sync server for taskfs, with mutual TLS (see sync/server/task_server.h).
// init makes a server directory, admin manages its registry of clients (on this host's files
// only), serve runs it.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include "storage/file_util.h"
#include "storage/format_time.h"
#include "storage/idle_memory.h"
#include "storage/log.h"
#include "sync/server/client_registry.h"
#include "sync/server/task_server.h"
#include "sync/transport/tls.h"
#include "taskfs/version.h"

namespace {

using namespace taskfs;
using namespace taskfs::sync;

int Fail(const std::string& command, const Status& st) {
  std::cerr << "taskfs-server " << command << ": " << st.message() << "\n";
  return 1;
}

// "7d", "12h", "30m", "45s" or a number of seconds.
Result<int64_t> ParseDuration(const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    return Status::InvalidArgument("not a duration: " + text + " (e.g. 7d, 12h, 30m, 90s)");
  }
  const std::string unit = text.substr(used);
  const int64_t scale = unit == "d" ? 86400 : unit == "h" ? 3600 : unit == "m" ? 60 : 1;
  if (n < 0 || !(unit.empty() || unit == "d" || unit == "h" || unit == "m" || unit == "s")) {
    return Status::InvalidArgument("not a duration: " + text + " (e.g. 7d, 12h, 30m, 90s)");
  }
  return n * scale;
}

// Loads the registry, applies `change`, saves it (0600).
template <class Fn>
int EditRegistry(const std::string& dir, const std::string& command, Fn change) {
  ServerPaths paths(dir);
  if (Status st = CheckSecretFile(paths.clients); !st.ok()) return Fail(command, st);
  auto registry = ClientRegistry::Load(paths.clients);
  if (!registry.ok()) return Fail(command, registry.status());
  if (Status st = change(*registry); !st.ok()) return Fail(command, st);
  if (Status st = registry->Save(paths.clients); !st.ok()) return Fail(command, st);
  return 0;
}

std::optional<std::string> ReadKeyFile(const std::string& file) {
  auto pem = storage::ReadWholeFile(file);
  if (!pem) std::cerr << "taskfs-server: cannot read " << file << "\n";
  return pem;
}

int List(const std::string& dir) {
  auto registry = ClientRegistry::Load(ServerPaths(dir).clients);
  if (!registry.ok()) return Fail("admin list", registry.status());
  const int64_t now = std::time(nullptr);
  for (const auto& c : registry->clients()) {
    std::cout << c.name << "\t"
              << (c.revoked ? "revoked " + FormatTime(c.revoked) : std::string("active")) << "\n";
    for (const auto& k : c.keys) {
      std::cout << "  " << k.fingerprint;
      if (k.expires && k.expires > now)
        std::cout << "  (old key, works until " << FormatTime(k.expires) << ")";
      if (k.expires && k.expires <= now) std::cout << "  (old key, expired)";
      std::cout << "\n";
    }
  }
  return 0;
}

int Serve(const ServerOptions& options, const std::string& port_file) {
  storage::MapLargeBuffersApart();
  auto server = TaskServer::Open(options);
  if (!server.ok()) return Fail("serve", server.status());
  auto port = (*server)->Bind();
  if (!port.ok()) return Fail("serve", port.status());
  if (!port_file.empty()) std::ofstream(port_file) << *port << "\n";
  LogInfo("serving " + options.dir + " on " + options.host + ":" + std::to_string(*port));
  // Signals are taken by one thread, which stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    LogInfo("stopping (signal " + std::to_string(sig) + ")");
    (*server)->Stop();
  });
  Status st = (*server)->Serve();
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  }
  return st.ok() ? 0 : Fail("serve", st);
}

// What the command line holds: the values CLI11 writes while parsing (bound by address: this
// must stay where it is made) and the subcommands, to tell which one was given.
struct CommandLine {
  std::string dir;
  std::vector<std::string> hosts;
  std::string admin_dir = "/srv/taskfs";
  std::string name, key_file, grace = "0";
  ServerOptions options;
  std::string listen = "0.0.0.0:7443", port_file;
  CLI::App *init = nullptr, *admin = nullptr, *reg = nullptr, *revoke = nullptr, *rotate = nullptr,
           *serve = nullptr;
};

void AddInitCommand(CLI::App& app, CommandLine& c) {
  c.init = app.add_subcommand("init", "Create a server directory: store, key, certificate");
  c.init->add_option("dir", c.dir, "The server directory, e.g. /srv/taskfs")->required();
  c.init->add_option("--host", c.hosts,
                     "Names and addresses clients use to reach it (default: this host's name, "
                     "localhost, 127.0.0.1)");
}

// admin register, list, revoke, rotate.
void AddAdminCommands(CLI::App& app, CommandLine& c) {
  c.admin = app.add_subcommand("admin", "Manage the clients allowed to connect");
  c.admin->add_option("--dir", c.admin_dir, "The server directory")
      ->envname("TASKFS_SERVER_DIR")
      ->capture_default_str();
  c.admin->require_subcommand(1);
  c.reg = c.admin->add_subcommand("register", "Allow a client, by its public key");
  c.reg->add_option("--name", c.name, "A name for the client, e.g. ada-laptop")->required();
  c.reg->add_option("key", c.key_file, "The public key `taskfs keygen` printed (PEM file)")
      ->required();
  c.admin->add_subcommand("list", "List the clients and their keys");
  c.revoke = c.admin->add_subcommand("revoke", "Refuse a client from now on");
  c.revoke->add_option("name", c.name, "The client's name")->required();
  c.rotate = c.admin->add_subcommand("rotate", "Give a client a new key");
  c.rotate->add_option("name", c.name, "The client's name")->required();
  c.rotate->add_option("key", c.key_file, "The new public key (PEM file)")->required();
  c.rotate->add_option("--grace", c.grace, "How long the old key still works: 7d, 12h, 30m, 90s")
      ->capture_default_str();
}

void AddServeCommand(CLI::App& app, CommandLine& c) {
  ServerOptions& options = c.options;
  c.serve = app.add_subcommand("serve", "Serve the directory (in the foreground)");
  c.serve->add_option("dir", options.dir, "The server directory")->required();
  c.serve->add_option("--listen", c.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  c.serve
      ->add_option("--threads", options.threads,
                   "Workers always running (more start while all are busy)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  c.serve
      ->add_option("--max-requests", options.max_requests,
                   "Requests served at once; more are answered 503 with Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  c.serve
      ->add_option("--max-waiters", options.max_waiters,
                   "Daemons waiting for news at once (GET /sync/wait); more poll instead")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  c.serve->add_option("--port-file", c.port_file, "Write the port listened on to this file");
  c.serve->add_option("--max-body", options.max_body, "Largest request body in bytes (else 413)")
      ->capture_default_str();
}

// init: makes the server directory (for this host's names unless --host gave some).
int Init(const std::string& dir, std::vector<std::string> hosts) {
  if (hosts.empty()) {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    hosts = {host, "localhost", "127.0.0.1"};
  }
  if (Status st = InitServer(dir, hosts); !st.ok()) return Fail("init", st);
  std::cout << "Created a taskfs server in " << dir << ".\n"
            << "Give clients its certificate " << ServerPaths(dir).cert
            << " (for `taskfs remote add NAME taskfs://HOST:7443 --server-cert FILE`),\n"
            << "register their keys with `taskfs-server admin --dir " << dir
            << " register`, then run `taskfs-server serve " << dir << "`.\n";
  return 0;
}

// Runs the subcommand given; its exit status.
int Run(CommandLine& c) {
  const int64_t now = std::time(nullptr);
  if (*c.init) return Init(c.dir, c.hosts);
  if (*c.reg) {
    auto pem = ReadKeyFile(c.key_file);
    if (!pem) return 1;
    return EditRegistry(c.admin_dir, "admin register",
                        [&](ClientRegistry& r) { return r.Register(c.name, *pem, now); });
  }
  if (c.admin->got_subcommand("list")) return List(c.admin_dir);
  if (*c.revoke) {
    return EditRegistry(c.admin_dir, "admin revoke",
                        [&](ClientRegistry& r) { return r.Revoke(c.name, now); });
  }
  if (*c.rotate) {
    auto pem = ReadKeyFile(c.key_file);
    auto seconds = ParseDuration(c.grace);
    if (!pem) return 1;
    if (!seconds.ok()) return Fail("admin rotate", seconds.status());
    return EditRegistry(c.admin_dir, "admin rotate",
                        [&](ClientRegistry& r) { return r.Rotate(c.name, *pem, *seconds, now); });
  }
  if (*c.serve) {
    const size_t colon = c.listen.rfind(':');
    if (colon == std::string::npos)
      return Fail("serve", Status::InvalidArgument("--listen HOST:PORT"));
    c.options.host = c.listen.substr(0, colon);
    c.options.port = std::atoi(c.listen.c_str() + colon + 1);
    return Serve(c.options, c.port_file);
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  taskfs::SetLogName("taskfs-server");
  CLI::App app{"taskfs-server: a sync server for taskfs stores, with mutual TLS"};
  app.set_version_flag("--version", "taskfs-server " TASKFS_VERSION);
  app.require_subcommand(1);
  CommandLine c;
  AddInitCommand(app, c);
  AddAdminCommands(app, c);
  AddServeCommand(app, c);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return Run(c);
}
