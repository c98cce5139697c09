// Sync through a real bare repository with two and three client stores: the scenarios of the
// original requirements, the rows of DESIGN.md's merge table at repository level, and races.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "storage/committer.h"
#include "storage/file_util.h"
#include "storage/local_state.h"
#include "sync/merge/conflicts.h"
#include "sync/transport/transport.h"
#include "tests/sync/sync_client.h"
#include "tests/sync/test_server.h"

namespace taskfs::testing {
namespace {

using Tree = std::map<std::string, std::string>;

// Every test runs three times: through a bare git repository, a folder remote and a real
// taskfs-server (mutual TLS on 127.0.0.1).
class SyncTest : public ::testing::TestWithParam<sync::RemoteKind> {
 protected:
  void SetUp() override {
    if (GetParam() == sync::RemoteKind::kServer) {
      server_ = std::make_unique<TestServer>(dir_.path());
      remote_ = server_->url();
      remote_repo_ = server_->store();
    } else {
      remote_ = remote_repo_ = MakeRemote(dir_, GetParam());
    }
    c1_ = MakeClient("c1");
    c2_ = MakeClient("c2");
  }
  std::unique_ptr<SyncClient> MakeClient(const std::string& name) {
    auto c = std::make_unique<SyncClient>(dir_.path(), name, remote_, GetParam(),
                                          server_ ? server_->cert() : "");
    if (server_) server_->Enroll(*c, name);
    return c;
  }
  void TearDown() override {
    EXPECT_EQ(GitFsckErrors(remote_repo_), "");
    EXPECT_EQ(GitFsckErrors(c1_->path()), "");
    EXPECT_EQ(GitFsckErrors(c2_->path()), "");
  }
  // Syncs every client until nothing moves, then checks they hold one tree.
  void Converge() {
    for (int round = 0; round < 3; ++round) {
      c1_->Sync();
      c2_->Sync();
    }
    EXPECT_EQ(c1_->Tree(), c2_->Tree());
  }

  TempDir dir_;
  std::unique_ptr<TestServer> server_;  // the server remote, if that is the parameter
  std::string remote_;                  // its URL
  std::string remote_repo_;             // the repository behind it
  std::unique_ptr<SyncClient> c1_, c2_;
};

std::string KindName(const ::testing::TestParamInfo<sync::RemoteKind>& info) {
  switch (info.param) {
    case sync::RemoteKind::kFolder:
      return "FolderRemote";
    case sync::RemoteKind::kServer:
      return "TaskfsServer";
    case sync::RemoteKind::kGit:
      break;
  }
  return "BareGitRemote";
}
INSTANTIATE_TEST_SUITE_P(Remotes, SyncTest,
                         ::testing::Values(sync::RemoteKind::kGit, sync::RemoteKind::kFolder,
                                           sync::RemoteKind::kServer),
                         KindName);

// Tests of what only a git remote does (a refused push).
using GitSyncTest = SyncTest;
INSTANTIATE_TEST_SUITE_P(Remotes, GitSyncTest, ::testing::Values(sync::RemoteKind::kGit),
                         KindName);

TEST_P(SyncTest, C1AddsC2Receives) {
  c1_->Write("a.yaml", "title: a\n");
  EXPECT_TRUE(c1_->Sync().pushed);
  EXPECT_TRUE(c2_->Sync().fast_forwarded);
  EXPECT_EQ(c2_->Read("a.yaml"), "title: a\n");
}

TEST_P(SyncTest, ASyncWithNothingToDoReadsNoTreeAndOneWithSomethingReadsIt) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  // As `taskfs sync` opens the store: the tree is read only if there is something to merge.
  auto lazy = storage::Store::Open(c1_->path(), storage::Store::Access::kReadWrite,
                                   storage::Store::Load::kOnFirstUse);
  ASSERT_TRUE(lazy.ok()) << lazy.status().ToString();
  auto idle = sync::SyncWithRemote(**lazy, "origin", {});
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->Summary(), "origin: up to date");
  EXPECT_FALSE((*lazy)->tree_loaded());

  c2_->Write("b.yaml", "title: b\n");
  c2_->Sync();
  auto taken = sync::SyncWithRemote(**lazy, "origin", {});
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_TRUE(taken->fast_forwarded);
  EXPECT_TRUE((*lazy)->tree_loaded());
  EXPECT_NE((*lazy)->snapshot()->FindFile("b.yaml"), nullptr);
  EXPECT_NE((*lazy)->snapshot()->FindFile("a.yaml"), nullptr);
}

