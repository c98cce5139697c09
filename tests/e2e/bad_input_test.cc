// Bad input: names taskfs can't keep, oversize files, read-only files, a missing, corrupt, locked
// or full store. Each gets a clear error, nothing crashes, nothing typed is lost, and the
// repository stays valid (git fsck in TearDown).
#include <chrono>
#include <thread>

#include "storage/local_state.h"
#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

class BadInputTest : public MountedStore {};

// Task bytes are read from git on first open: an object that went missing is EIO on that task
// alone, with its name in the mount's log, and the task reads again once the object is back.
TEST_F(BadInputTest, AMissingTaskObjectIsEioNamedInTheLogAndLosesNothing) {
  Unmount();
  const std::string git = "git --git-dir=" + Quote(store()) + " ";
  CommandResult made = RunCommand(
      "set -e; blob=$(printf 'title: Lost and found\\n' | " + git +
      "hash-object -w --stdin); tree=$(printf '100644 blob %s\\tfound.yaml\\n' $blob | " + git +
      "mktree); commit=$(" + git +
      "-c user.name=t -c user.email=t@t commit-tree $tree -m 'create found'); " + git +
      "update-ref refs/heads/main $commit; echo $blob");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string blob = made.output.substr(0, 40);
  const std::string object = store() + "/objects/" + blob.substr(0, 2) + "/" + blob.substr(2);
  const std::string aside = object + ".aside";
  Mount();
  ASSERT_EQ(std::rename(object.c_str(), aside.c_str()), 0) << object;
  CommandResult lost = InMount("cat found.yaml");
  EXPECT_NE(lost.exit_code, 0);
  EXPECT_NE(lost.output.find("Input/output error"), std::string::npos) << lost.output;
  EXPECT_NE(MountLog().find("found.yaml"), std::string::npos) << MountLog();
  ASSERT_EQ(std::rename(aside.c_str(), object.c_str()), 0);
  EXPECT_EQ(ReadFile(M("found.yaml")), "title: Lost and found\n");
}

TEST_F(BadInputTest, InvalidNamesGetClearErrnos) {
  CommandResult r =
      InMount(std::string(kPythonErrPrelude) +
              R"(print(err(lambda: os.open("a" * 251 + ".yaml", os.O_CREAT | os.O_WRONLY)))
print(err(lambda: os.mkdir("d" * 256)))
print(err(lambda: os.open(b"bad\xff.yaml", os.O_CREAT | os.O_WRONLY)))
open("good.yaml", "w").write("title: good\n")
print(err(lambda: os.rename("good.yaml", b"bad\xff.yaml")))
print(err(lambda: os.rename("good.yaml", "g" * 256)))
PY
)");
  EXPECT_EQ(r.output, "ENAMETOOLONG\nENAMETOOLONG\nEINVAL\nEINVAL\nENAMETOOLONG\n");
  EXPECT_EQ(Committed("good.yaml"), "title: good\n");
}

TEST_F(BadInputTest, NamesWithControlCharactersAreRefused) {
  // A newline in a draft's name used to forge lines in `taskfs status`; an escape sequence in a
  // name reached the terminal through `taskfs log`.
  CommandResult r =
      InMount(std::string(kPythonErrPrelude) +
              R"(for name in ["x.yaml\ndrafts: 0", "\x1b[2Jx.yaml", "tab\t.yaml", "del\x7f",
             "cr\r.yaml~"]:
    print(err(lambda: os.open(name, os.O_CREAT | os.O_WRONLY)))
print(err(lambda: os.mkdir("dir\nname")))
open("ok.yaml", "w").write("title: ok\n")
print(err(lambda: os.rename("ok.yaml", "ok\n.yaml")))
PY
)");
  EXPECT_EQ(r.output, "EINVAL\nEINVAL\nEINVAL\nEINVAL\nEINVAL\nEINVAL\nEINVAL\n");
  EXPECT_EQ(Committed("ok.yaml"), "title: ok\n");
  EXPECT_EQ(InMount("ls").output, "ok.yaml\n");
}

