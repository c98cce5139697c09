// A commit's objects as one pack (storage/object_buffer.h, storage/pack_writer.h) and the merging
// of small packs (storage/repack.h), checked by git itself: fsck, verify-pack, ls-tree.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>

#include "storage/file_util.h"
#include "storage/idle_memory.h"
#include "storage/local_state.h"
#include "storage/repack.h"
#include "storage/store.h"
#include "storage/tree_cache.h"
#include "tests/storage/store_fixture.h"
#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

using taskfs::testing::GitShow;
using taskfs::testing::PacksHeldBy;
using taskfs::testing::Quote;
using taskfs::testing::ReadFile;
using taskfs::testing::RunCommand;
using taskfs::testing::WaitUntil;

std::vector<std::string> Packs(const std::string& git_dir) {
  std::vector<std::string> packs;
  for (const auto& e : std::filesystem::directory_iterator(git_dir + "objects/pack")) {
    if (e.path().extension() == ".pack") packs.push_back(e.path().string());
  }
  std::sort(packs.begin(), packs.end());
  return packs;
}

std::string Git(const std::string& git_dir, const std::string& args) {
  auto r = RunCommand("git --git-dir=" + Quote(git_dir) + " " + args);
  EXPECT_EQ(r.exit_code, 0) << args << ": " << r.output;
  return r.output;
}

class PackTest : public StoreFixture {
 protected:
  // Makes `versions` commits of t.yaml, each its own pack, and reads each version back through
  // the store (its trees through the store's repository, its bytes through the blob reader), so
  // that libgit2 opens every pack in both object databases.
  void CommitAndReadVersions(int versions) {
    for (int i = 0; i < versions; ++i) {
      ASSERT_TRUE(store_->Commit({{"t.yaml", "title: " + std::to_string(i) + "\n"}}, "edit").ok());
    }
    ExpectEveryVersionReadable(versions);
  }
  void ExpectEveryVersionReadable(int versions) {
    for (int back = 0; back < versions; ++back) {
      const std::string commit = Git(store_->git_dir(), "rev-parse main~" + std::to_string(back));
      auto snap = store_->SnapshotOf(commit.substr(0, commit.find('\n')));
      ASSERT_TRUE(snap.ok()) << snap.status().ToString();
      auto content = (*snap)->ContentAt("t.yaml");
      ASSERT_TRUE(content.ok() && *content) << content.status().ToString();
      EXPECT_EQ(**content, "title: " + std::to_string(versions - 1 - back) + "\n");
    }
  }
};