TEST_P(SyncTest, C1DeletesC2SeesItDeleted) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  c1_->Remove("a.yaml");
  Converge();
  EXPECT_EQ(c2_->Read("a.yaml"), std::nullopt);
}

TEST_P(SyncTest, C1AddsTwiceBothMatch) {
  c1_->Write("a.yaml", "title: a\n");
  c1_->Write("b.yaml", "title: b\n");
  Converge();
  EXPECT_EQ(c2_->Tree(), (Tree{{"a.yaml", "title: a\n"}, {"b.yaml", "title: b\n"}}));
}

TEST_P(SyncTest, C2RemovesWhatC1AddedAndC1SeesItRemoved) {
  c1_->Write("a.yaml", "title: a\n");
  c1_->Sync();
  c2_->Sync();
  c2_->Write("b.yaml", "title: b\n");
  c2_->Remove("a.yaml");
  c2_->Sync();
  c1_->Sync();
  EXPECT_EQ(c1_->Tree(), (Tree{{"b.yaml", "title: b\n"}}));
}

TEST_P(SyncTest, RestartsOfEitherClientChangeNothing) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  const auto before = GitSubjects(remote_repo_);
  c1_->Restart();
  c2_->Restart();
  auto r1 = c1_->Sync();
  auto r2 = c2_->Sync();
  EXPECT_FALSE(r1.pushed || r1.merged || r1.fast_forwarded);
  EXPECT_FALSE(r2.pushed || r2.merged || r2.fast_forwarded);
  EXPECT_EQ(GitSubjects(remote_repo_), before);
  EXPECT_EQ(c1_->Tree(), c2_->Tree());
}

TEST_P(SyncTest, C2OfflineWhileC1AddsAndDeletesCatchesUp) {
  c1_->Write("keep.yaml", "title: keep\n");
  c1_->Write("gone.yaml", "title: gone\n");
  Converge();
  // c2 is offline: c1 goes on alone, syncing several times.
  c1_->Write("new.yaml", "title: new\n");
  c1_->Sync();
  c1_->Remove("gone.yaml");
  c1_->Sync();
  c2_->Sync();
  EXPECT_EQ(c2_->Tree(), (Tree{{"keep.yaml", "title: keep\n"}, {"new.yaml", "title: new\n"}}));
}

TEST_P(SyncTest, BothOfflineC1AddsAndDeletesBothConverge) {
  c1_->Write("old.yaml", "title: old\n");
  Converge();
  c1_->Write("c1.yaml", "title: from c1\n");
  c1_->Remove("old.yaml");
  c2_->Write("c2.yaml", "title: from c2\n");
  Converge();
  EXPECT_EQ(c1_->Tree(), (Tree{{"c1.yaml", "title: from c1\n"}, {"c2.yaml", "title: from c2\n"}}));
}

TEST_P(SyncTest, BothEditDifferentKeysOfOneTaskKeepsBothWithoutConflict) {
  c1_->Write("a.yaml", "title: a\nstatus: pending\npriority: L\n");
  Converge();
  c1_->Write("a.yaml", "title: a\nstatus: done\npriority: L\n");
  c2_->Write("a.yaml", "title: a\nstatus: pending\npriority: H\n");
  c1_->Sync();
  auto r = c2_->Sync();
  EXPECT_TRUE(r.merged);
  EXPECT_EQ(r.conflicts, 0);
  Converge();
  EXPECT_EQ(c1_->Read("a.yaml"), "title: a\nstatus: done\npriority: H\n");
}

TEST_P(SyncTest, BothChangeOneScalarRecordsTheLoserInTheTask) {
  c1_->Write("a.yaml", "title: a\npriority: L\n");
  Converge();
  c1_->Write("a.yaml", "title: a\npriority: M\n");
  c2_->Write("a.yaml", "title: a\npriority: H\n");
  c1_->Sync();
  EXPECT_EQ(c2_->Sync().conflicts, 1);
  Converge();
  const std::string merged = *c1_->Read("a.yaml");
  EXPECT_NE(merged.find("conflicts:"), std::string::npos) << merged;
  EXPECT_TRUE(merged.find("priority: M") != std::string::npos ||
              merged.find("priority: H") != std::string::npos)
      << merged;
  EXPECT_EQ(merged.find("<<<<<<<"), std::string::npos);
}

