#include "storage/history.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

TEST(History, FollowsEditsRenamesAndDeletes) {
  taskfs::testing::TempDir dir;
  auto s = Store::Init(dir.path() + "/store", "Ada");
  ASSERT_TRUE(s.ok());
  Store& store = **s;
  const std::string v1 = "title: Buy milk\nstatus: pending\npriority: L\nproject: home\n";
  const std::string v2 = "title: Buy milk\nstatus: active\npriority: L\nproject: home\n";
  ASSERT_TRUE(store.Commit({{"buy-milk.yaml", v1}}, "create buy-milk").ok());
  ASSERT_TRUE(store.Commit({{"other.yaml", "title: o\n"}}, "create other").ok());
  ASSERT_TRUE(store.Commit({{"buy-milk.yaml", v2}}, "edit buy-milk").ok());
  ASSERT_TRUE(store
                  .Commit({{"buy-milk.yaml", std::nullopt}, {"work/buy-milk.yaml", v2}},
                          "rename buy-milk -> work/buy-milk")
                  .ok());
  auto h = TaskHistory(store, "work/buy-milk.yaml");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].action, "rename");
  EXPECT_EQ((*h)[0].old_path, "buy-milk.yaml");
  EXPECT_EQ((*h)[1].action, "edit");
  EXPECT_EQ((*h)[2].action, "create");
  auto first = TaskVersion(store, (*h)[2]);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, v1);
  auto renamed = TaskVersion(store, (*h)[0]);
  ASSERT_TRUE(renamed.ok()) << renamed.status().ToString();
  EXPECT_EQ(*renamed, v2);
  EXPECT_EQ((*h)[2].author, "Ada");

  ASSERT_TRUE(store.Commit({{"work/buy-milk.yaml", std::nullopt}}, "delete work/buy-milk").ok());
  auto deleted = TaskHistory(store, "work/buy-milk.yaml");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ((*deleted)[0].action, "delete");
  EXPECT_FALSE((*deleted)[0].blob.has_value());
  EXPECT_EQ(TaskVersion(store, (*deleted)[0]).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(deleted->size(), 4u);
}

TEST(History, UnknownTaskIsNotFound) {
  taskfs::testing::TempDir dir;
  auto s = Store::Init(dir.path() + "/store", "Ada");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(TaskHistory(**s, "nope.yaml").status().code(), Status::Code::kNotFound);
  ASSERT_TRUE((*s)->Commit({{"a.yaml", "title: a\n"}}, "create a").ok());
  EXPECT_EQ(TaskHistory(**s, "nope.yaml").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace taskfs::storage

namespace taskfs::storage {
namespace {

TEST(History, ChangesMergedFromAnotherBranchShowAsTheirOwnCommits) {
  taskfs::testing::TempDir dir;
  const std::string repo = dir.path() + "/repo";
  auto r = taskfs::testing::RunCommand(
      "git init -q -b main " + taskfs::testing::Quote(repo) + " && cd " +
      taskfs::testing::Quote(repo) +
      " && g() { git -c user.name=\"$1\" -c user.email=x@x commit -qam \"$2\"; } "
      " && printf 'title: x\\n' > x.yaml && printf 'title: y\\n' > y.yaml && git add -A"
      " && g Ada 'create x' && git checkout -qb other && printf 'title: x\\nstatus: done\\n' > "
      "x.yaml"
      " && g Bob 'edit x' && git checkout -q main && printf 'title: y2\\n' > y.yaml && g Ada 'edit "
      "y'"
      " && git -c user.name=Ada -c user.email=x@x merge -q --no-ff -m merge other");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto store = Store::Open(repo);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto h = TaskHistory(**store, "x.yaml");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].author, "Bob");
  EXPECT_EQ((*h)[0].message, "edit x");
  EXPECT_EQ((*h)[1].action, "create");
}

}  // namespace
}  // namespace taskfs::storage
