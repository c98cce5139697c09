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

TEST(Utf8, EveryWellFormedLengthAndTheEdgesOfTheRangesAreValid) {
  for (const char* text :
       {"", "plain", "caf\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
        "\xe2\x82\xac and \xf0\x9f\x98\x80"}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
  }
}

TEST(Utf8, OverlongFormsSurrogatesAndPastTheLastCodePointAreRefused) {
  for (const std::string& text : {
           std::string("\xc0\xaf"),              // overlong '/'
           std::string("\xc1\xbf"),              // overlong ASCII
           std::string("\xe0\x80\xaf"),          // overlong '/' in three bytes
           std::string("\xe0\x9f\xbf"),          // overlong below U+0800
           std::string("\xf0\x80\x80\xaf"),      // overlong '/' in four bytes
           std::string("\xf0\x8f\xbf\xbf"),      // overlong below U+10000
           std::string("\xed\xa0\x80"),          // U+D800, a surrogate
           std::string("\xed\xbf\xbf"),          // U+DFFF
           std::string("\xf4\x90\x80\x80"),      // U+110000
           std::string("\xf5\x80\x80\x80"),      // no such lead byte
           std::string("\xff"), std::string("\x80"),  // a lone continuation byte
           std::string("\xc3"), std::string("\xe2\x82"),  // cut short
           std::string("\xe2\x28\xa1"),          // a bad continuation byte
           std::string("a\0b", 3)}) {            // NUL
    EXPECT_FALSE(IsValidUtf8(text)) << ::testing::PrintToString(text);
  }
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
