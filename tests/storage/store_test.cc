#include "storage/store.h"

#include <gtest/gtest.h>

#include "tests/storage/store_fixture.h"
#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

using taskfs::testing::GitFsckErrors;
using taskfs::testing::GitShow;
using taskfs::testing::GitSubjects;
using taskfs::testing::Quote;
using taskfs::testing::RunCommand;
using taskfs::testing::TempDir;

class StoreTest : public StoreFixture {};

TEST_F(StoreTest, NewStoreIsEmptyBareRepositoryOnMain) {
  EXPECT_EQ(store_->snapshot()->file_count(), 0u);
  EXPECT_EQ(store_->branch_ref(), "refs/heads/main");
  EXPECT_EQ(store_->client_name(), "Ada laptop");
  EXPECT_EQ(
      RunCommand("git --git-dir=" + Quote(store_->git_dir()) + " rev-parse --is-bare-repository")
          .output,
      "true\n");
}

TEST_F(StoreTest, InitRefusesAnExistingStore) {
  auto again = Store::Init(dir_.path() + "/store", "Other");
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
}

TEST_F(StoreTest, OpenOfMissingStoreSaysHowToCreateOne) {
  auto s = Store::Open(dir_.path() + "/nowhere");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("taskfs init"), std::string::npos);
}

TEST_F(StoreTest, EachCommitIsOneCommitWithTheClientAsAuthor) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  ASSERT_TRUE(store_->Commit({{"work/b.yaml", "title: b\n"}}, "create work/b").ok());
  ASSERT_TRUE(store_->Commit({{"a.yaml", std::nullopt}}, "delete a").ok());
  EXPECT_EQ(GitSubjects(store_->git_dir()),
            (std::vector<std::string>{"delete a", "create work/b", "create a"}));
  EXPECT_EQ(
      RunCommand("git --git-dir=" + Quote(store_->git_dir()) + " log -1 --format=%an main").output,
      "Ada laptop\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "work/b.yaml"), "title: b\n");
  EXPECT_EQ(store_->snapshot()->file_count(), 1u);
}

// A commit's snapshot keeps the blob ids of what it wrote, not the bytes (a long-running mount
// would come to hold every task ever saved): they are read back from the pack when asked for.
TEST_F(StoreTest, ACommitsSnapshotReadsWhatItWroteBackFromGit) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}, {"w/b.yaml", "title: b\n"}}, "c").ok());
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a, edited\n"}}, "edit a").ok());
  const auto snap = store_->snapshot();
  for (const char* path : {"a.yaml", "w/b.yaml"}) {
    const FileEntry* entry = snap->FindFile(path);
    ASSERT_NE(entry, nullptr) << path;
    EXPECT_EQ(entry->content, nullptr) << path;
  }
  auto content = snap->ContentAt("a.yaml");
  ASSERT_TRUE(content.ok() && *content) << content.status().ToString();
  EXPECT_EQ(**content, "title: a, edited\n");
  EXPECT_EQ(snap->Size("w/b.yaml", *snap->FindFile("w/b.yaml")).value(), 9u);
}

TEST_F(StoreTest, CommitWithNoEffectMakesNoCommit) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "edit a").ok());
  EXPECT_EQ(GitSubjects(store_->git_dir()).size(), 1u);
}

TEST_F(StoreTest, CommitByAnotherProcessIsMergedNotOverwritten) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  auto other = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Commit({{"b.yaml", "title: b\n"}}, "create b").ok());
  // store_ still believes a.yaml is the whole tree: its compare-and-swap must fail and merge.
  auto outcome = store_->Commit({{"c.yaml", "title: c\n"}}, "create c");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_TRUE(outcome->merged_with_others);
  EXPECT_EQ(GitShow(store_->git_dir(), "b.yaml"), "title: b\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "c.yaml"), "title: c\n");
  EXPECT_EQ(GitSubjects(store_->git_dir()).front(), "create c");
}

TEST_F(StoreTest, ConcurrentEditsOfOneTaskMergeLineByLine) {
  ASSERT_TRUE(
      store_->Commit({{"a.yaml", "title: a\nstatus: pending\npriority: L\n"}}, "create a").ok());
  auto base = store_->snapshot();
  auto other = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      (*other)->Commit({{"a.yaml", "title: a\nstatus: pending\npriority: H\n"}}, "edit a").ok());
  ASSERT_TRUE(
      store_->Commit({{"a.yaml", "title: A\nstatus: pending\npriority: L\n"}}, "edit a", base)
          .ok());
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: A\nstatus: pending\npriority: H\n");
}

