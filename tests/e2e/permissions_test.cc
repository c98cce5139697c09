// A mount shared with other users (--allow-other): real uids (setpriv to nobody and daemon)
// against the owners and modes the mount reports, each compared with the same operations on a
// plain folder where that makes the expectation plain. Also the POSIX behaviour of local-only
// files, open-unlinked files, long names and folders.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

using Lines = std::vector<std::string>;

// Runs `command` with sh in `dir` as `user` (no supplementary groups).
CommandResult RunAs(const std::string& user, const std::string& dir, const std::string& command) {
  return RunCommand("cd " + Quote(dir) + " && setpriv --reuid=" + user + " --regid=$(id -g " +
                    user + ")" + " --clear-groups -- sh -c " + Quote(command) + " 2>&1");
}

// `ls -ld` fields of `path`: mode, links, owner, group.
std::string Owners(const std::string& path) {
  return RunCommand("stat -c '%A %h %U %G' " + Quote(path)).output;
}

class SharedMountTest : public MountedStore {
 protected:
  SharedMountTest() {
    main_.mount_options = {"--allow-other"};
    ::chmod(dir_.path().c_str(), 0711);  // other users may reach the mount point
    plain_ = dir_ / "plain";
    ::mkdir(plain_.c_str(), 0755);
  }
  CommandResult AsNobody(const std::string& command, const std::string& dir = "") const {
    return RunAs("nobody", dir.empty() ? mnt() : dir, command);
  }
  // The same file in the mount and in the plain folder, made by root with `mode`.
  void Make(const std::string& name, const std::string& content, mode_t mode) {
    ASSERT_EQ(SaveAndClose(name, content), "ok");
    ASSERT_EQ(::chmod(M(name).c_str(), mode), 0);
    WriteFile(plain_ + "/" + name, content);
    ASSERT_EQ(::chmod((plain_ + "/" + name).c_str(), mode), 0);
  }

  std::string plain_;
};

TEST_F(SharedMountTest, AnotherUserCannotReadAPrivateTaskNorChangeOneItDoesNotOwn) {
  Make("open.yaml", "title: open\n", 0644);
  Make("private.yaml", "title: private\n", 0600);
  const std::string script = std::string(kPythonErrPrelude) + R"(
print("read open", err(lambda: open("open.yaml").read()))
print("read private", err(lambda: open("private.yaml").read()))
print("write open", err(lambda: open("open.yaml", "r+").write("title: mine\n")))
print("truncate open", err(lambda: os.truncate("open.yaml", 0)))
print("chown", err(lambda: os.chown("open.yaml", os.getuid(), os.getgid())))
print("chmod", err(lambda: os.chmod("open.yaml", 0o666)))
print("utime", err(lambda: os.utime("open.yaml", (1, 1))))
print("unlink", err(lambda: os.unlink("open.yaml")))
print("rename", err(lambda: os.rename("open.yaml", "moved.yaml")))
print("create", err(lambda: open("mine.yaml", "w").write("title: m\n")))
PY
)";
  const std::string expected =
      "read open ok\nread private EACCES\nwrite open EACCES\ntruncate open EACCES\n"
      "chown EPERM\nchmod EPERM\nutime EPERM\nunlink EACCES\nrename EACCES\ncreate EACCES\n";
  EXPECT_EQ(AsNobody(script, plain_).output, expected);
  EXPECT_EQ(AsNobody(script).output, expected);
  EXPECT_EQ(Owners(M("private.yaml")), "-rw------- 1 root root\n");
  EXPECT_EQ(ReadFile(M("open.yaml")), "title: open\n");
  EXPECT_TRUE(WaitUntil([&] { return Committed("private.yaml") == "title: private\n"; }));
  EXPECT_EQ(Committed("open.yaml"), "title: open\n");
  EXPECT_EQ(RunCommand("git --git-dir=" + Quote(store()) + " log --format=%s -- open.yaml").output,
            "create open\n");
}

