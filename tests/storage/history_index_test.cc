// The history index against git itself: what each commit changed (`git diff-tree`), the order
// of the commits (`git rev-list --date-order`), updates and a damaged index file.
#include "storage/history_index.h"

#include <git2.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>

#include "storage/file_util.h"
#include "storage/git_handles.h"
#include "storage/history.h"
#include "storage/history_warmer.h"
#include "storage/local_state.h"
#include "storage/store.h"
#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

using taskfs::testing::PacksHeldBy;
using taskfs::testing::Quote;
using taskfs::testing::ReadFile;
using taskfs::testing::RunCommand;
using taskfs::testing::WaitUntil;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class HistoryIndexTest : public ::testing::Test {
 protected:
  // Runs `script` in the repository.
  void Git(const std::string& script) {
    auto r = RunCommand("cd " + Quote(repo_) + " && " + script);
    ASSERT_EQ(r.exit_code, 0) << script << "\n" << r.output;
  }
  std::string Output(const std::string& command) {
    auto r = RunCommand("cd " + Quote(repo_) + " && " + command);
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
    return r.output;
  }
  void SetUp() override {
    ::setenv("GIT_AUTHOR_NAME", "t", 1);
    ::setenv("GIT_AUTHOR_EMAIL", "t@t", 1);
    ::setenv("GIT_COMMITTER_NAME", "t", 1);
    ::setenv("GIT_COMMITTER_EMAIL", "t@t", 1);
    auto r = RunCommand("git init -q -b main " + Quote(repo_));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // A commit of everything in the work tree, dated one minute after the one before.
  std::string Commit(const std::string& message) {
    ++minute_;
    const std::string date =
        "2026-01-01T10:" + std::string(minute_ < 10 ? "0" : "") + std::to_string(minute_) + ":00Z";
    Git("git add -A && GIT_AUTHOR_DATE=" + date + " GIT_COMMITTER_DATE=" + date +
        " git commit -q --allow-empty -m " + Quote(message));
    return Lines(Output("git rev-parse HEAD")).back();
  }
  void TearDown() override {
    for (const char* v :
         {"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"}) {
      ::unsetenv(v);
    }
  }
  // The index brought up to date with the branch, through a store on the repository.
  Result<HistoryIndex> Update(const std::string& file,
                              const std::function<bool()>& stop = nullptr) {
    auto store = Store::Open(repo_, Store::Access::kReadOnly, Store::Load::kOnFirstUse);
    if (!store.ok()) return store.status();
    auto head = (*store)->Head();
    if (!head.ok()) return head.status();
    git_oid oid;
    git_oid_fromstr(&oid, head->c_str());
    head_ = oid;
    return (*store)->WithRepository(
        [&](git_repository* repo) { return HistoryIndex::Update(repo, file, oid, stop); });
  }
  // What the index file holds now: an update that stops before adding anything.
  size_t Indexed(const std::string& file) {
    auto index = Update(file, [] { return true; });
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? index->size() : 0;
  }
  // What the index file holds once it has `commits` (a warmer is at work), or after 60 s.
  size_t IndexedSoon(const std::string& file, size_t commits) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Indexed(file) < commits && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Indexed(file);
  }
  // The paths `c` changed, in the index's order.
  static std::vector<std::string> Paths(const HistoryIndex::Commit& c) {
    std::vector<std::string> paths;
    for (const auto& change : c.changed) paths.push_back(change.path);
    return paths;
  }
  // "A", "M" or "D" and the blob after commit `id` of each path `c` changed, as git says: the
  // path's state in the commit and in its first parent.
  std::vector<std::string> GitChanges(const HistoryIndex::Commit& c, const std::string& id) {
    std::vector<std::string> changes;
    for (const auto& change : c.changed) {
      const auto in = [&](const std::string& rev) {  // the blob at the path, or ""
        auto r = RunCommand("cd " + Quote(repo_) + " && git ls-tree " + Quote(rev) + " -- " +
                            Quote(change.path) + " 2>/dev/null");
        std::istringstream entry(r.output);  // "<mode> <type> <id>\t<path>"
        std::string mode, type, blob;
        entry >> mode >> type >> blob;
        return r.exit_code == 0 && type == "blob" ? blob : std::string();
      };
      const std::string now = in(id), before = in(id + "^");
      changes.push_back(now.empty() ? "D -" : (before.empty() ? "A " : "M ") + now);
    }
    return changes;
  }
  static std::vector<std::string> IndexedChanges(const HistoryIndex::Commit& c) {
    std::vector<std::string> changes;
    for (const auto& change : c.changed) {
      const bool deleted = change.kind == HistoryIndex::PathChange::Kind::kDeleted;
      changes.push_back(std::string(1, static_cast<char>(change.kind)) + " " +
                        (deleted ? "-" : OidToHex(ToGitOid(change.blob))));
    }
    return changes;
  }
  // The commits NewestFirst lists, as hex ids.
  std::vector<std::string> Order(const HistoryIndex& index) {
    std::vector<std::string> ids;
    for (const auto* c : index.NewestFirst(head_)) ids.push_back(OidToHex(ToGitOid(c->id)));
    return ids;
  }

  taskfs::testing::TempDir dir_;
  std::string repo_ = dir_.path() + "/repo";
  std::string index_file_ = dir_.path() + "/history-index";
  git_oid head_{};
  int minute_ = 0;
};