TEST_F(StoreTest, OverlappingConcurrentEditsKeepBothVersions) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  auto base = store_->snapshot();
  auto other = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE((*other)->Commit({{"a.yaml", "title: theirs\n"}}, "edit a").ok());
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: ours\n"}}, "edit a", base).ok());
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: ours\n");
  bool found_theirs = false;
  auto snap = store_->snapshot();
  snap->ForEachFile([&](const std::string& path, const FileEntry& fe) {
    if (path != "a.yaml" && *snap->Content(path, fe).value() == "title: theirs\n")
      found_theirs = true;
  });
  EXPECT_TRUE(found_theirs);
}

TEST_F(StoreTest, RefreshPicksUpAnotherProcessCommit) {
  auto other = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE((*other)->Commit({{"b.yaml", "title: b\n"}}, "create b").ok());
  auto snap = store_->Refresh();
  ASSERT_TRUE(snap.ok());
  ASSERT_NE((*snap)->FindFile("b.yaml"), nullptr);
}

TEST_F(StoreTest, PlainGitRepositoryOnMasterOpens) {
  const std::string repo = dir_.path() + "/plain";
  auto r = RunCommand("git init -q -b master " + Quote(repo) + " && cd " + Quote(repo) +
                      " && printf 'title: x\\n' > x.yaml && git add x.yaml && "
                      "git -c user.name=t -c user.email=t@t commit -qm init");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto s = Store::Open(repo);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->branch_ref(), "refs/heads/master");
  ASSERT_NE((*s)->snapshot()->FindFile("x.yaml"), nullptr);
  ASSERT_TRUE((*s)->Commit({{"y.yaml", "title: y\n"}}, "create y").ok());
  EXPECT_EQ(GitShow(repo + "/.git", "y.yaml", "master"), "title: y\n");
  EXPECT_EQ(GitFsckErrors(repo + "/.git"), "");
}

TEST_F(StoreTest, LockedBranchGivesBusyWithAHint) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  taskfs::testing::WriteFile(store_->git_dir() + "refs/heads/main.lock", "");
  auto r = store_->Commit({{"a.yaml", "title: b\n"}}, "edit a");
  EXPECT_EQ(r.status().code(), Status::Code::kBusy);
  EXPECT_NE(r.status().message().find(".lock"), std::string::npos) << r.status().message();
  std::remove((store_->git_dir() + "refs/heads/main.lock").c_str());
  EXPECT_TRUE(store_->Commit({{"a.yaml", "title: b\n"}}, "edit a").ok());
}

TEST_F(StoreTest, MtimesSurviveReopen) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  const int64_t mtime = store_->snapshot()->FindFile("a.yaml")->mtime;
  ASSERT_TRUE(store_->SaveMtimes().ok());
  auto reopened = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->snapshot()->FindFile("a.yaml")->mtime, mtime);
}