TEST_F(SharedMountTest, AnotherUserCannotRemoveWhatIsNotTheirsInAStickyFolder) {
  // A folder everyone may write, like /tmp: each removes only their own.
  for (const std::string& root : {mnt(), plain_}) {
    ASSERT_EQ(::mkdir((root + "/shared").c_str(), 0755), 0) << root;
    ASSERT_EQ(::chmod((root + "/shared").c_str(), 01777), 0);
    ASSERT_EQ(::mkdir((root + "/shared/roots").c_str(), 0755), 0);
    WriteFile(root + "/shared/task.yaml", "title: root's\n");
  }
  const std::string script = std::string(kPythonErrPrelude) + R"(
print("rmdir", err(lambda: os.rmdir("shared/roots")))
print("unlink", err(lambda: os.unlink("shared/task.yaml")))
print("mkdir own", err(lambda: os.mkdir("shared/own")))
print("rmdir own", err(lambda: os.rmdir("shared/own")))
PY
)";
  const std::string expected = "rmdir EPERM\nunlink EPERM\nmkdir own ok\nrmdir own ok\n";
  EXPECT_EQ(AsNobody(script, plain_).output, expected);
  EXPECT_EQ(AsNobody(script).output, expected);
  EXPECT_EQ(ReadFile(M("shared/task.yaml")), "title: root's\n");
  EXPECT_EQ(Owners(M("shared")), "drwxrwxrwt 3 root root\n");
}

TEST_F(SharedMountTest, WhatAUserMakesIsTheirsAndStaysTheirsAcrossSavesAndRemounts) {
  ASSERT_EQ(::chmod(mnt().c_str(), 01777), 0);
  CommandResult made = AsNobody(
      "printf 'title: mine\\npriority: L\\n' > mine.yaml && mkdir box && "
      "printf 'title: boxed\\n' > box/in.yaml && touch notes.txt && "
      "sed -i 's/priority: L/priority: H/' mine.yaml && chmod 600 mine.yaml && echo done");
  ASSERT_EQ(made.output, "done\n");
  EXPECT_EQ(Owners(M("mine.yaml")), "-rw------- 1 nobody nogroup\n");
  EXPECT_EQ(Owners(M("box")), "drwxr-xr-x 2 nobody nogroup\n");
  EXPECT_EQ(Owners(M("box/in.yaml")), "-rw-r--r-- 1 nobody nogroup\n");
  EXPECT_EQ(Owners(M("notes.txt")), "-rw-r--r-- 1 nobody nogroup\n");
  // Another unprivileged user is kept out of the 0600 task; its owner is not.
  EXPECT_EQ(RunAs("daemon", mnt(), "cat mine.yaml").exit_code, 1);
  EXPECT_EQ(AsNobody("cat mine.yaml").output, "title: mine\npriority: H\n");
  // Saves that come while a commit is written share the next one: wait for the bytes, not for a
  // subject.
  EXPECT_TRUE(WaitUntil([&] { return Committed("mine.yaml") == "title: mine\npriority: H\n"; }));

  Unmount();
  Mount();
  EXPECT_EQ(Owners(M("mine.yaml")), "-rw------- 1 nobody nogroup\n");
  EXPECT_EQ(Owners(M("box")), "drwxr-xr-x 2 nobody nogroup\n");
  EXPECT_EQ(Owners(mnt()), "drwxrwxrwt 3 root root\n");
  EXPECT_EQ(RunAs("daemon", mnt(), "cat mine.yaml").exit_code, 1);
}

