// MergeTrees on snapshots whose entries hold blob ids only: a task one side left alone is decided
// by ids without reading any bytes, and a task whose bytes cannot be read fails the whole merge
// with an error naming it (never an empty file).
#include "sync/merge/merge_tree.h"

#include <gtest/gtest.h>

namespace taskfs::sync {
namespace {

using storage::FileEntry;
using storage::Snapshot;

// An entry with blob id `id` and no bytes: these snapshots have no object database to read.
FileEntry IdOnly(unsigned char id) {
  FileEntry e;
  e.blob.fill(id);
  return e;
}

Snapshot Tree(const std::string& commit, Snapshot::FileMap files) {
  return Snapshot(commit, 1, std::move(files));
}

TreeSide Side(const Snapshot& tree, const std::string& who) {
  TreeSide side;
  side.tree = &tree;
  side.info = {1, who, who};
  return side;
}

TEST(MergeTreeTest, ATaskOneSideLeftAloneIsDecidedByBlobIdsWithoutReadingBytes) {
  const Snapshot base = Tree("base", {{"a.yaml", IdOnly(1)}, {"b.yaml", IdOnly(2)}});
  const Snapshot ours = Tree("ours", {{"a.yaml", IdOnly(3)}, {"b.yaml", IdOnly(2)}});
  const Snapshot theirs = Tree("theirs", {{"a.yaml", IdOnly(1)}, {"b.yaml", IdOnly(2)}});
  TreeMergeResult r = MergeTrees(base, Side(ours, "Ada"), Side(theirs, "Bob"));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(r.merged_tasks, 0);
}

TEST(MergeTreeTest, BytesThatCannotBeReadFailTheMergeNamingTheTask) {
  const Snapshot base = Tree("base", {{"a.yaml", IdOnly(1)}});
  const Snapshot ours = Tree("ours", {{"a.yaml", IdOnly(2)}});
  const Snapshot theirs = Tree("theirs", {{"a.yaml", IdOnly(3)}});
  TreeMergeResult r = MergeTrees(base, Side(ours, "Ada"), Side(theirs, "Bob"));
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("a.yaml"), std::string::npos) << r.status.ToString();
  EXPECT_TRUE(r.changes.empty());
}

}  // namespace
}  // namespace taskfs::sync
