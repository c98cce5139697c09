#include "tests/sync/remote_servers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <sstream>

namespace taskfs::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

// A port nobody listens on now. The server binds it a moment later; Start() retries with
// another port when someone took it in between.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

bool AcceptsUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// Runs `argv` in a process group of its own (so Stop() reaches what it forks), output appended
// to `log`, killed if the test process dies first.
pid_t SpawnInGroup(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (pid > 0) ::setpgid(pid, pid);  // also here, so a kill of the group right away reaches it
  return pid;
}

bool Exited(pid_t pid) {
  siginfo_t info{};
  // WNOWAIT: the pid stays ours (a zombie) until reaped, so killing its group stays safe.
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

// Every process below `root` now, found through /proc: sshd's connection children start a
// session of their own, out of reach of a kill of the group.
std::vector<pid_t> Descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  if (DIR* proc = ::opendir("/proc")) {
    while (dirent* e = ::readdir(proc)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0) continue;
      const std::string stat = ReadFile("/proc/" + std::string(e->d_name) + "/stat");
      const size_t paren = stat.rfind(')');
      if (paren == std::string::npos) continue;
      std::istringstream rest(stat.substr(paren + 1));
      std::string state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      children.emplace(ppid, pid);
    }
    ::closedir(proc);
  }
  std::vector<pid_t> found;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    auto [begin, end] = children.equal_range(p);
    for (auto it = begin; it != end; ++it) {
      found.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return found;
}

// SIGTERM to `pid` and its group, SIGKILL after 5 s; then SIGKILL to whatever it had started.
void StopTree(pid_t& pid, const std::string& what) {
  if (pid <= 0) return;
  const std::vector<pid_t> below = Descendants(pid);
  ::kill(-pid, SIGTERM);
  if (!WaitUntil([&] { return Exited(pid); }, std::chrono::seconds(5))) {
    ADD_FAILURE() << what << " did not stop on SIGTERM";
    ::kill(-pid, SIGKILL);
    WaitUntil([&] { return Exited(pid); }, std::chrono::seconds(5));
  }
  ::kill(-pid, SIGKILL);
  for (pid_t p : below) ::kill(p, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

enum class Started { kYes, kExited, kTimedOut };

// Waits until `pid` accepts connections on `port`, or exits (a port someone else took), or
// `kStartTimeout` passed.
Started WaitForListener(pid_t pid, int port) {
  Started result = Started::kTimedOut;
  WaitUntil(
      [&] {
        if (Exited(pid)) {
          result = Started::kExited;
        } else if (Accepts(port)) {
          result = Started::kYes;
        }
        return result != Started::kTimedOut;
      },
      kStartTimeout);
  return result;
}

// Starts a server with `make_argv(port)` on `port`, or on a free port when it is 0 (retrying
// with another when the one picked was taken meanwhile). Returns the pid, or -1 (a test failure
// with the log).
pid_t StartListening(const std::string& what, int& port, const std::string& log,
                     const std::function<std::vector<std::string>(int)>& make_argv) {
  const bool any_port = port == 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (any_port) port = FreePort();
    pid_t pid = SpawnInGroup(make_argv(port), log);
    switch (WaitForListener(pid, port)) {
      case Started::kYes:
        return pid;
      case Started::kExited:
        ::waitpid(pid, nullptr, 0);
        if (any_port) continue;
        break;
      case Started::kTimedOut:
        StopTree(pid, what);
        break;
    }
    break;
  }
  ADD_FAILURE() << what << " did not start listening on 127.0.0.1:" << port << ":\n"
                << ReadFile(log);
  return -1;
}

std::string Run(const std::string& what, const std::string& command) {
  CommandResult r = RunCommand(command);
  EXPECT_EQ(r.exit_code, 0) << what << ": " << command << "\n" << r.output;
  return r.output;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Field(const std::string& line, int n) {
  std::istringstream in(line);
  std::string word;
  for (int i = 0; i <= n; ++i) in >> word;
  return word;
}

std::string MakeBareRepoIn(const std::string& root, const std::string& name) {
  const std::string path = root + "/" + name + ".git";
  Run("git init", "git init -q --bare -b main " + Quote(path));
  return path;
}

// `text` with each key of `values` replaced by its value.
std::string Fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    for (size_t at = text.find(key); at != std::string::npos;
         at = text.find(key, at + value.size())) {
      text.replace(at, key.size(), value);
    }
  }
  return text;
}