TEST_F(StoreTest, OpenedSnapshotReadsContentOnDemandFromLooseAndPackedObjects) {
  ASSERT_TRUE(store_->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  auto reopened = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE(reopened.ok());
  auto snap = (*reopened)->snapshot();
  const FileEntry* fe = snap->FindFile("a.yaml");
  ASSERT_NE(fe, nullptr);
  EXPECT_EQ(fe->content, nullptr) << "a snapshot opened from git holds blob ids only";
  EXPECT_EQ(*snap->Content("a.yaml", *fe).value(), "title: a\n");
  EXPECT_EQ(snap->Size("a.yaml", *fe).value(), 9u);
  // Another process commits and packs everything: the reader finds the new pack.
  auto other = Store::Open(dir_.path() + "/store");
  ASSERT_TRUE((*other)->Commit({{"b.yaml", "title: b\n"}}, "create b").ok());
  auto r = RunCommand("git --git-dir=" + Quote(store_->git_dir()) + " gc -q --prune=now");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto refreshed = (*reopened)->Refresh();
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(*(*refreshed)->ContentAt("b.yaml").value(), "title: b\n");
  EXPECT_EQ(*(*refreshed)->ContentAt("a.yaml").value(), "title: a\n");
  EXPECT_EQ((*refreshed)->ContentAt("none.yaml").value(), nullptr);
}

// A repository git wrote (loose objects) at `repo`, one commit of a.yaml holding `title: a`;
// returns the ids `git rev-parse` gives for `revisions`, one per line.
std::vector<std::string> GitRepoWithOneTask(const std::string& repo, const std::string& revisions) {
  auto r = RunCommand("git init -q -b main " + Quote(repo) + " && cd " + Quote(repo) +
                      " && printf 'title: a\\n' > a.yaml && git add a.yaml && "
                      "git -c user.name=t -c user.email=t@t commit -qm init && "
                      "git rev-parse " +
                      revisions);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> ids;
  for (size_t at = r.output.find_first_not_of('\n'); at + 40 <= r.output.size(); at += 41) {
    ids.push_back(r.output.substr(at, 40));
  }
  return ids;
}

void RemoveLooseObject(const std::string& repo, const std::string& id) {
  const std::string object = repo + "/.git/objects/" + id.substr(0, 2) + "/" + id.substr(2);
  ASSERT_EQ(std::remove(object.c_str()), 0) << object;
}

TEST_F(StoreTest, MissingBlobIsAClearErrorNamingTheTask) {
  // The blob goes after the store opened the repository.
  const std::string repo = dir_.path() + "/plain";
  const auto ids = GitRepoWithOneTask(repo, "HEAD:a.yaml");
  ASSERT_EQ(ids.size(), 1u);
  auto s = Store::Open(repo);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  RemoveLooseObject(repo, ids[0]);
  auto content = (*s)->snapshot()->ContentAt("a.yaml");
  ASSERT_FALSE(content.ok());
  EXPECT_NE(content.status().message().find("a.yaml"), std::string::npos)
      << content.status().ToString();
  EXPECT_EQ(content.status().code(), Status::Code::kCorruption) << "damage, not a missing task";
}

TEST_F(StoreTest, OpenedOnFirstUseReadsTheTreeWhenNeededAndReportsADamagedOneThen) {
  const std::string repo = dir_.path() + "/plain";
  const auto ids = GitRepoWithOneTask(repo, "HEAD HEAD^{tree}");
  ASSERT_EQ(ids.size(), 2u);
  const std::string& head = ids[0];
  const std::string& tree = ids[1];

  auto lazy = Store::Open(repo, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
  ASSERT_TRUE(lazy.ok()) << lazy.status().ToString();
  EXPECT_FALSE((*lazy)->tree_loaded());
  EXPECT_EQ((*lazy)->Head().value(), head);
  EXPECT_FALSE((*lazy)->tree_loaded()) << "Head() reads the ref only";
  auto current = (*lazy)->Refresh();
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ((*current)->commit_id(), head);
  EXPECT_EQ(*(*current)->ContentAt("a.yaml").value(), "title: a\n");

  // The tree's object gone: a lazy open still succeeds (a sync with nothing to do would too),
  // the first call that needs the tree fails naming what it could not read; an eager open fails.
  RemoveLooseObject(repo, tree);
  auto damaged = Store::Open(repo, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
  ASSERT_TRUE(damaged.ok()) << damaged.status().ToString();
  auto failed = (*damaged)->Refresh();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("tree"), std::string::npos)
      << failed.status().ToString();
  EXPECT_FALSE(Store::Open(repo, Store::Access::kReadOnly).ok());
}

}  // namespace
}  // namespace taskfs::storage

namespace taskfs::storage {
namespace {

TEST(StoreEmptyTree, DeletingTheLastTaskCommitsAnEmptyTree) {
  taskfs::testing::TempDir dir;
  auto s = Store::Init(dir.path() + "/store", "Ada");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Commit({{"work/a.yaml", "title: a\n"}}, "create work/a").ok());
  ASSERT_TRUE((*s)->Commit({{"c.yaml", "title: c\n"}}, "create c").ok());
  ASSERT_TRUE((*s)->Commit({{"c.yaml", std::nullopt}}, "delete c").ok());
  auto r = (*s)->Commit({{"work/a.yaml", std::nullopt}}, "delete work/a");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*s)->snapshot()->file_count(), 0u);
  ASSERT_TRUE((*s)->Commit({{"b.yaml", "title: b\n"}}, "create b").ok());
  EXPECT_EQ(taskfs::testing::GitTreePaths((*s)->git_dir()), std::vector<std::string>{"b.yaml"});
  EXPECT_EQ(taskfs::testing::GitFsckErrors((*s)->git_dir()), "");
}

}  // namespace
}  // namespace taskfs::storage
