// Sync between two real mounts through a bare git remote, driven by the taskfs CLI: what one
// mount saves, the other shows as soon as `taskfs sync` returns (no stale kernel cache); an edit
// open during a sync is merged, not overwritten; conflicts are listed and resolved in the file.
#include <chrono>
#include <thread>

#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

class TwoMounts : public ::testing::Test {
 protected:
  void SetUp() override {
    remote_ = dir_ / "remote.git";
    ASSERT_EQ(RunCommand("git init -q --bare -b main " + Quote(remote_)).exit_code, 0);
    a_.Init("Ada laptop");
    ASSERT_EQ(a_.Taskfs("remote add origin " + Quote(remote_)).exit_code, 0);
    CommandResult clone = b_.Taskfs("clone " + Quote(remote_) + " --name 'Ada desktop'");
    ASSERT_EQ(clone.exit_code, 0) << clone.output;
    a_.Mount();
    b_.Mount();
  }
  void TearDown() override {
    a_.Unmount();
    b_.Unmount();
    for (const auto& repo : {a_.store, b_.store, remote_}) EXPECT_EQ(GitFsckErrors(repo), "");
  }
  void Sync(TestMount& m) {
    CommandResult r = m.Taskfs("sync");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  TempDir dir_;
  std::string remote_;
  TestMount a_{dir_.path(), "a"};
  TestMount b_{dir_.path(), "b"};
};

TEST_F(TwoMounts, ASaveShowsInTheOtherMountWhenSyncReturns) {
  ASSERT_EQ(a_.InMount("printf 'title: Buy milk\\nstatus: pending\\npriority: L\\n' > milk.yaml")
                .exit_code,
            0);
  Sync(a_);
  Sync(b_);
  EXPECT_EQ(ReadFile(b_.M("milk.yaml")), "title: Buy milk\nstatus: pending\npriority: L\n");
  // Both edit different keys; each mount has the old bytes in its page cache.
  ASSERT_EQ(a_.InMount("sed -i 's/pending/done/' milk.yaml").exit_code, 0);
  ASSERT_EQ(b_.InMount("sed -i 's/priority: L/priority: H/' milk.yaml").exit_code, 0);
  Sync(a_);
  Sync(b_);
  Sync(a_);
  const std::string both = "title: Buy milk\nstatus: done\npriority: H\n";
  EXPECT_EQ(ReadFile(a_.M("milk.yaml")), both);
  EXPECT_EQ(ReadFile(b_.M("milk.yaml")), both);
  EXPECT_EQ(a_.Taskfs("conflicts").output, "");
}

TEST_F(TwoMounts, AnEditOpenDuringASyncIsMergedNotOverwritten) {
  ASSERT_EQ(a_.InMount("printf 'title: t\\nstatus: pending\\npriority: L\\n' > t.yaml").exit_code,
            0);
  Sync(a_);
  Sync(b_);
  // b opens the task (as an editor would), a's change arrives by sync, then b saves.
  const std::string script = dir_ / "slow_edit.py";
  WriteFile(script, "import os, time\nfd = os.open('" + b_.M("t.yaml") +
                        "', os.O_RDWR)\nold = os.read(fd, 4096)\n"
                        "open('" +
                        (dir_ / "opened") +
                        "', 'w').close()\n"
                        "while not os.path.exists('" +
                        (dir_ / "synced") +
                        "'): time.sleep(0.02)\n"
                        "new = old.replace(b'title: t', b'title: T')\nos.lseek(fd, 0, 0)\n"
                        "os.ftruncate(fd, 0)\nos.write(fd, new)\nos.close(fd)\n");
  RunCommand("python3 " + Quote(script) + " > " + Quote(dir_ / "edit.log") + " 2>&1 &");
  for (int i = 0; i < 200 && !Exists(dir_ / "opened"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(a_.InMount("sed -i 's/priority: L/priority: H/' t.yaml").exit_code, 0);
  Sync(a_);
  Sync(b_);
  WriteFile(dir_ / "synced", "");
  WaitUntil([&] { return GitShow(b_.store, "t.yaml").find("title: T") != std::string::npos; });
  EXPECT_EQ(GitShow(b_.store, "t.yaml"), "title: T\nstatus: pending\npriority: H\n")
      << ReadFile(dir_ / "edit.log");
  EXPECT_EQ(ReadFile(b_.M("t.yaml")), "title: T\nstatus: pending\npriority: H\n");
}

TEST_F(TwoMounts, ConflictsAreListedAndResolvedByDeletingTheKey) {
  ASSERT_EQ(a_.InMount("printf 'title: t\\npriority: L\\n' > t.yaml").exit_code, 0);
  Sync(a_);
  Sync(b_);
  ASSERT_EQ(a_.InMount("sed -i 's/priority: L/priority: M/' t.yaml").exit_code, 0);
  ASSERT_EQ(b_.InMount("sed -i 's/priority: L/priority: H/' t.yaml").exit_code, 0);
  Sync(a_);
  CommandResult sync = b_.Taskfs("sync");
  EXPECT_NE(sync.output.find("1 conflict(s) recorded"), std::string::npos) << sync.output;
  const std::string merged = ReadFile(b_.M("t.yaml"));
  EXPECT_NE(merged.find("conflicts:"), std::string::npos) << merged;
  EXPECT_EQ(merged.find("<<<<<<<"), std::string::npos);
  CommandResult listed = b_.Taskfs("conflicts");
  EXPECT_NE(listed.output.find("t.yaml\n  priority:"), std::string::npos) << listed.output;
  // The user resolves it in the editor: the conflicts key goes.
  ASSERT_EQ(b_.InMount("sed -i '/^conflicts:/,$d' t.yaml").exit_code, 0);
  EXPECT_EQ(b_.Taskfs("conflicts").output, "");
  Sync(b_);
  Sync(a_);
  EXPECT_EQ(ReadFile(a_.M("t.yaml")), ReadFile(b_.M("t.yaml")));
  EXPECT_EQ(ReadFile(a_.M("t.yaml")).find("conflicts:"), std::string::npos);
}

TEST_F(TwoMounts, SyncWithoutRemotesOrWithABadOneFailsClearly) {
  CommandResult bad = a_.Taskfs("remote add --git broken " + Quote(dir_ / "nowhere.git"));
  ASSERT_EQ(bad.exit_code, 0);
  CommandResult r = a_.Taskfs("sync broken");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("broken"), std::string::npos) << r.output;
  EXPECT_EQ(a_.Taskfs("remote list").output,
            "broken\tgit\t" + dir_.path() + "/nowhere.git\norigin\tgit\t" + remote_ + "\n");
  EXPECT_EQ(a_.Taskfs("remote remove broken").exit_code, 0);
}

TEST_F(TwoMounts, ASaveOrDeleteRightBeforeSyncGoesWithIt) {
  // No sleep: the sync asks the mount to commit what it acknowledged, deferred deletes too.
  CommandResult r = a_.InMount("echo 'title: x' > x.yaml && echo 'title: y' > y.yaml && " +
                               std::string(TASKFS_BIN) + " --store " + Quote(a_.store) + " sync");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(GitShow(remote_, "x.yaml"), "title: x\n");
  r = a_.InMount("rm x.yaml && echo 'title: y2' > y.yaml && " + std::string(TASKFS_BIN) +
                 " --store " + Quote(a_.store) + " sync");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(GitShow(remote_, "x.yaml"), "<missing>");
  EXPECT_EQ(GitShow(remote_, "y.yaml"), "title: y2\n");
  Sync(b_);
  EXPECT_FALSE(Exists(b_.M("x.yaml")));
  EXPECT_EQ(ReadFile(b_.M("y.yaml")), "title: y2\n");
}

}  // namespace
}  // namespace taskfs::testing
