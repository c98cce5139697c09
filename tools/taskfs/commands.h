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

// Opens the store that --store, $TASKFS_STORE or the XDG default names.
Result<std::unique_ptr<storage::Store>> OpenStore(const GlobalOptions& g,
                                                  storage::Store::Access access);

int RunInit(const GlobalOptions& g, const std::string& name);
int RunMount(const GlobalOptions& g, const std::string& mountpoint, bool foreground, bool debug,
             bool allow_other);
int RunUmount(const GlobalOptions& g, const std::string& mountpoint, bool lazy);
int RunStatus(const GlobalOptions& g);
int RunLog(const GlobalOptions& g, const std::string& name);
int RunShow(const GlobalOptions& g, const std::string& spec);
int RunStorePath(const GlobalOptions& g);
int RunRemoteAdd(const GlobalOptions& g, const std::string& name, const std::string& url);
int RunRemoteRemove(const GlobalOptions& g, const std::string& name);
int RunRemoteList(const GlobalOptions& g);
int RunSync(const GlobalOptions& g, std::vector<std::string> remotes);
int RunClone(const GlobalOptions& g, const std::string& url, const std::string& name);
int RunConflicts(const GlobalOptions& g);

}  // namespace taskfs::cli
