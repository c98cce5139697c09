// taskfs init, mount, umount, store-path.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "fusefs/fuse_bridge.h"
#include "storage/committer.h"
#include "storage/idle_memory.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/store.h"
#include "storage/store_location.h"
#include "sync/merge/field_task_merger.h"
#include "sync/sync_status.h"
#include "tools/taskfs/commands.h"

namespace taskfs::cli {

Result<std::unique_ptr<storage::Store>> OpenStore(const GlobalOptions& g,
                                                  storage::Store::Access access,
                                                  storage::Store::Load load) {
  return storage::Store::Open(storage::ResolveStorePath(g.store), access, load);
}

Result<std::unique_ptr<storage::Store>> OpenCommittedStore(const GlobalOptions& g) {
  using storage::Store;
  auto store = OpenStore(g, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
  if (!store.ok() || storage::PendingSaves(**store) == 0) return store;
  if (auto writable = OpenStore(g, Store::Access::kReadWrite, Store::Load::kOnFirstUse);
      writable.ok()) {
    if (Status st = storage::CommitJournal(**writable); !st.ok()) LogWarning(st.message());
  }
  return OpenStore(g, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
}

int RunInit(const GlobalOptions& g, const std::string& name) {
  const std::string path = storage::ResolveStorePath(g.store);
  auto store = storage::Store::Init(path, name);
  if (!store.ok()) {
    std::cerr << "taskfs init: " << store.status().message() << "\n";
    return 1;
  }
  std::cout << "Created an empty task store at " << path << " for \"" << name << "\".\n"
            << "Mount it with: taskfs mount ~/tasks\n";
  return 0;
}

int RunMount(const GlobalOptions& g, const MountArgs& args) {
  const std::string path = storage::ResolveStorePath(g.store);
  char resolved[PATH_MAX];
  if (!::realpath(args.mountpoint.c_str(), resolved)) {
    std::cerr << "taskfs mount: " << args.mountpoint
              << " does not exist (create the folder first)\n";
    return 1;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(resolved, ec)) {
    std::cerr << "taskfs mount: " << args.mountpoint << " is not a folder\n";
    return 1;
  }
  if (!args.nonempty && !std::filesystem::is_empty(resolved, ec)) {
    std::cerr << "taskfs mount: " << args.mountpoint
              << " is not empty: the mount would hide its files. Mount on an empty folder, or "
                 "pass --nonempty to mount over them anyway\n";
    return 1;
  }
  storage::MapLargeBuffersApart();
  auto store = storage::Store::Open(path);
  if (!store.ok()) {
    std::cerr << "taskfs mount: " << store.status().message() << "\n";
    return 1;
  }
  // A save that races a sync is merged by the same field-level rules as sync.
  (*store)->SetMerger(std::make_shared<sync::FieldTaskMerger>());
  fusefs::MountOptions opts;
  opts.mountpoint = resolved;
  opts.foreground = args.foreground;
  opts.debug = args.debug;
  opts.allow_other = args.allow_other;
  opts.read_only = args.read_only;
  storage::Store* s = store->get();
  opts.status_text = [s] { return sync::RenderSyncStatus(*s); };
  if (args.sync && HasRemotes(**store)) {
    opts.on_mounted = [path, fg = args.foreground] { StartDaemonForMount(path, fg); };
  }
  return fusefs::RunMount(s, opts);
}

// True while `pid` exists and has not exited (a zombie waiting to be reaped has exited).
static bool ProcessRunning(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

// The pid of the mount serving `mountpoint` from this store, or 0.
static pid_t MountPid(const std::string& store_path, const std::string& mountpoint) {
  auto store = storage::Store::Open(store_path, storage::Store::Access::kReadOnly);
  if (!store.ok()) return 0;
  const auto record = storage::ReadMountRecord(storage::LocalState(**store).mount_record());
  return record && record->mountpoint == mountpoint ? record->pid : 0;
}

int RunUmount(const GlobalOptions& g, const std::string& mountpoint, bool lazy) {
  char resolved[PATH_MAX];
  std::string target = ::realpath(mountpoint.c_str(), resolved) ? resolved : mountpoint;
  pid_t mount_pid = MountPid(storage::ResolveStorePath(g.store), target);
  pid_t child = fork();
  if (child == 0) {
    if (lazy) {
      execlp("fusermount3", "fusermount3", "-u", "-z", target.c_str(), nullptr);
    } else {
      execlp("fusermount3", "fusermount3", "-u", target.c_str(), nullptr);
    }
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "taskfs umount: could not unmount " << target
              << " (if files are still open there, close them or use --lazy)\n";
    return 1;
  }
  // Wait (up to a minute) for the mount process to commit what was pending and exit.
  for (int i = 0; mount_pid > 0 && !lazy && i < 2400 && ProcessRunning(mount_pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return 0;
}

int RunStorePath(const GlobalOptions& g) {
  std::cout << storage::ResolveStorePath(g.store) << "\n";
  return 0;
}

}  // namespace taskfs::cli