// Names around '/' in git's tree order: a folder sorts as if its name ended in '/', between '.'
// and '0'. A wrong order is what fsck --strict calls treeNotSorted.
TEST_F(PackTest, ACommitIsOnePackThatGitVerifiesWithNoLooseObject) {
  ASSERT_TRUE(store_
                  ->Commit({{"a.yaml", "title: a\n"},
                            {"a/x.yaml", "title: x\n"},
                            {"a-b.yaml", "title: a-b\n"},
                            {"a0.yaml", "title: a0\n"},
                            {"a/b/deep.yaml", "title: deep\n"}},
                           "import")
                  .ok());
  const auto packs = Packs(store_->git_dir());
  ASSERT_EQ(packs.size(), 1u);
  Git(store_->git_dir(), "verify-pack " + Quote(packs[0]));
  EXPECT_EQ(Git(store_->git_dir(), "count-objects -v").find("count: 0\n"), 0u);
  EXPECT_EQ(Git(store_->git_dir(), "ls-tree --name-only main"), "a-b.yaml\na.yaml\na\na0.yaml\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "a/b/deep.yaml"), "title: deep\n");

  // The next commit is a pack of its own holding only what it changed: a blob, the trees on its
  // path (root, a, a/b) and the commit.
  ASSERT_TRUE(store_->Commit({{"a/b/deep.yaml", "title: deeper\n"}}, "edit deep").ok());
  const auto after = Packs(store_->git_dir());
  ASSERT_EQ(after.size(), 2u);
  const std::string added = after[0] == packs[0] ? after[1] : after[0];
  const std::string listing = Git(store_->git_dir(), "verify-pack -v " + Quote(added));
  EXPECT_NE(listing.find("non delta: 5 objects"), std::string::npos) << listing;
  EXPECT_EQ(GitShow(store_->git_dir(), "a/b/deep.yaml", "main~1"), "title: deep\n");
}

TEST_F(PackTest, ATaskRemovedLastFromItsFolderRemovesTheFolder) {
  ASSERT_TRUE(store_->Commit({{"home/a.yaml", "title: a\n"}, {"b.yaml", "b: 1\n"}}, "c").ok());
  ASSERT_TRUE(store_->Commit({{"home/a.yaml", std::nullopt}}, "delete home/a").ok());
  EXPECT_EQ(Git(store_->git_dir(), "ls-tree -r --name-only main"), "b.yaml\n");
}

TEST_F(PackTest, ANameGitCannotStoreIsRefusedAndNothingIsWritten) {
  const auto before = Packs(store_->git_dir());
  for (const char* path : {"../x.yaml", "a/.git/config", "a//b.yaml"}) {
    auto r = store_->Commit({{path, "title: x\n"}}, "create x");
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << path;
  }
  EXPECT_EQ(Packs(store_->git_dir()), before);
  ASSERT_TRUE(store_->Commit({{"fine.yaml", "title: x\n"}}, "create fine").ok());
  EXPECT_EQ(Git(store_->git_dir(), "ls-tree -r --name-only main"), "fine.yaml\n");
}

TEST(Repack, PacksAreMergedATierAtATime) {
  EXPECT_EQ(kPackFanout, 8u);
  EXPECT_EQ(SmallestPacksToMerge({}), 0u);
  EXPECT_EQ(SmallestPacksToMerge({3, 3, 3, 3, 3, 3, 3}), 0u);     // 7 in tier 0
  EXPECT_EQ(SmallestPacksToMerge({3, 3, 3, 3, 3, 3, 3, 5}), 8u);  // 8 in tier 0
  // Tier 1 (8..63 objects) is full: it goes, with the two packs of tier 0 below it; the large
  // pack stays.
  EXPECT_EQ(SmallestPacksToMerge({3, 4, 10, 10, 10, 10, 20, 20, 30, 60, 10000}), 10u);
  EXPECT_EQ(SmallestPacksToMerge({3, 4, 10, 10, 10, 10, 20, 20, 30, 10000}), 0u);
  // Whatever arrives, a tier never holds more than 8 packs after a merge, and an object is
  // rewritten once a tier.
  std::vector<uint64_t> sizes;
  uint64_t rewritten = 0, written = 0;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t objects = 3 + (i * 7919) % 40;
    written += objects;
    sizes.push_back(objects);
    std::sort(sizes.begin(), sizes.end());
    while (const size_t merged = SmallestPacksToMerge(sizes)) {
      uint64_t total = 0;
      for (size_t k = 0; k < merged; ++k) total += sizes[k];
      rewritten += total;
      sizes.erase(sizes.begin(), sizes.begin() + merged);
      sizes.push_back(total);
      std::sort(sizes.begin(), sizes.end());
    }
  }
  EXPECT_LE(sizes.size(), 7u * 5);
  EXPECT_LE(rewritten, written * 5);
}

TEST_F(PackTest, MergingSmallPacksKeepsEveryVersionInFewPacks) {
  for (int i = 0; i < 60; ++i) {
    const std::string name = "t" + std::to_string(i % 7) + ".yaml";
    ASSERT_TRUE(store_->Commit({{name, "title: " + std::to_string(i) + "\n"}}, "edit").ok());
    if (i % 8 == 7) {
      ASSERT_TRUE(MergeSmallPacks(*store_).ok());
    }
  }
  ASSERT_TRUE(MergeSmallPacks(*store_).ok());
  EXPECT_LE(Packs(store_->git_dir()).size(), 2 * kPackFanout);
  for (int back = 0; back < 60; ++back) {
    const int i = 59 - back;
    EXPECT_EQ(GitShow(store_->git_dir(), "t" + std::to_string(i % 7) + ".yaml",
                      "main~" + std::to_string(back)),
              "title: " + std::to_string(i) + "\n");
  }
}

// The mount's repack thread, a sync and taskfs-server may all merge: one at a time.
TEST_F(PackTest, PacksAreMergedByOneProcessAtATime) {
  for (int i = 0; i < 2 * static_cast<int>(kPackFanout); ++i) {
    ASSERT_TRUE(store_->Commit({{"t.yaml", "title: " + std::to_string(i) + "\n"}}, "edit").ok());
  }
  const size_t before = Packs(store_->git_dir()).size();
  {
    FileLock other_merger(LocalState(*store_).repack_lock());
    ASSERT_TRUE(other_merger.held());
    EXPECT_EQ(MergeSmallPacks(*store_).value(), 0u);
    EXPECT_EQ(Packs(store_->git_dir()).size(), before);
  }
  EXPECT_GE(MergeSmallPacks(*store_).value(), kPackFanout);
  EXPECT_LT(Packs(store_->git_dir()).size(), before);
  EXPECT_EQ(GitShow(store_->git_dir(), "t.yaml", "main~3"), "title: 12\n");
}

