// The mount's write path without the kernel: only a writer saves, saves show before their commit
// lands, and many writers and readers at once never commit a torn version. The multithreaded
// test is the one tools/test.sh runs under ThreadSanitizer.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "fusefs/task_filesystem.h"
#include "tests/fusefs/filesystem_fixture.h"
#include "tests/test_util.h"

namespace taskfs::fusefs {
namespace {

using taskfs::testing::GitShow;
using taskfs::testing::Quote;
using taskfs::testing::RunCommand;

class WritePathTest : public FilesystemTest {
 protected:
  int Write(Handle* h, const std::string& bytes, off_t at) {
    return fs_->Write(h, bytes.data(), bytes.size(), at);
  }
  std::string Read(Handle* h) {
    std::string out(4096, '\0');
    const int n = fs_->Read(h, out.data(), out.size(), 0);
    out.resize(n < 0 ? 0 : n);
    return out;
  }
  // Every version of `path` on main, oldest first.
  std::vector<std::string> History(const std::string& path) {
    const auto log = RunCommand("git --git-dir=" + Quote(store_->git_dir()) +
                                " log --reverse --format=%H main -- " + path);
    std::vector<std::string> versions;
    std::istringstream ids(log.output);
    for (std::string id; ids >> id;) versions.push_back(GitShow(store_->git_dir(), path, id));
    return versions;
  }
};

TEST_F(WritePathTest, AReadersCloseNeverSavesAWritersUnfinishedBytes) {
  std::unique_ptr<Handle> w;
  ASSERT_EQ(fs_->Create("a.yaml", 0644, O_WRONLY | O_CREAT, &w), 0);
  ASSERT_EQ(Write(w.get(), "title: original\n", 0), 16);
  ASSERT_EQ(fs_->Flush(w.get()), 0);
  ASSERT_EQ(fs_->Release(w.get()), 0);
  // A writer half-way through a save.
  ASSERT_EQ(fs_->Open("a.yaml", O_WRONLY | O_TRUNC, &w), 0);
  ASSERT_EQ(Write(w.get(), "title: half", 0), 11);
  // Readers open and close it, read-only and read-write: they see the bytes so far (as on a
  // disk) and save nothing, and their close succeeds although the bytes are no valid task yet.
  for (int flags : {O_RDONLY, O_RDWR}) {
    std::unique_ptr<Handle> r;
    ASSERT_EQ(fs_->Open("a.yaml", flags, &r), 0);
    EXPECT_EQ(Read(r.get()), "title: half");
    EXPECT_EQ(fs_->Flush(r.get()), 0);
    EXPECT_EQ(fs_->Release(r.get()), 0);
  }
  ASSERT_TRUE(fs_->WaitForCommits());
  EXPECT_EQ(History("a.yaml"), std::vector<std::string>{"title: original\n"});
  // The writer's own close saves.
  ASSERT_EQ(Write(w.get(), "-written\n", 11), 9);
  ASSERT_EQ(fs_->Flush(w.get()), 0);
  ASSERT_EQ(fs_->Release(w.get()), 0);
  ASSERT_TRUE(fs_->WaitForCommits());
  EXPECT_EQ(History("a.yaml"),
            (std::vector<std::string>{"title: original\n", "title: half-written\n"}));
}

TEST_F(WritePathTest, ASaveShowsAtOnceWhileItsCommitWaits) {
  taskfs::testing::WriteFile(store_->git_dir() + "refs/heads/main.lock", "");  // a git command
  std::unique_ptr<Handle> w;
  ASSERT_EQ(fs_->Create("new/a.yaml", 0644, O_WRONLY | O_CREAT, &w), -ENOENT);
  ASSERT_EQ(fs_->Mkdir("new", 0755), 0);
  ASSERT_EQ(fs_->Create("new/a.yaml", 0644, O_WRONLY | O_CREAT, &w), 0);
  ASSERT_EQ(Write(w.get(), "title: a\n", 0), 9);
  EXPECT_EQ(fs_->Flush(w.get()), 0);  // acknowledged: journaled
  fs_->Release(w.get());
  EXPECT_FALSE(fs_->WaitForCommits(std::chrono::milliseconds(300)));
  EXPECT_EQ(fs_->CommitStats().pending, 1u);
  std::vector<std::string> names;
  ASSERT_EQ(fs_->ReadDir("new", &names), 0);
  EXPECT_EQ(names, std::vector<std::string>{"a.yaml"});
  struct stat st;
  ASSERT_EQ(fs_->GetAttr("new/a.yaml", &st, nullptr), 0);
  EXPECT_EQ(st.st_size, 9);
  ASSERT_EQ(fs_->Rename("new/a.yaml", "new/b.yaml", 0), 0);  // a rename of a pending save
  std::remove((store_->git_dir() + "refs/heads/main.lock").c_str());
  ASSERT_TRUE(fs_->WaitForCommits());
  EXPECT_EQ(GitShow(store_->git_dir(), "new/b.yaml"), "title: a\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "new/a.yaml"), "<missing>");
  EXPECT_EQ(fs_->CommitStats().pending, 0u);
}

TEST_F(WritePathTest, OnlyASyncByHandCommitsADeleteDeferredForAnEditorsDance) {
  std::unique_ptr<Handle> w;
  ASSERT_EQ(fs_->Create("a.yaml", 0644, O_WRONLY | O_CREAT, &w), 0);
  ASSERT_EQ(Write(w.get(), "title: a\n", 0), 9);
  ASSERT_EQ(fs_->Flush(w.get()), 0);
  fs_->Release(w.get());
  ASSERT_EQ(fs_->Rename("a.yaml", "a.yaml~", 0), 0);  // vim's backup, mid-dance
  // What the daemon's sync asks for: saves committed, the dance left alone.
  ASSERT_TRUE(fs_->WaitForCommits());
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: a\n");
  // What `taskfs sync` by hand asks for: the delete too.
  ASSERT_TRUE(fs_->CommitEverything());
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "<missing>");
}

TEST_F(WritePathTest, ManyWritersAndReadersAtOnceNeverCommitATornVersion) {
  const std::vector<std::string> paths = {"a.yaml", "b.yaml", "c.yaml"};
  std::atomic<bool> stop{false};
  std::atomic<int> saves{0}, reader_errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      for (int n = 0; !stop; ++n) {
        const std::string& path = paths[w];  // one writer a task: no two interleave
        const std::string title = "title: w" + std::to_string(w) + "-" + std::to_string(n) + "\n";
        std::unique_ptr<Handle> h;
        if (fs_->Create(path, 0644, O_RDWR | O_CREAT | O_TRUNC, &h) != 0) continue;
        // Written in pieces, as a program's several write() calls.
        Write(h.get(), title, 0);
        Write(h.get(), "status: pending\n", static_cast<off_t>(title.size()));
        if (fs_->Flush(h.get()) == 0) ++saves;
        fs_->Release(h.get());
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      for (size_t n = 0; !stop;) {
        const std::string& path = paths[(r + n++) % paths.size()];
        std::unique_ptr<Handle> h;
        struct stat st;
        fs_->GetAttr(path, &st, nullptr);
        std::vector<std::string> names;
        fs_->ReadDir("", &names);
        if (fs_->Open(path, O_RDONLY, &h) != 0) continue;
        Read(h.get());
        if (fs_->Flush(h.get()) != 0 || fs_->Release(h.get()) != 0) ++reader_errors;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(fs_->WaitForCommits());
  EXPECT_GT(saves.load(), 10);
  EXPECT_EQ(reader_errors.load(), 0);
  const std::regex whole("title: w[0-2]-[0-9]+\nstatus: pending\n");
  for (const std::string& path : paths) {
    for (const std::string& version : History(path)) {
      EXPECT_TRUE(std::regex_match(version, whole)) << path << " committed torn:\n" << version;
    }
  }
}

}  // namespace
}  // namespace taskfs::fusefs
