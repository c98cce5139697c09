// Commit messages: renames recorded as trailers and read back, old messages still read.
#include "storage/commit_message.h"

#include <gtest/gtest.h>

namespace taskfs::storage {
namespace {

TEST(CommitMessage, ARenameIsItsSubjectAndATrailerReadBackOnce) {
  const std::string message = RenameMessage("buy milk", "buy oat milk");
  EXPECT_EQ(message, "rename buy milk -> buy oat milk\n\nTaskfs-Rename: buy milk -> buy oat milk\n");
  EXPECT_EQ(RenamesIn(message), (std::vector<Rename>{{"buy milk", "buy oat milk"}}));
}

TEST(CommitMessage, MessagesOlderVersionsWroteStillRead) {
  EXPECT_EQ(RenamesIn("rename a -> b"), (std::vector<Rename>{{"a", "b"}}));
  EXPECT_EQ(RenamesIn("change 3 tasks\n\nedit x\nrename a -> b\nrename work -> done\n"),
            (std::vector<Rename>{{"a", "b"}, {"work", "done"}}));
  EXPECT_EQ(RenamesIn("merge: 1 task(s) changed on both sides\n\nrename a -> b"),
            (std::vector<Rename>{{"a", "b"}}));
}

TEST(CommitMessage, OnlyTrailersCountWhenThereAreAny) {
  // The subject of a new commit reads like an old one; the trailer alone is the record.
  const std::string message = "rename a -> b\n\nTaskfs-Rename: a -> c\n";
  EXPECT_EQ(RenamesIn(message), (std::vector<Rename>{{"a", "c"}}));
  EXPECT_TRUE(RenamesIn("edit 2 tasks\n\nedit a\nedit b\n").empty());
  EXPECT_TRUE(RenamesIn("edit renamed thing").empty());
  EXPECT_TRUE(RenamesIn("").empty());
}

TEST(CommitMessage, FolderPathsAndNamesWithSpacesAndColons) {
  const std::string message = WithRenameTrailers("merge", {{"work/q1", "done/q1"}, {"a: b", "c d"}});
  EXPECT_EQ(message, "merge\n\nTaskfs-Rename: work/q1 -> done/q1\nTaskfs-Rename: a: b -> c d\n");
  EXPECT_EQ(RenamesIn(message), (std::vector<Rename>{{"work/q1", "done/q1"}, {"a: b", "c d"}}));
  EXPECT_EQ(WithRenameTrailers("merge", {}), "merge");
}

TEST(GroupMessage, NamesOneSaveOneTaskOrCountsTheTasks) {
  EXPECT_EQ(GroupMessage({"edit a"}, 1), "edit a");
  EXPECT_EQ(GroupMessage({"create a", "edit a"}, 1), "create a");
  EXPECT_EQ(GroupMessage({"edit a", "edit b"}, 2), "edit 2 tasks\n\nedit a\nedit b\n");
  EXPECT_EQ(GroupMessage({"create a", "delete b"}, 2), "change 2 tasks\n\ncreate a\ndelete b\n");
}

TEST(GroupMessage, ListsSubjectsAndGathersEveryRenameAsATrailer) {
  const std::string message =
      GroupMessage({"edit x", RenameMessage("a", "b"), RenameMessage("work", "done")}, 3);
  EXPECT_EQ(message,
            "change 3 tasks\n\nedit x\nrename a -> b\nrename work -> done\n\n"
            "Taskfs-Rename: a -> b\nTaskfs-Rename: work -> done\n");
  EXPECT_EQ(RenamesIn(message), (std::vector<Rename>{{"a", "b"}, {"work", "done"}}));
}

}  // namespace
}  // namespace taskfs::storage
