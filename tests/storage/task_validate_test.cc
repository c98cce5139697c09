#include "storage/task_validate.h"

#include <gtest/gtest.h>

namespace taskfs::storage {

TEST(TaskValidate, FullExampleIsValid) {
  EXPECT_TRUE(ValidateTask("title: Buy milk\nstatus: pending\npriority: H\nproject: home.kitchen\n"
                           "tags: [errand, shop]\ndue: 2026-11-30\ndepends: [call-landlord]\n"
                           "notes: |\n  Semi-skimmed.\n  Two litres.\n")
                  .ok());
}

TEST(TaskValidate, UnknownKeysAreKept) {
  EXPECT_TRUE(ValidateTask("title: x\nestimate: 3h\nsubtasks: [{a: 1}]\n").ok());
}

TEST(TaskValidate, DateTimesAreAccepted) {
  for (const char* due : {"2026-11-30", "2026-11-30T17:00", "2026-11-30T17:00:05Z",
                          "2026-11-30 17:00:05+01:00", "2026-11-30T17:00:05.25-0500"}) {
    EXPECT_TRUE(ValidateTask(std::string("due: ") + due + "\n").ok()) << due;
  }
}

TEST(TaskValidate, NotAMappingIsRejectedWithAReason) {
  for (const char* bad : {"just words\n", "- a\n- b\n", "42\n", ""}) {
    Status st = ValidateTask(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.message().find("mapping"), std::string::npos) << st.message();
  }
}

TEST(TaskValidate, BrokenYamlNamesTheLine) {
  Status st = ValidateTask("title: x\ntags: [a, b\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("line"), std::string::npos) << st.message();
}

TEST(TaskValidate, MistypedKnownKeysAreRejected) {
  const char* cases[][2] = {
      {"status: later\n", "status"},    {"priority: urgent\n", "priority"},
      {"tags: errand\n", "tags"},       {"tags: [[a]]\n", "tags"},
      {"depends: {a: 1}\n", "depends"}, {"due: tomorrow\n", "due"},
      {"title: [a, b]\n", "title"},     {"notes: {a: b}\n", "notes"},
      {"project: [x]\n", "project"},    {"conflicts: 3\n", "conflicts"},
  };
  for (const auto& c : cases) {
    Status st = ValidateTask(c[0]);
    EXPECT_FALSE(st.ok()) << c[0];
    EXPECT_NE(st.message().find(c[1]), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("line 1"), std::string::npos) << st.message();
  }
}

// Validation reads the whole file: broken YAML after a complete mapping is still broken (a reading
// that stops at the first node would take `{title: x}` and lose the rest).
TEST(TaskValidate, BrokenYamlAfterTheMappingIsRefused) {
  EXPECT_EQ(ValidateTask("{title: x}\nstatus: done\n").code(), Status::Code::kInvalidArgument);
  Status st = ValidateTask("{a: 1}\nk: v\n  bad: indent\n");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("not valid YAML: line 3"), std::string::npos) << st.message();
}

TEST(TaskValidate, KeysAndListItemsAreCheckedWhereverTheyStand) {
  EXPECT_TRUE(ValidateTask("x: {tags: 3, status: later}\ntags: [a, b]\n").ok());
  EXPECT_TRUE(ValidateTask("? [a, b]\n: 1\n").code() == Status::Code::kInvalidArgument);
  Status st = ValidateTask("title: t\nnotes: |\n  a\ntags:\n  - a\n  - [b]\nstatus: done\n");
  EXPECT_NE(st.message().find("line 6: every item of tags"), std::string::npos) << st.message();
  st = ValidateTask("tags: [a]\nstatus: soon\n");
  EXPECT_NE(st.message().find("line 2: status must be one of"), std::string::npos) << st.message();
  EXPECT_NE(ValidateTask("- title: x\n").message().find("mapping"), std::string::npos);
  EXPECT_NE(ValidateTask("# only a comment\n").message().find("mapping"), std::string::npos);
}

TEST(TaskValidate, OverOneMebibyteIsTooLarge) {
  std::string big = "notes: " + std::string(kMaxTaskBytes, 'a') + "\n";
  EXPECT_EQ(ValidateTask(big).code(), Status::Code::kTooLarge);
}

}  // namespace taskfs::storage