TEST_F(BadInputTest, StatusAndLogPrintNamesAndReasonsEscaped) {
  // Control characters in a task are not YAML: the save is a draft, and the reason names the
  // byte without sending it to the terminal.
  InMount("printf 'title: \\033[2Jred\\n' > esc.yaml; printf 'title: a\\000b\\n' > nul.yaml; true");
  CommandResult status = Taskfs("status");
  EXPECT_EQ(status.output.find('\x1b'), std::string::npos) << status.output;
  EXPECT_EQ(status.output.find('\0'), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("  esc.yaml: not valid YAML: line 1: a control character (\\x1b)"),
            std::string::npos)
      << status.output;
  EXPECT_NE(status.output.find("  nul.yaml: not valid YAML: line 1: a control character (\\x00)"),
            std::string::npos)
      << status.output;
  // Authors come from any machine's commits: `taskfs log` escapes them too.
  ASSERT_EQ(InMount("echo 'title: t' > t.yaml").exit_code, 0);
  WaitForJournal(store());
  const std::string work = dir_ / "work";
  CommandResult pushed = RunCommand(
      "git clone -q " + Quote(store()) + " " + Quote(work) + " && cd " + Quote(work) +
      " && echo 'status: done' >> t.yaml && git -c user.name=\"$(printf 'Mal\\033[2Jlory')\" "
      "-c user.email=m@x commit -qam edit && git push -q origin main 2>&1");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.output;
  CommandResult log = Taskfs("log t");
  EXPECT_EQ(log.exit_code, 0) << log.output;
  EXPECT_EQ(log.output.find('\x1b'), std::string::npos) << log.output;
  EXPECT_NE(log.output.find("Mal\\x1b[2Jlory"), std::string::npos) << log.output;
}

TEST_F(BadInputTest, AFailedFallocateLeavesTheTaskAsItWas) {
  ASSERT_EQ(InMount("echo 'title: small' > small.yaml").exit_code, 0);
  CommandResult r = InMount(std::string(kPythonErrPrelude) +
                            R"(fd = os.open("small.yaml", os.O_WRONLY)
print(err(lambda: os.posix_fallocate(fd, 0, 8 << 20)))
print(os.fstat(fd).st_size)
print(err(lambda: os.posix_fallocate(fd, 0, 4096)))
os.close(fd)
PY
)");
  // Refused up front (glibc used to emulate it by writing zeros up to the 1 MiB limit first).
  EXPECT_EQ(r.output, "EFBIG\n13\nok\n");
  EXPECT_EQ(ReadFile(M("small.yaml")).size(), 4096u);  // extended with zeros, as asked
  WaitForJournal(store());
}

TEST_F(BadInputTest, LocalOnlyFilesAreCappedAt16MiB) {
  CommandResult r = InMount("head -c 17000000 /dev/zero 2>&1 > big.bin; stat -c %s big.bin");
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n16777216\n"), std::string::npos) << r.output;  // not a byte more
  EXPECT_EQ(InMount("truncate -s 20M big.bin").exit_code, 1);
  EXPECT_EQ(InMount("rm big.bin").exit_code, 0);
}

TEST_F(BadInputTest, TaskOverOneMebibyteIsRefusedWithEFBIG) {
  CommandResult r = InMount(R"(python3 - <<'PY'
import os, errno
fd = os.open("big.yaml", os.O_CREAT | os.O_WRONLY)
os.write(fd, b"notes: |\n")
try:
    while True:
        os.write(fd, b"  " + b"x" * 4094 + b"\n")
except OSError as e:
    print(errno.errorcode[e.errno], os.fstat(fd).st_size <= 1 << 20)
os.close(fd)
PY
)");
  EXPECT_EQ(r.output, "EFBIG True\n");
  // A larger scratch file is fine: the 1 MiB limit is for tasks.
  EXPECT_EQ(InMount("head -c 2000000 /dev/zero > big.bin && stat -c %s big.bin").output,
            "2000000\n");
}

TEST_F(BadInputTest, NonTaskFilesCommittedByGitAreReadOnly) {
  const std::string clone = dir_ / "clone";
  ASSERT_EQ(RunCommand("git init -q -b main " + Quote(clone) + " && cd " + Quote(clone) +
                       " && echo '# my tasks' > README.md && git add -A && "
                       "git -c user.name=g -c user.email=g@g commit -qm readme && "
                       "git push -q " +
                       Quote(store()) + " main")
                .exit_code,
            0);
  WaitUntil([&] { return Exists(M("README.md")); });
  EXPECT_EQ(ReadFile(M("README.md")), "# my tasks\n");
  CommandResult w = InMount("(echo more >> README.md)");
  EXPECT_NE(w.exit_code, 0);
  EXPECT_NE(w.output.find("Read-only file system"), std::string::npos) << w.output;
  EXPECT_NE(InMount("rm README.md").exit_code, 0);
}