TEST_F(SharedMountTest, FoldersKeepTheirModeOwnerAndTimesAndCountTheirLinks) {
  ASSERT_EQ(::mkdir(M("f").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(M("f/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(M("f/b").c_str(), 0755), 0);
  ASSERT_EQ(SaveAndClose("f/b/t.yaml", "title: t\n"), "ok");
  ASSERT_EQ(::chmod(M("f").c_str(), 0700), 0);
  ASSERT_EQ(::chown(M("f/a").c_str(), 65534, 65534), 0);
  const struct timespec times[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, M("f/a").c_str(), times, 0), 0);
  EXPECT_EQ(Owners(M("f")), "drwx------ 4 root root\n");
  EXPECT_EQ(Owners(M("f/a")), "drwxr-xr-x 2 nobody nogroup\n");
  EXPECT_EQ(RunCommand("stat -c %Y " + Quote(M("f/a"))).output, "2000\n");
  EXPECT_EQ(AsNobody("ls f").exit_code, 2);  // f is 0700: nobody may not list it

  Unmount();
  Mount();
  EXPECT_EQ(Owners(M("f")), "drwx------ 4 root root\n");
  EXPECT_EQ(RunCommand("stat -c %Y " + Quote(M("f/a"))).output, "2000\n");
  // A new file in the folder changes its mtime again.
  ASSERT_EQ(SaveAndClose("f/a/new.yaml", "title: new\n"), "ok");
  EXPECT_NE(RunCommand("stat -c %Y " + Quote(M("f/a"))).output, "2000\n");
  // Renamed, the folder keeps what it had.
  ASSERT_EQ(::rename(M("f").c_str(), M("g").c_str()), 0);
  EXPECT_EQ(Owners(M("g")), "drwx------ 4 root root\n");
  EXPECT_EQ(Owners(M("g/a")), "drwxr-xr-x 2 nobody nogroup\n");
}

TEST_F(SharedMountTest, AnOpenFileKeepsWorkingAfterItIsUnlinked) {
  ASSERT_EQ(SaveAndClose("a.yaml", "title: a\n"), "ok");
  WriteFile(M("notes.txt"), "local notes\n");
  const std::string script = std::string(kPythonErrPrelude) + R"(
for name in ("a.yaml", "notes.txt"):
    fd = os.open(name, os.O_RDONLY)
    os.unlink(name)
    print(name, os.fstat(fd).st_size, os.pread(fd, 100, 0), name in os.listdir("."))
    os.close(fd)
print(sorted(os.listdir(".")))
PY
)";
  EXPECT_EQ(InMount(script).output,
            "a.yaml 9 b'title: a\\n' False\nnotes.txt 12 b'local notes\\n' False\n['.taskfs']\n");
  EXPECT_TRUE(WaitForSubject("delete a"));
  EXPECT_EQ(RunCommand("ls -A " + Quote(mnt())).output, ".taskfs\n");
}

TEST_F(SharedMountTest, LocalOnlyFilesHaveTheModeTheirCreatorAskedAndMayBeFifosOrSockets) {
  const std::string script = std::string(kPythonErrPrelude) + R"(
import socket, stat
os.umask(0)
for name, mode in (("all", 0o777), ("some", 0o620), ("suid", 0o4755)):
    os.close(os.open(name, os.O_CREAT | os.O_WRONLY, mode))
    print(name, oct(os.stat(name).st_mode & 0o7777))
os.mkdir("dir", 0o751)
print("dir", oct(os.stat("dir").st_mode & 0o7777))
os.mkfifo("fifo", 0o600)
fd = os.open("fifo", os.O_RDWR)
os.write(fd, b"through")
print("fifo", stat.S_ISFIFO(os.stat("fifo").st_mode), os.read(fd, 7))
os.close(fd)
s = socket.socket(socket.AF_UNIX)
s.bind("sock")
print("sock", stat.S_ISSOCK(os.stat("sock").st_mode))
s.close()
print("mknod task fifo", err(lambda: os.mknod("t.yaml", 0o644 | stat.S_IFIFO)))
PY
)";
  const std::string plain_out = InMount("cd " + Quote(plain_) + " && " + script).output;
  EXPECT_EQ(plain_out,
            "all 0o777\nsome 0o620\nsuid 0o4755\ndir 0o751\nfifo True b'through'\nsock True\n"
            "mknod task fifo ok\n");
  // The same, but a task is a regular file.
  EXPECT_EQ(InMount(script).output,
            "all 0o777\nsome 0o620\nsuid 0o4755\ndir 0o751\nfifo True b'through'\nsock True\n"
            "mknod task fifo EPERM\n");
  EXPECT_EQ(InMount(std::string(kPythonErrPrelude) + R"(import stat
print(err(lambda: os.mknod("e.yaml", 0o644 | stat.S_IFREG)), os.path.getsize("e.yaml"))
PY
)")
                .output,
            "ok 0\n");
}

TEST_F(SharedMountTest, ANameTooLongIsENAMETOOLONGForEveryOperation) {
  const std::string script = std::string(kPythonErrPrelude) + R"(
long = "x" * 252 + ".yaml"
print("chmod", err(lambda: os.chmod(long, 0o600)))
print("chown", err(lambda: os.chown(long, 0, 0)))
print("unlink", err(lambda: os.unlink(long)))
print("rmdir", err(lambda: os.rmdir(long)))
print("truncate", err(lambda: os.truncate(long, 0)))
print("rename", err(lambda: os.rename(long, "short.yaml")))
print("create", err(lambda: open(long, "w")))
print("stat", err(lambda: os.stat("x" * 300 + "/a.yaml")))
PY
)";
  const std::string expected =
      "chmod ENAMETOOLONG\nchown ENAMETOOLONG\nunlink ENAMETOOLONG\nrmdir ENAMETOOLONG\n"
      "truncate ENAMETOOLONG\nrename ENAMETOOLONG\ncreate ENAMETOOLONG\nstat ENAMETOOLONG\n";
  EXPECT_EQ(InMount("cd " + Quote(plain_) + " && " + script).output, expected);
  EXPECT_EQ(InMount(script).output, expected);
}

