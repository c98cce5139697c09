// MountedStore: a fixture that creates a store, mounts it for real with the taskfs binary
// (in the foreground, as a child process) and always unmounts it in TearDown, even when the test
// failed. Mounting waits for the mount with a deadline and fails at once if taskfs died.
// Every test ends with `git fsck` of the store.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>

#include "tests/test_util.h"

namespace taskfs::testing {

class MountedStore : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Mounts the store (again); fails the test if the mount doesn't come up within 10 s.
  void Mount();
  // Unmounts and waits for the taskfs process to exit.
  void Unmount();
  // Waits for the mount process to exit by itself (after a lazy unmount).
  void WaitForMountExit();
  // kill -9 of the mount process, then cleans up the dead mount.
  void KillMount();

  // Absolute path of `rel` inside the mount.
  std::string M(const std::string& rel) const { return mnt_ + "/" + rel; }
  const std::string& mnt() const { return mnt_; }
  const std::string& store() const { return store_; }
  // Runs the taskfs CLI on this store.
  CommandResult Taskfs(const std::string& args) const;
  // Runs a shell command with the mount as working directory.
  CommandResult InMount(const std::string& command) const;
  std::vector<std::string> Subjects() const { return GitSubjects(store_); }
  // Waits (up to 10 s) until the newest commit's subject is `subject`; a delete is committed
  // kPendingDeleteDelay after the unlink. Returns whether it came.
  bool WaitForSubject(const std::string& subject) const;
  std::string Committed(const std::string& path) const { return GitShow(store_, path); }
  std::string MountLog() const { return ReadFile(log_); }

  TempDir dir_;
  std::string store_;
  std::string mnt_;
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace taskfs::testing