TEST_F(BadInputTest, LockedStoreKeepsTheSaveAndCommitsItOnceUnlocked) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml").exit_code, 0);
  WaitForJournal(store());
  const std::string lock = store() + "/refs/heads/main.lock";
  WriteFile(lock, "");
  // The save is acknowledged (journaled); its commit waits for the lock, retried.
  const std::string r = SaveAndClose("a.yaml", "title: while locked\n");
  EXPECT_EQ(r, "ok");
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: while locked\n");
  CommandResult status;
  EXPECT_TRUE(WaitUntil([&] {
    status = Taskfs("status");
    return status.output.find("lock") != std::string::npos;
  })) << status.output;
  EXPECT_NE(status.output.find("journal:  1 save(s)"), std::string::npos) << status.output;
  EXPECT_NE(ReadFile(M(".taskfs/status")).find("last commit failure"), std::string::npos);
  std::remove(lock.c_str());
  // Retried in the background.
  WaitUntil([&] { return Committed("a.yaml") == "title: while locked\n"; });
  EXPECT_EQ(Committed("a.yaml"), "title: while locked\n");
  // Once a save commits again, status no longer reports the old error.
  EXPECT_EQ(Taskfs("status").output.find("last error"), std::string::npos);
}

class FullDiskTest : public MountedStore {
 protected:
  void SetUp() override {
    MountedStore::SetUp();
    if (HasFatalFailure()) return;
    Unmount();
    small_ = dir_ / "small";
    RunCommand("mkdir -p " + Quote(small_));
    CommandResult m = RunCommand("mount -t tmpfs -o size=4m tmpfs " + Quote(small_));
    ASSERT_EQ(m.exit_code, 0) << m.output;
    mounted_tmpfs_ = true;
    main_.store = small_ + "/store";
    ASSERT_EQ(Taskfs("init --name small").exit_code, 0);
    Mount();
  }
  void TearDown() override {
    MountedStore::TearDown();
    if (mounted_tmpfs_) RunCommand("umount " + Quote(small_));
  }
  std::string small_;
  bool mounted_tmpfs_ = false;
};

TEST_F(FullDiskTest, SaveOnAFullDiskFailsClearlyAndIsCommittedWhenSpaceReturns) {
  ASSERT_EQ(InMount("echo 'title: a' > a.yaml").exit_code, 0);
  WaitForJournal(store());
  RunCommand("dd if=/dev/zero of=" + Quote(small_ + "/filler") + " bs=64k 2>/dev/null");
  // Either the journal has no room (the close fails and the bytes stay in memory) or it has
  // (the save is acknowledged and its commit fails until there is room).
  const std::string r = SaveAndClose("a.yaml", "title: written on a full disk\n");
  EXPECT_TRUE(r == "ENOSPC" || r == "ok") << r;
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: written on a full disk\n");  // kept in memory
  if (r == "ENOSPC") {
    // Held in memory: .taskfs/status says so, with the reason.
    const std::string status = ReadFile(M(".taskfs/status"));
    EXPECT_NE(status.find("unsaved:  1 save(s) held in memory"), std::string::npos) << status;
    EXPECT_NE(status.find("No space left on device"), std::string::npos) << status;
    const std::string cli = Taskfs("status").output;
    EXPECT_NE(cli.find("unsaved:  1 save(s) held in memory"), std::string::npos) << cli;
  }
  std::remove((small_ + "/filler").c_str());
  WaitUntil([&] { return Committed("a.yaml") == "title: written on a full disk\n"; });
  EXPECT_EQ(Committed("a.yaml"), "title: written on a full disk\n");
}