TEST_F(HistoryIndexTest, RecordsWhatEachCommitChangedAndOrdersThemAsGitDoes) {
  Git("mkdir -p work/deep home && echo 'title: a' > work/a.yaml && echo 'title: b' > "
      "work/deep/b.yaml && echo 'title: c' > home/c.yaml && echo 'title: x' > x");
  Commit("import");
  Git("echo 'status: done' >> work/deep/b.yaml");
  Commit("edit b");
  Git("rm x && mkdir x && echo 'title: y' > x/y.yaml");
  Commit("a file becomes a folder");
  Git("git checkout -q -b other HEAD~1 && echo 'title: c2' > home/c.yaml && rm work/a.yaml");
  Commit("their edit and delete");
  Git("git checkout -q main && echo 'title: a2' > work/a.yaml");
  Commit("our edit of a");
  Git("git merge -q --no-commit other; echo 'title: a3' > work/a.yaml && git add -A");
  Commit("merge: a resolved to a third version, c taken from theirs");
  Git("echo 'title: d' > home/d.yaml");
  Commit("create d");
  ASSERT_EQ(Lines(Output("git rev-list --merges main")).size(), 1u);

  auto index = Update(index_file_);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->size(), 7u);
  EXPECT_EQ(Order(*index), Lines(Output("git rev-list --date-order main")));
  for (const auto* c : index->NewestFirst(head_)) {
    const std::string id = OidToHex(ToGitOid(c->id));
    // -c: for a merge, the paths that differ from every parent; --root: a first commit's all.
    const auto expected = Lines(
        Output("git diff-tree -r -c --root --no-commit-id --name-only " + id + " | LC_ALL=C sort"));
    EXPECT_EQ(Paths(*c), expected) << Output("git log -1 --format=%s " + id);
    EXPECT_EQ(IndexedChanges(*c), GitChanges(*c, id)) << Output("git log -1 --format=%s " + id);
  }
}

TEST_F(HistoryIndexTest, AnUpdateAppendsOnlyTheNewCommitsAndADamagedFileIsRebuilt) {
  Git("echo 'title: a' > a.yaml");
  Commit("create a");
  Git("echo 'title: b' > b.yaml");
  Commit("create b");
  auto first = Update(index_file_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 2u);
  const std::string two = ReadFile(index_file_);
  Git("echo 'status: done' >> a.yaml");
  Commit("edit a");
  auto second = Update(index_file_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->size(), 3u);
  const std::string three = ReadFile(index_file_);
  ASSERT_TRUE(three.starts_with(two)) << "the new commit's record is appended";
  const std::vector<std::string> order = Order(*second);
  EXPECT_EQ(order, Lines(Output("git rev-list --date-order main")));
  // What the file holds is what an update from nothing finds.
  auto reread = Update(index_file_);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(Order(*reread), order);
  EXPECT_EQ(Paths(*reread->NewestFirst(head_)[0]), std::vector<std::string>{"a.yaml"});

  // The same record appended twice (two processes at once): the copy is skipped.
  std::ofstream(index_file_, std::ios::app) << three.substr(two.size());
  auto duplicated = Update(index_file_);
  ASSERT_TRUE(duplicated.ok());
  EXPECT_EQ(duplicated->size(), 3u);
  EXPECT_EQ(Order(*duplicated), order);

  // Cut in the middle of a record: rebuilt from git, with the same answers.
  std::ofstream(index_file_, std::ios::trunc) << three.substr(0, three.size() - 20);
  auto rebuilt = Update(index_file_);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(Order(*rebuilt), order);
  EXPECT_EQ(Paths(*rebuilt->NewestFirst(head_)[0]), std::vector<std::string>{"a.yaml"});
  EXPECT_EQ(ReadFile(index_file_), three) << "the rebuilt index is saved whole again";

  // Written by an older taskfs (version 1: paths only): read again from git and saved anew.
  std::ofstream(index_file_, std::ios::trunc) << "taskfs history index 1\n"
                                              << OidToHex(head_) << " 1 - 1\n6 a.yaml\n";
  auto upgraded = Update(index_file_);
  ASSERT_TRUE(upgraded.ok()) << upgraded.status().ToString();
  EXPECT_EQ(Order(*upgraded), order);
  EXPECT_EQ(IndexedChanges(*upgraded->NewestFirst(head_)[0]),
            GitChanges(*upgraded->NewestFirst(head_)[0], order[0]));
  EXPECT_EQ(ReadFile(index_file_), three);
}

