// The `taskfs` command line: one function per subcommand, wired by main.cc with CLI11.
// Each returns a process exit code (0 ok, 1 failure, 2 usage).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/store.h"

namespace taskfs::cli {

struct GlobalOptions {
  std::string store;  // --store; empty: $TASKFS_STORE or the XDG default
};

// Opens the store that --store, $TASKFS_STORE or the XDG default names. A command that may not
// need the tasks themselves (sync, remote, log) passes Load::kOnFirstUse.
Result<std::unique_ptr<storage::Store>> OpenStore(
    const GlobalOptions& g, storage::Store::Access access,
    storage::Store::Load load = storage::Store::Load::kNow);
// Opens the store read-only for a command that reads what was saved (log, show, conflicts), once
// every save acknowledged so far is committed (storage::CommitJournal). Its tree is read on first
// use: take it with Refresh(), which reports a tree that cannot be read.
Result<std::unique_ptr<storage::Store>> OpenCommittedStore(const GlobalOptions& g);

int RunInit(const GlobalOptions& g, const std::string& name);
struct MountArgs {
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool allow_other = false;
  bool read_only = false;
  bool nonempty = false;  // mount over a folder that holds files (hiding them)
  bool sync = true;       // start the sync daemon when the store has remotes
};
int RunMount(const GlobalOptions& g, const MountArgs& args);
int RunUmount(const GlobalOptions& g, const std::string& mountpoint, bool lazy);
int RunStatus(const GlobalOptions& g);
int RunLog(const GlobalOptions& g, const std::string& name);
int RunShow(const GlobalOptions& g, const std::string& spec);
int RunStorePath(const GlobalOptions& g);
enum class RemoteKindChoice { kAuto, kGit, kFolder };
int RunRemoteAdd(const GlobalOptions& g, const std::string& name, const std::string& url,
                 RemoteKindChoice kind, const std::string& server_cert, bool accept_host_key);
int RunRemoteRemove(const GlobalOptions& g, const std::string& name);
int RunRemoteList(const GlobalOptions& g);
int RunRemoteShow(const GlobalOptions& g, const std::string& name);
int RunSync(const GlobalOptions& g, std::vector<std::string> remotes);
int RunClone(const GlobalOptions& g, const std::string& url, const std::string& name,
             bool accept_host_key);
int RunConflicts(const GlobalOptions& g);

struct DaemonArgs {
  int interval_seconds = 60;   // for remotes it cannot watch
  bool until_unmount = false;  // started by a mount: stop when it is unmounted
  bool syslog = false;
};
int RunDaemon(const GlobalOptions& g, const DaemonArgs& args);
// Starts `taskfs daemon --until-unmount` for the mount of `store_path`, detached.
void StartDaemonForMount(const std::string& store_path, bool foreground);
bool HasRemotes(const storage::Store& store);
// Makes this client's key pair for taskfs-server and prints its public key.
int RunKeygen(const std::string& name, bool force);

}  // namespace taskfs::cli
