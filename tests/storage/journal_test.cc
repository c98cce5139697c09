// The write path's journal and committer on throw-away stores: records survive a torn tail, a
// lone save is committed alone and a burst is grouped, a failed commit keeps every save, and
// what a crash left is committed by the next run.
#include "storage/journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/committer.h"
#include "storage/deferred_deletes.h"
#include "storage/file_util.h"
#include "storage/local_state.h"
#include "storage/repack.h"
#include "storage/store.h"
#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

using std::chrono::milliseconds;
using taskfs::testing::GitFsckErrors;
using taskfs::testing::GitShow;
using taskfs::testing::GitSubjects;
using taskfs::testing::GitTreePaths;
using taskfs::testing::Quote;
using taskfs::testing::RunCommand;
using taskfs::testing::TempDir;

JournalEntry Entry(uint64_t seq, const std::string& path, std::optional<std::string> content,
                   std::optional<std::string> base = std::nullopt) {
  JournalEntry e;
  e.seq = seq;
  e.message = (content ? "edit " : "delete ") + path;
  e.changes = {{path, std::move(content)}};
  e.bases = {std::move(base)};
  return e;
}

Save SaveOf(const std::string& path, const std::string& content,
            std::optional<std::string> base = std::nullopt) {
  return Save{(base ? "edit " : "create ") + path.substr(0, path.size() - 5),
              {{path, content}},
              {std::move(base)}};
}

TEST(Journal, EntriesSurviveReopenAndATornTailEndsTheSegment) {
  TempDir dir;
  const std::string jdir = dir / "journal";
  {
    auto j = Journal::Open(jdir);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ASSERT_TRUE((*j)->Append(Entry(1, "a.yaml", "title: a\n")).ok());
    ASSERT_TRUE((*j)->Append(Entry(2, "b.yaml", std::nullopt, "title: b\n")).ok());
    ASSERT_TRUE((*j)->Append(Entry(3, "c.yaml", std::string("x\0y", 3), "")).ok());
  }
  // A crash in the middle of a fourth append: half a record at the end.
  const auto segments = JournalSegments(jdir);
  ASSERT_EQ(segments.size(), 1u);
  {
    std::ofstream out(jdir + "/" + std::string(16 - std::to_string(segments[0]).size(), '0') +
                          std::to_string(segments[0]) + ".log",
                      std::ios::app | std::ios::binary);
    out << "TFJ1\x40\0\0";
  }
  auto entries = ReadJournal(jdir);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].changes[0].content, "title: a\n");
  EXPECT_EQ(entries[0].bases[0], std::nullopt);
  EXPECT_EQ(entries[1].changes[0].content, std::nullopt);
  EXPECT_EQ(entries[1].bases[0], "title: b\n");
  EXPECT_EQ(entries[2].changes[0].content, std::string("x\0y", 3));
  EXPECT_EQ(entries[2].bases[0], "");
  auto reopened = Journal::Open(jdir);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->recovered().size(), 3u);
  EXPECT_EQ((*reopened)->last_seq(), 3u);
}

TEST(Journal, ARotatedSegmentIsDroppedAlone) {
  TempDir dir;
  auto j = Journal::Open(dir / "journal");
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->Append(Entry(1, "a.yaml", "title: a\n")).ok());
  auto closed = (*j)->Rotate();
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ((*j)->Rotate().value(), 0u);  // nothing new: nothing to rotate
  ASSERT_TRUE((*j)->Append(Entry(2, "b.yaml", "title: b\n")).ok());
  ASSERT_TRUE((*j)->Drop(*closed).ok());
  auto left = ReadJournal(dir / "journal");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].seq, 2u);
}

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Init(dir_ / "store", "Ada");
    ASSERT_TRUE(s.ok());
    store_ = std::move(s.value());
  }
  void TearDown() override {
    committer_.reset();
    EXPECT_EQ(GitFsckErrors(store_->git_dir()), "");
  }
  void StartCommitter(Committer::Options options = {}) {
    auto j = Journal::Open(storage::LocalState(store_->local_dir()).journal());
    ASSERT_TRUE(j.ok());
    committer_ = std::make_unique<Committer>(store_.get(), std::move(j.value()),
                                             Committer::Callbacks{}, options);
    ASSERT_TRUE(committer_->CommitRecovered().ok());
    committer_->Start();
  }
  std::string Lock() const { return store_->git_dir() + "refs/heads/main.lock"; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Committer> committer_;
};