TEST_P(SyncTest, DeleteOnOneSideEditOnTheOtherKeepsTheEdit) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  c1_->Remove("a.yaml");
  c2_->Write("a.yaml", "title: a\nstatus: done\n");
  Converge();
  EXPECT_EQ(c1_->Read("a.yaml"), "title: a\nstatus: done\n");
}

TEST_P(SyncTest, RenameOnOneSideEditOnTheOtherCarriesTheEdit) {
  c1_->Write("a.yaml", "title: a\nstatus: pending\npriority: L\nproject: home\n");
  Converge();
  c1_->Rename("a.yaml", "work/a.yaml");
  c2_->Write("a.yaml", "title: a\nstatus: done\npriority: L\nproject: home\n");
  Converge();
  EXPECT_EQ(c1_->Tree(),
            (Tree{{"work/a.yaml", "title: a\nstatus: done\npriority: L\nproject: home\n"}}));
}

TEST_P(SyncTest, ARenameAnOlderVersionRecordedInTheSubjectStillCarriesTheEdit) {
  c1_->Write("a.yaml", "title: a\nstatus: pending\npriority: L\nproject: home\n");
  Converge();
  c1_->Rename("a.yaml", "work/a.yaml", SyncClient::RenameRecord::kSubjectOnly);
  c2_->Write("a.yaml", "title: a\nstatus: done\npriority: L\nproject: home\n");
  Converge();
  EXPECT_EQ(c1_->Tree(),
            (Tree{{"work/a.yaml", "title: a\nstatus: done\npriority: L\nproject: home\n"}}));
}

TEST_P(SyncTest, BothCreateTheSameNameMergesKeyByKey) {
  c1_->Write("a.yaml", "title: a\nstatus: done\n");
  c2_->Write("a.yaml", "title: a\npriority: H\n");
  Converge();
  const std::string merged = *c1_->Read("a.yaml");
  EXPECT_NE(merged.find("status: done"), std::string::npos) << merged;
  EXPECT_NE(merged.find("priority: H"), std::string::npos) << merged;
}

TEST_P(SyncTest, InvalidYamlWithOverlappingLinesKeepsBothVersions) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  c1_->Write("a.yaml", "title: [c1\n");
  c2_->Write("a.yaml", "title: [c2\n");
  Converge();
  Tree tree = c1_->Tree();
  ASSERT_EQ(tree.size(), 2u);
  std::string both;
  for (const auto& [path, content] : tree) both += content;
  EXPECT_NE(both.find("title: [c1"), std::string::npos);
  EXPECT_NE(both.find("title: [c2"), std::string::npos);
}

TEST_P(SyncTest, MergeCommitHasBothParentsAndFastForwardMakesNone) {
  c1_->Write("a.yaml", "title: a\n");
  c1_->Sync();
  c2_->Sync();
  EXPECT_EQ(
      RunCommand("git --git-dir=" + Quote(c2_->path()) + " rev-list --merges --count main").output,
      "0\n");
  c1_->Write("b.yaml", "title: b\n");
  c2_->Write("c.yaml", "title: c\n");
  c1_->Sync();
  c2_->Sync();
  EXPECT_EQ(
      RunCommand("git --git-dir=" + Quote(c2_->path()) + " log -1 --format=%P main").output.size(),
      82u);  // two parent ids
}

TEST_P(SyncTest, ConcurrentSyncsRaceAndAllConverge) {
  auto c3_owner = MakeClient("c3");
  SyncClient& c3 = *c3_owner;
  SyncClient* clients[] = {c1_.get(), c2_.get(), &c3};
  for (int i = 0; i < 3; ++i) clients[i]->Write("t" + std::to_string(i) + ".yaml", "title: t\n");
  std::vector<std::thread> threads;
  for (auto* c : clients) {
    threads.emplace_back([c] {
      for (int k = 0; k < 3; ++k) c->Sync();
    });
  }
  for (auto& t : threads) t.join();
  for (int round = 0; round < 2; ++round) {
    for (auto* c : clients) c->Sync();
  }
  EXPECT_EQ(c1_->Tree().size(), 3u);
  EXPECT_EQ(c1_->Tree(), c3.Tree());
  EXPECT_EQ(c2_->Tree(), c3.Tree());
  EXPECT_EQ(GitFsckErrors(c3.path()), "");
}

