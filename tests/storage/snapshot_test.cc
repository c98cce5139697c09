#include "storage/snapshot.h"

#include <gtest/gtest.h>

namespace taskfs::storage {
namespace {

FileEntry Entry(const std::string& content, unsigned char id) {
  FileEntry e;
  e.blob.fill(id);
  e.content = std::make_shared<const std::string>(content);
  return e;
}

SnapshotPtr Base() {
  Snapshot::FileMap files;
  files["a.yaml"] = Entry("a", 1);
  files["work/b.yaml"] = Entry("b", 2);
  files["work/ops/c.yaml"] = Entry("c", 3);
  files["work-log.yaml"] = Entry("w", 4);
  return std::make_shared<const Snapshot>("c1", 1, std::move(files));
}

}  // namespace

TEST(Snapshot, ListsFilesAndFoldersOfOneLevel) {
  auto s = Base();
  EXPECT_EQ(s->List(""), (std::vector<std::string>{"a.yaml", "work", "work-log.yaml"}));
  EXPECT_EQ(s->List("work"), (std::vector<std::string>{"b.yaml", "ops"}));
  EXPECT_TRUE(s->IsDir("work/ops"));
  EXPECT_FALSE(s->IsDir("work/b.yaml"));
  EXPECT_EQ(s->file_count(), 4u);
}

TEST(Snapshot, DeriveOverlaysChangesAndKeepsParentIntact) {
  auto base = Base();
  Snapshot::ChangeMap changes;
  changes["work/ops/c.yaml"] = std::nullopt;
  changes["new/d.yaml"] = Entry("d", 5);
  changes["a.yaml"] = Entry("a2", 6);
  auto derived = Snapshot::Derive(base, "c2", 2, changes);
  EXPECT_FALSE(derived->IsDir("work/ops"));
  EXPECT_TRUE(derived->IsDir("new"));
  EXPECT_EQ(derived->List("work"), (std::vector<std::string>{"b.yaml"}));
  EXPECT_EQ(derived->List(""),
            (std::vector<std::string>{"a.yaml", "new", "work", "work-log.yaml"}));
  EXPECT_EQ(*derived->FindFile("a.yaml")->content, "a2");
  EXPECT_EQ(*base->FindFile("a.yaml")->content, "a");
  EXPECT_TRUE(base->IsDir("work/ops"));
  EXPECT_EQ(Snapshot::ChangedPaths(*base, *derived),
            (std::vector<std::string>{"a.yaml", "new/d.yaml", "work/ops/c.yaml"}));
}

TEST(Snapshot, ManyDerivationsFlattenAndStayCorrect) {
  SnapshotPtr s = Base();
  for (int i = 0; i < 600; ++i) {
    Snapshot::ChangeMap changes;
    changes["many/t" + std::to_string(i) + ".yaml"] = Entry("x", 7);
    if (i % 2) changes["many/t" + std::to_string(i - 1) + ".yaml"] = std::nullopt;
    s = Snapshot::Derive(s, "c", i, changes);
  }
  EXPECT_EQ(s->file_count(), 4u + 300u);
  EXPECT_EQ(s->List("many").size(), 300u);
  size_t visited = 0;
  s->ForEachFile([&](const std::string&, const FileEntry&) { ++visited; });
  EXPECT_EQ(visited, 304u);
  EXPECT_EQ(Snapshot::ChangedPaths(*Base(), *s).size(), 300u);
}

}  // namespace taskfs::storage
