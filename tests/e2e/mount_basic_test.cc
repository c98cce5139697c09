// The mount's basic operations, driven by real programs through a real FUSE mount.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "storage/file_util.h"
#include "storage/local_state.h"
#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

using Lines = std::vector<std::string>;

class MountTest : public MountedStore {
 protected:
  // The pid of the mount process, from its mount record (written once it serves); "" if none
  // comes within 15 s.
  std::string MountPid() const {
    std::optional<storage::MountRecord> record;
    WaitUntil(
        [&] { return (record = storage::ReadMountRecord(store() + "/taskfs/mount")).has_value(); });
    return record ? std::to_string(record->pid) : "";
  }
  // Saves t1.yaml .. t`count`.yaml, mounts again and reads them all back (from the store's packs,
  // which the mount then holds open). Returns the mount's pid; "" (the test failed) otherwise.
  std::string RemountAndReadTasksFromPacks(int count) {
    std::string expected;
    for (int i = 1; i <= count; ++i) {
      const std::string n = std::to_string(i);
      EXPECT_EQ(SaveAndClose("t" + n + ".yaml", "title: task " + n + "\n"), "ok");
      expected += "title: task " + n + "\n";
    }
    Unmount();
    Mount();
    const std::string pid = MountPid();
    EXPECT_FALSE(pid.empty());
    std::string cat = "cat";
    for (int i = 1; i <= count; ++i) cat += " t" + std::to_string(i) + ".yaml";
    EXPECT_EQ(InMount(cat).output, expected);
    EXPECT_GT(PacksHeldBy(pid, store()).held, 0);
    return ::testing::Test::HasFailure() ? "" : pid;
  }
};

TEST_F(MountTest, TheIssueSessionWorksAsWritten) {
  // At a person's pace each step is its own commit (saves made while a commit is written would
  // share the next one): wait for each commit.
  ASSERT_EQ(InMount("echo 'title: Buy milk' > buy-milk.yaml").exit_code, 0);
  EXPECT_EQ(ReadFile(M("buy-milk.yaml")), "title: Buy milk\n");
  WaitForJournal(store());
  ASSERT_EQ(InMount("mkdir work && mv buy-milk.yaml work/").exit_code, 0);
  WaitForJournal(store());
  ASSERT_EQ(InMount("printf 'title: Ship it\\nstatus: done\\n' > work/ship.yaml").exit_code, 0);
  WaitForJournal(store());
  CommandResult grep = InMount("grep -rl 'status: done' --include='*.yaml' .");
  EXPECT_EQ(grep.output, "./work/ship.yaml\n");
  ASSERT_EQ(InMount("rm work/buy-milk.yaml").exit_code, 0);
  EXPECT_EQ(InMount("ls work").output, "ship.yaml\n");
  EXPECT_TRUE(WaitForSubject("delete work/buy-milk"));
  EXPECT_EQ(Subjects(), (Lines{"delete work/buy-milk", "create work/ship",
                               "rename buy-milk -> work/buy-milk", "create buy-milk"}));
  EXPECT_EQ(GitTreePaths(store()), std::vector<std::string>{"work/ship.yaml"});
  CommandResult ls = InMount("ls -A -I .taskfs . work");
  EXPECT_EQ(ls.output, ".:\nwork\n\nwork:\nship.yaml\n");
}

// A sync or daemon that finds no mount takes the mount lock for a moment to commit a killed
// mount's journal; a mount started meanwhile waits for it instead of calling the store mounted.
TEST_F(MountTest, AMountStartedDuringAJournalReplayWaitsForIt) {
  ASSERT_EQ(SaveAndClose("t.yaml", "title: t\n"), "ok");
  Unmount();
  auto replay =
      std::make_unique<storage::FileLock>(storage::LocalState(store() + "/taskfs").mount_lock());
  ASSERT_TRUE(replay->held());
  std::thread finish([&replay] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    replay.reset();
  });
  Mount();  // fails the test if taskfs exits (as it did: "already mounted by another process")
  finish.join();
  EXPECT_EQ(ReadFile(M("t.yaml")), "title: t\n");
  EXPECT_NE(MountLog().find("waiting for the commit of the last mount's saves"), std::string::npos)
      << MountLog();
}

TEST_F(MountTest, RenameOverAnExistingTaskIsOneCommit) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml && echo 'title: b' > b.yaml").exit_code, 0);
  WaitForJournal(store());
  ASSERT_EQ(InMount("mv a.yaml b.yaml").exit_code, 0);
  EXPECT_EQ(Subjects().front(), "rename a -> b");
  EXPECT_EQ(Committed("b.yaml"), "title: a\n");
  EXPECT_EQ(GitTreePaths(store()), std::vector<std::string>{"b.yaml"});
}