TEST_P(SyncTest, UnreachableRemoteFailsClearlyAndLosesNothing) {
  c1_->Write("a.yaml", "title: a\n");
  ASSERT_TRUE(sync::AddRemote(c1_->store(), "nowhere", dir_ / "missing.git").ok());
  auto r = sync::SyncWithRemote(c1_->store(), "nowhere", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nowhere"), std::string::npos) << r.status().message();
  EXPECT_EQ(c1_->Read("a.yaml"), "title: a\n");
  auto missing = sync::SyncWithRemote(c1_->store(), "nosuch", {});
  EXPECT_NE(missing.status().message().find("taskfs remote add"), std::string::npos);
}

TEST_P(SyncTest, ListPeersShowsEachMachineWithWhatItPublishedLast) {
  c1_->Write("a.yaml", "title: a\n");
  c1_->Sync();
  c2_->Sync();
  c2_->Write("b.yaml", "title: b\n");
  c2_->Sync();
  c1_->Sync();  // takes c2's commit, so c1 can name its author
  const std::string c1_head = c1_->store().snapshot()->commit_id();
  const std::string c2_head = c2_->store().snapshot()->commit_id();
  auto remote = sync::FindRemote(c1_->store(), "origin");
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  auto transport = sync::OpenTransport(*remote, {});
  EXPECT_NE(transport->Describe().find(remote->url), std::string::npos) << transport->Describe();
  auto peers = transport->ListPeers(c1_->store());
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  // What `taskfs remote show` prints of it: a line per peer, ours marked.
  const CommandResult shown = RunCommand(std::string(TASKFS_BIN) + " --store " +
                                         Quote(c1_->path()) + " remote show origin 2>&1");
  EXPECT_EQ(shown.exit_code, 0) << shown.output;
  EXPECT_NE(shown.output.find(c2_head.substr(0, 12)), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("(this store)"), std::string::npos) << shown.output;
  if (GetParam() == sync::RemoteKind::kGit) {
    // A git repository knows one branch, not who pushed: c2's commit is its head, and ours.
    ASSERT_EQ(peers->size(), 1u);
    EXPECT_EQ((*peers)[0].id, "refs/heads/main");
    EXPECT_EQ((*peers)[0].head, c2_head);
    EXPECT_EQ((*peers)[0].name, "c2");
    EXPECT_TRUE((*peers)[0].is_us);
    return;
  }
  ASSERT_EQ(peers->size(), 2u);
  const auto us = std::find_if(peers->begin(), peers->end(), [](const auto& p) { return p.is_us; });
  ASSERT_NE(us, peers->end());
  const sync::Peer& other = (*peers)[us == peers->begin() ? 1 : 0];
  EXPECT_FALSE(other.is_us);
  EXPECT_EQ(other.head, c2_head);
  EXPECT_EQ(other.name, "c2");
  EXPECT_GT(other.published, 0);
  if (GetParam() == sync::RemoteKind::kFolder) {
    EXPECT_EQ(us->id, c1_->store().client_id());
    EXPECT_EQ(us->head, c1_head);  // c1 fast-forwarded to c2's head and published it
  } else {
    EXPECT_EQ(us->id, "c1");  // the server knows us by our registered name
  }
}

}  // namespace
}  // namespace taskfs::testing

namespace taskfs::testing {
namespace {

TEST_P(GitSyncTest, ASyncWhileAnotherRunsWaitsForItThenDoesItsOwn) {
  c1_->Write("a.yaml", "title: a\n");
  // Another sync of c1's store (the daemon's) holds the store's sync lock for a while.
  auto running = std::make_unique<storage::FileLock>(storage::LocalState(c1_->store()).sync_lock());
  ASSERT_TRUE(running->held());
  std::thread release([&running] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    running.reset();
  });
  auto report = sync::SyncWithRemote(c1_->store(), "origin", {});
  release.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->pushed);
  EXPECT_EQ(GitShow(remote_repo_, "a.yaml"), "title: a\n");
}

TEST_P(GitSyncTest, RefusedPushLeavesBothValidAndTheNextSyncFinishes) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  c1_->Write("b.yaml", "title: b\n");
  c2_->Write("c.yaml", "title: c\n");
  c2_->Sync();
  // The remote refuses pushes for a while: its branch is locked by another push that is still
  // running (it holds the pushers' flock too, so the lock is not taken for a crashed one's).
  const std::string lock = remote_ + "/refs/heads/main.lock";
  auto other_pusher = std::make_unique<storage::FileLock>(remote_ + "/taskfs-push.lock");
  ASSERT_TRUE(other_pusher->held());
  WriteFile(lock, "");
  auto refused = sync::SyncWithRemote(c1_->store(), "origin", {});
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(GitFsckErrors(c1_->path()), "");
  EXPECT_EQ(c1_->Read("b.yaml"), "title: b\n");
  EXPECT_EQ(c1_->Read("c.yaml"), "title: c\n");  // merged locally already
  EXPECT_NE(refused.status().message().find("origin"), std::string::npos);
  std::remove(lock.c_str());
  other_pusher.reset();
  Converge();
  EXPECT_EQ(c2_->Tree().size(), 3u);
}

