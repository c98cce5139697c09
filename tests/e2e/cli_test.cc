// The taskfs command line: version, help, usage errors, init, the daemonized mount, log, show,
// status and store-path.
#include <algorithm>
#include <filesystem>

#include "storage/committer.h"
#include "storage/local_state.h"
#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

const std::string kTaskfs = TASKFS_BIN;

TEST(Cli, VersionHelpAndUsageErrors) {
  CommandResult version = RunCommand(kTaskfs + " --version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output.rfind("taskfs ", 0), 0u) << version.output;
  CommandResult help = RunCommand(kTaskfs + " --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd : {"init", "mount", "umount", "status", "log", "show", "store-path",
                          "remote", "sync", "clone", "conflicts"}) {
    EXPECT_NE(help.output.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_EQ(RunCommand(kTaskfs).exit_code, 2);
  EXPECT_EQ(RunCommand(kTaskfs + " frobnicate").exit_code, 2);
  EXPECT_EQ(RunCommand(kTaskfs + " mount").exit_code, 2);
  EXPECT_EQ(RunCommand(kTaskfs + " init").exit_code, 2);  // --name is required
}

TEST(Cli, StorePathFollowsXdgThenEnvironmentThenFlag) {
  EXPECT_EQ(RunCommand("env -u TASKFS_STORE XDG_DATA_HOME=/x " + kTaskfs + " store-path").output,
            "/x/taskfs/store\n");
  EXPECT_EQ(
      RunCommand("env -u TASKFS_STORE -u XDG_DATA_HOME HOME=/h " + kTaskfs + " store-path").output,
      "/h/.local/share/taskfs/store\n");
  EXPECT_EQ(RunCommand("TASKFS_STORE=/e XDG_DATA_HOME=/x " + kTaskfs + " store-path").output,
            "/e\n");
  EXPECT_EQ(RunCommand("TASKFS_STORE=/e " + kTaskfs + " --store /f store-path").output, "/f\n");
}

TEST(Cli, InitCreatesTheDefaultStoreOnceAndMountDaemonizes) {
  TempDir dir;
  const std::string env = "env -u TASKFS_STORE XDG_DATA_HOME=" + Quote(dir / "data") + " ";
  CommandResult init = RunCommand(env + kTaskfs + " init --name 'Ada laptop'");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_TRUE(Exists(dir / "data/taskfs/store/HEAD"));
  CommandResult again = RunCommand(env + kTaskfs + " init --name 'Ada laptop'");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;

  RunCommand("mkdir " + Quote(dir / "tasks"));
  ASSERT_EQ(RunCommand(env + kTaskfs + " mount " + Quote(dir / "tasks")).exit_code, 0);
  // The mount is live when `taskfs mount` returns.
  EXPECT_EQ(RunCommand("echo 'title: Buy milk' > " + Quote(dir / "tasks/buy-milk.yaml")).exit_code,
            0);
  CommandResult status = RunCommand(env + kTaskfs + " status");
  EXPECT_NE(status.output.find("mount:    " + dir.path() + "/tasks (pid"), std::string::npos)
      << status.output;
  EXPECT_EQ(RunCommand(env + kTaskfs + " umount " + Quote(dir / "tasks")).exit_code, 0);
  EXPECT_EQ(RunCommand("grep -c " + Quote(dir / "tasks") + " /proc/mounts").output, "0\n");
  EXPECT_NE(RunCommand(env + kTaskfs + " status").output.find("mount:    not mounted"),
            std::string::npos);
  EXPECT_EQ(GitShow(dir / "data/taskfs/store", "buy-milk.yaml"), "title: Buy milk\n");
}

class CliHistoryTest : public MountedStore {};

TEST_F(CliHistoryTest, LogFollowsRenamesAndShowGoesBack) {
  // At a person's pace: each step its own commit.
  for (const char* step :
       {"echo 'title: Buy milk' > buy-milk.yaml", "echo 'status: done' >> buy-milk.yaml",
        "mkdir work && mv buy-milk.yaml work/"}) {
    ASSERT_EQ(InMount(step).exit_code, 0);
    WaitForJournal(store());
  }
  CommandResult log = Taskfs("log work/buy-milk");
  ASSERT_EQ(log.exit_code, 0) << log.output;
  EXPECT_NE(log.output.find("Test client  rename buy-milk -> work/buy-milk\n"), std::string::npos)
      << log.output;
  EXPECT_NE(log.output.find("edit buy-milk\n"), std::string::npos);
  EXPECT_NE(log.output.find("create buy-milk\n"), std::string::npos);
  EXPECT_EQ(Taskfs("show work/buy-milk").output, "title: Buy milk\nstatus: done\n");
  EXPECT_EQ(Taskfs("show work/buy-milk@~2").output, "title: Buy milk\n");
  EXPECT_EQ(Taskfs("show work/buy-milk@~3").exit_code, 1);
  EXPECT_EQ(Taskfs("show work/buy-milk@~x").exit_code, 2);
  EXPECT_EQ(Taskfs("log nothing-here").exit_code, 1);
}

// A store brought from elsewhere with a long history: the mount indexes it in the background, so
// the first `taskfs log` reads no commit it did not need.
TEST_F(CliHistoryTest, TheMountIndexesTheHistoryBeforeTheFirstLog) {
  Unmount();
  std::string head;
  {
    auto s = storage::Store::Open(store());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (int i = 0; i < 40; ++i) {
      auto c = (*s)->Commit({{"t.yaml", "title: v" + std::to_string(i) + "\n"}}, "edit t");
      ASSERT_TRUE(c.ok()) << c.status().ToString();
    }
    auto h = (*s)->Head();
    ASSERT_TRUE(h.ok());
    head = *h;
  }
  const std::string index = store() + "/taskfs/history-index";
  ASSERT_FALSE(std::filesystem::exists(index));
  Mount();
  EXPECT_TRUE(WaitUntil([&] { return HistoryIndexHolds(store(), head); })) << MountLog();
  const std::string indexed = ReadFile(index);
  CommandResult log = Taskfs("log t");
  ASSERT_EQ(log.exit_code, 0) << log.output;
  EXPECT_EQ(std::count(log.output.begin(), log.output.end(), '\n'), 40) << log.output;
  EXPECT_EQ(ReadFile(index), indexed) << "the log found commits the mount had not indexed";
}

TEST(Cli, LogAndStatusSeeSavesACrashLeftInTheJournal) {
  TempDir dir;
  const std::string store_path = dir / "store";
  ASSERT_EQ(RunCommand(kTaskfs + " --store " + Quote(store_path) + " init --name x").exit_code, 0);
  {
    // A mount that journaled a save and died before its commit (the branch was locked).
    auto store = storage::Store::Open(store_path);
    ASSERT_TRUE(store.ok());
    auto journal = storage::Journal::Open(storage::LocalState(**store).journal());
    ASSERT_TRUE(journal.ok());
    WriteFile(store_path + "/refs/heads/main.lock", "");
    storage::Committer committer(store->get(), std::move(journal.value()), {});
    committer.Start();
    ASSERT_TRUE(committer.Append({"create a", {{"a.yaml", "title: a\n"}}, {}}).ok());
    (void)committer.Stop(std::chrono::milliseconds(0));  // as if killed: the save stays journaled
    std::filesystem::remove(store_path + "/refs/heads/main.lock");
  }
  const std::string taskfs = kTaskfs + " --store " + Quote(store_path);
  EXPECT_NE(RunCommand(taskfs + " status").output.find("journal:  1 save(s)"), std::string::npos);
  CommandResult log = RunCommand(taskfs + " log a");
  EXPECT_EQ(log.exit_code, 0) << log.output;
  EXPECT_NE(log.output.find("create a\n"), std::string::npos) << log.output;
  EXPECT_NE(RunCommand(taskfs + " status").output.find("journal:  0 saves"), std::string::npos);
  EXPECT_EQ(GitFsckErrors(store_path), "");
}

TEST(Cli, CloneOfASharedFolderSyncsThroughTheFolder) {
  TempDir dir;
  const std::string laptop = kTaskfs + " --store " + Quote(dir / "laptop");
  const std::string desktop = kTaskfs + " --store " + Quote(dir / "desktop");
  const std::string folder = dir / "Dropbox/tasks";
  ASSERT_EQ(RunCommand(laptop + " init --name laptop").exit_code, 0);
  ASSERT_EQ(RunCommand(laptop + " remote add origin " + Quote(folder)).exit_code, 0);
  {
    auto store = storage::Store::Open(dir / "laptop");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  }
  ASSERT_EQ(RunCommand(laptop + " sync").exit_code, 0);
  // Cloned from the folder, the desktop reads and writes the folder's layout, not a branch of
  // it that no other machine reads.
  CommandResult clone = RunCommand(desktop + " clone " + Quote(folder) + " --name desktop");
  ASSERT_EQ(clone.exit_code, 0) << clone.output;
  EXPECT_NE(clone.output.find("(files: 1)"), std::string::npos) << clone.output;
  EXPECT_NE(RunCommand(desktop + " remote").output.find("origin\tfolder\t" + folder),
            std::string::npos);
  {
    auto store = storage::Store::Open(dir / "desktop");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Commit({{"b.yaml", "title: b\n"}}, "create b").ok());
  }
  ASSERT_EQ(RunCommand(desktop + " sync").exit_code, 0);
  ASSERT_EQ(RunCommand(laptop + " sync").exit_code, 0);
  EXPECT_EQ(GitShow(dir / "laptop", "b.yaml"), "title: b\n");
  EXPECT_FALSE(std::filesystem::exists(folder + "/refs/heads/main"));
}

}  // namespace
}  // namespace taskfs::testing
