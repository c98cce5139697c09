#include "tests/sync/daemon_client.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace taskfs::testing {

DaemonClient::DaemonClient(const std::string& dir, const std::string& name,
                           const std::string& remote_url, sync::RemoteKind kind,
                           const std::string& server_cert)
    : SyncClient(dir, name, remote_url, kind, server_cert),
      log_(dir + "/" + name + "-daemon.log") {}

DaemonClient::~DaemonClient() {
  Stop();
  EnsureNoDaemon(path(), /*expect_exit=*/true);
}

void DaemonClient::Start(const std::string& extra_args) {
  ASSERT_LE(pid_, 0) << "already running";
  pid_ = SpawnLogged(
      std::string(TASKFS_BIN) + " --store " + Quote(path()) + " daemon " + extra_args, log_);
  ASSERT_TRUE(WaitUntil([&] { return RunningDaemonOf(path()) == pid_; }, std::chrono::seconds(10)))
      << Log();
}

void DaemonClient::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void DaemonClient::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::map<std::string, std::string> DaemonClient::Tree() {
  EXPECT_TRUE(store().Refresh().ok());
  return SyncClient::Tree();
}

std::string DaemonClient::Head() {
  auto snap = store().Refresh();
  return snap.ok() ? (*snap)->commit_id() : "";
}

int DaemonClient::Pending() {
  auto n = sync::PendingCommits(store(), "origin");
  return n.ok() ? *n : -1;
}

std::string DaemonClient::Log() const { return ReadFile(log_); }

}  // namespace taskfs::testing
