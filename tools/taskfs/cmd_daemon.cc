// taskfs daemon: the background syncer (sync/daemon/daemon.h); and starting it beside a mount.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "storage/idle_memory.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "sync/daemon/daemon.h"
#include "sync/merge/field_task_merger.h"
#include "sync/transport/remotes.h"
#include "tools/taskfs/commands.h"

namespace taskfs::cli {
namespace {

sync::SyncDaemon* running_daemon = nullptr;

void OnStopSignal(int) {
  if (running_daemon) running_daemon->Stop();
}

// A daemon started by a mount that was just unmounted may still be stopping: wait for it a
// little before giving up.
Result<std::unique_ptr<sync::DaemonLock>> AcquireLock(const storage::Store& store,
                                                      std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (true) {
    auto lock = sync::DaemonLock::Acquire(store);
    if (lock.ok() || std::chrono::steady_clock::now() >= deadline) return lock;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

int RunDaemon(const GlobalOptions& g, const DaemonArgs& args) {
  storage::MapLargeBuffersApart();
  auto store = OpenStore(g, storage::Store::Access::kReadWrite);
  if (!store.ok()) {
    std::cerr << "taskfs daemon: " << store.status().message() << "\n";
    return 1;
  }
  (*store)->SetMerger(std::make_shared<sync::FieldTaskMerger>());
  auto lock = AcquireLock(**store, std::chrono::milliseconds(args.until_unmount ? 3000 : 0));
  if (!lock.ok()) {
    std::cerr << "taskfs daemon: " << lock.status().message() << "\n";
    return 1;
  }
  if (args.syslog) LogToSyslog("taskfs-daemon");
  sync::DaemonOptions options;
  options.interval = std::chrono::seconds(args.interval_seconds);
  if (args.until_unmount) options.stop_when_removed = storage::LocalState(**store).mount_record();
  sync::SyncDaemon daemon(store->get(), options);
  running_daemon = &daemon;
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  LogInfo("syncing " + (*store)->git_dir() + " (pid " + std::to_string(::getpid()) + ")");
  Status st = daemon.Run();
  running_daemon = nullptr;
  if (!st.ok()) {
    LogError("taskfs daemon: " + st.message());
    return 1;
  }
  return 0;
}

void StartDaemonForMount(const std::string& store_path, bool foreground) {
  // Twice forked and in a session of its own: not our child (no zombie), not in our terminal's
  // process group. It stops by itself when the mount's record goes away at unmount.
  pid_t child = ::fork();
  if (child < 0) {
    LogError("could not start the sync daemon: fork failed");
    return;
  }
  if (child > 0) {
    ::waitpid(child, nullptr, 0);
    return;
  }
  ::setsid();
  if (::fork() != 0) ::_exit(0);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ::dup2(null_fd, 0);
  ::dup2(null_fd, 1);
  if (!foreground) ::dup2(null_fd, 2);
  std::vector<const char*> argv = {"taskfs", "--store", store_path.c_str(), "daemon",
                                   "--until-unmount"};
  if (!foreground) argv.push_back("--syslog");
  argv.push_back(nullptr);
  ::execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
  ::_exit(127);
}

bool HasRemotes(const storage::Store& store) {
  auto remotes = sync::ListRemotes(store);
  return remotes.ok() && !remotes->empty();
}

}  // namespace taskfs::cli
