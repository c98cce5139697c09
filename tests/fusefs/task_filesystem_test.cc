// TaskFilesystem called directly, without the kernel: the logic of saves, drafts, scratch and
// renames, deterministic and fast. What only the kernel shows is in tests/e2e.
#include "fusefs/task_filesystem.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>

#include <algorithm>
#include <mutex>

#include "fusefs/errno_map.h"
#include "storage/local_state.h"
#include "storage/task_validate.h"
#include "tests/fusefs/filesystem_fixture.h"
#include "tests/test_util.h"

namespace taskfs::fusefs {
namespace {

using taskfs::testing::GitShow;
using taskfs::testing::GitSubjects;

class TaskFilesystemTest : public FilesystemTest {
 protected:
  // Writes `content` to `path` the way `echo > path` does: create, write, flush, release.
  int Save(const std::string& path, const std::string& content, bool create = true) {
    std::unique_ptr<Handle> h;
    int rc = create ? fs_->Create(path, 0644, O_WRONLY | O_CREAT | O_TRUNC, &h)
                    : fs_->Open(path, O_WRONLY | O_TRUNC, &h);
    if (rc != 0) return rc;
    int w = fs_->Write(h.get(), content.data(), content.size(), 0);
    if (w < 0) {
      fs_->Release(h.get());
      return w;
    }
    rc = fs_->Flush(h.get());
    fs_->Release(h.get());
    return rc;
  }

  std::string Cat(const std::string& path) {
    std::unique_ptr<Handle> h;
    if (fs_->Open(path, O_RDONLY, &h) != 0) return "<missing>";
    std::string out(storage::kMaxTaskBytes, '\0');
    int n = fs_->Read(h.get(), out.data(), out.size(), 0);
    fs_->Release(h.get());
    out.resize(n < 0 ? 0 : n);
    return out;
  }

