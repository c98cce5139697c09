// The server's update log: versions of accepted updates, tombstones of deleted tasks, clients'
// acknowledgements, what Forget() may drop, and updates.json surviving a save and load (and
// refused when damaged).
#include "sync/server/update_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using taskfs::testing::ReadFile;
using taskfs::testing::TempDir;
using taskfs::testing::WriteFile;

std::vector<std::string> TombstoneTasks(const UpdateLog& log) {
  std::vector<std::string> out;
  for (const auto& t : log.tombstones()) out.push_back(t.task + "@" + std::to_string(t.version));
  return out;
}

std::vector<int64_t> UpdateVersions(const UpdateLog& log) {
  std::vector<int64_t> out;
  for (const auto& u : log.updates()) out.push_back(u.version);
  return out;
}

TEST(UpdateLog, EachUpdateGetsTheNextVersionAndItsCommitMapsBack) {
  UpdateLog log;
  EXPECT_EQ(log.version(), 0);
  EXPECT_EQ(log.Record("c1", {}, {"a"}), 1);
  EXPECT_EQ(log.Record("c2", {}, {}), 2);
  EXPECT_EQ(log.Record("c3", {"a"}, {}), 3);
  EXPECT_EQ(log.version(), 3);
  EXPECT_EQ(log.VersionOf("c1"), 1);
  EXPECT_EQ(log.VersionOf("c2"), 2);
  EXPECT_EQ(log.VersionOf("c3"), 3);
  EXPECT_EQ(log.VersionOf("unknown"), 0);
  EXPECT_EQ(log.VersionOf(""), 0);
  ASSERT_EQ(log.updates().size(), 3u);
  EXPECT_EQ(log.updates()[1].commit, "c2");
  EXPECT_EQ(log.updates()[1].version, 2);
}

TEST(UpdateLog, ACommitRecordedTwiceMapsToItsNewestVersion) {
  UpdateLog log;
  log.Record("same", {}, {});
  log.Record("other", {}, {});
  log.Record("same", {}, {});
  EXPECT_EQ(log.VersionOf("same"), 3);
}

TEST(UpdateLog, DeletingATaskLeavesATombstoneAndWritingItAgainRemovesIt) {
  UpdateLog log;
  log.Record("c1", {"a", "b"}, {});
  EXPECT_EQ(TombstoneTasks(log), (std::vector<std::string>{"a@1", "b@1"}));
  log.Record("c2", {}, {"a"});  // a is back
  EXPECT_EQ(TombstoneTasks(log), std::vector<std::string>{"b@1"});
  log.Record("c3", {"b"}, {});  // deleted again: one tombstone, the newer version
  EXPECT_EQ(TombstoneTasks(log), std::vector<std::string>{"b@3"});
  log.Record("c4", {}, {"unrelated"});
  EXPECT_EQ(TombstoneTasks(log), std::vector<std::string>{"b@3"});
}

TEST(UpdateLog, AnAcknowledgementNeverMovesBackNorPastTheNewestVersion) {
  UpdateLog log;
  EXPECT_EQ(log.acknowledged("ada"), 0);
  for (int i = 0; i < 5; ++i) log.Record("c" + std::to_string(i), {}, {});

  EXPECT_TRUE(log.Acknowledge("ada", 3));
  EXPECT_EQ(log.acknowledged("ada"), 3);
  EXPECT_FALSE(log.Acknowledge("ada", 3));  // no news
  EXPECT_FALSE(log.Acknowledge("ada", 2));  // never back
  EXPECT_FALSE(log.Acknowledge("ada", -1));
  EXPECT_EQ(log.acknowledged("ada"), 3);
  EXPECT_TRUE(log.Acknowledge("ada", 99));  // a version the server never gave
  EXPECT_EQ(log.acknowledged("ada"), 5);
  EXPECT_FALSE(log.Acknowledge("ada", 100));
  EXPECT_EQ(log.acknowledged("bob"), 0);  // each client on its own
  EXPECT_FALSE(log.Acknowledge("bob", 0));
}

