#include "sync/transport/known_hosts.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using taskfs::testing::Quote;
using taskfs::testing::RunCommand;

// A new ed25519 key under `dir`: its public line and its MD5 fingerprint as 16 bytes.
std::pair<std::string, std::array<unsigned char, 16>> MakeKey(const std::string& dir,
                                                              const std::string& name) {
  const std::string key = dir + "/" + name;
  EXPECT_EQ(RunCommand("ssh-keygen -q -t ed25519 -N '' -f " + Quote(key)).exit_code, 0);
  const std::string print = RunCommand("ssh-keygen -l -E md5 -f " + Quote(key + ".pub")).output;
  std::array<unsigned char, 16> md5{};
  std::istringstream hex(print.substr(print.find("MD5:") + 4, 47));
  for (auto& byte : md5) {
    unsigned value;
    hex >> std::hex >> value;
    byte = static_cast<unsigned char>(value);
    hex.ignore(1);
  }
  return {taskfs::testing::ReadFile(key + ".pub"), md5};
}

TEST(KnownHosts, AcceptsOnlyTheRecordedKeyOfAHost) {
  taskfs::testing::TempDir dir;
  auto [known_line, known_md5] = MakeKey(dir.path(), "server");
  auto [other_line, other_md5] = MakeKey(dir.path(), "impostor");
  RunCommand("mkdir -p " + Quote(dir / "home/.ssh"));
  taskfs::testing::WriteFile(dir / "home/.ssh/known_hosts", "tasks.example " + known_line);
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  setenv("HOME", (dir / "home").c_str(), 1);
  EXPECT_EQ(CheckKnownHost("tasks.example", known_md5.data()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("tasks.example", other_md5.data()), HostKeyCheck::kMismatch);
  EXPECT_EQ(CheckKnownHost("elsewhere.example", known_md5.data()), HostKeyCheck::kUnknownHost);
  // Hashed host names (HashKnownHosts) are found too.
  RunCommand("ssh-keygen -H -f " + Quote(dir / "home/.ssh/known_hosts") + " > /dev/null 2>&1");
  EXPECT_EQ(CheckKnownHost("tasks.example", known_md5.data()), HostKeyCheck::kKnown);
  setenv("HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace taskfs::sync
