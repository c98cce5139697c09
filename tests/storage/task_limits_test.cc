// Tests of storage/task_limits: the limits every door applies, and the display escaping.
#include "storage/task_limits.h"

#include <gtest/gtest.h>

#include <string>

#include "storage/task_validate.h"
#include "tests/test_util.h"

namespace taskfs::storage {
namespace {

using taskfs::testing::YamlAliasBomb;

TEST(TaskLimitsTest, AnAliasBombIsRefusedWithoutExpandingIt) {
  const std::string bomb = YamlAliasBomb();
  EXPECT_LT(bomb.size(), 1200u);
  Status st = CheckTaskLimits(bomb);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("line 2: YAML anchors"), std::string::npos) << st.message();
  EXPECT_FALSE(ValidateTask(bomb).ok());
}

TEST(TaskLimitsTest, AnchorsAndAliasesAreRefusedAlone) {
  EXPECT_NE(CheckTaskLimits("title: &t x\n").message().find("anchors"), std::string::npos);
  EXPECT_NE(CheckTaskLimits("a: &t x\nnotes: *t\n").message().find("anchors"), std::string::npos);
  EXPECT_FALSE(ValidateTask("title: x\nnotes: *t\n").ok());  // an alias of no anchor
  EXPECT_NE(CheckTaskLimits("base: &b {a: 1}\nother:\n  <<: *b\n").message().find("anchors"),
            std::string::npos);
  // An ampersand or asterisk inside a string is no anchor.
  EXPECT_TRUE(CheckTaskLimits("title: fish & chips *today*\nnotes: \"&x *y\"\n").ok());
}

TEST(TaskLimitsTest, NestingIsBounded) {
  std::string ok = "title: deep\nx: " + std::string(kMaxTaskDepth - 1, '[') +
                   std::string(kMaxTaskDepth - 1, ']') + "\n";
  EXPECT_TRUE(CheckTaskLimits(ok).ok()) << CheckTaskLimits(ok).message();
  std::string deep =
      "title: deep\nx: " + std::string(kMaxTaskDepth, '[') + std::string(kMaxTaskDepth, ']') + "\n";
  EXPECT_NE(CheckTaskLimits(deep).message().find("nested more than 64 deep"), std::string::npos);
  // Far deeper than yaml-cpp's own guard: still a clear refusal, no crash.
  std::string very_deep = "x: " + std::string(100000, '[');
  EXPECT_FALSE(CheckTaskLimits(very_deep).ok());
  EXPECT_FALSE(ValidateTask(very_deep).ok());
}

TEST(TaskLimitsTest, SizeIsBounded) {
  EXPECT_EQ(CheckTaskLimits("notes: " + std::string(kMaxTaskBytes, 'a') + "\n").code(),
            Status::Code::kTooLarge);
}

TEST(TaskLimitsTest, AQuoteTheEndOfTheFileCutsOffIsRefused) {
  // yaml-cpp takes a lone quote at the very end for an empty string: the limits check sees it.
  Status st = ValidateTask("title: x\npad: \"");
  EXPECT_NE(st.message().find("line 2: a quoted string is never closed"), std::string::npos)
      << st.message();
  EXPECT_FALSE(ValidateTask("title: x\npad: '").ok());
  for (const char* bad :
       {"title: x\npad: \"abc", "title: 'abc", "title: \"a\\\"", "title: 'it''s"}) {
    EXPECT_FALSE(ValidateTask(bad).ok()) << bad;
  }
  for (const char* good : {"title: \"x\"\n", "title: 'it''s'\n", "title: \"a\\\"b\"\n",
                           "title: \"\"\n", "title: x\nnotes: 'a\n  b'\n", "title: a\"b\n"}) {
    EXPECT_TRUE(ValidateTask(good).ok()) << good << ": " << ValidateTask(good).message();
  }
}

TEST(TaskLimitsTest, ControlCharactersAreRefusedWithTheirLine) {
  EXPECT_EQ(CheckTaskLimits("title: a\nnotes: b\x1b[31mred\n").message(),
            "not valid YAML: line 2: a control character (\\x1b)");
  EXPECT_FALSE(CheckTaskLimits(std::string("title: a\0b\n", 11)).ok());
  EXPECT_FALSE(CheckTaskLimits("title: a\x7f\n").ok());
  EXPECT_TRUE(CheckTaskLimits("title: a\tb\r\nnotes: ü\n").ok());
}

TEST(TaskLimitsTest, ATaskIsOneDocument) {
  EXPECT_TRUE(CheckTaskLimits("---\ntitle: a\n").ok());
  EXPECT_NE(CheckTaskLimits("title: a\n---\ntitle: b\n").message().find("one YAML document"),
            std::string::npos);
  // Found by fuzzing: yaml-cpp 0.7 reads empty documents without end from these two bytes (its
  // LoadAll never returns). Refused at once.
  EXPECT_FALSE(CheckTaskLimits(",\xa1").ok());
  EXPECT_FALSE(ValidateTask(",\xa1").ok());
}

TEST(TaskLimitsTest, NotYamlIsLeftToValidation) {
  EXPECT_TRUE(CheckTaskLimits("title: [unclosed\n").ok());
  EXPECT_NE(ValidateTask("title: [unclosed\n").message().find("not valid YAML"), std::string::npos);
}

TEST(TaskLimitsTest, EntryNamesFollowTheStoreRules) {
  for (const char* good : {"buy milk.yaml", "ünïcødé.yaml", "README", "a-b_c"}) {
    EXPECT_TRUE(CheckEntryName(good).ok()) << good;
  }
  const std::string bad[] = {"",
                             ".",
                             "..",
                             ".git",
                             "a/b",
                             "a\nb",
                             "a\rb",
                             "a\tb",
                             "\x1b[31mred",
                             "del\x7f",
                             "c1\xc2\x9b.yaml",
                             "\xff.yaml",
                             std::string(256, 'a')};
  for (const std::string& name : bad) {
    EXPECT_EQ(CheckEntryName(name).code(), Status::Code::kInvalidArgument)
        << EscapeForDisplay(name);
  }
}

TEST(TaskLimitsTest, TreeEntriesMustBeFilesOrFoldersWithinTheLimits) {
  EXPECT_TRUE(CheckTreeEntry("a.yaml", "a.yaml", kModeFile, 10).ok());
  EXPECT_TRUE(CheckTreeEntry("run.sh", "run.sh", kModeExecutable, 10).ok());
  EXPECT_TRUE(CheckTreeEntry("work", "work", kModeTree, 0).ok());
  EXPECT_NE(CheckTreeEntry("l.yaml", "l.yaml", 0120000, 5).message().find("symbolic link"),
            std::string::npos);
  EXPECT_NE(CheckTreeEntry("sub", "sub", 0160000, 0).message().find("submodule"),
            std::string::npos);
  Status big = CheckTreeEntry("w/big.yaml", "big.yaml", kModeFile, 60u << 20);
  EXPECT_EQ(big.code(), Status::Code::kTooLarge);
  EXPECT_NE(big.message().find("'w/big.yaml'"), std::string::npos) << big.message();
  Status dots = CheckTreeEntry("a/../../x.yaml", "..", kModeTree, 0);
  EXPECT_NE(dots.message().find("entry 'a/../../x.yaml'"), std::string::npos) << dots.message();
  EXPECT_NE(CheckTreeEntry("x", "x", 0100600, 1).message().find("unknown file mode 100600"),
            std::string::npos);
}

TEST(TaskLimitsTest, DisplayEscapesControlsAndBrokenUtf8Only) {
  EXPECT_EQ(EscapeForDisplay("plain ünïcødé ✓"), "plain ünïcødé ✓");
  EXPECT_EQ(EscapeForDisplay("x.yaml\ndrafts: 0"), "x.yaml\\x0adrafts: 0");
  EXPECT_EQ(EscapeForDisplay("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(EscapeForDisplay("a\x7f\xff"), "a\\x7f\\xff");
  EXPECT_EQ(EscapeForDisplay("c1 \xc2\x9b"), "c1 \\xc2\\x9b");
  EXPECT_EQ(EscapeForDisplay("nul\0x"), "nul");  // a C string ends at NUL anyway
  EXPECT_EQ(EscapeForDisplay(std::string("nul\0x", 5)), "nul\\x00x");
}

}  // namespace
}  // namespace taskfs::storage
