#include "tests/e2e/mount_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "storage/committer.h"
#include "storage/store.h"

namespace taskfs::testing {
namespace {

bool IsMounted(const std::string& mnt) {
  std::ifstream in("/proc/self/mounts");
  std::string dev, where, type, rest;
  while (in >> dev >> where >> type && std::getline(in, rest)) {
    if (where == mnt && type.starts_with("fuse")) return true;
  }
  return false;
}

// Waits up to `timeout` for `pid` to exit; true if it did.
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TestMount::TestMount(const std::string& dir, const std::string& name)
    : store(dir + "/" + name), mnt_(dir + "/" + name + "-mnt"), log_(dir + "/" + name + ".log") {
  ::mkdir(mnt_.c_str(), 0755);
}

TestMount::~TestMount() {
  if (pid_ > 0) Unmount();
  EnsureNoDaemon(store, /*expect_exit=*/false, std::chrono::milliseconds(0));
}

void TestMount::Init(const std::string& client_name) {
  CommandResult r = Taskfs("init --name " + Quote(client_name));
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

CommandResult TestMount::Taskfs(const std::string& args) const {
  return RunCommand(std::string(TASKFS_BIN) + " --store " + Quote(store) + " " + args);
}

CommandResult TestMount::InMount(const std::string& command) const {
  return RunCommand("cd " + Quote(mnt_) + " && " + command);
}

void TestMount::Mount() {
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const std::string& e : env) ::putenv(::strdup(e.c_str()));
    std::vector<const char*> argv = {"taskfs",
                                     "--store",
                                     store.c_str(),
                                     "mount",
                                     "-f",
                                     mnt_.c_str(),
                                     sync_daemon ? "--foreground" : "--no-sync"};
    for (const std::string& o : mount_options) argv.push_back(o.c_str());
    argv.push_back(nullptr);
    execv(TASKFS_BIN, const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!IsMounted(mnt_)) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "taskfs mount exited before mounting:\n" << Log();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL() << "mount did not come up within 10 s:\n" << Log();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void TestMount::Unmount() {
  if (pid_ <= 0) return;
  bool unmounted = false;
  for (int i = 0; i < 50 && !unmounted; ++i) {
    unmounted = RunCommand("fusermount3 -u " + Quote(mnt_)).exit_code == 0;
    if (!unmounted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!unmounted) {
    ADD_FAILURE() << "could not unmount " << mnt_ << "; detaching lazily";
    RunCommand("fusermount3 -uz " + Quote(mnt_));
  }
  WaitForExit();
  // The daemon the mount started stops with it.
  if (sync_daemon) EnsureNoDaemon(store, /*expect_exit=*/true);
}

void TestMount::WaitForExit() {
  if (pid_ <= 0) return;
  if (!WaitExit(pid_, std::chrono::seconds(15))) {
    ADD_FAILURE() << "taskfs did not exit; killing it";
    ::kill(pid_, SIGKILL);
    WaitExit(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

void TestMount::Kill() {
  ASSERT_GT(pid_, 0);
  ::kill(pid_, SIGKILL);
  // Its mount lock goes only once it is gone: if it lingers, say so here, not in a later mount.
  EXPECT_TRUE(WaitExit(pid_, std::chrono::seconds(15))) << "taskfs still running after kill -9";
  pid_ = -1;
  RunCommand("fusermount3 -u " + Quote(mnt_) + " || fusermount3 -uz " + Quote(mnt_));
}

void MountedStore::SetUp() {
  main_.Init("Test client");
  if (HasFatalFailure()) return;
  Mount();
}

void MountedStore::TearDown() {
  Unmount();
  EXPECT_EQ(GitFsckErrors(store()), "");
}

std::string MountedStore::SaveAndClose(const std::string& path, const std::string& content) {
  const std::string payload = dir_ / "payload";
  WriteFile(payload, content);
  CommandResult r = InMount(std::string(kPythonErrPrelude) + "data = open(" + Quote(payload) +
                            ", 'rb').read()\nfd = os.open(" + Quote(path) +
                            ", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\nos.write(fd, data)\n"
                            "print(err(lambda: os.close(fd)))\nPY\n");
  return r.output.empty() ? "<no output>" : r.output.substr(0, r.output.find('\n'));
}

void CommitEverything(const std::string& store) {
  auto opened = storage::Store::Open(store);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const Status st = storage::CommitJournal(**opened, /*deferred_deletes=*/true);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

void MountedStore::CommitEverything() const { testing::CommitEverything(store()); }

bool MountedStore::WaitForSubject(const std::string& subject) const {
  return WaitUntil([&] {
    auto subjects = Subjects();
    return !subjects.empty() && subjects.front() == subject;
  });
}

}  // namespace taskfs::testing