TEST_F(MountTest, ExclusiveCreateOfAnExistingTaskFails) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml").exit_code, 0);
  CommandResult r = InMount(
      "python3 -c \"import os,errno\ntry:\n os.open('a.yaml', os.O_CREAT|os.O_EXCL|os.O_WRONLY)\n"
      "except OSError as e: print(errno.errorcode[e.errno])\"");
  EXPECT_EQ(r.output, "EEXIST\n");
}

TEST_F(MountTest, SymlinksLinksXattrsTimesAndOwnership) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml").exit_code, 0);
  // emacs-style lock: a dangling symlink
  ASSERT_EQ(InMount("ln -s 'user@host.1234:1' .#a.yaml && readlink .#a.yaml").output,
            "user@host.1234:1\n");
  CommandResult r = InMount(std::string(kPythonErrPrelude) +
                            R"(print("link", err(lambda: os.link("a.yaml", "b.yaml")))
print("setxattr", err(lambda: os.setxattr("a.yaml", "user.x", b"1")))
print("utime", err(lambda: os.utime("a.yaml", (1, 1))))
fd = os.open("a.yaml", os.O_RDWR)
print("fchmod", err(lambda: os.fchmod(fd, 0o600)))
print("fchown", err(lambda: os.fchown(fd, os.getuid(), os.getgid())))
os.close(fd)
PY
)");
  EXPECT_EQ(r.output, "link EPERM\nsetxattr ENOTSUP\nutime ok\nfchmod ok\nfchown ok\n");
  EXPECT_EQ(Subjects(), Lines{"create a"});
}

TEST_F(MountTest, MtimeIsStableUntilTheTaskChanges) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml").exit_code, 0);
  struct stat before, after_remount, after_edit;
  ASSERT_EQ(::stat(M("a.yaml").c_str(), &before), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Unmount();
  Mount();
  ASSERT_EQ(::stat(M("a.yaml").c_str(), &after_remount), 0);
  EXPECT_EQ(before.st_mtime, after_remount.st_mtime);
  ASSERT_EQ(InMount("echo 'title: b' > a.yaml").exit_code, 0);
  ASSERT_EQ(::stat(M("a.yaml").c_str(), &after_edit), 0);
  EXPECT_GT(after_edit.st_mtime, before.st_mtime);
}

TEST_F(MountTest, CommitsByGitShowInTheMountAndAreNotOverwritten) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml && cat a.yaml").exit_code, 0);  // cached now
  const std::string clone = dir_ / "clone";
  CommandResult git = RunCommand(
      "git clone -q " + Quote(store()) + " " + Quote(clone) + " && cd " + Quote(clone) +
      " && echo 'title: a by git' > a.yaml && echo 'title: g' > g.yaml && git add -A && "
      "git -c user.name=g -c user.email=g@g commit -qm 'by git' && git push -q origin main");
  ASSERT_EQ(git.exit_code, 0) << git.output;
  WaitUntil([&] { return ReadFile(M("a.yaml")) == "title: a by git\n"; });
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: a by git\n");
  EXPECT_EQ(ReadFile(M("g.yaml")), "title: g\n");
  ASSERT_EQ(InMount("echo 'title: m' > m.yaml").exit_code, 0);
  EXPECT_EQ(Committed("g.yaml"), "title: g\n");
  EXPECT_EQ(Committed("m.yaml"), "title: m\n");
  EXPECT_EQ(Subjects(), (Lines{"create m", "by git", "create a"}));
}

TEST_F(MountTest, KillDashNineAfterCloseLosesNothing) {
  ASSERT_EQ(InMount("for i in $(seq 1 20); do echo \"title: task $i\" > t$i.yaml; done").exit_code,
            0);
  ASSERT_EQ(
      InMount("printf 'title: x\\n' > x.yaml && python3 -c \"import os\n"
              "fd=os.open('x.yaml', os.O_WRONLY|os.O_APPEND)\nos.write(fd, b'status: done\\n')\n"
              "os.fsync(fd)\nos.kill(os.getpid(), 9)\"; true")
          .exit_code,
      0);
  KillMount();
  // What was acknowledged is committed by now, or kept in the journal for the next mount.
  Mount();
  EXPECT_EQ(GitTreePaths(store()).size(), 21u);
  EXPECT_EQ(Committed("t20.yaml"), "title: task 20\n");
  EXPECT_EQ(Committed("x.yaml"), "title: x\nstatus: done\n");
  EXPECT_EQ(ReadFile(M("t7.yaml")), "title: task 7\n");
}