TEST_P(GitSyncTest, ABranchLockAKilledPushLeftOnTheRemoteIsCleared) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  // A `taskfs sync` killed in the middle of its push left the remote's branch locked.
  const std::string lock = remote_ + "/refs/heads/main.lock";
  WriteFile(lock, "");
  c1_->Write("b.yaml", "title: b\n");
  EXPECT_TRUE(c1_->Sync().pushed);  // after the lock is two seconds old
  EXPECT_FALSE(std::filesystem::exists(lock));
  c2_->Sync();
  EXPECT_EQ(c2_->Read("b.yaml"), "title: b\n");
}

TEST_P(SyncTest, SyncKilledAtRandomMomentsLosesNothing) {
  for (int i = 0; i < 40; ++i) c1_->Write("t" + std::to_string(i) + ".yaml", "title: t\n");
  c2_->Write("mine.yaml", "title: mine\n");
  c2_->Sync();
  const std::string sync_cmd = std::string(TASKFS_BIN) + " --store " + Quote(c1_->path()) + " sync";
  for (int delay_ms : RandomMomentsMs(8, 1, 60)) {
    char delay[16];
    std::snprintf(delay, sizeof delay, "%.3f", delay_ms / 1000.0);
    RunCommand(sync_cmd + " > /dev/null 2>&1 & pid=$!; sleep " + delay +
               "; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null");
    EXPECT_EQ(GitFsckErrors(c1_->path()), "") << "after a kill at " << delay_ms << " ms";
    EXPECT_EQ(GitFsckErrors(remote_repo_), "") << "after a kill at " << delay_ms << " ms";
  }
  c1_->Restart();
  Converge();
  EXPECT_EQ(c1_->Tree().size(), 41u);
  EXPECT_EQ(c2_->Read("t39.yaml"), "title: t\n");
}

}  // namespace
}  // namespace taskfs::testing

namespace taskfs::testing {
namespace {

TEST_P(SyncTest, RenameOntoANameTheOtherSideCreatedLosesNeither) {
  c1_->Write("water-plants.yaml", "title: Water the plants\nstatus: pending\n");
  Converge();
  c1_->Rename("water-plants.yaml", "garden.yaml");
  c2_->Write("garden.yaml", "title: Weed the garden\npriority: H\n");
  Converge();
  std::string all;
  for (const auto& [path, content] : c1_->Tree()) all += content;
  EXPECT_NE(all.find("Water the plants"), std::string::npos) << all;
  EXPECT_NE(all.find("Weed the garden"), std::string::npos) << all;
  EXPECT_NE(all.find("priority: H"), std::string::npos) << all;
}

TEST_P(SyncTest, UnmergeableVersionsAreListedAsConflicts) {
  c1_->Write("a.yaml", "title: a\n");
  Converge();
  c1_->Write("a.yaml", "title: [c1\n");
  c2_->Write("a.yaml", "title: [c2\n");
  Converge();
  auto found = sync::FindConflicts(*c1_->store().snapshot());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].copy_of, "a.yaml");
}

}  // namespace
}  // namespace taskfs::testing

namespace taskfs::testing {
namespace {

TEST_P(SyncTest, LockFilesAKilledSyncLeftAreRemovedByTheNextSync) {
  c1_->Write("a.yaml", "title: a\n");
  c1_->Sync();
  WriteFile(c1_->path() + "/refs/remotes/origin/main.lock", "");
  WriteFile(c1_->path() + "/refs/heads/main.lock", "");
  c1_->Sync();  // waits two seconds for a live writer, then removes both
  EXPECT_FALSE(Exists(c1_->path() + "/refs/heads/main.lock"));
  EXPECT_FALSE(Exists(c1_->path() + "/refs/remotes/origin/main.lock"));
  c2_->Sync();
  EXPECT_EQ(c2_->Read("a.yaml"), "title: a\n");
}

}  // namespace
}  // namespace taskfs::testing
