// Running helpers: an argument vector, never a shell; stdin given, stdout returned.
#include "storage/subprocess.h"

#include <gtest/gtest.h>

namespace taskfs::storage {
namespace {

TEST(RunProcess, ArgumentsReachTheProgramVerbatim) {
  auto run = RunProcess({"printf", "%s|", "a b", "it's", "$HOME", "; rm -rf /"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->output, "a b|it's|$HOME|; rm -rf /|");
}

TEST(RunProcess, InputGoesToStdinAndStderrIsNotOutput) {
  const std::string big(1 << 20, 'x');  // more than a pipe holds: written while it is read
  auto run = RunProcess({"cat"}, big);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->output, big);
  auto noisy = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(noisy.ok());
  EXPECT_EQ(noisy->output, "out\n");
  EXPECT_EQ(noisy->exit_code, 3);
}

TEST(RunProcess, AChildThatIgnoresItsInputDoesNotKillUs) {
  auto run = RunProcess({"true"}, std::string(1 << 20, 'x'));  // SIGPIPE would end this test
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 0);
}

TEST(RunProcess, ExtraEnvironmentAndMissingPrograms) {
  auto run = RunProcess({"sh", "-c", "printf %s \"$TASKFS_TEST_VALUE\""}, "",
                        {"TASKFS_TEST_VALUE=x y"});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->output, "x y");
  EXPECT_FALSE(RunProcess({"taskfs-no-such-program"}).ok());
  EXPECT_FALSE(RunProcess({}).ok());
}

}  // namespace
}  // namespace taskfs::storage
