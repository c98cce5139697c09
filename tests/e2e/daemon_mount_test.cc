// Two real mounts, each with the sync daemon its mount started, syncing through a bare git
// repository or a shared folder: no `taskfs sync` anywhere. What one mount saves, the other shows
// by itself; .taskfs/status tells how syncing goes; the mount and the daemon live apart (a mount
// killed with kill -9 leaves syncing running, and its unmount stops it).
#include "sync/transport/remotes.h"
#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

using sync::RemoteKind;

class MountsWithDaemons : public ::testing::TestWithParam<RemoteKind> {
 protected:
  void SetUp() override {
    if (GetParam() == RemoteKind::kGit) {
      remote_ = dir_ / "remote.git";
      ASSERT_EQ(RunCommand("git init -q --bare -b main " + Quote(remote_)).exit_code, 0);
    } else {
      remote_ = dir_ / "Dropbox/tasks";
    }
    a_.Init("Ada laptop");
    b_.Init("Ada desktop");
    for (TestMount* m : {&a_, &b_}) {
      CommandResult added = m->Taskfs("remote add origin " + Quote(remote_));
      ASSERT_EQ(added.exit_code, 0) << added.output;
      ASSERT_NE(added.output.find(GetParam() == RemoteKind::kGit ? "git remote" : "shared folder"),
                std::string::npos)
          << added.output;
      m->sync_daemon = true;
      m->Mount();
    }
  }
  void TearDown() override {
    a_.Unmount();
    b_.Unmount();
    for (const auto& repo : {a_.store, b_.store, remote_}) EXPECT_EQ(GitFsckErrors(repo), "");
  }
  // Waits until `path` in mount `m` reads `content`.
  bool Shows(const TestMount& m, const std::string& path, const std::string& content) {
    return WaitUntil([&] { return Exists(m.M(path)) && ReadFile(m.M(path)) == content; });
  }

  TempDir dir_;
  std::string remote_;
  TestMount a_{dir_.path(), "a"};
  TestMount b_{dir_.path(), "b"};
};

std::string KindName(const ::testing::TestParamInfo<RemoteKind>& info) {
  return info.param == RemoteKind::kGit ? "BareGitRemote" : "FolderRemote";
}
INSTANTIATE_TEST_SUITE_P(Remotes, MountsWithDaemons,
                         ::testing::Values(RemoteKind::kGit, RemoteKind::kFolder), KindName);

TEST_P(MountsWithDaemons, ASaveInOneMountShowsInTheOtherByItself) {
  ASSERT_EQ(a_.InMount("printf 'title: Buy milk\\nstatus: pending\\n' > milk.yaml").exit_code, 0);
  EXPECT_TRUE(Shows(b_, "milk.yaml", "title: Buy milk\nstatus: pending\n")) << b_.Log();
  // The other way, edited with sed -i while b's kernel caches the old bytes.
  ASSERT_EQ(b_.InMount("sed -i 's/pending/done/' milk.yaml").exit_code, 0);
  EXPECT_TRUE(Shows(a_, "milk.yaml", "title: Buy milk\nstatus: done\n")) << a_.Log();
}

TEST_P(MountsWithDaemons, SavesOnBothSidesWhileMergesLandAreAllKept) {
  ASSERT_EQ(a_.InMount("printf 'title: shared\\n' > shared.yaml").exit_code, 0);
  ASSERT_TRUE(Shows(b_, "shared.yaml", "title: shared\n"));
  // Both mounts save at once, each its own tasks and its own key of the shared one, so merges
  // land in each mount while it is saving.
  const std::string a_saves =
      "for i in $(seq 1 10); do printf 'title: a%s\\n' $i > a$i.yaml; done; "
      "printf 'title: shared\\nstatus: done\\n' > shared.yaml";
  const std::string b_saves =
      "for i in $(seq 1 10); do printf 'title: b%s\\n' $i > b$i.yaml; done; "
      "sed -i '$a priority: H' shared.yaml";
  ASSERT_EQ(RunCommand("(cd " + Quote(a_.mnt_) + " && " + a_saves + ") & (cd " + Quote(b_.mnt_) +
                       " && " + b_saves + "); wait")
                .exit_code,
            0);
  // Both keys kept, in the same bytes on both sides (the order of the keys is the merge's).
  EXPECT_TRUE(WaitUntil([&] {
    const std::string in_a = ReadFile(a_.M("shared.yaml")), in_b = ReadFile(b_.M("shared.yaml"));
    return in_a == in_b && in_a.find("status: done\n") != std::string::npos &&
           in_a.find("priority: H\n") != std::string::npos;
  })) << ReadFile(a_.M("shared.yaml"))
      << ReadFile(b_.M("shared.yaml"));
  for (int i = 1; i <= 10; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_TRUE(Shows(a_, "b" + n + ".yaml", "title: b" + n + "\n"));
    EXPECT_TRUE(Shows(b_, "a" + n + ".yaml", "title: a" + n + "\n"));
  }
}

TEST_P(MountsWithDaemons, StatusFileSaysWhenTheLastSyncWasAndIsReadOnly) {
  ASSERT_EQ(a_.InMount("printf 'title: t\\n' > t.yaml").exit_code, 0);
  std::string status;
  EXPECT_TRUE(WaitUntil([&] {
    status = ReadFile(a_.M(".taskfs/status"));
    return status.find("not yet sent: 0 local commit(s)") != std::string::npos;
  })) << status;
  EXPECT_NE(status.find("daemon running"), std::string::npos) << status;
  EXPECT_EQ(status.find("last sync:  never"), std::string::npos) << status;
  EXPECT_NE(a_.InMount("ls -a").output.find(".taskfs"), std::string::npos);
  CommandResult write = a_.InMount("sh -c 'echo x > .taskfs/status' 2>&1");
  EXPECT_NE(write.exit_code, 0);
  EXPECT_NE(write.output.find("Read-only file system"), std::string::npos) << write.output;
  EXPECT_NE(a_.InMount("rm -f .taskfs/status").exit_code, 0);
  EXPECT_NE(a_.InMount("touch .taskfs/new").exit_code, 0);
  // .taskfs is never committed.
  for (const auto& p : GitTreePaths(a_.store)) EXPECT_FALSE(p.starts_with(".taskfs")) << p;
}

TEST_P(MountsWithDaemons, AKilledMountLeavesSyncingOnAndItsUnmountStopsIt) {
  a_.Kill();
  EXPECT_GT(RunningDaemonOf(a_.store), 0);
  ASSERT_EQ(b_.InMount("printf 'title: while a was down\\n' > late.yaml").exit_code, 0);
  EXPECT_TRUE(
      WaitUntil([&] { return GitShow(a_.store, "late.yaml") == "title: while a was down\n"; }));
  a_.Mount();  // its own daemon finds one running and leaves it be
  EXPECT_EQ(ReadFile(a_.M("late.yaml")), "title: while a was down\n");
  ASSERT_EQ(a_.InMount("printf 'title: after\\n' > after.yaml").exit_code, 0);
  EXPECT_TRUE(Shows(b_, "after.yaml", "title: after\n")) << "a:\n"
                                                         << a_.Log() << "b:\n"
                                                         << b_.Log();
  a_.Unmount();  // fails the test if a daemon of a's store is still running afterwards
  EXPECT_EQ(RunningDaemonOf(a_.store), 0);
}

}  // namespace
}  // namespace taskfs::testing
