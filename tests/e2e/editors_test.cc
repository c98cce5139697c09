// Real editors and tools saving through the mount. Each save of an existing task must make
// exactly one commit "edit NAME" (never a delete and a create), and no scratch file they write
// (swap, backup, 4913 probe, temp files) may ever reach a commit.
#include <chrono>
#include <thread>

#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

const char kTask[] = "title: Buy milk\nstatus: pending\n";

class EditorTest : public MountedStore {
 protected:
  void SetUp() override {
    MountedStore::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_EQ(InMount("printf 'title: Buy milk\\nstatus: pending\\n' > buy-milk.yaml").exit_code,
              0);
    ASSERT_EQ(Subjects(), std::vector<std::string>{"create buy-milk"});
  }

  // After the editor ran: the task holds `expected`, one edit commit was added, nothing else.
  void ExpectOneEdit(const std::string& expected) {
    EXPECT_EQ(ReadFile(M("buy-milk.yaml")), expected);
    EXPECT_EQ(Committed("buy-milk.yaml"), expected);
    EXPECT_EQ(Subjects(), (std::vector<std::string>{"edit buy-milk", "create buy-milk"}));
    EXPECT_EQ(GitTreePaths(store()), std::vector<std::string>{"buy-milk.yaml"});
  }
};

TEST_F(EditorTest, VimWithItsDefaultsSavesOneEdit) {
  // A real terminal (script(1)), vim's defaults (swap file, 4913 probe, backup rename dance;
  // the mount is under /var/tmp, outside vim's backupskip).
  CommandResult r = InMount(
      "script -qec \"vim -u DEFAULTS -i NONE -c 'normal Gopriority: H' -c wq buy-milk.yaml\" "
      "/dev/null > /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectOneEdit(std::string(kTask) + "priority: H\n");
  // The deferred delete of the backup dance, committed now if one were pending: none is.
  CommitEverything();
  EXPECT_EQ(Subjects().size(), 2u);
  EXPECT_EQ(InMount("ls -A -I .taskfs").output, "buy-milk.yaml\n");
}

TEST_F(EditorTest, NanoSavesOneEdit) {
  CommandResult r = InMount(
      "(sleep 0.5; printf 'priority: H\\r'; sleep 0.3; printf '\\017'; sleep 0.3; printf '\\r'; "
      "sleep 0.3; printf '\\030') | script -qec 'nano --ignorercfiles buy-milk.yaml' /dev/null "
      "> /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectOneEdit(std::string("priority: H\n") + kTask);
}

TEST_F(EditorTest, SedInPlaceSavesOneEdit) {
  ASSERT_EQ(InMount("sed -i 's/pending/done/' buy-milk.yaml").exit_code, 0);
  ExpectOneEdit("title: Buy milk\nstatus: done\n");
}

TEST_F(EditorTest, PerlInPlaceSavesOneEdit) {
  ASSERT_EQ(InMount("perl -pi -e 's/Buy milk/Buy oat milk/' buy-milk.yaml").exit_code, 0);
  ExpectOneEdit("title: Buy oat milk\nstatus: pending\n");
}

TEST_F(EditorTest, CpOverTheTaskSavesOneEdit) {
  WriteFile(dir_ / "new.yaml", "title: Buy milk\nstatus: active\n");
  ASSERT_EQ(
      RunCommand("cp " + Quote(dir_ / "new.yaml") + " " + Quote(M("buy-milk.yaml"))).exit_code, 0);
  ExpectOneEdit("title: Buy milk\nstatus: active\n");
}

TEST_F(EditorTest, MvFromAnotherFilesystemSavesOneEdit) {
  RunCommand("mkdir -p /dev/shm/taskfs-test");
  const std::string outside = "/dev/shm/taskfs-test/buy-milk.yaml";
  WriteFile(outside, "title: Buy milk\nstatus: waiting\n");
  CommandResult r = RunCommand("mv " + Quote(outside) + " " + Quote(M("buy-milk.yaml")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectOneEdit("title: Buy milk\nstatus: waiting\n");
}

TEST_F(EditorTest, RsyncTempFileAndRenameSavesOneEdit) {
  WriteFile(dir_ / "buy-milk.yaml", "title: Buy milk\nstatus: cancelled\n");
  CommandResult r = RunCommand("rsync " + Quote(dir_ / "buy-milk.yaml") + " " + Quote(mnt() + "/"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectOneEdit("title: Buy milk\nstatus: cancelled\n");
}

TEST_F(EditorTest, WriteTempThenRenameLikeGuiEditorsSavesOneEdit) {
  CommandResult r = InMount(R"(python3 - <<'PY'
import os
with open(".goutputstream-XYZ123", "w") as f:
    f.write("title: Buy milk\nstatus: done\n")
    f.flush()
    os.fsync(f.fileno())
os.rename(".goutputstream-XYZ123", "buy-milk.yaml")
PY
)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectOneEdit("title: Buy milk\nstatus: done\n");
}

TEST_F(EditorTest, ScratchFilesPersistBesideTheStoreAndAreNeverCommitted) {
  ASSERT_EQ(InMount("echo swap > .buy-milk.yaml.swp && echo probe > 4913 && "
                    "echo backup > buy-milk.yaml~ && echo lock > '#buy-milk.yaml#'")
                .exit_code,
            0);
  Unmount();
  Mount();
  EXPECT_EQ(ReadFile(M(".buy-milk.yaml.swp")), "swap\n");
  EXPECT_EQ(ReadFile(M("#buy-milk.yaml#")), "lock\n");
  EXPECT_EQ(GitTreePaths(store()), std::vector<std::string>{"buy-milk.yaml"});
  EXPECT_EQ(Subjects().size(), 1u);
  ASSERT_EQ(InMount("rm .buy-milk.yaml.swp 4913 buy-milk.yaml~ '#buy-milk.yaml#'").exit_code, 0);
  EXPECT_EQ(InMount("ls -A -I .taskfs").output, "buy-milk.yaml\n");
}

}  // namespace
}  // namespace taskfs::testing
