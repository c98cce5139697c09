#include "fusefs/local_attributes.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/test_util.h"

namespace taskfs::fusefs {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

FileAttributes Mode(mode_t mode) {
  FileAttributes a;
  a.mode = mode;
  return a;
}

TEST(LocalAttributes, ChangesSurviveAReloadAndATornLastLine) {
  TempDir dir;
  const std::string file = dir / "attributes";
  auto all = [](const std::string&) { return true; };
  {
    LocalAttributes attrs(file);
    ASSERT_TRUE(attrs.Load(all).ok());
    ASSERT_TRUE(attrs.Set("a.yaml", Mode(0600)).ok());
    FileAttributes owner;
    owner.uid = 65534;
    owner.mtime = timespec{2000, 5};
    ASSERT_TRUE(attrs.Set("a.yaml", owner).ok());
    ASSERT_TRUE(attrs.Set("f", Mode(0700)).ok());
    ASSERT_TRUE(attrs.Set("f/b.yaml", Mode(0640)).ok());
    ASSERT_TRUE(attrs.Move("f", "g").ok());
    ASSERT_TRUE(attrs.ClearTimes("a.yaml").ok());
  }
  WriteFile(file, ReadFile(file) + "{\"set\":\"torn.yaml\",\"mo");  // a crash mid-append
  LocalAttributes attrs(file);
  ASSERT_TRUE(attrs.Load(all).ok());
  const FileAttributes* a = attrs.Find("a.yaml");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->mode, 0600u);
  EXPECT_EQ(a->uid, 65534u);
  EXPECT_FALSE(a->gid.has_value());
  EXPECT_FALSE(a->mtime.has_value());
  EXPECT_EQ(attrs.Find("f"), nullptr);
  ASSERT_NE(attrs.Find("g/b.yaml"), nullptr);
  EXPECT_EQ(attrs.Find("g/b.yaml")->mode, 0640u);
  EXPECT_EQ(attrs.Find("torn.yaml"), nullptr);
}

TEST(LocalAttributes, RemoveTakesAFolderWithWhatIsBelowItButNotItsNeighbours) {
  TempDir dir;
  LocalAttributes attrs(dir / "attributes");
  ASSERT_TRUE(attrs.Load([](const std::string&) { return true; }).ok());
  for (const char* path : {"f", "f/a.yaml", "f-x.yaml", "fg/b.yaml"}) {
    ASSERT_TRUE(attrs.Set(path, Mode(0600)).ok());
  }
  ASSERT_TRUE(attrs.Remove("f").ok());
  EXPECT_EQ(attrs.Find("f"), nullptr);
  EXPECT_EQ(attrs.Find("f/a.yaml"), nullptr);
  EXPECT_NE(attrs.Find("f-x.yaml"), nullptr);
  EXPECT_NE(attrs.Find("fg/b.yaml"), nullptr);
}

TEST(LocalAttributes, LoadForgetsPathsThatAreGoneAndCompactsTheLog) {
  TempDir dir;
  const std::string file = dir / "attributes";
  {
    LocalAttributes attrs(file);
    ASSERT_TRUE(attrs.Load([](const std::string&) { return true; }).ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(attrs.Set("kept.yaml", Mode(0600 + i % 8)).ok());
    ASSERT_TRUE(attrs.Set("gone.yaml", Mode(0600)).ok());
  }
  const std::set<std::string> present = {"kept.yaml"};
  LocalAttributes attrs(file);
  ASSERT_TRUE(attrs.Load([&](const std::string& p) { return present.count(p) > 0; }).ok());
  EXPECT_EQ(attrs.Find("gone.yaml"), nullptr);
  ASSERT_NE(attrs.Find("kept.yaml"), nullptr);
  EXPECT_EQ(attrs.Find("kept.yaml")->mode, 0601u);
  EXPECT_EQ(ReadFile(file), "{\"mode\":385,\"set\":\"kept.yaml\"}\n");
}

}  // namespace
}  // namespace taskfs::fusefs
