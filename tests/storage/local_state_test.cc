// The local state's names, and the mount record that must survive any byte of a mount point.
#include "storage/local_state.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

using taskfs::testing::TempDir;
using taskfs::testing::WriteFile;

TEST(LocalState, EveryNameIsInTheStoresLocalFolder) {
  const LocalState state("/s/.git/taskfs");
  for (const std::string& path :
       {state.journal(), state.mount_record(), state.sync_lock(), state.drafts(),
        state.folder_packs("usb"), state.server_cert("home")}) {
    EXPECT_TRUE(path.starts_with("/s/.git/taskfs/")) << path;
  }
  EXPECT_EQ(state.server_cert("home"), "/s/.git/taskfs/server-home.crt");
}

TEST(MountRecord, AMountPointWithSpacesAndNewlinesReadsBackWhole) {
  TempDir dir;
  const std::string file = dir / "mount";
  for (const std::string& mountpoint :
       {std::string("/home/ada/my tasks"), std::string("/tmp/a\nb "), std::string("/x\n")}) {
    ASSERT_TRUE(WriteMountRecord(file, {4242, mountpoint}).ok());
    const auto record = ReadMountRecord(file);
    ASSERT_TRUE(record.has_value()) << mountpoint;
    EXPECT_EQ(record->pid, 4242);
    EXPECT_EQ(record->mountpoint, mountpoint);
  }
}

TEST(MountRecord, AMissingOrMangledRecordIsNone) {
  TempDir dir;
  EXPECT_FALSE(ReadMountRecord(dir / "none").has_value());
  for (const char* text : {"", "4242", "4242\n", "x42\n/m\n", "-1\n/m\n", "42 \n/m\n", "42\n/m"}) {
    WriteFile(dir / "mount", text);
    EXPECT_FALSE(ReadMountRecord(dir / "mount").has_value()) << text;
  }
}

}  // namespace
}  // namespace taskfs::storage
