// Correctness at scale: a store of 100,000 generated tasks in nested folders (10,000 under the
// sanitizers; TASKFS_SCALE_TASKS overrides), mounted for real on tmpfs. Checks a sample of reads,
// the full listing, a save, a rename of a folder of 1,000 tasks (one commit, history kept) and a
// sync against a peer's bare repository, with git fsck clean. Timing lives in
// tools/bench/bench_scale.sh, not here.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

constexpr int kTasksPerFolder = 1000;

int TaskCount() {
  if (const char* n = std::getenv("TASKFS_SCALE_TASKS")) return std::atoi(n);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 10000;
#else
  return 100000;
#endif
}

// Task i lives in area-AA/project-PPP/, 1,000 tasks to a folder, 10 folders to an area.
std::string TaskPath(int i) {
  char path[64];
  const int folder = i / kTasksPerFolder;
  std::snprintf(path, sizeof path, "area-%02d/project-%03d/task-%06d.yaml", folder / 10, folder, i);
  return path;
}

std::string TaskText(int i) {
  return "title: Task " + std::to_string(i) + "\nstatus: pending\npriority: M\nnotes: |\n  note " +
         std::to_string(i) + "\n";
}

// A fast-import stream: one commit on refs/heads/main that sets `files`.
std::string ImportCommit(const std::string& who, const std::string& subject, bool first,
                         const std::vector<std::pair<std::string, std::string>>& files) {
  std::string s = "commit refs/heads/main\ncommitter " + who + " <" + who +
                  "@example.com> 1700000000 +0000\ndata " + std::to_string(subject.size()) + "\n" +
                  subject + "\n";
  if (!first) s += "from refs/heads/main^0\n";
  for (const auto& [path, text] : files) {
    s += "M 100644 inline " + path + "\ndata " + std::to_string(text.size()) + "\n" + text + "\n";
  }
  return s;
}

class ScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(n_, 2 * kTasksPerFolder) << "TASKFS_SCALE_TASKS must be at least 2000";
    ASSERT_EQ(RunCommand("git init -q --bare -b main " + Quote(peer_)).exit_code, 0);
    std::vector<std::pair<std::string, std::string>> files;
    for (int i = 0; i < n_; ++i) files.emplace_back(TaskPath(i), TaskText(i));
    Import(ImportCommit("Peer", "import tasks", /*first=*/true, files));
    CommandResult clone = mount_.Taskfs("clone " + Quote(peer_) + " --name 'Scale laptop'");
    ASSERT_EQ(clone.exit_code, 0) << clone.output;
    mount_.Mount();
  }
  void TearDown() override {
    mount_.Unmount();
    EXPECT_EQ(GitFsckErrors(mount_.store), "");
    EXPECT_EQ(GitFsckErrors(peer_), "");
  }
  void Import(const std::string& stream) {
    const std::string file = dir_ / "import.fi";
    std::ofstream(file, std::ios::binary) << stream;
    CommandResult r =
        RunCommand("git --git-dir=" + Quote(peer_) + " fast-import --quiet < " + Quote(file));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string Git(const std::string& repo, const std::string& args) {
    CommandResult r = RunCommand("git --git-dir=" + Quote(repo) + " " + args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    return r.output;
  }
  int Lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  const int n_ = TaskCount();
  TempDir dir_{"/dev/shm"};
  std::string peer_ = dir_ / "peer.git";
  TestMount mount_{dir_.path(), "store"};
};

TEST_F(ScaleTest, ReadSaveRenameFolderAndSyncAHundredThousandTasks) {
  // Reads: a sample across every folder, and the whole tree listed.
  for (int i = 0; i < n_; i += 997) EXPECT_EQ(ReadFile(mount_.M(TaskPath(i))), TaskText(i)) << i;
  CommandResult listed = mount_.InMount("find . -name '*.yaml' | wc -l");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_EQ(std::atoi(listed.output.c_str()), n_);

  // A save with a real program, committed as one edit.
  const std::string edited = TaskPath(n_ - 1);
  ASSERT_EQ(mount_.InMount("sed -i 's/status: pending/status: done/' " + edited).exit_code, 0);
  CommitEverything(mount_.store);
  std::string done = TaskText(n_ - 1);
  done.replace(done.find("pending"), 7, "done");
  EXPECT_EQ(GitShow(mount_.store, edited), done);
  const int commits_before = Lines(Git(mount_.store, "rev-list main"));

  // A folder of 1,000 tasks renamed: one commit, every task's history follows it.
  ASSERT_EQ(mount_.InMount("mv area-00/project-001 area-00/renamed").exit_code, 0);
  CommitEverything(mount_.store);
  EXPECT_EQ(Lines(Git(mount_.store, "rev-list main")), commits_before + 1);
  const std::string moved = Git(mount_.store, "diff-tree -r --name-status main^ main");
  EXPECT_EQ(Lines(moved), 2 * kTasksPerFolder) << moved.substr(0, 500);
  EXPECT_EQ(ReadFile(mount_.M("area-00/renamed/task-001005.yaml")), TaskText(1005));
  const std::string history =
      Git(mount_.store, "log --follow --format=%s main -- area-00/renamed/task-001005.yaml");
  EXPECT_NE(history.find("import tasks"), std::string::npos) << history;

  // The peer edits another task meanwhile; one sync brings both sides together.
  const std::string theirs = TaskPath(n_ / 2);
  const std::string their_text = TaskText(n_ / 2) + "project: peer\n";
  Import(ImportCommit("Peer", "edit on the peer", /*first=*/false, {{theirs, their_text}}));
  CommandResult sync = mount_.Taskfs("sync");
  ASSERT_EQ(sync.exit_code, 0) << sync.output;
  EXPECT_EQ(ReadFile(mount_.M(theirs)), their_text);
  EXPECT_EQ(Git(peer_, "rev-parse main"), Git(mount_.store, "rev-parse main"));
  EXPECT_EQ(Git(peer_, "show main:" + edited), done);
  EXPECT_EQ(Lines(Git(peer_, "ls-tree --name-only main area-00/renamed/")), kTasksPerFolder);
  EXPECT_EQ(Lines(Git(peer_, "ls-tree -r --name-only main")), n_);
  EXPECT_EQ(mount_.Taskfs("conflicts").output, "");
}

}  // namespace
}  // namespace taskfs::testing