TEST_F(CommitterTest, ALoneSaveIsItsOwnCommitAndABurstIsGrouped) {
  StartCommitter();
  auto seq = committer_->Append(SaveOf("a.yaml", "title: a\n"));
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(committer_->WaitCommitted(*seq, milliseconds(10000)));
  EXPECT_EQ(GitSubjects(store_->git_dir()), std::vector<std::string>{"create a"});
  // 200 saves in a row: whatever arrives while a commit is written goes into the next one.
  uint64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    last = committer_->Append(SaveOf("t" + std::to_string(i) + ".yaml", "title: t\n")).value();
  }
  ASSERT_TRUE(committer_->WaitCommitted(last, milliseconds(30000)));
  const auto subjects = GitSubjects(store_->git_dir());
  EXPECT_LE(subjects.size(), 60u) << "hardly grouped";
  EXPECT_EQ(store_->snapshot()->file_count(), 201u);
  bool grouped = false;
  for (const std::string& s : subjects) grouped = grouped || s.ends_with(" tasks");
  EXPECT_TRUE(grouped);
  EXPECT_EQ(committer_->stats().pending, 0u);
}

TEST_F(CommitterTest, AFailedCommitKeepsEverySaveInOrderAndRetries) {
  StartCommitter();
  taskfs::testing::WriteFile(Lock(), "");  // a live git process's lock: respected
  committer_->Append(SaveOf("a.yaml", "title: one\n")).value();
  const uint64_t last =
      committer_->Append(SaveOf("a.yaml", "title: two\n", "title: one\n")).value();
  EXPECT_FALSE(committer_->WaitCommitted(last, milliseconds(400)));
  EXPECT_EQ(committer_->stats().pending, 2u);
  EXPECT_NE(committer_->stats().last_failure.find("lock"), std::string::npos)
      << committer_->stats().last_failure;
  EXPECT_EQ(PendingSaves(*store_), 2u);
  std::filesystem::remove(Lock());
  ASSERT_TRUE(committer_->WaitCommitted(last, milliseconds(10000)));
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: two\n");
  EXPECT_EQ(committer_->stats().last_failure, "");
  EXPECT_EQ(PendingSaves(*store_), 0u);
}

TEST_F(CommitterTest, WhatACrashLeftIsCommittedByTheNextRunOrBySync) {
  StartCommitter();
  taskfs::testing::WriteFile(Lock(), "");
  committer_->Append(SaveOf("a.yaml", "title: a\n")).value();
  committer_->Append(SaveOf("b.yaml", "title: b\n")).value();
  (void)committer_->Stop(milliseconds(0));  // as if killed: the saves stay journaled
  committer_.reset();
  EXPECT_EQ(PendingSaves(*store_), 2u);
  std::filesystem::remove(Lock());
  // No mount runs: CommitJournal (what `taskfs sync` calls first) replays the journal itself.
  ASSERT_TRUE(CommitJournal(*store_).ok());
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: a\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "b.yaml"), "title: b\n");
  EXPECT_EQ(PendingSaves(*store_), 0u);
  StartCommitter();  // nothing left to recover
  EXPECT_EQ(GitSubjects(store_->git_dir()).size(), 1u);
}

TEST_F(CommitterTest, DeletesACrashLeftRecordedAreCommittedByTheNextRunOrBySync) {
  StartCommitter();
  committer_->WaitCommitted(committer_->Append(SaveOf("a.yaml", "title: a\n")).value(),
                            milliseconds(10000));
  committer_->WaitCommitted(committer_->Append(SaveOf("b.yaml", "title: b\n")).value(),
                            milliseconds(10000));
  ASSERT_TRUE(committer_->Stop().ok());
  committer_.reset();
  // A mount deferred these deletes and died before journaling them (gone.yaml: already gone).
  const std::string dir = storage::LocalState(store_->local_dir()).deferred_deletes();
  ASSERT_TRUE(RecordDeferredDelete(dir, "a.yaml").ok());
  ASSERT_TRUE(RecordDeferredDelete(dir, "gone.yaml").ok());
  EXPECT_EQ(DeferredDeletes(dir), (std::vector<std::string>{"a.yaml", "gone.yaml"}));
  ForgetDeferredDelete(dir, "gone.yaml");
  ASSERT_TRUE(RecordDeferredDelete(dir, "gone.yaml").ok());
  // A path far longer than a file name may be is recorded too.
  const std::string deep = std::string(200, 'd') + "/" + std::string(200, 'e') + "/x.yaml";
  ASSERT_TRUE(RecordDeferredDelete(dir, deep).ok());
  EXPECT_EQ(DeferredDeletes(dir).size(), 3u);
  ForgetDeferredDelete(dir, deep);
  ASSERT_TRUE(CommitJournal(*store_).ok());
  EXPECT_EQ(GitSubjects(store_->git_dir()).front(), "delete a");
  EXPECT_EQ(GitTreePaths(store_->git_dir()), (std::vector<std::string>{"b.yaml"}));
  EXPECT_TRUE(DeferredDeletes(dir).empty());
  const size_t commits = GitSubjects(store_->git_dir()).size();
  ASSERT_TRUE(CommitJournal(*store_).ok());  // nothing left: no commit
  EXPECT_EQ(GitSubjects(store_->git_dir()).size(), commits);
}