TEST(UpdateLog, ATombstoneStaysUntilEveryActiveClientAcknowledgedIt) {
  UpdateLog log;
  log.Record("c1", {"a"}, {});
  log.Record("c2", {"b"}, {});
  const std::vector<std::string> active = {"ada", "bob"};

  log.Acknowledge("ada", 2);
  EXPECT_FALSE(log.Forget(active));  // bob saw nothing yet
  EXPECT_EQ(TombstoneTasks(log), (std::vector<std::string>{"a@1", "b@2"}));

  log.Acknowledge("bob", 1);
  EXPECT_TRUE(log.Forget(active));
  EXPECT_EQ(TombstoneTasks(log), std::vector<std::string>{"b@2"});
  EXPECT_EQ(log.VersionOf("c1"), 0);
  EXPECT_EQ(log.VersionOf("c2"), 2);

  log.Acknowledge("bob", 2);
  EXPECT_TRUE(log.Forget(active));
  EXPECT_TRUE(log.tombstones().empty());
  EXPECT_FALSE(log.Forget(active));  // nothing left to forget
}

TEST(UpdateLog, AClientThatStaysAwayKeepsTombstonesUntilItIsRevoked) {
  UpdateLog log;
  log.Record("c1", {"a"}, {});
  log.Record("c2", {}, {"x"});
  log.Acknowledge("ada", 2);
  log.Acknowledge("away", 0);
  EXPECT_FALSE(log.Forget({"ada", "away"}));
  EXPECT_EQ(TombstoneTasks(log), std::vector<std::string>{"a@1"});
  EXPECT_EQ(log.updates().size(), 2u);
  // A client registered but never heard from holds them as well.
  EXPECT_FALSE(log.Forget({"ada", "away", "never-seen"}));
  EXPECT_EQ(log.tombstones().size(), 1u);

  // "away" revoked: no longer active; what only it held is released, and its ack dropped.
  EXPECT_TRUE(log.Forget({"ada"}));
  EXPECT_TRUE(log.tombstones().empty());
  EXPECT_EQ(log.acknowledged("away"), 0);
  EXPECT_EQ(log.acknowledged("ada"), 2);
}

TEST(UpdateLog, TheNewestUpdateIsNeverForgotten) {
  UpdateLog log;
  log.Record("c1", {"a"}, {});
  log.Record("c2", {"b"}, {});
  log.Record("c3", {}, {});
  log.Acknowledge("ada", 3);
  EXPECT_TRUE(log.Forget({"ada"}));
  EXPECT_EQ(UpdateVersions(log), std::vector<int64_t>{3});
  EXPECT_EQ(log.VersionOf("c3"), 3);
  EXPECT_TRUE(log.tombstones().empty());
  // Nobody active at all: still the head stays.
  log.Record("c4", {"c"}, {});
  EXPECT_TRUE(log.Forget({}));
  EXPECT_EQ(UpdateVersions(log), std::vector<int64_t>{4});
  EXPECT_EQ(log.VersionOf("c4"), 4);
  EXPECT_EQ(log.version(), 4);
}

TEST(UpdateLog, ForgettingDoesNotRenumberLaterUpdates) {
  UpdateLog log;
  log.Record("c1", {}, {});
  log.Record("c2", {}, {});
  log.Acknowledge("ada", 2);
  log.Forget({"ada"});
  EXPECT_EQ(log.Record("c3", {"z"}, {}), 3);
  EXPECT_EQ(log.VersionOf("c2"), 2);
  EXPECT_EQ(TombstoneTasks(log), std::vector<std::string>{"z@3"});
}

