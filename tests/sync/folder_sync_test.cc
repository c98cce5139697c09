// Folder remotes under a simulated file syncer (Dropbox, Syncthing): each client has its own
// replica of the shared folder, and the "syncer" copies files between replicas one at a time, in
// random order, sometimes only half a file at first, sometimes leaving "conflicted copy" files.
// Clients sync between every two steps. Nothing may fail, corrupt a store or lose a value; once
// the syncer has copied everything, all clients converge.
#include <chrono>
#include <filesystem>
#include <random>

#include "storage/file_util.h"
#include "sync/transport/folder_remote.h"
#include "tests/sync/sync_client.h"

namespace taskfs::testing {
namespace {

namespace fs = std::filesystem;
using sync::RemoteKind;

// Copies files between folder replicas the way a file syncer does: one file at a time.
class SimulatedFileSyncer {
 public:
  SimulatedFileSyncer(std::vector<std::string> replicas, uint32_t seed)
      : replicas_(std::move(replicas)), rng_(seed) {}

  // Copies one random file that some replica has in a newer version than another (by mtime,
  // which copies keep). A file is sometimes copied in two steps: first half of it, visible as a
  // truncated file. Returns false when every replica has everything.
  bool Step() {
    std::vector<std::pair<fs::path, fs::path>> todo;  // source file, destination file
    for (const auto& from : replicas_) {
      for (const auto& to : replicas_) {
        if (from == to) continue;
        for (const auto& rel : Files(from)) {
          const fs::path src = fs::path(from) / rel, dst = fs::path(to) / rel;
          if (!fs::exists(dst) || fs::last_write_time(src) > fs::last_write_time(dst)) {
            todo.emplace_back(src, dst);
          }
        }
      }
    }
    if (todo.empty()) return false;
    const auto& [src, dst] = todo[Pick(todo.size())];
    fs::create_directories(dst.parent_path());
    std::string bytes = ReadFile(src);
    const bool half = bytes.size() > 8 && !fs::exists(dst) && Pick(3) == 0;
    if (half) bytes.resize(bytes.size() / 2);
    WriteFile(dst, bytes);
    // A half-copied file looks older than any version, so the rest of it comes later.
    const auto src_time = fs::last_write_time(src);
    fs::last_write_time(dst, half ? src_time - std::chrono::hours(1) : src_time);
    return true;
  }

  // A "conflicted copy" of a random file of a random replica, as Dropbox makes them.
  void MakeConflictedCopy() {
    const std::string& replica = replicas_[Pick(replicas_.size())];
    auto files = Files(replica);
    if (files.empty()) return;
    const fs::path file = fs::path(replica) / files[Pick(files.size())];
    WriteFile(file.string() + " (conflicted copy 2026-11-22)",
              ReadFile(file).substr(0, ReadFile(file).size() / 2));
  }

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

 private:
  static std::vector<std::string> Files(const std::string& root) {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) files.push_back(fs::relative(e.path(), root).string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  std::vector<std::string> replicas_;
  std::mt19937 rng_;
};

class FolderSyncTest : public ::testing::TestWithParam<std::tuple<int, uint32_t>> {
 protected:
  void SetUp() override {
    const auto [clients, seed] = GetParam();
    std::vector<std::string> replicas;
    for (int i = 0; i < clients; ++i) {
      replicas.push_back(dir_ / ("replica" + std::to_string(i)));
      clients_.push_back(std::make_unique<SyncClient>(dir_.path(), "c" + std::to_string(i),
                                                      replicas.back(), RemoteKind::kFolder));
    }
    syncer_ = std::make_unique<SimulatedFileSyncer>(replicas, seed);
  }

  void SyncAll() {
    for (auto& c : clients_) c->Sync();  // SyncClient fails the test if a sync fails
  }

  TempDir dir_;
  std::vector<std::unique_ptr<SyncClient>> clients_;
  std::unique_ptr<SimulatedFileSyncer> syncer_;
};

TEST_P(FolderSyncTest, OutOfOrderPartialArrivalNeverFailsAndConverges) {
  const int n = static_cast<int>(clients_.size());
  clients_[0]->Write("shared.yaml", "title: shared\nstatus: pending\npriority: L\n");
  SyncAll();
  while (syncer_->Step()) SyncAll();
  SyncAll();
  while (syncer_->Step()) SyncAll();
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(clients_[i]->Read("shared.yaml"), clients_[0]->Read("shared.yaml")) << i;
  }