TEST_F(SharedMountTest, ThePathLimitOfALocalDiskIsUsableThroughTheMount) {
  // Folders, then a local-only file and a task whose absolute paths are 4095 bytes (PATH_MAX
  // with its NUL), made, read and removed by absolute path.
  const std::string script = R"(python3 - <<'PY'
import os
prefix = os.getcwd()
while 4095 - len(prefix) - 1 > 255:
    prefix += "/" + "d" * min(200, 4095 - len(prefix) - 1 - 1 - 100)
tail = 4095 - len(prefix) - 1
os.makedirs(prefix)
local, task = prefix + "/" + "n" * tail, prefix + "/" + "t" * (tail - 5) + ".yaml"
for path, text in ((local, "notes\n"), (task, "title: deep\n")):
    with open(path, "w") as f:
        f.write(text)
    print(len(path), open(path).read() == text, os.stat(path).st_size)
print(len(os.listdir(prefix)))
os.unlink(local)
print(len(os.listdir(prefix)))
PY
)";
  const CommandResult plain = InMount("cd " + Quote(plain_) + " && " + script);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  const CommandResult mounted = InMount(script);
  EXPECT_EQ(mounted.output, plain.output);
  EXPECT_EQ(mounted.output.substr(0, 16), "4095 True 6\n4095");
  WaitUntil([&] { return !Subjects().empty(); });
  ASSERT_EQ(Subjects().size(), 1u);
  EXPECT_TRUE(Subjects()[0].starts_with("create d")) << Subjects()[0];
}

TEST_F(SharedMountTest, ATaskKeepsTheTimesAndModeSetOnItUntilItsNextChange) {
  ASSERT_EQ(SaveAndClose("t.yaml", "title: t\n"), "ok");
  ASSERT_EQ(InMount("touch -d @2000 t.yaml && chmod 640 t.yaml && stat -c '%Y %a' t.yaml").output,
            "2000 640\n");
  Unmount();
  Mount();
  EXPECT_EQ(RunCommand("stat -c '%Y %a' " + Quote(M("t.yaml"))).output, "2000 640\n");
  ASSERT_EQ(InMount("echo 'status: done' >> t.yaml").exit_code, 0);
  // The edit is the task's last change; its mode stays.
  EXPECT_NE(RunCommand("stat -c %Y " + Quote(M("t.yaml"))).output, "2000\n");
  EXPECT_EQ(RunCommand("stat -c %a " + Quote(M("t.yaml"))).output, "640\n");
}

class ReadOnlyMountTest : public MountedStore {
 protected:
  ReadOnlyMountTest() { main_.mount_options = {"--read-only"}; }
};

TEST_F(ReadOnlyMountTest, EveryChangeIsRefusedAndReadsWork) {
  const std::string clone = dir_ / "clone";
  CommandResult git = RunCommand(
      "git clone -q " + Quote(store()) + " " + Quote(clone) + " 2>/dev/null && cd " + Quote(clone) +
      " && printf 'title: a\\n' > a.yaml && git add a.yaml && " +
      "git -c user.name=t -c user.email=t@t commit -qm by-git && git push -q origin HEAD:main");
  ASSERT_EQ(git.exit_code, 0) << git.output;
  WaitUntil([&] { return ReadFile(M("a.yaml")) == "title: a\n"; });
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: a\n");
  const std::string script = std::string(kPythonErrPrelude) + R"(
print("write", err(lambda: open("a.yaml", "a")))
print("create", err(lambda: open("b.yaml", "w")))
print("mkdir", err(lambda: os.mkdir("d")))
print("unlink", err(lambda: os.unlink("a.yaml")))
print("chmod", err(lambda: os.chmod("a.yaml", 0o600)))
PY
)";
  EXPECT_EQ(InMount(script).output,
            "write EROFS\ncreate EROFS\nmkdir EROFS\nunlink EROFS\nchmod EROFS\n");
  EXPECT_EQ(Subjects(), Lines{"by-git"});
}

}  // namespace
}  // namespace taskfs::testing