TEST(UpdateLog, SaveAndLoadKeepEverythingInAnOwnerOnlyFile) {
  TempDir dir;
  const std::string file = dir / "updates.json";
  UpdateLog log;
  log.Record("c1", {"a", "b"}, {});
  log.Record("c2", {}, {"a"});
  log.Record("c3", {"d"}, {});
  log.Acknowledge("ada", 2);
  log.Acknowledge("bob", 3);
  ASSERT_TRUE(log.Save(file).ok());

  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  auto loaded = UpdateLog::Load(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->version(), 3);
  EXPECT_EQ(UpdateVersions(*loaded), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(loaded->VersionOf("c2"), 2);
  EXPECT_EQ(TombstoneTasks(*loaded), (std::vector<std::string>{"b@1", "d@3"}));
  EXPECT_EQ(loaded->acknowledged("ada"), 2);
  EXPECT_EQ(loaded->acknowledged("bob"), 3);
  // It goes on where it stopped.
  EXPECT_EQ(loaded->Record("c4", {}, {}), 4);

  // Saving what was loaded writes the same file.
  const std::string first = ReadFile(file);
  auto reloaded = UpdateLog::Load(file);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  ASSERT_TRUE(reloaded->Save(file).ok());
  EXPECT_EQ(ReadFile(file), first);
}

TEST(UpdateLog, WhatEachClientPublishedLastIsKeptSavedAndDroppedWithTheClient) {
  TempDir dir;
  const std::string file = dir / "updates.json";
  UpdateLog log;
  log.RecordPublish("ada", "c1", 100);
  log.RecordPublish("bob", "c2", 200);
  log.RecordPublish("ada", "c3", 300);  // the newest replaces the older
  ASSERT_EQ(log.published().size(), 2u);
  EXPECT_EQ(log.published().at("ada").commit, "c3");
  EXPECT_EQ(log.published().at("ada").time, 300);
  ASSERT_TRUE(log.Save(file).ok());

  auto loaded = UpdateLog::Load(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->published().size(), 2u);
  EXPECT_EQ(loaded->published().at("bob").commit, "c2");
  EXPECT_EQ(loaded->published().at("bob").time, 200);

  EXPECT_TRUE(loaded->Forget({"ada"}));  // bob revoked: his record goes
  EXPECT_EQ(loaded->published().count("bob"), 0u);
  EXPECT_EQ(loaded->published().count("ada"), 1u);
}

TEST(UpdateLog, ALogWrittenBeforePublishRecordsLoads) {
  TempDir dir;
  const std::string file = dir / "updates.json";
  WriteFile(file, R"({"version": 2, "updates": [{"version": 2, "commit": "c2"}],)"
                  R"( "tombstones": [], "acknowledged": {"ada": 2}})");
  auto log = UpdateLog::Load(file);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(log->version(), 2);
  EXPECT_TRUE(log->published().empty());
}

TEST(UpdateLog, AMissingFileIsAnEmptyLog) {
  TempDir dir;
  auto log = UpdateLog::Load(dir / "updates.json");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(log->version(), 0);
  EXPECT_TRUE(log->updates().empty());
  EXPECT_TRUE(log->tombstones().empty());
  EXPECT_EQ(log->Record("c1", {}, {}), 1);
}

TEST(UpdateLog, ATruncatedOrDamagedFileIsCorruption) {
  TempDir dir;
  const std::string file = dir / "updates.json";
  UpdateLog log;
  log.Record("c1", {"a"}, {});
  log.Acknowledge("ada", 1);
  ASSERT_TRUE(log.Save(file).ok());
  const std::string text = ReadFile(file);

  std::vector<std::string> damaged = {
      "",
      "garbage",
      R"({"version": 1, "updates": [], "tombstones": []})",        // no acknowledged
      R"({"updates": [], "tombstones": [], "acknowledged": {}})",  // no version
      R"({"version": "1", "updates": [], "tombstones": [], "acknowledged": {}})",
      R"({"version": 1, "updates": {}, "tombstones": [], "acknowledged": {}})",
      R"({"version": 1, "updates": [{"commit": "c1"}], "tombstones": [], "acknowledged": {}})",
      R"({"version": 1, "updates": [], "tombstones": [{"task": 7, "version": 1}],
          "acknowledged": {}})",
      R"({"version": 1, "updates": [], "tombstones": [], "acknowledged": {"ada": "x"}})",
      R"({"version": 1, "updates": [], "tombstones": [], "acknowledged": []})",
  };
  // Every proper prefix of the real file: a write torn anywhere.
  for (size_t n = 0; n < text.size() - 1; n += 7) damaged.push_back(text.substr(0, n));
  for (const std::string& content : damaged) {
    WriteFile(file, content);
    auto r = UpdateLog::Load(file);
    ASSERT_FALSE(r.ok()) << "loaded: " << content;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << content;
    EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace taskfs::sync