// A commit changes the folders it touches in place (storage/tree_cache.h): entries added before,
// between and after others, around a folder's '/', changed, removed, a folder emptied.
TEST_F(PackTest, CommitsEditTheirFoldersInGitsOrder) {
  ASSERT_TRUE(
      store_->Commit({{"a/x.yaml", "x\n"}, {"a.yaml", "a\n"}, {"a0.yaml", "0\n"}}, "one").ok());
  ASSERT_TRUE(store_
                  ->Commit({{"a-b.yaml", "a-b\n"},
                            {"a/y.yaml", "y\n"},
                            {"a.yaml", "a, changed\n"},
                            {"a0.yaml", std::nullopt},
                            {"a!.yaml", "!\n"},
                            {"b/z.yaml", "z\n"},
                            {"0.yaml", "first\n"}},
                           "two")
                  .ok());
  EXPECT_EQ(Git(store_->git_dir(), "ls-tree -r --name-only main"),
            "0.yaml\na!.yaml\na-b.yaml\na.yaml\na/x.yaml\na/y.yaml\nb/z.yaml\n");
  EXPECT_EQ(GitShow(store_->git_dir(), "a.yaml", "main"), "a, changed\n");
  ASSERT_TRUE(
      store_->Commit({{"a/x.yaml", std::nullopt}, {"a/y.yaml", std::nullopt}}, "three").ok());
  EXPECT_EQ(Git(store_->git_dir(), "ls-tree --name-only main"),
            "0.yaml\na!.yaml\na-b.yaml\na.yaml\nb\n");
  Git(store_->git_dir(), "fsck --strict");
}

// Between commits the store keeps the root and at most TreeCache::kFolderBudget bytes of other
// folders (a long-running mount would otherwise come to hold every tree of the store); a folder
// it dropped is read back from git when a commit next changes it.
TEST_F(PackTest, CommitsKeepABoundedCacheOfFoldersAndReadBackTheOnesDropped) {
  constexpr int kFolders = 800, kTasksEach = 10;
  const std::string long_name(150, 'n');  // 8,000 entries of ~180 bytes: 1.4 MB of folder trees
  const auto path = [&](int folder, int task) {
    return "f" + std::to_string(folder) + "/" + long_name + std::to_string(task) + ".yaml";
  };
  std::vector<Change> import;
  for (int f = 0; f < kFolders; ++f) {
    for (int t = 0; t < kTasksEach; ++t) import.push_back({path(f, t), "title: new\n"});
  }
  ASSERT_TRUE(store_->Commit(import, "import").ok());
  const size_t root_bytes = kFolders * 40;  // "40000 f123", a NUL, an id, and its offset
  EXPECT_LE(store_->TreeCacheBytesForTesting(), TreeCache::kFolderBudget + root_bytes);
  EXPECT_GT(store_->TreeCacheBytesForTesting(), TreeCache::kFolderBudget / 2);

  // Every folder edited, the ones dropped first: each commit reads them back.
  for (int group = 0; group < 4; ++group) {
    std::vector<Change> edits;
    for (int f = group; f < kFolders; f += 4) edits.push_back({path(f, 3), "title: edited\n"});
    ASSERT_TRUE(store_->Commit(edits, "edit").ok());
    EXPECT_LE(store_->TreeCacheBytesForTesting(), TreeCache::kFolderBudget + root_bytes);
  }
  const std::string edited = Git(store_->git_dir(), "grep -l 'title: edited' main");
  EXPECT_EQ(std::count(edited.begin(), edited.end(), '\n'), kFolders);
  EXPECT_EQ(Git(store_->git_dir(), "ls-tree -r --name-only main | wc -l"),
            std::to_string(kFolders * kTasksEach) + "\n");
  Git(store_->git_dir(), "fsck --strict");
}

// Letting go of the packs (a mount's idle tick) while other threads read tasks: every read gets
// its bytes, from the object database it holds or from a fresh one.
TEST_F(PackTest, ReadsGoOnWhilePacksAreReleased) {
  std::vector<Change> tasks;
  for (int i = 0; i < 40; ++i) {
    tasks.push_back({"t" + std::to_string(i) + ".yaml", "title: " + std::to_string(i) + "\n"});
  }
  ASSERT_TRUE(store_->Commit(tasks, "import").ok());
  ASSERT_TRUE(store_->Commit({{"t0.yaml", "title: edited\n"}}, "edit").ok());
  tasks[0].content = "title: edited\n";
  const auto snap = store_->snapshot();
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        for (const Change& task : tasks) {
          auto content = snap->ContentAt(task.path);
          if (!content.ok() || !*content || **content != *task.content) ++wrong;
          ++reads;
        }
      }
    });
  }
  for (int i = 0; i < 100; ++i) store_->ReleasePacks();
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(reads, 0);
}