TEST_F(HistoryIndexTest, AnUpdateCutShortSavesWhatItAddedAndTheNextOneGoesOn) {
  for (int i = 0; i < 6; ++i) {
    Git("echo 'title: t" + std::to_string(i) + "' > t" + std::to_string(i) + ".yaml");
    Commit("create t" + std::to_string(i));
  }
  int asked = 0;
  // Asked once per step of the walk: ten steps reach the first commits, not the head.
  auto cut = Update(index_file_, [&] { return ++asked > 10; });
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  const size_t partial = cut->size();
  EXPECT_GT(partial, 0u);
  EXPECT_LT(partial, 6u);
  EXPECT_TRUE(cut->NewestFirst(head_).empty()) << "the head is not indexed yet";
  EXPECT_EQ(Indexed(index_file_), partial) << "what was added is saved";

  auto rest = Update(index_file_);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->size(), 6u);
  EXPECT_EQ(Order(*rest), Lines(Output("git rev-list --date-order main")));
  EXPECT_EQ(Indexed(index_file_), 6u);
}

TEST_F(HistoryIndexTest, ALogWaitsForTheUpdateInProgressAndAWarmerLeavesItAlone) {
  Git("echo 'title: a' > a.yaml");
  Commit("create a");
  auto store = Store::Open(repo_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string file = LocalState(**store).history_index();
  // Another process updating the index.
  auto held = std::make_unique<FileLock>(LocalState(**store).history_index_lock());
  ASSERT_TRUE(held->held());
  {
    HistoryWarmer warmer(store->get(), {.commits = 1});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }  // stopped at once, whatever it was doing
  EXPECT_FALSE(std::filesystem::exists(file)) << "the warmer did the other process's work again";
  auto log = std::async(std::launch::async, [&] { return TaskHistory(**store, "a.yaml"); });
  EXPECT_EQ(log.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "taskfs log read the history while another process was indexing it";
  held.reset();
  auto history = log.get();
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].action, "create");
  EXPECT_EQ(Indexed(file), 1u);
}

// The mount's and the daemon's warmer: the index is ready before anyone runs `taskfs log`.
TEST_F(HistoryIndexTest, TheWarmerIndexesTheHistoryAndWhatASyncBrings) {
  for (int i = 0; i < 20; ++i) {
    Git("echo 'title: t" + std::to_string(i) + "' > t" + std::to_string(i % 5) + ".yaml");
    Commit("edit " + std::to_string(i));
  }
  Git("git gc -q");                 // one pack, which the store and the warmer's own handle share
  auto store = Store::Open(repo_);  // read-write, as the mount's: makes its local folder
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto content = (*store)->snapshot()->ContentAt("t0.yaml");
  ASSERT_TRUE(content.ok() && *content);
  const auto packs_held = [&] { return PacksHeldBy("self", (*store)->git_dir()).held; };
  ASSERT_GT(packs_held(), 0);
  const std::string file = LocalState(**store).history_index();
  const auto indexed_soon = [&](size_t commits) { return IndexedSoon(file, commits); };
  HistoryWarmer warmer(store->get(), {.commits = 1});
  EXPECT_EQ(indexed_soon(20), 20u);
  // After the pass the process's store lets go of the pack pages it read.
  EXPECT_TRUE(WaitUntil([&] { return packs_held() == 0; })) << packs_held() << " still held";
  Git("echo 'title: new' > new.yaml");
  Commit("what a sync brought");
  warmer.Poke();
  EXPECT_EQ(indexed_soon(21), 21u);
  auto index = Update(file);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(Order(*index), Lines(Output("git rev-list --date-order main")));
  Git("git fsck --strict");
}

// A first commit of many tasks is one commit but as many tree entries read: the pass lets go of
// the pack pages it read (21 MB of them stayed in a mount of 100,000 tasks) when it recorded as
// many paths as the warmer's threshold, and keeps them open below it.
TEST_F(HistoryIndexTest, APassThatRecordedManyPathsLetsGoOfThePacks) {
  Git("for i in 1 2 3 4 5 6 7 8; do echo \"title: t$i\" > t$i.yaml; done");
  Commit("import 8 tasks");
  Git("git gc -q");
  auto store = Store::Open(repo_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string file = LocalState(**store).history_index();
  auto growth = UpdateHistoryIndex((*store)->git_dir(), [] { return false; });
  ASSERT_TRUE(growth.ok()) << growth.status().ToString();
  EXPECT_EQ(growth->commits, 1u);
  EXPECT_EQ(growth->paths, 8u);
  // The packs the store still holds after a first pass (the index made again) of a warmer that
  // releases them from `paths` paths.
  const auto held_after_a_pass = [&](size_t paths) {
    std::filesystem::remove(file);
    auto content = (*store)->snapshot()->ContentAt("t1.yaml");
    EXPECT_TRUE(content.ok() && *content);
    EXPECT_GT(PacksHeldBy("self", (*store)->git_dir()).held, 0) << "the store read no pack";
    {
      HistoryWarmer warmer(store->get(), {.paths = paths});
      EXPECT_EQ(IndexedSoon(file, 1), 1u);
    }  // the pass is over
    return PacksHeldBy("self", (*store)->git_dir()).held;
  };
  EXPECT_GT(held_after_a_pass(9), 0) << "8 paths let go of the packs under a threshold of 9";
  EXPECT_EQ(held_after_a_pass(8), 0) << "8 paths kept the packs at a threshold of 8";
  Git("git fsck --strict");
}

}  // namespace
}  // namespace taskfs::storage