// Public keys only, from one file; root may log in with a key (tests run as root). bash run by
// sshd reads ~/.bashrc unless it is a nested shell: SetEnv SHLVL skips whatever the machine's
// ~/.bashrc does (pyenv init took 0.75 s of every git command over ssh on the dev machines).
constexpr const char* kSshdConfig = R"(ListenAddress 127.0.0.1:@PORT@
HostKey @DIR@/host_key
PidFile @DIR@/sshd.pid
AuthorizedKeysFile @DIR@/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
MaxStartups 100:30:200
MaxSessions 100
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
SetEnv SHLVL=1
)";

// mod_alias, mod_setenv and mod_access are built into Debian's lighttpd but act only when
// listed. A wrong password is answered at once (lighttpd waits a second, against guessing).
// git http-backend allows pushes when REMOTE_USER is set, which basic auth does. Repositories
// whose name starts with "forbidden" are answered 403, as a forge answers an account that may
// not see them.
constexpr const char* kLighttpdConfig =
    R"(server.modules = ("mod_access", "mod_alias", "mod_setenv",
  "mod_auth", "mod_authn_file", "mod_cgi", "mod_openssl", "mod_accesslog")
server.bind = "127.0.0.1"
server.port = @PORT@
server.document-root = "@DIR@/www"
server.pid-file = "@DIR@/lighttpd.pid"
server.errorlog = "@DIR@/error.log"
accesslog.filename = "@DIR@/access.log"
server.upload-dirs = ("@DIR@")
server.feature-flags = ("auth.delay-invalid-creds" => "disable")
ssl.engine = "enable"
ssl.pemfile = "@DIR@/server.crt"
ssl.privkey = "@DIR@/server.key"
auth.backend = "plain"
auth.backend.plain.userfile = "@DIR@/users"
auth.require = ("/git/" => ("method" => "basic", "realm" => "taskfs test",
  "require" => "valid-user"))
alias.url = ("/git/" => "/usr/lib/git-core/git-http-backend/")
$HTTP["url"] =~ "^/git/forbidden" {
  url.access-deny = ("")
}
$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "@REPOS@", "GIT_HTTP_EXPORT_ALL" => "1",
    "PATH" => "/usr/local/bin:/usr/bin:/bin")
}
)";

std::string CurrentUser() {
  const passwd* pw = ::getpwuid(::getuid());
  return pw ? pw->pw_name : "root";
}

}  // namespace

SshKey MakeSshKey(const std::string& dir, const std::string& name, SshKeyType type,
                  const std::string& passphrase) {
  SshKey key{dir + "/" + name, dir + "/" + name + ".pub", passphrase};
  const char* type_args = type == SshKeyType::kEd25519 ? "-t ed25519"
                          : type == SshKeyType::kEcdsa ? "-t ecdsa -b 256"
                                                       : "-t rsa -b 2048";
  std::remove(key.private_path.c_str());
  std::remove(key.public_path.c_str());
  Run("ssh-keygen", std::string("ssh-keygen -q ") + type_args + " -N " + Quote(passphrase) +
                        " -C " + Quote(name + "@taskfs-test") + " -f " + Quote(key.private_path));
  return key;
}

// --- SshServer

SshServer::SshServer() : SshServer(Options{}) {}

SshServer::SshServer(const Options& options)
    : options_(options),
      user_(CurrentUser()),
      log_(dir_ / "sshd.log"),
      config_(dir_ / "sshd_config") {
  std::filesystem::create_directories(repo_root());
  MakeSshKey(dir_.path(), "host_key", options_.host_key);
  WriteFile(dir_ / "authorized_keys", "");
  Start();
}

SshServer::~SshServer() { Stop(); }