TEST_F(CommitterTest, AChangeAnotherProcessCommittedMeanwhileIsMergedNotOverwritten) {
  StartCommitter();
  const std::string base = "title: a\nstatus: pending\n";
  committer_->WaitCommitted(committer_->Append(SaveOf("a.yaml", base)).value(),
                            milliseconds(10000));
  // Another process (a sync) adds a line; our writer started from `base` and changed the title.
  auto other = Store::Open(store_->git_dir());
  ASSERT_TRUE((*other)->Commit({{"a.yaml", base + "priority: H\n"}}, "sync").ok());
  const uint64_t seq =
      committer_->Append(SaveOf("a.yaml", "title: A\nstatus: pending\n", base)).value();
  ASSERT_TRUE(committer_->WaitCommitted(seq, milliseconds(10000)));
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml"), "title: A\nstatus: pending\npriority: H\n");
}

TEST_F(CommitterTest, ManySavesLeaveFewPacksAndNoLooseObject) {
  Committer::Options options;
  options.repack_check_every = 5;
  StartCommitter(options);
  for (int i = 0; i < 150; ++i) {  // each its own commit, its own pack: a blob, a tree, a commit
    const std::string name = "t" + std::to_string(i % 40) + ".yaml";
    auto seq = committer_->Append(SaveOf(name, "title: " + std::to_string(i) + "\n"));
    ASSERT_TRUE(committer_->WaitCommitted(seq.value(), milliseconds(10000)));
  }
  auto packs = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(store_->git_dir() + "objects/pack")) {
      n += e.path().extension() == ".pack";
    }
    return n;
  };
  // Once the saves pause, the small packs are merged: a few packs a tier.
  EXPECT_TRUE(taskfs::testing::WaitUntil([&] { return packs() <= 2 * kPackFanout; }))
      << packs() << " packs";
  EXPECT_EQ(CountLooseObjects(store_->git_dir()).count, 0u);
  EXPECT_EQ(GitShow(store_->git_dir(), "t9.yaml"), "title: 129\n");
  EXPECT_EQ(GitSubjects(store_->git_dir()).size(), 150u);
  // Loose objects (a git command in the store) are packed, and past `max_packs` every pack is
  // merged into one: every version of every task is still there. (The committer repacks after
  // it acknowledged a commit: stopped, it cannot race this.)
  ASSERT_TRUE(committer_->Stop().ok());
  RunCommand("echo 'title: loose' | git --git-dir=" + Quote(store_->git_dir()) +
             " hash-object -w --stdin");
  EXPECT_EQ(CountLooseObjects(store_->git_dir()).count, 1u);
  ASSERT_TRUE(PackLooseObjects(*store_, /*max_packs=*/1).ok());
  EXPECT_EQ(CountLooseObjects(store_->git_dir()).count, 0u);
  EXPECT_EQ(packs(), 1u);
  EXPECT_EQ(GitShow(store_->git_dir(), "t0.yaml"), "title: 120\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "t0.yaml", "main~149"), "title: 0\n");
  EXPECT_EQ(GitFsckErrors(store_->git_dir()), "");
}

TEST_F(CommitterTest, AStaleBranchLockACrashLeftIsClearedWhenNoSyncRuns) {
  taskfs::testing::WriteFile(Lock(), "");
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::seconds(5);
  std::filesystem::last_write_time(Lock(), old);
  {
    FileLock sync_running(storage::LocalState(*store_).sync_lock());
    RemoveBranchLockOfCrashedWriter(*store_);
    EXPECT_TRUE(std::filesystem::exists(Lock())) << "a running sync may hold it";
  }
  RemoveBranchLockOfCrashedWriter(*store_);
  EXPECT_FALSE(std::filesystem::exists(Lock()));
}

}  // namespace
}  // namespace taskfs::storage