// `git repack -a -d` (or a sync beside the mount) merges the packs the mount reads tasks from and
// removes them: the mount lets go of them at its next 5 s tick instead of keeping their
// descriptors and pages until it ends.
TEST_F(MountTest, PacksGitRemovedAreLetGoOfWithinSeconds) {
  const std::string pid = RemountAndReadTasksFromPacks(6);
  ASSERT_FALSE(pid.empty());

  const CommandResult repack = RunCommand("git -C " + Quote(store()) + " repack -a -d -q");
  ASSERT_EQ(repack.exit_code, 0) << repack.output;
  EXPECT_TRUE(
      WaitUntil([&] { return PacksHeldBy(pid, store()).removed == 0; }, std::chrono::seconds(12)))
      << PacksHeldBy(pid, store()).removed << " removed packs still held";
  ASSERT_EQ(InMount("echo 'title: after' > t1.yaml && cat t2.yaml").output, "title: task 2\n");
  EXPECT_EQ(Committed("t1.yaml"), "title: after\n");
}

// Once idle after commits the mount lets go of the packs it read tasks from: their pages stop
// counting in its resident memory (a long-running mount would come to map its whole store).
TEST_F(MountTest, AMountIdleAfterCommitsKeepsNoPackMapped) {
  const std::string pid = RemountAndReadTasksFromPacks(3);
  ASSERT_FALSE(pid.empty());

  ASSERT_EQ(InMount("echo 'title: edited' > t3.yaml").exit_code, 0);
  EXPECT_TRUE(
      WaitUntil([&] { return PacksHeldBy(pid, store()).held == 0; }, std::chrono::seconds(15)))
      << PacksHeldBy(pid, store()).held << " pack files still open or mapped";
  EXPECT_EQ(InMount("cat t1.yaml t3.yaml").output, "title: task 1\ntitle: edited\n");
  EXPECT_EQ(Committed("t3.yaml"), "title: edited\n");
}

TEST_F(MountTest, ADeleteKilledWhileDeferredForEditorsIsStillCommitted) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml && echo 'title: b' > b.yaml").exit_code, 0);
  WaitForJournal(store());
  // The store's delete waits two seconds for an editor's rename dance; the kill comes first.
  ASSERT_EQ(InMount("rm a.yaml && mv b.yaml b.yaml~").exit_code, 0);
  KillMount();
  EXPECT_EQ(GitTreePaths(store()), (Lines{"a.yaml", "b.yaml"}));
  Mount();
  EXPECT_FALSE(Exists(M("a.yaml")));
  EXPECT_FALSE(Exists(M("b.yaml")));
  EXPECT_EQ(GitTreePaths(store()), Lines{});
  EXPECT_EQ(Subjects().front(), "delete a, b");
  EXPECT_EQ(GitFsckErrors(store()), "");
}

TEST_F(MountTest, UnmountWithAFileOpenIsRefusedThenLazyUnmountStillCommits) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml").exit_code, 0);
  // A writer that keeps the file open for a while, then writes and closes.
  const std::string script = dir_ / "writer.py";
  WriteFile(script, "import os, time\nfd = os.open('" + M("a.yaml") +
                        "', os.O_WRONLY | os.O_TRUNC)\n"
                        "open('" +
                        (dir_ / "opened") +
                        "', 'w').close()\ntime.sleep(1.5)\n"
                        "os.write(fd, b'title: written late\\n')\nos.close(fd)\n");
  RunCommand("python3 " + Quote(script) + " > /dev/null 2>&1 &");
  for (int i = 0; i < 100 && !Exists(dir_ / "opened"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CommandResult busy = Taskfs("umount " + Quote(mnt()));
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.output.find("--lazy"), std::string::npos) << busy.output;
  ASSERT_EQ(Taskfs("umount --lazy " + Quote(mnt())).exit_code, 0);
  // The mount process finishes once the writer closed its file.
  WaitUntil([&] { return Committed("a.yaml") == "title: written late\n"; });
  EXPECT_EQ(Committed("a.yaml"), "title: written late\n");
  WaitForMountExit();
}