void SshServer::Start() {
  if (pid_ > 0) return;
  // sshd refuses to start without its privilege separation folder, which only its service
  // (systemd's RuntimeDirectory, the init script) makes, and /run forgets at boot.
  if (::geteuid() == 0) ::mkdir("/run/sshd", 0755);
  pid_ = StartListening("sshd", port_, log_, [&](int port) {
    std::string config =
        Fill(kSshdConfig, {{"@PORT@", std::to_string(port)}, {"@DIR@", dir_.path()}});
    if (options_.allow_ssh_rsa_sha1) {
      config += "PubkeyAcceptedAlgorithms +ssh-rsa\nHostKeyAlgorithms +ssh-rsa\n";
    }
    WriteFile(config_, config);
    return std::vector<std::string>{"/usr/sbin/sshd", "-D", "-e", "-f", config_};
  });
  WriteFile(known_hosts_file(), host_key_line() + "\n");
}

void SshServer::Stop() { StopTree(pid_, "sshd"); }

std::string SshServer::host_key_line() const {
  const std::string pub = ReadFile(host_public_key_path());
  return "[127.0.0.1]:" + std::to_string(port_) + " " + Field(pub, 0) + " " + Field(pub, 1);
}

std::string SshServer::host_key_fingerprint() const {
  return Field(Run("ssh-keygen -l", "ssh-keygen -l -E sha256 -f " + Quote(host_public_key_path())),
               1);
}

void SshServer::AuthorizeKey(const std::string& public_key_path) {
  const std::string line = Trim(ReadFile(public_key_path));
  ASSERT_FALSE(line.empty()) << "no public key in " << public_key_path;
  WriteFile(dir_ / "authorized_keys", ReadFile(dir_ / "authorized_keys") + line + "\n");
}

void SshServer::RevokeKey(const std::string& public_key_path) {
  const std::string revoked = Trim(ReadFile(public_key_path));
  std::istringstream lines(ReadFile(dir_ / "authorized_keys"));
  std::string kept;
  for (std::string line; std::getline(lines, line);) {
    if (line != revoked) kept += line + "\n";
  }
  WriteFile(dir_ / "authorized_keys", kept);
}

SshKey SshServer::MakeUserKey(const std::string& name, SshKeyType type,
                              const std::string& passphrase) const {
  return MakeSshKey(dir_.path(), name, type, passphrase);
}

std::string SshServer::CreateBareRepo(const std::string& name) const {
  return MakeBareRepoIn(repo_root(), name);
}

std::string SshServer::url(const std::string& name) const {
  return "ssh://" + user_ + "@127.0.0.1:" + std::to_string(port_) + repo_root() + "/" + name +
         ".git";
}

std::string SshServer::GitSshCommand(const SshKey& key) const {
  return "ssh -F /dev/null -p " + std::to_string(port_) + " -i " + Quote(key.private_path) +
         " -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes"
         " -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=" +
         Quote(known_hosts_file());
}

std::string SshServer::GitSshCommandWithAgent(const SshAgent& agent) const {
  return "ssh -F /dev/null -p " + std::to_string(port_) +
         " -o IdentityAgent=" + Quote(agent.sock()) +
         " -o BatchMode=yes -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null"
         " -o UserKnownHostsFile=" +
         Quote(known_hosts_file());
}

// --- SshAgent

SshAgent::SshAgent() : sock_(dir_ / "agent.sock"), log_(dir_ / "agent.log") {
  pid_ = SpawnInGroup({"/usr/bin/ssh-agent", "-D", "-a", sock_}, log_);
  if (!WaitUntil([&] { return Exited(pid_) || AcceptsUnix(sock_); }, kStartTimeout) ||
      Exited(pid_)) {
    ADD_FAILURE() << "ssh-agent did not start:\n" << ReadFile(log_);
    StopTree(pid_, "ssh-agent");
  }
}

SshAgent::~SshAgent() { StopTree(pid_, "ssh-agent"); }

