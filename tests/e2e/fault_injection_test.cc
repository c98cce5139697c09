// Faults at the store's file-system edge, injected into a real mount with LD_PRELOAD
// (fault_shim.cc): writes, fsyncs and renames of the journal, the objects and the branch fail
// (ENOSPC, EIO) for a while. After each, nothing acknowledged is lost: every save whose close()
// returned 0 is committed once the fault is gone, and `git fsck --strict` is clean.
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/mount_fixture.h"

namespace taskfs::testing {
namespace {

struct Fault {
  const char* name;
  const char* spec;  // TASKFS_FAULT: op:path:after:count:errno
  bool fsync;        // the writer also fsync()s each save
};

const Fault kFaults[] = {
    {"JournalWriteNoSpace", "write:/taskfs/journal/:3:4:ENOSPC", false},
    {"JournalFsyncEio", "fsync:/taskfs/journal/:2:3:EIO", true},
    {"ObjectWriteNoSpace", "write:/objects/:1:6:ENOSPC", false},
    {"ObjectRenameEio", "rename:/objects/:0:4:EIO", false},
    {"BranchWriteNoSpace", "write:/refs/heads/:0:3:ENOSPC", false},
    {"BranchRenameEio", "rename:/refs/heads/:0:3:EIO", false},
};

class FaultInjectionTest : public MountedStore, public ::testing::WithParamInterface<Fault> {};

TEST_P(FaultInjectionTest, NothingAcknowledgedIsLostAndTheStoreStaysValid) {
  const std::string log = dir_ / "faults.log";
  Unmount();
  main_.env = {"LD_PRELOAD=" FAULT_SHIM, std::string("TASKFS_FAULT=") + GetParam().spec,
               "TASKFS_FAULT_LOG=" + log, "ASAN_OPTIONS=verify_asan_link_order=0"};
  Mount();
  // 20 saves; each prints ok, or the errno its write, fsync or close failed with.
  CommandResult r = InMount(std::string(kPythonErrPrelude) +
                            "fsync = " + (GetParam().fsync ? "True" : "False") + R"(
res = []
for i in range(20):
    def save():
        fd = os.open("t%d.yaml" % i, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, b"title: t%d\n" % i)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    res.append(err(save))
print(" ".join(res))
PY
)");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<int> acknowledged;
  std::istringstream words(r.output);
  std::string word;
  for (int i = 0; words >> word; ++i) {
    EXPECT_TRUE(word == "ok" || word == "ENOSPC" || word == "EIO") << word;
    if (word == "ok") acknowledged.push_back(i);
  }
  // Object and branch faults happen in the committer, after the saves were acknowledged.
  EXPECT_TRUE(WaitUntil([&] { return !ReadFile(log).empty(); }, std::chrono::seconds(30)))
      << "the fault never happened: " << r.output;
  EXPECT_GE(acknowledged.size(), 10u) << r.output;
  // The fault was transient: the mount retries until everything acknowledged is committed.
  auto committed = [&] {
    for (int i : acknowledged) {
      const std::string name = "t" + std::to_string(i) + ".yaml";
      if (Committed(name) != "title: t" + std::to_string(i) + "\n") return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitUntil(committed, std::chrono::seconds(60))) << r.output << "\n" << MountLog();
  Unmount();
  EXPECT_TRUE(committed()) << r.output;
  EXPECT_EQ(GitFsckErrors(store()), "");
  main_.env.clear();
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultInjectionTest, ::testing::ValuesIn(kFaults),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace taskfs::testing