TEST_F(MountTest, KillDuringAnImportLosesNoAcknowledgedSave) {
  // A writer saves 3,000 tasks and notes each one whose close() returned; the mount is killed
  // with kill -9 in the middle.
  const std::string done = dir_ / "closed.txt";
  const std::string script = dir_ / "import.py";
  WriteFile(script,
            "import os, sys\n"
            "log = open(sys.argv[2], 'w')\n"
            "for i in range(3000):\n"
            "    name = 't%04d.yaml' % i\n"
            "    try:\n"
            "        with open(os.path.join(sys.argv[1], name), 'w') as f:\n"
            "            f.write('title: task %d\\nstatus: pending\\n' % i)\n"
            "    except OSError:\n"
            "        break\n"
            "    log.write(name + '\\n'); log.flush()\n");
  RunCommand("python3 " + Quote(script) + " " + Quote(mnt()) + " " + Quote(done) +
             " > /dev/null 2>&1 &");
  // In the middle: once a hundred saves were acknowledged (on a loaded machine python alone
  // can take most of a second to start, so no fixed wait).
  EXPECT_TRUE(WaitUntil([&] {
    const std::string so_far = Exists(done) ? ReadFile(done) : "";
    return std::count(so_far.begin(), so_far.end(), '\n') >= 100;
  }));
  KillMount();
  RunCommand("sleep 0.2");  // the writer sees the dead mount and stops
  const std::string closed = ReadFile(done);
  ASSERT_FALSE(closed.empty()) << "the writer saved nothing before the kill";
  Mount();  // replays what the journal kept
  const auto paths = GitTreePaths(store());
  const std::set<std::string> committed(paths.begin(), paths.end());
  int checked = 0;
  std::istringstream names(closed);
  for (std::string name; names >> name; ++checked) {
    ASSERT_TRUE(committed.count(name)) << name << " was acknowledged and is lost";
    const int i = std::stoi(name.substr(1, 4));
    EXPECT_EQ(Committed(name), "title: task " + std::to_string(i) + "\nstatus: pending\n");
  }
  RecordProperty("acknowledged_before_kill", checked);
  EXPECT_EQ(GitFsckErrors(store()), "");
}

TEST_F(MountTest, KilledDuringCommitsFiftyTimesEverySaveAfterWorks) {
  for (int i = 0; i < 50; ++i) {
    // Saves and, at once, the kill: often while the committer holds the branch lock.
    const std::string name = "t" + std::to_string(i) + ".yaml";
    ASSERT_EQ(InMount("printf 'title: t%d\\n' " + std::to_string(i) + " > " + name +
                      " && printf 'title: a%d\\n' " + std::to_string(i) + " > a.yaml")
                  .exit_code,
              0);
    KillMount();
    Mount();
    ASSERT_EQ(SaveAndClose("b.yaml", "title: b" + std::to_string(i) + "\n"), "ok")
        << "after kill " << i << "\n"
        << MountLog();
  }
  WaitForJournal(store());
  const auto paths = GitTreePaths(store());
  EXPECT_EQ(paths.size(), 52u);  // t0..t49, a, b
  EXPECT_EQ(Committed("a.yaml"), "title: a49\n");
  EXPECT_EQ(Committed("b.yaml"), "title: b49\n");
  EXPECT_FALSE(Exists(store() + "/refs/heads/main.lock"));
  EXPECT_EQ(GitFsckErrors(store()), "");
}

TEST_F(MountTest, WritersAndReadersAtOnceCommitNoTornVersion) {
  // 3 writers save their task again and again in two write() calls each while 3 readers read
  // and close all three tasks.
  const std::string script = dir_ / "race.py";
  WriteFile(script,
            "import os, sys, time\n"
            "mnt, role, me = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
            "end = time.time() + 3\n"
            "n = 0\n"
            "while time.time() < end:\n"
            "    n += 1\n"
            "    path = os.path.join(mnt, 'task%d.yaml' % (me if role == 'w' else n % 3))\n"
            "    if role == 'w':\n"
            "        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n"
            "        os.write(fd, b'title: w%d-%d\\n' % (me, n))\n"
            "        time.sleep(0.002)\n"
            "        os.write(fd, b'status: pending\\n')\n"
            "        os.close(fd)\n"
            "    else:\n"
            "        try:\n"
            "            with open(path) as f: f.read()\n"
            "        except FileNotFoundError:\n"
            "            pass\n");
  std::string all;
  for (int i = 0; i < 3; ++i) {
    for (const char* role : {"w", "r"}) {
      all += "python3 " + Quote(script) + " " + Quote(mnt()) + " " + role + " " +
             std::to_string(i) + " & ";
    }
  }
  CommandResult r = RunCommand(all + "wait");
  EXPECT_EQ(r.output, "") << "a reader or writer failed";
  WaitForJournal(store());
  CommandResult log =
      RunCommand("git --git-dir=" + Quote(store()) + " log -p --format=%H main | grep '^+[a-z]'");
  std::istringstream lines(log.output);
  int versions = 0;
  for (std::string line; std::getline(lines, line); ++versions) {
    EXPECT_TRUE(line.starts_with("+title: w") || line == "+status: pending") << line;
  }
  EXPECT_GT(versions, 10);
  // Every committed version is whole: a title and a status.
  for (int i = 0; i < 3; ++i) {
    const std::string path = "task" + std::to_string(i) + ".yaml";
    CommandResult ids =
        RunCommand("git --git-dir=" + Quote(store()) + " log --format=%H main -- " + path);
    std::istringstream in(ids.output);
    for (std::string id; in >> id;) {
      const std::string v = GitShow(store(), path, id);
      if (v == "<missing>") continue;
      EXPECT_NE(v.find("\nstatus: pending\n"), std::string::npos) << path << " torn at " << id;
    }
  }
}

}  // namespace
}  // namespace taskfs::testing