void SshAgent::Add(const SshKey& key) {
  const std::string pass = dir_ / "passphrase", askpass = dir_ / "askpass.sh";
  WriteFile(pass, key.passphrase + "\n");
  ::chmod(pass.c_str(), 0600);
  WriteFile(askpass, "#!/bin/sh\nexec cat " + Quote(pass) + "\n");
  ::chmod(askpass.c_str(), 0700);
  Run("ssh-add", "SSH_AUTH_SOCK=" + Quote(sock_) + " SSH_ASKPASS=" + Quote(askpass) +
                     " SSH_ASKPASS_REQUIRE=force DISPLAY=none ssh-add " + Quote(key.private_path) +
                     " < /dev/null");
  std::remove(pass.c_str());
}

std::vector<std::string> SshAgent::List() const {
  CommandResult r = RunCommand("SSH_AUTH_SOCK=" + Quote(sock_) + " ssh-add -l");
  std::vector<std::string> lines;
  if (r.exit_code != 0) return lines;  // 1: no identities
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// --- HttpsGitServer

HttpsGitServer::HttpsGitServer() : config_(dir_ / "lighttpd.conf"), log_(dir_ / "lighttpd.out") {
  std::mt19937_64 rng(std::random_device{}());
  std::ostringstream pw;
  pw << "pw-" << std::hex << rng();
  password_ = pw.str();
  std::filesystem::create_directories(repo_root());
  std::filesystem::create_directories(dir_ / "www");
  WriteFile(dir_ / "users", user_ + ":" + password_ + "\n");
  // P-256 keys: made in milliseconds, and spoken by OpenSSL and mbedTLS alike. The SAN also
  // lists 127.0.0.1 as a DNS name: mbedTLS 2.28 (libgit2's TLS on Debian 12) matches the host
  // only against DNS names, OpenSSL and curl only against the IP entry.
  WriteFile(dir_ / "server.ext",
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:127.0.0.1\n");
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  Run("test CA", "(cd " + Quote(dir_.path()) + " && openssl req -x509 -days 2" + ec +
                     " -keyout ca.key -out ca.crt -subj '/CN=taskfs test CA'"
                     " -addext 'basicConstraints=critical,CA:TRUE'"
                     " -addext 'keyUsage=critical,keyCertSign,cRLSign'"
                     " && openssl req -new" +
                     ec +
                     " -keyout server.key -out server.csr -subj '/CN=127.0.0.1'"
                     " && openssl x509 -req -days 2 -in server.csr -CA ca.crt -CAkey ca.key"
                     " -set_serial 1 -extfile server.ext -out server.crt)");
  Start();
}

HttpsGitServer::~HttpsGitServer() { Stop(); }

std::string HttpsGitServer::url(const std::string& name, const std::string& host) const {
  return "https://" + host + ":" + std::to_string(port_) + "/git/" + name + ".git";
}

std::string HttpsGitServer::url_with_credentials(const std::string& name) const {
  return "https://" + user_ + ":" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/git/" +
         name + ".git";
}

std::string HttpsGitServer::CreateBareRepo(const std::string& name) const {
  const std::string path = MakeBareRepoIn(repo_root(), name);
  // http-backend allows pushes when REMOTE_USER is set, which basic auth does; said here too
  // so a repository reached some other way stays pushable.
  Run("git config", "git --git-dir=" + Quote(path) + " config http.receivepack true");
  return path;
}

std::string HttpsGitServer::Log() const {
  return ReadFile(log_) + ReadFile(dir_ / "error.log") + ReadFile(dir_ / "access.log");
}

void HttpsGitServer::Start() {
  if (pid_ > 0) return;
  pid_ = StartListening("lighttpd", port_, log_, [&](int port) {
    WriteFile(config_, Fill(kLighttpdConfig, {{"@PORT@", std::to_string(port)},
                                              {"@DIR@", dir_.path()},
                                              {"@REPOS@", repo_root()}}));
    return std::vector<std::string>{"/usr/sbin/lighttpd", "-D", "-f", config_};
  });
  // lighttpd ignores a setting it does not know, with only this warning.
  EXPECT_EQ(ReadFile(log_).find("unknown config-key"), std::string::npos) << ReadFile(log_);
}

void HttpsGitServer::Stop() { StopTree(pid_, "lighttpd"); }

}  // namespace taskfs::testing
