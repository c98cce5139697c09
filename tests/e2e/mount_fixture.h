// Mount fixtures. TestMount runs the real taskfs binary in the foreground as a child process on
// one store and always unmounts it; MountedStore is a GoogleTest fixture with one such mount.
// Mounting waits for the mount with a deadline and fails at once if taskfs died. Every test ends
// with `git fsck` of its stores.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace taskfs::testing {

// Start of a python3 heredoc for InMount(): `err(f)` prints the errno name f fails with, or "ok".
inline constexpr char kPythonErrPrelude[] = R"(python3 - <<'PY'
import os, errno
def err(f):
    try:
        f(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
)";

class TestMount {
 public:
  // `dir` holds `name`/ (the store) and `name`-mnt/ (the mount point).
  TestMount(const std::string& dir, const std::string& name);
  ~TestMount();

  // Creates the store with `taskfs init`.
  void Init(const std::string& client_name);
  // Mounts the store (again); fails the test if the mount doesn't come up within 10 s.
  void Mount();
  // Unmounts and waits for the taskfs process to exit.
  void Unmount();
  // Waits for the mount process to exit by itself (after a lazy unmount).
  void WaitForExit();
  // kill -9 of the mount process, then cleans up the dead mount.
  void Kill();
  bool mounted() const { return pid_ > 0; }

  std::string M(const std::string& rel) const { return mnt_ + "/" + rel; }
  CommandResult Taskfs(const std::string& args) const;
  CommandResult InMount(const std::string& command) const;
  std::string Log() const { return ReadFile(log_); }

  std::string store;
  std::string mnt_;
  // Let the mount start its sync daemon (by default tests mount with --no-sync and sync by hand).
  bool sync_daemon = false;
  // Options added to `taskfs mount` (--allow-other, --read-only).
  std::vector<std::string> mount_options;
  // NAME=VALUE pairs added to the mount process's environment (fault injection).
  std::vector<std::string> env;

 private:
  std::string log_;
  pid_t pid_ = -1;
};

// Asks the mount of `store` to commit every save and the deletes it defers for editors' rename
// dances now, and waits until it did (what `taskfs sync` does first).
void CommitEverything(const std::string& store);

class MountedStore : public ::testing::Test {
 protected:
  MountedStore() : main_(dir_.path(), "store") {}
  void SetUp() override;
  void TearDown() override;

  void Mount() { main_.Mount(); }
  void Unmount() { main_.Unmount(); }
  void WaitForMountExit() { main_.WaitForExit(); }
  void KillMount() { main_.Kill(); }

  // Absolute path of `rel` inside the mount.
  std::string M(const std::string& rel) const { return main_.M(rel); }
  const std::string& mnt() const { return main_.mnt_; }
  const std::string& store() const { return main_.store; }
  CommandResult Taskfs(const std::string& args) const { return main_.Taskfs(args); }
  CommandResult InMount(const std::string& command) const { return main_.InMount(command); }
  // Writes `content` over `path` in the mount (open O_CREAT|O_TRUNC, write, close) and returns
  // "ok" or the errno name close() failed with ("EBADMSG", "EBUSY"...).
  std::string SaveAndClose(const std::string& path, const std::string& content);
  std::vector<std::string> Subjects() const { return GitSubjects(store()); }
  std::string Committed(const std::string& path) const { return GitShow(store(), path); }
  std::string MountLog() const { return main_.Log(); }
  // Waits (up to 10 s) until the newest commit's subject is `subject`; a delete is committed
  // kPendingDeleteDelay after the unlink. Returns whether it came.
  bool WaitForSubject(const std::string& subject) const;
  // CommitEverything(store()): a dance left half done shows at once, with no waiting out
  // kPendingDeleteDelay.
  void CommitEverything() const;

  TempDir dir_;
  TestMount main_;
};

}  // namespace taskfs::testing
