// The `taskfs` command line: one function per subcommand, wired by main.cc with CLI11.
// Each returns a process exit code (0 ok, 1 failure, 2 usage).
#pragma once

#include <string>

namespace taskfs::cli {

struct GlobalOptions {
  std::string store;  // --store; empty: $TASKFS_STORE or the XDG default
};

int RunInit(const GlobalOptions& g, const std::string& name);
int RunMount(const GlobalOptions& g, const std::string& mountpoint, bool foreground, bool debug,
             bool allow_other);
int RunUmount(const GlobalOptions& g, const std::string& mountpoint, bool lazy);
int RunStatus(const GlobalOptions& g);
int RunLog(const GlobalOptions& g, const std::string& name);
int RunShow(const GlobalOptions& g, const std::string& spec);
int RunStorePath(const GlobalOptions& g);

}  // namespace taskfs::cli
