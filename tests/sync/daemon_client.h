// A client store synced only by a real `taskfs daemon` process (no `taskfs sync`): the test
// commits to the store as a mount would, and starts, stops or kills the daemon as the scenario
// says. Reads refresh the store first, since the daemon moves its branch.
#pragma once

#include <sys/types.h>

#include "tests/sync/sync_client.h"

namespace taskfs::testing {

class DaemonClient : public SyncClient {
 public:
  DaemonClient(const std::string& dir, const std::string& name, const std::string& remote_url,
               sync::RemoteKind kind, const std::string& server_cert = "");
  ~DaemonClient();

  // Starts `taskfs daemon` on the store, with `extra_args`; waits until it holds its lock.
  void Start(const std::string& extra_args = "");
  void Stop();  // SIGTERM; waits for it to exit
  void Kill();  // SIGKILL
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::map<std::string, std::string> Tree();
  std::string Head();
  // Local commits the remote lacks, as far as this store knows.
  int Pending();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace taskfs::testing