  // Everyone works offline, then the syncer carries the files piece by piece.
  for (int i = 0; i < n; ++i) {
    const std::string me = std::to_string(i);
    clients_[i]->Write("from-c" + me + ".yaml", "title: by c" + me + "\n");
    clients_[i]->Write("second-c" + me + ".yaml", "title: also by c" + me + "\n");
  }
  clients_[0]->Write("shared.yaml", "title: shared\nstatus: done\npriority: L\n");
  clients_[n - 1]->Write("shared.yaml", "title: shared\nstatus: pending\npriority: H\n");
  clients_[1]->Remove("second-c1.yaml");
  SyncAll();
  int steps = 0;
  while (syncer_->Step()) {
    if (++steps % 5 == 0) syncer_->MakeConflictedCopy();
    clients_[syncer_->Pick(clients_.size())]->Sync();
    for (auto& c : clients_) ASSERT_EQ(GitFsckErrors(c->path()), "") << "after step " << steps;
  }
  for (int round = 0; round < 2 * n; ++round) {
    SyncAll();
    while (syncer_->Step()) SyncAll();
  }

  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(clients_[i]->Tree(), clients_[0]->Tree()) << "client " << i;
    EXPECT_EQ(GitFsckErrors(clients_[i]->path()), "");
    for (const auto& e : fs::directory_iterator(clients_[i]->path() + "/objects/pack")) {
      EXPECT_FALSE(e.path().filename().string().starts_with("pack_git2"))
          << "a half-imported pack was left: " << e.path();
    }
  }
  const auto tree = clients_[0]->Tree();
  for (int i = 0; i < n; ++i) {
    const std::string me = std::to_string(i);
    EXPECT_EQ(tree.at("from-c" + me + ".yaml"), "title: by c" + me + "\n");
    EXPECT_EQ(tree.count("second-c" + me + ".yaml"), i == 1 ? 0u : 1u);
  }
  EXPECT_EQ(tree.at("shared.yaml"), "title: shared\nstatus: done\npriority: H\n");
}

INSTANTIATE_TEST_SUITE_P(ClientsAndSeeds, FolderSyncTest,
                         ::testing::Combine(::testing::Values(2, 3),
                                            ::testing::Values(1u, 2u, 3u)));

class FolderRemoteTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string folder_ = dir_ / "folder";
};

TEST_F(FolderRemoteTest, ARefBeforeItsObjectsWaitsAndIsTakenOnceThePackArrives) {
  SyncClient c1(dir_.path(), "c1", folder_, RemoteKind::kFolder);
  const std::string other = dir_ / "other-replica";
  SyncClient c2(dir_.path(), "c2", other, RemoteKind::kFolder);
  c1.Write("a.yaml", "title: a\n");
  c1.Sync();
  // Only the ref arrives at c2's replica.
  for (const auto& e : fs::directory_iterator(folder_ + "/refs/clients")) {
    fs::copy_file(e.path(), other + "/refs/clients/" + e.path().filename().string());
  }
  EXPECT_EQ(c2.Sync().waiting, 1);
  EXPECT_EQ(c2.Read("a.yaml"), std::nullopt);
  fs::copy(folder_ + "/objects/pack", other + "/objects/pack",
           fs::copy_options::skip_existing | fs::copy_options::recursive);
  auto r = c2.Sync();
  EXPECT_EQ(r.waiting, 0);
  EXPECT_TRUE(r.fast_forwarded);
  EXPECT_EQ(c2.Read("a.yaml"), "title: a\n");
}

TEST_F(FolderRemoteTest, GarbageRefFilesAreReportedNotWaitedFor) {
  SyncClient c1(dir_.path(), "c1", folder_, RemoteKind::kFolder);
  c1.Write("a.yaml", "title: a\n");
  c1.Sync();
  WriteFile(folder_ + "/refs/clients/stray-file", "hello, this is not a commit id\n");
  WriteFile(folder_ + "/refs/clients/halfway", "0123456789abcdef");  // a ref still arriving
  auto r = c1.Sync();
  EXPECT_EQ(r.waiting, 1);  // only the one that can still become a ref
  EXPECT_EQ(r.garbage, (std::vector<std::string>{"refs/clients/stray-file"}));
  EXPECT_NE(r.Summary().find("no client's ref (delete them): refs/clients/stray-file"),
            std::string::npos)
      << r.Summary();
}