// Letting go of the packs reopens the object database and puts the commit buffer back on it. When
// that fails (here the objects folder is away), commits fail with the reason and write nothing;
// once the database can be opened again, the next commit puts the buffer back and commits.
TEST_F(PackTest, ACommitBufferThatCannotBePutBackFailsCommitsClearlyUntilItCan) {
  CommitAndReadVersions(1);
  const std::string objects = store_->git_dir() + "objects";
  const std::string head = Git(store_->git_dir(), "rev-parse main");
  const size_t packs = Packs(store_->git_dir()).size();
  std::filesystem::rename(objects, objects + ".away");
  store_->ReleasePacks();
  auto failed = store_->Commit({{"t.yaml", "title: lost?\n"}}, "edit");
  std::filesystem::rename(objects + ".away", objects);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("failed to load object database"), std::string::npos)
      << failed.status().ToString();
  EXPECT_EQ(Packs(store_->git_dir()).size(), packs) << "a pack written";
  EXPECT_EQ(Git(store_->git_dir(), "count-objects").substr(0, 2), "0 ") << "a loose object";
  EXPECT_EQ(Git(store_->git_dir(), "rev-parse main"), head);
  auto committed = store_->Commit({{"t.yaml", "title: after\n"}}, "edit");
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(GitShow(store_->git_dir(), "t.yaml", "main"), "title: after\n");
  EXPECT_EQ(Git(store_->git_dir(), "count-objects").substr(0, 2), "0 ");
  EXPECT_EQ(Packs(store_->git_dir()).size(), packs + 1);
  Git(store_->git_dir(), "fsck --strict");
}

// The server's releaser: once quiet after a touch, its store holds no pack, and reads and commits
// as before; without a touch it releases nothing.
TEST_F(PackTest, TheIdleReleaserLetsGoOfThePacksOnceQuietAfterWork) {
  using std::chrono::milliseconds;
  CommitAndReadVersions(3);
  const auto held = [&] { return PacksHeldBy("self", store_->git_dir()).held; };
  ASSERT_GT(held(), 0);
  IdleMemoryReleaser releaser(store_.get(), milliseconds(50));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_GT(held(), 0) << "released with no work done";
  for (int round = 0; round < 2; ++round) {
    releaser.Touch();
    EXPECT_TRUE(WaitUntil([&] { return held() == 0; }, std::chrono::seconds(10)))
        << held() << " packs still open or mapped in round " << round;
    ExpectEveryVersionReadable(3);
    ASSERT_GT(held(), 0);
  }
  ASSERT_TRUE(store_->Commit({{"t.yaml", "title: after\n"}}, "edit").ok());
  EXPECT_EQ(GitShow(store_->git_dir(), "t.yaml", "main"), "title: after\n");
}

// libgit2 keeps every pack it opened open and mapped, removed or not: a mount would keep a
// descriptor for each pack merged since it started, until it ran out of them.
TEST_F(PackTest, PacksItsOwnMergeRemovedAreLetGoOf) {
  CommitAndReadVersions(2 * kPackFanout);
  EXPECT_EQ(PacksHeldBy("self", store_->git_dir()).removed, 0);
  ASSERT_GE(MergeSmallPacks(*store_).value(), kPackFanout);
  EXPECT_EQ(PacksHeldBy("self", store_->git_dir()).removed, 0);
  ExpectEveryVersionReadable(2 * kPackFanout);
  ASSERT_TRUE(store_->Commit({{"t.yaml", "title: after\n"}}, "edit").ok());
  EXPECT_EQ(GitShow(store_->git_dir(), "t.yaml", "main"), "title: after\n");
}

// Packs another process merged (a sync beside the mount): found gone at the next check.
TEST_F(PackTest, PacksAnotherStoreMergedAreLetGoOfAtTheNextCheck) {
  CommitAndReadVersions(2 * kPackFanout);
  auto other = Store::Open(store_->git_dir());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_GE(MergeSmallPacks(**other).value(), kPackFanout);
  EXPECT_GT(PacksHeldBy("self", store_->git_dir()).removed, 0);
  store_->ReleaseRemovedPacksIfAnyWentAway();
  EXPECT_EQ(PacksHeldBy("self", store_->git_dir()).removed, 0);
  ExpectEveryVersionReadable(2 * kPackFanout);
  ASSERT_TRUE(store_->Commit({{"t.yaml", "title: after\n"}}, "edit").ok());
}

}  // namespace
}  // namespace taskfs::storage
