#include "storage/task_name.h"

#include <gtest/gtest.h>

namespace taskfs::storage {

TEST(TaskName, YamlFilesOutsideHiddenFoldersAreTasks) {
  EXPECT_TRUE(IsTaskPath("buy-milk.yaml"));
  EXPECT_TRUE(IsTaskPath("work/ops/deploy.yaml"));
  EXPECT_TRUE(IsTaskPath("café.yaml"));
}

TEST(TaskName, EditorScratchNamesAreNotTasks) {
  for (const char* name :
       {"x.yaml~", ".x.yaml.swp", "4913", "#x.yaml#", ".#x.yaml", ".x.yaml.Xa3Bc9", "sedAbC123",
        ".yaml", "x.yml", ".git/x.yaml", "work/.hidden/x.yaml"}) {
    EXPECT_FALSE(IsTaskPath(name)) << name;
  }
}

TEST(TaskName, InvalidUtf8AndOverlongComponentsAreNotTasks) {
  EXPECT_FALSE(IsTaskPath("bad\xff.yaml"));
  EXPECT_FALSE(IsTaskPath(std::string(251, 'a') + ".yaml"));
  EXPECT_TRUE(IsTaskPath(std::string(250, 'a') + ".yaml"));
}

TEST(TaskName, CheckComponentRejectsLongAndEmptyNames) {
  EXPECT_FALSE(CheckComponent(std::string(256, 'a')).ok());
  EXPECT_FALSE(CheckComponent("").ok());
  EXPECT_TRUE(CheckComponent(std::string(255, 'a')).ok());
}

TEST(TaskName, NameAndPathRoundTrip) {
  EXPECT_EQ(TaskNameOf("work/buy-milk.yaml"), "work/buy-milk");
  EXPECT_EQ(TaskPathOf("work/buy-milk"), "work/buy-milk.yaml");
  EXPECT_EQ(TaskPathOf("work/buy-milk.yaml"), "work/buy-milk.yaml");
}

}  // namespace taskfs::storage
