// Saves that are not valid tasks: the writer hears about it at close/fsync, nothing is committed,
// and the bytes stay readable at their path (across remounts) until fixed or deleted.
#include <chrono>
#include <thread>

#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

class ValidationTest : public MountedStore {};

TEST_F(ValidationTest, InvalidSaveFailsAtCloseAndIsKeptAsADraft) {
  ASSERT_EQ(InMount("printf 'title: a\\n' > a.yaml").exit_code, 0);
  EXPECT_EQ(SaveAndClose("a.yaml", "title: a\nstatus: someday\n"), "EBADMSG");
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: a\nstatus: someday\n");
  EXPECT_EQ(Committed("a.yaml"), "title: a\n");
  EXPECT_EQ(Subjects().size(), 1u);

  CommandResult status = Taskfs("status");
  EXPECT_NE(status.output.find("a.yaml: line 2: status must be one of"), std::string::npos)
      << status.output;

  // The draft survives a remount.
  Unmount();
  Mount();
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: a\nstatus: someday\n");

  // Fixed: committed, draft gone.
  ASSERT_EQ(InMount("sed -i 's/someday/done/' a.yaml").exit_code, 0);
  EXPECT_EQ(Committed("a.yaml"), "title: a\nstatus: done\n");
  EXPECT_EQ(Subjects().front(), "edit a");
  EXPECT_NE(Taskfs("status").output.find("drafts:   0"), std::string::npos);
}

TEST_F(ValidationTest, BrokenYamlFromTheShellIsNotLost) {
  CommandResult r = InMount("echo 'title: [unclosed' > b.yaml");
  EXPECT_EQ(ReadFile(M("b.yaml")), "title: [unclosed\n");
  EXPECT_TRUE(Subjects().empty());
  EXPECT_NE(Taskfs("status").output.find("b.yaml: not valid YAML"), std::string::npos);
  // Deleting a draft removes it for good.
  ASSERT_EQ(InMount("rm b.yaml").exit_code, 0);
  EXPECT_FALSE(Exists(M("b.yaml")));
}

TEST_F(ValidationTest, VimReportsTheErrorKeepsTheTextAndSavesOnceFixed) {
  ASSERT_EQ(InMount("printf 'title: a\\n' > a.yaml").exit_code, 0);
  // vim writes an invalid line, hears "E667: Fsync failed" (it keeps the original file and the
  // text in its buffer), then the user fixes the line and writes again. Enter answers prompts.
  CommandResult r = InMount(
      "(for i in 1 2 3 4 5 6; do sleep 0.5; printf '\\r'; done) | timeout 20 script -qec "
      "\"vim -u DEFAULTS -i NONE -c 'normal Gotags: {' -c w -c '%s/tags: {/tags: [a]/' -c wq "
      "a.yaml\" /dev/null");
  EXPECT_NE(r.output.find("E667: Fsync failed"), std::string::npos);
  EXPECT_EQ(ReadFile(M("a.yaml")), "title: a\ntags: [a]\n");
  // One edit: no delete and create from the failed save's backup dance (committed now if any).
  CommitEverything();
  EXPECT_EQ(Subjects(), (std::vector<std::string>{"edit a", "create a"}));
  EXPECT_EQ(InMount("ls -A -I .taskfs").output, "a.yaml\n");
}

TEST_F(ValidationTest, TouchMakesAnEmptyDraftWithoutError) {
  CommandResult r = InMount("touch new.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Exists(M("new.yaml")));
  EXPECT_TRUE(Subjects().empty());
  ASSERT_EQ(InMount("echo 'title: new' >> new.yaml").exit_code, 0);
  EXPECT_EQ(Subjects(), std::vector<std::string>{"create new"});
}

}  // namespace
}  // namespace taskfs::testing