TEST(BadStore, MountOfAMissingStoreSaysWhatToDo) {
  TempDir dir;
  RunCommand("mkdir " + Quote(dir / "mnt"));
  CommandResult r = RunCommand(std::string(TASKFS_BIN) + " --store " + Quote(dir / "nostore") +
                               " mount " + Quote(dir / "mnt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("taskfs init"), std::string::npos) << r.output;
}

TEST(BadStore, MountOfACorruptStoreFailsWithTheReason) {
  TempDir dir;
  const std::string store = dir / "store";
  const std::string taskfs = std::string(TASKFS_BIN) + " --store " + Quote(store);
  ASSERT_EQ(RunCommand(taskfs + " init --name x").exit_code, 0);
  RunCommand("mkdir " + Quote(dir / "mnt"));
  WriteFile(store + "/refs/heads/main", "not a commit id\n");
  CommandResult r = RunCommand(taskfs + " mount " + Quote(dir / "mnt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("refs/heads/main"), std::string::npos) << r.output;
  EXPECT_EQ(RunCommand("grep -c " + Quote(dir / "mnt") + " /proc/mounts").output, "0\n");
}

TEST(BadStore, MountOnANonEmptyFolderIsRefusedUnlessAsked) {
  TempDir dir;
  const std::string taskfs = std::string(TASKFS_BIN) + " --store " + Quote(dir / "store");
  ASSERT_EQ(RunCommand(taskfs + " init --name x").exit_code, 0);
  RunCommand("mkdir " + Quote(dir / "mnt") + " && echo mine > " + Quote(dir / "mnt/notes.txt"));
  CommandResult r = RunCommand(taskfs + " mount " + Quote(dir / "mnt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("is not empty"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--nonempty"), std::string::npos) << r.output;
  EXPECT_EQ(RunCommand("grep -c " + Quote(dir / "mnt") + " /proc/mounts").output, "0\n");
  ASSERT_EQ(RunCommand(taskfs + " mount --nonempty " + Quote(dir / "mnt")).exit_code, 0);
  EXPECT_EQ(RunCommand("ls " + Quote(dir / "mnt")).output, "");  // hidden while mounted
  EXPECT_EQ(RunCommand(taskfs + " umount " + Quote(dir / "mnt")).exit_code, 0);
  EXPECT_EQ(ReadFile(dir / "mnt/notes.txt"), "mine\n");
}

TEST(BadStore, AMountPointWithSpacesAndANewlineIsShownAndUnmounted) {
  TempDir dir;
  const std::string taskfs = std::string(TASKFS_BIN) + " --store " + Quote(dir / "store");
  ASSERT_EQ(RunCommand(taskfs + " init --name x").exit_code, 0);
  const std::string mnt = dir / "my tasks\nfor work ";
  RunCommand("mkdir " + Quote(mnt));
  struct LazyUnmount {
    std::string at;
    ~LazyUnmount() { RunCommand("fusermount3 -uz " + Quote(at) + " 2>/dev/null"); }
  } unmount_on_failure{mnt};
  ASSERT_EQ(RunCommand(taskfs + " mount " + Quote(mnt)).exit_code, 0);
  const auto record = storage::ReadMountRecord(dir / "store/taskfs/mount");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->mountpoint, mnt);
  EXPECT_NE(RunCommand(taskfs + " status").output.find("(pid " + std::to_string(record->pid)),
            std::string::npos);
  WriteFile(mnt + "/a.yaml", "title: a\n");
  // umount finds the mount by its record and waits for it to end, so the save is committed.
  EXPECT_EQ(RunCommand(taskfs + " umount " + Quote(mnt)).exit_code, 0);
  EXPECT_FALSE(storage::ReadMountRecord(dir / "store/taskfs/mount").has_value());  // it ended
  EXPECT_EQ(GitShow(dir / "store", "a.yaml"), "title: a\n");
}

TEST(BadStore, SecondMountOfOneStoreIsRefused) {
  TempDir dir;
  const std::string taskfs = std::string(TASKFS_BIN) + " --store " + Quote(dir / "store");
  ASSERT_EQ(RunCommand(taskfs + " init --name x").exit_code, 0);
  RunCommand("mkdir " + Quote(dir / "m1") + " " + Quote(dir / "m2"));
  ASSERT_EQ(RunCommand(taskfs + " mount " + Quote(dir / "m1")).exit_code, 0);
  CommandResult second = RunCommand(taskfs + " mount " + Quote(dir / "m2"));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.output.find("already mounted"), std::string::npos) << second.output;
  EXPECT_EQ(RunCommand(taskfs + " umount " + Quote(dir / "m1")).exit_code, 0);
  RunCommand("fusermount3 -uz " + Quote(dir / "m2") + " 2>/dev/null");
}

}  // namespace
}  // namespace taskfs::testing