  // The entries of `dir`, without the .taskfs info folder every root has.
  std::vector<std::string> Ls(const std::string& dir) {
    std::vector<std::string> names;
    fs_->ReadDir(dir, &names);
    std::erase(names, kInfoDir);
    return names;
  }
};

TEST_F(TaskFilesystemTest, TaskfsFolderShowsTheStatusTextAndIsReadOnly) {
  int calls = 0;
  fs_->SetStatusText([&] { return "sync: call " + std::to_string(++calls) + "\n"; });
  std::vector<std::string> names;
  ASSERT_EQ(fs_->ReadDir("", &names), 0);
  EXPECT_EQ(names, (std::vector<std::string>{".taskfs"}));
  EXPECT_EQ(Ls(".taskfs"), (std::vector<std::string>{"status"}));
  EXPECT_EQ(Cat(".taskfs/status"),
            "sync: call 1\njournal:  0 save(s) acknowledged and not committed yet\ndrafts:   0\n");
  EXPECT_EQ(
      Cat(".taskfs/status"),
      "sync: call 2\njournal:  0 save(s) acknowledged and not committed yet\ndrafts:   0\n");  // made
                                                                                               // anew
                                                                                               // on
                                                                                               // each
                                                                                               // open
  EXPECT_EQ(Save("bad.yaml", "status: [\n"), -EBADMSG);
  EXPECT_NE(Cat(".taskfs/status").find("drafts:   1 (saved but not committed"), std::string::npos);
  EXPECT_EQ(fs_->Unlink("bad.yaml"), 0);
  struct stat st;
  ASSERT_EQ(fs_->GetAttr(".taskfs/status", &st, nullptr), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0444);
  std::unique_ptr<Handle> h;
  EXPECT_EQ(fs_->Open(".taskfs/status", O_WRONLY, &h), -EROFS);
  EXPECT_EQ(fs_->Create(".taskfs/x.yaml", 0644, O_WRONLY | O_CREAT, &h), -EROFS);
  EXPECT_EQ(fs_->Unlink(".taskfs/status"), -EROFS);
  EXPECT_EQ(fs_->Rmdir(".taskfs"), -EROFS);
  EXPECT_EQ(fs_->Mkdir(".taskfs/d", 0755), -EROFS);
  EXPECT_EQ(fs_->Rename(".taskfs", "elsewhere", 0), -EROFS);
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  EXPECT_EQ(fs_->Rename("a.yaml", ".taskfs/a.yaml", 0), -EROFS);
  EXPECT_EQ(fs_->GetAttr(".taskfs/other", &st, nullptr), -ENOENT);
}

TEST_F(TaskFilesystemTest, SaveCommitsOnFlushNotOnWrite) {
  std::unique_ptr<Handle> h;
  ASSERT_EQ(fs_->Create("a.yaml", 0644, O_WRONLY | O_CREAT, &h), 0);
  ASSERT_EQ(fs_->Write(h.get(), "title: a\n", 9, 0), 9);
  EXPECT_TRUE(GitSubjects(store_->git_dir()).empty());
  EXPECT_EQ(fs_->Flush(h.get()), 0);
  fs_->Release(h.get());
  EXPECT_EQ(GitSubjects(store_->git_dir()), std::vector<std::string>{"create a"});
  EXPECT_EQ(Cat("a.yaml"), "title: a\n");
}

TEST_F(TaskFilesystemTest, InvalidSaveIsAReadableDraftAndNotCommitted) {
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  EXPECT_EQ(Save("a.yaml", "status: someday\n", false), -kInvalidTaskErrno);
  EXPECT_EQ(Cat("a.yaml"), "status: someday\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: a\n");
  // Fixing it commits it and the draft is gone.
  ASSERT_EQ(Save("a.yaml", "title: a\nstatus: done\n", false), 0);
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: a\nstatus: done\n");
  Drafts drafts(storage::LocalState(*store_).drafts());
  ASSERT_TRUE(drafts.Load().ok());
  EXPECT_TRUE(drafts.all().empty());
}

TEST_F(TaskFilesystemTest, ATempFileACrashedDraftSaveLeftIsNotADraft) {
  EXPECT_EQ(Save("a.yaml", "status: someday\n"), -kInvalidTaskErrno);
  taskfs::testing::WriteFile(storage::LocalState(*store_).drafts() + "/a.yaml.tmp-4242", "status: half");
  Drafts drafts(storage::LocalState(*store_).drafts());
  ASSERT_TRUE(drafts.Load().ok());
  ASSERT_EQ(drafts.all().size(), 1u);
  EXPECT_EQ(drafts.all().begin()->first, "a.yaml");
}

TEST_F(TaskFilesystemTest, EmptyNewFileIsASilentDraft) {
  EXPECT_EQ(Save("a.yaml", ""), 0);
  EXPECT_EQ(Ls(""), std::vector<std::string>{"a.yaml"});
  EXPECT_TRUE(GitSubjects(store_->git_dir()).empty());
}

TEST_F(TaskFilesystemTest, ScratchFilesAreLocalAndNeverCommitted) {
  for (const char* name : {".a.yaml.swp", "4913", "a.yaml~", "#a.yaml#", "notes.txt"}) {
    EXPECT_EQ(Save(name, "scratch"), 0) << name;
    EXPECT_EQ(Cat(name), "scratch");
  }
  EXPECT_TRUE(GitSubjects(store_->git_dir()).empty());
  EXPECT_EQ(Ls("").size(), 5u);
}

TEST_F(TaskFilesystemTest, BackupRenameDanceIsOneEdit) {
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  ASSERT_TRUE(fs_->WaitForCommits());
  ASSERT_EQ(fs_->Rename("a.yaml", "a.yaml~", 0), 0);
  struct stat st;
  EXPECT_EQ(fs_->GetAttr("a.yaml", &st, nullptr), -ENOENT);
  ASSERT_EQ(Save("a.yaml", "title: a2\n"), 0);
  ASSERT_EQ(fs_->Unlink("a.yaml~"), 0);
  fs_->Shutdown();  // would commit any pending delete
  EXPECT_EQ(GitSubjects(store_->git_dir()), (std::vector<std::string>{"edit a", "create a"}));
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: a2\n");
}

TEST_F(TaskFilesystemTest, TaskRenamedToScratchIsDeletedAfterTheDelay) {
  fs_.reset();  // one whose deletes wait long enough to see "not yet", and not much longer
  fs_ = std::make_unique<TaskFilesystem>(store_.get(), std::chrono::milliseconds(1000));
  ASSERT_TRUE(fs_->Start().ok());
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  const auto renamed = std::chrono::steady_clock::now();  // at most when the wait began
  ASSERT_EQ(fs_->Rename("a.yaml", "a.txt", 0), 0);
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: a\n");  // not yet
  EXPECT_TRUE(taskfs::testing::WaitUntil(
      [&] { return GitSubjects(store_->git_dir()).front() == "delete a"; }));
  EXPECT_GE(std::chrono::steady_clock::now() - renamed, std::chrono::milliseconds(1000));
  EXPECT_EQ(Cat("a.txt"), "title: a\n");
}

TEST_F(TaskFilesystemTest, TempFileRenamedOverTaskIsOneEdit) {
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  ASSERT_TRUE(fs_->WaitForCommits());  // else both saves may go into one commit
  ASSERT_EQ(Save(".a.yaml.XyZ123", "title: b\n"), 0);
  ASSERT_EQ(fs_->Rename(".a.yaml.XyZ123", "a.yaml", 0), 0);
  EXPECT_EQ(GitSubjects(store_->git_dir()), (std::vector<std::string>{"edit a", "create a"}));
  EXPECT_EQ(Ls(""), std::vector<std::string>{"a.yaml"});
}

TEST_F(TaskFilesystemTest, RenameNoreplaceRefusesAnExistingTarget) {
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  ASSERT_EQ(Save("b.yaml", "title: b\n"), 0);
  ASSERT_TRUE(fs_->WaitForCommits());
  EXPECT_EQ(fs_->Rename("a.yaml", "b.yaml", RENAME_NOREPLACE), -EEXIST);
  EXPECT_EQ(fs_->Rename("a.yaml", "b.yaml", RENAME_EXCHANGE), -EINVAL);
  EXPECT_EQ(fs_->Rename("a.yaml", "b.yaml", 0), 0);
  EXPECT_EQ(GitSubjects(store_->git_dir()).front(), "rename a -> b");
  EXPECT_EQ(GitShow(store_->git_dir(), "b.yaml"), "title: a\n");
}

TEST_F(TaskFilesystemTest, FolderRenameMovesEveryTaskInOneCommit) {
  ASSERT_EQ(fs_->Mkdir("work", 0755), 0);
  ASSERT_EQ(Save("work/a.yaml", "title: a\n"), 0);
  ASSERT_EQ(Save("work/b.yaml", "title: b\n"), 0);
  ASSERT_EQ(Save("work/.swp", "x"), 0);
  ASSERT_TRUE(fs_->WaitForCommits());
  ASSERT_EQ(fs_->Rename("work", "done", 0), 0);
  EXPECT_EQ(GitSubjects(store_->git_dir()).front(), "rename work -> done");
  EXPECT_EQ(Ls("done"), (std::vector<std::string>{".swp", "a.yaml", "b.yaml"}));
  struct stat st;
  EXPECT_EQ(fs_->GetAttr("work", &st, nullptr), -ENOENT);
  EXPECT_EQ(fs_->Rmdir("done"), -ENOTEMPTY);
}

TEST_F(TaskFilesystemTest, EmptyFoldersExistUntilRemoved) {
  ASSERT_EQ(fs_->Mkdir("later", 0755), 0);
  EXPECT_EQ(fs_->Mkdir("later", 0755), -EEXIST);
  EXPECT_EQ(Ls(""), std::vector<std::string>{"later"});
  ASSERT_EQ(Save("later/a.yaml", "title: a\n"), 0);
  ASSERT_EQ(fs_->Unlink("later/a.yaml"), 0);
  EXPECT_EQ(Ls(""), std::vector<std::string>{"later"});
  EXPECT_EQ(fs_->Rmdir("later"), 0);
  EXPECT_TRUE(Ls("").empty());
}

TEST_F(TaskFilesystemTest, BadInputGetsAClearErrno) {
  std::unique_ptr<Handle> h;
  EXPECT_EQ(fs_->Create(std::string(256, 'a') + ".yaml", 0644, O_WRONLY | O_CREAT, &h),
            -ENAMETOOLONG);
  EXPECT_EQ(fs_->Create("bad\xff.yaml", 0644, O_WRONLY | O_CREAT, &h), -EINVAL);
  EXPECT_EQ(fs_->Create("nofolder/a.yaml", 0644, O_WRONLY | O_CREAT, &h), -ENOENT);
  EXPECT_EQ(fs_->Symlink("x", "a.yaml"), -EPERM);
  ASSERT_EQ(fs_->Create("big.yaml", 0644, O_WRONLY | O_CREAT, &h), 0);
  std::string chunk(4096, 'a');
  EXPECT_EQ(fs_->Write(h.get(), chunk.data(), chunk.size(), storage::kMaxTaskBytes), -EFBIG);
  EXPECT_EQ(fs_->Truncate("", storage::kMaxTaskBytes + 1, h.get()), -EFBIG);
  fs_->Release(h.get());
  EXPECT_EQ(Save("a.yaml", "title: a\n"), 0);
  std::unique_ptr<Handle> excl;
  EXPECT_EQ(fs_->Create("a.yaml", 0644, O_WRONLY | O_CREAT | O_EXCL, &excl), -EEXIST);
}

TEST_F(TaskFilesystemTest, CommittedNonTaskFilesAreReadOnly) {
  ASSERT_TRUE(store_->Commit({{"README.md", "# tasks\n"}}, "add readme").ok());
  fs_->Refresh();
  EXPECT_EQ(Cat("README.md"), "# tasks\n");
  std::unique_ptr<Handle> h;
  EXPECT_EQ(fs_->Open("README.md", O_WRONLY, &h), -EROFS);
  EXPECT_EQ(fs_->Unlink("README.md"), -EROFS);
  EXPECT_EQ(fs_->Rename("README.md", "x.md", 0), -EROFS);
}

TEST_F(TaskFilesystemTest, RefreshReportsPathsChangedByOthers) {
  ASSERT_EQ(Save("a.yaml", "title: a\n"), 0);
  ASSERT_TRUE(fs_->CommitEverything());
  auto other = storage::Store::Open(dir_.path() + "/store");
  ASSERT_TRUE((*other)->Commit({{"work/b.yaml", "title: b\n"}}, "create work/b").ok());
  auto paths = fs_->Refresh();
  EXPECT_EQ(paths, (std::vector<std::string>{"", "work", "work/b.yaml"}));
  EXPECT_EQ(Cat("work/b.yaml"), "title: b\n");
}

TEST_F(TaskFilesystemTest, EditOpenDuringAnotherCommitIsMerged) {
  std::mutex mu;
  std::vector<std::string> invalidated;
  fs_->SetInvalidator([&](const std::vector<std::string>& paths) {
    std::lock_guard lock(mu);
    invalidated.insert(invalidated.end(), paths.begin(), paths.end());
  });
  ASSERT_EQ(Save("a.yaml", "title: a\nstatus: pending\npriority: L\n"), 0);
  ASSERT_TRUE(fs_->CommitEverything());
  std::unique_ptr<Handle> h;
  ASSERT_EQ(fs_->Open("a.yaml", O_RDWR, &h), 0);
  auto other = storage::Store::Open(dir_.path() + "/store");
  ASSERT_TRUE(
      (*other)->Commit({{"a.yaml", "title: a\nstatus: pending\npriority: H\n"}}, "edit a").ok());
  fs_->Refresh();
  const std::string mine = "title: A\nstatus: pending\npriority: L\n";
  ASSERT_EQ(fs_->Truncate("", 0, h.get()), 0);
  ASSERT_EQ(fs_->Write(h.get(), mine.data(), mine.size(), 0), static_cast<int>(mine.size()));
  ASSERT_EQ(fs_->Flush(h.get()), 0);
  fs_->Release(h.get());
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: A\nstatus: pending\npriority: H\n");
  // The kernel holds the bytes the writer wrote, not the merge: it is told to drop them.
  EXPECT_TRUE(taskfs::testing::WaitUntil([&] {
    std::lock_guard lock(mu);
    return std::find(invalidated.begin(), invalidated.end(), "a.yaml") != invalidated.end();
  }));
}

}  // namespace
}  // namespace taskfs::fusefs