TEST_F(FolderRemoteTest, ADeletedClientRefLosesNothingAndIsWrittenAgain) {
  SyncClient c1(dir_.path(), "c1", folder_, RemoteKind::kFolder);
  SyncClient c2(dir_.path(), "c2", folder_, RemoteKind::kFolder);
  c1.Write("a.yaml", "title: a\n");
  c1.Sync();
  c2.Sync();
  fs::remove(folder_ + "/refs/clients/" + c1.store().client_id());
  c2.Write("b.yaml", "title: b\n");
  c2.Sync();
  EXPECT_EQ(c2.Read("a.yaml"), "title: a\n");
  EXPECT_TRUE(c1.Sync().pushed);  // its ref is back
  EXPECT_TRUE(fs::exists(folder_ + "/refs/clients/" + c1.store().client_id()));
  EXPECT_EQ(c1.Tree(), c2.Tree());
}

TEST_F(FolderRemoteTest, EachClientWritesOnlyItsOwnRefAndImmutablePacks) {
  SyncClient c1(dir_.path(), "c1", folder_, RemoteKind::kFolder);
  SyncClient c2(dir_.path(), "c2", folder_, RemoteKind::kFolder);
  std::map<std::string, std::string> seen;  // file -> content when first seen
  for (int i = 0; i < 4; ++i) {
    c1.Write("a.yaml", "title: a\npriority: " + std::to_string(i) + "\n");
    c2.Write("b.yaml", "title: b\npriority: " + std::to_string(i) + "\n");
    c1.Sync();
    c2.Sync();
    for (const auto& e : fs::recursive_directory_iterator(folder_ + "/objects")) {
      if (!e.is_regular_file()) continue;
      auto [it, fresh] = seen.emplace(e.path().string(), ReadFile(e.path()));
      EXPECT_TRUE(fresh || it->second == ReadFile(e.path())) << e.path() << " was rewritten";
    }
  }
  std::set<std::string> refs;
  for (const auto& e : fs::directory_iterator(folder_ + "/refs/clients")) {
    refs.insert(e.path().filename().string());
  }
  EXPECT_EQ(refs, (std::set<std::string>{c1.store().client_id(), c2.store().client_id()}));
  // The folder is a git repository git itself reads.
  EXPECT_EQ(GitFsckErrors(folder_), "");
  EXPECT_EQ(RunCommand("git --git-dir=" + Quote(folder_) + " show refs/clients/" +
                       c1.store().client_id() + ":a.yaml")
                .output,
            "title: a\npriority: 3\n");
}

TEST_F(FolderRemoteTest, TempFilesACrashLeftNeverCountAsRefsAndAreCleanedUp) {
  SyncClient c1(dir_.path(), "c1", folder_, RemoteKind::kFolder);
  SyncClient c2(dir_.path(), "c2", folder_, RemoteKind::kFolder);
  c1.Write("a.yaml", "title: a\n");
  c1.Sync();
  // What a sync killed in its ref write left: earlier versions wrote the temp inside refs/
  // (where git reads it as a broken ref), this one writes it in tmp/.
  const std::string id = c1.store().client_id();
  WriteFile(folder_ + "/refs/clients/" + id + ".tmp-4242", "");
  const std::string stale_temp = folder_ + "/tmp/." + id + ".tmp-4242-0";
  WriteFile(stale_temp, "0123");
  fs::last_write_time(stale_temp, fs::file_time_type::clock::now() - std::chrono::hours(1));
  EXPECT_EQ(c2.Sync().waiting, 0);  // not a client whose head is missing
  EXPECT_EQ(c2.Read("a.yaml"), "title: a\n");
  c1.Write("b.yaml", "title: b\n");
  c1.Sync();  // a publish clears both
  EXPECT_FALSE(fs::exists(folder_ + "/refs/clients/" + id + ".tmp-4242"));
  EXPECT_FALSE(fs::exists(stale_temp));
  EXPECT_EQ(GitFsckErrors(folder_), "");
  // A publish writes nothing but refs into refs/ and leaves no temp anywhere.
  for (const auto& e : fs::recursive_directory_iterator(folder_)) {
    EXPECT_FALSE(storage::IsAtomicWriteTemp(e.path().filename().string())) << e.path();
  }
}

TEST_F(FolderRemoteTest, AMissingFolderFailsClearlyAndANonEmptyOneIsRefused) {
  SyncClient c1(dir_.path(), "c1", folder_, RemoteKind::kFolder);
  c1.Write("a.yaml", "title: a\n");
  fs::rename(folder_, dir_ / "unplugged");
  auto r = sync::SyncWithRemote(c1.store(), "origin", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is missing"), std::string::npos) << r.status().message();
  EXPECT_EQ(c1.Read("a.yaml"), "title: a\n");

  fs::create_directories(dir_ / "full");
  WriteFile(dir_ / "full/notes.txt", "mine\n");
  Status st = sync::AddRemote(c1.store(), "full", dir_ / "full", RemoteKind::kFolder);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("neither empty"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace taskfs::testing
