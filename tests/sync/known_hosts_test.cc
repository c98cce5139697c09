#include "sync/transport/known_hosts.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using taskfs::testing::Quote;
using taskfs::testing::ReadFile;
using taskfs::testing::RunCommand;
using taskfs::testing::WriteFile;

// A new ed25519 key, with what libgit2 would report of it, worked out with other tools than the
// code under test (coreutils' base64 and sha256sum).
struct Key {
  std::string line;    // its known_hosts part: "ssh-ed25519 AAAA... comment"
  std::string base64;  // the blob as the line has it
  std::string blob;    // the blob itself
  std::array<unsigned char, 32> sha256{};

  HostKey Raw() const { return {{reinterpret_cast<const unsigned char*>(blob.data()), blob.size()}}; }
  HostKey Sha256Only() const { return {{}, sha256.data()}; }
};

Key MakeKey(const taskfs::testing::TempDir& dir, const std::string& name) {
  const std::string path = dir / name;
  EXPECT_EQ(RunCommand("ssh-keygen -q -t ed25519 -N '' -f " + Quote(path)).exit_code, 0);
  Key key;
  key.line = ReadFile(path + ".pub");
  while (!key.line.empty() && key.line.back() == '\n') key.line.pop_back();
  const size_t blank = key.line.find(' ');
  key.base64 = key.line.substr(blank + 1, key.line.find(' ', blank + 1) - blank - 1);
  const std::string decode = "printf %s " + Quote(key.base64) + " | base64 -d";
  EXPECT_EQ(RunCommand(decode + " > " + Quote(path + ".blob")).exit_code, 0);
  key.blob = ReadFile(path + ".blob");
  const std::string hex = RunCommand(decode + " | sha256sum").output;
  EXPECT_GE(hex.size(), 64u);
  for (size_t i = 0; i < 32 && hex.size() >= 64; ++i) {
    key.sha256[i] = static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return key;
}

// A HOME of its own with an empty ~/.ssh, for CheckKnownHost; the old one comes back at the end.
class KnownHostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* home = std::getenv("HOME");
    had_home_ = home != nullptr;
    if (home) old_home_ = home;
    RunCommand("mkdir -p " + Quote(dir_ / "home/.ssh"));
    setenv("HOME", (dir_ / "home").c_str(), 1);
  }
  void TearDown() override {
    if (had_home_) {
      setenv("HOME", old_home_.c_str(), 1);
    } else {
      unsetenv("HOME");
    }
  }
  void WriteKnownHosts(const std::string& text) {
    WriteFile(dir_ / "home/.ssh/known_hosts", text);
  }

  taskfs::testing::TempDir dir_;
  Key server_ = MakeKey(dir_, "server");
  Key impostor_ = MakeKey(dir_, "impostor");

 private:
  bool had_home_ = false;
  std::string old_home_;
};

TEST_F(KnownHostsTest, AcceptsTheRecordedKeyGivenRawOrBySha256) {
  ASSERT_EQ(server_.blob.size(), 51u);  // ssh-ed25519 blob: 4 + 11 + 4 + 32 bytes
  WriteKnownHosts("tasks.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Sha256Only()), HostKeyCheck::kKnown);
  // Both given: the raw key decides.
  HostKey both = server_.Raw();
  both.sha256 = server_.sha256.data();
  EXPECT_EQ(CheckKnownHost("tasks.example", both), HostKeyCheck::kKnown);
  // Hashed host names (HashKnownHosts) and name lists are found too.
  RunCommand("ssh-keygen -H -f " + Quote(dir_ / "home/.ssh/known_hosts") + " > /dev/null 2>&1");
  ASSERT_EQ(ReadFile(dir_ / "home/.ssh/known_hosts").find("tasks.example"), std::string::npos);
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Sha256Only()), HostKeyCheck::kKnown);
  WriteKnownHosts("other.example,tasks.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kKnown);
}

TEST_F(KnownHostsTest, RefusesAnotherKeyForARecordedHost) {
  WriteKnownHosts("tasks.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", impostor_.Raw()), HostKeyCheck::kMismatch);
  EXPECT_EQ(CheckKnownHost("tasks.example", impostor_.Sha256Only()), HostKeyCheck::kMismatch);
  // A key one byte away from the recorded one.
  std::string near = server_.blob;
  near.back() = static_cast<char>(near.back() ^ 1);
  EXPECT_EQ(CheckKnownHost("tasks.example",
                           {{reinterpret_cast<const unsigned char*>(near.data()), near.size()}}),
            HostKeyCheck::kMismatch);
  // Recorded for another host only: this one is known with another key.
  WriteKnownHosts("tasks.example " + server_.line + "\nevil.example " + impostor_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", impostor_.Raw()), HostKeyCheck::kMismatch);
  // Neither the key nor its SHA-256: nothing can match.
  EXPECT_EQ(CheckKnownHost("tasks.example", HostKey{}), HostKeyCheck::kMismatch);
}

TEST_F(KnownHostsTest, UnlistedHostIsUnknown) {
  WriteKnownHosts("tasks.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("elsewhere.example", server_.Raw()), HostKeyCheck::kUnknownHost);
  EXPECT_EQ(CheckKnownHost("elsewhere.example", server_.Sha256Only()), HostKeyCheck::kUnknownHost);
  // [host]:port entries are not the bare host.
  WriteKnownHosts("[elsewhere.example]:2222 " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("elsewhere.example", server_.Raw()), HostKeyCheck::kUnknownHost);
  // No known_hosts at all.
  RunCommand("rm -f " + Quote(dir_ / "home/.ssh/known_hosts"));
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kUnknownHost);
}

TEST_F(KnownHostsTest, RevokedKeyIsRefusedEvenWhenRecorded) {
  WriteKnownHosts("tasks.example " + server_.line + "\n@revoked * " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kRevoked);
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Sha256Only()), HostKeyCheck::kRevoked);
  EXPECT_EQ(CheckKnownHost("elsewhere.example", server_.Raw()), HostKeyCheck::kRevoked);
  // A revoked line does not record a host: another key is still unknown there, or a mismatch
  // where the host is recorded.
  EXPECT_EQ(CheckKnownHost("elsewhere.example", impostor_.Raw()), HostKeyCheck::kUnknownHost);
  EXPECT_EQ(CheckKnownHost("tasks.example", impostor_.Raw()), HostKeyCheck::kMismatch);
  WriteKnownHosts("@revoked tasks.example " + impostor_.line + "\ntasks.example " + server_.line +
                  "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("tasks.example", impostor_.Raw()), HostKeyCheck::kRevoked);
}

TEST_F(KnownHostsTest, CertAuthorityLinesDoNotVouchForAPlainKey) {
  WriteKnownHosts("@cert-authority *.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kUnknownHost);
}

TEST_F(KnownHostsTest, MalformedLinesAreSkipped) {
  const std::string blob = server_.base64;
  const std::string bad_lines =
      "tasks.example ssh-ed25519 AAAA!!notbase64 comment\n"
      "tasks.example ssh-ed25519 " + blob.substr(0, blob.size() - 1) + "\n"  // cut short
      "tasks.example ssh-ed25519 " + blob.substr(0, 40) + "=" + blob.substr(41) + "\n"  // '=' in the key
      "tasks.example ssh-rsa " + blob + "\n"  // not a key of the type it says
      "tasks.example ssh-ed25519 QQ=A\n"
      "tasks.example ssh-ed25519 ====\n"
      "tasks.example ssh-ed25519 =\n"
      "tasks.example ssh-ed25519\n"
      "tasks.example\n"
      "@revoked\n"
      "@unheard-of tasks.example " + server_.line + "\n"
      "   \t \n"
      "\n"
      "# tasks.example " + server_.line + "\n"
      "tasks.example 1024 65537 12345678901234567890\n";  // SSH1 RSA
  for (const HostKey& key : {server_.Raw(), server_.Sha256Only()}) {
    EXPECT_EQ(MatchKnownHosts(bad_lines, "tasks.example", key), HostKeyCheck::kUnknownHost);
    EXPECT_EQ(
        MatchKnownHosts(bad_lines + "tasks.example " + server_.line + "\n", "tasks.example", key),
        HostKeyCheck::kKnown);
    EXPECT_EQ(
        MatchKnownHosts(bad_lines + "tasks.example " + impostor_.line + "\n", "tasks.example", key),
        HostKeyCheck::kMismatch);
  }
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37 % 256);
  EXPECT_EQ(MatchKnownHosts(binary, "tasks.example", server_.Raw()), HostKeyCheck::kUnknownHost);
  // Read from the file.
  WriteKnownHosts(bad_lines);
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kUnknownHost);
  WriteKnownHosts(bad_lines + "tasks.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kKnown);
}

TEST_F(KnownHostsTest, APortOtherThan22IsLookedUpAsBracketedHostAndPort) {
  EXPECT_EQ(KnownHostsName("127.0.0.1", 22), "127.0.0.1");
  EXPECT_EQ(KnownHostsName("127.0.0.1", 59983), "[127.0.0.1]:59983");
  // As `ssh-keyscan -p 59983 127.0.0.1 >> ~/.ssh/known_hosts` records it.
  WriteKnownHosts("[127.0.0.1]:59983 " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("[127.0.0.1]:59983", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("[127.0.0.1]:59983", impostor_.Raw()), HostKeyCheck::kMismatch);
  // Another port of the same host, or the bare host, is another entry.
  EXPECT_EQ(CheckKnownHost("[127.0.0.1]:2222", server_.Raw()), HostKeyCheck::kUnknownHost);
  EXPECT_EQ(CheckKnownHost("127.0.0.1", server_.Raw()), HostKeyCheck::kUnknownHost);
  // Hashed by ssh-keygen -H (HashKnownHosts), the port is part of what is hashed.
  ASSERT_EQ(
      RunCommand("ssh-keygen -H -f " + Quote(dir_ / "home/.ssh/known_hosts") + " > /dev/null 2>&1")
          .exit_code,
      0);
  ASSERT_EQ(ReadFile(dir_ / "home/.ssh/known_hosts").find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(CheckKnownHost("[127.0.0.1]:59983", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("[127.0.0.1]:59983", impostor_.Raw()), HostKeyCheck::kMismatch);
  EXPECT_EQ(CheckKnownHost("[127.0.0.1]:2222", server_.Raw()), HostKeyCheck::kUnknownHost);
}

TEST_F(KnownHostsTest, PatternsWithWildcardsAndNegationsApplyAsSshReadsThem) {
  WriteKnownHosts("*.example,!evil.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks.example", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("TASKS.Example", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("evil.example", server_.Raw()), HostKeyCheck::kUnknownHost);
  EXPECT_EQ(CheckKnownHost("example", server_.Raw()), HostKeyCheck::kUnknownHost);
  WriteKnownHosts("tasks?.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost("tasks1.example", server_.Raw()), HostKeyCheck::kKnown);
  EXPECT_EQ(CheckKnownHost("tasks12.example", server_.Raw()), HostKeyCheck::kUnknownHost);
  // Files are read together: the system file's line counts, the user's @revoked line wins.
  const std::string system_file = dir_ / "ssh_known_hosts";
  WriteFile(system_file, "tasks.example " + server_.line + "\n");
  WriteKnownHosts("");
  const std::vector<std::string> files = {dir_ / "home/.ssh/known_hosts", system_file};
  EXPECT_EQ(CheckKnownHost(files, "tasks.example", server_.Raw()), HostKeyCheck::kKnown);
  WriteKnownHosts("@revoked tasks.example " + server_.line + "\n");
  EXPECT_EQ(CheckKnownHost(files, "tasks.example", server_.Raw()), HostKeyCheck::kRevoked);
}

TEST_F(KnownHostsTest, FingerprintAndRecordedLineAreWhatSshWrites) {
  // ssh-keygen -l prints "256 SHA256:... comment (ED25519)".
  const std::string listed = RunCommand("ssh-keygen -l -f " + Quote(dir_ / "server.pub")).output;
  const std::string fingerprint = Sha256Fingerprint(server_.Raw());
  ASSERT_TRUE(fingerprint.starts_with("SHA256:")) << fingerprint;
  EXPECT_NE(listed.find(" " + fingerprint + " "), std::string::npos) << listed << fingerprint;
  EXPECT_EQ(Sha256Fingerprint(server_.Sha256Only()), fingerprint);
  EXPECT_EQ(Sha256Fingerprint(HostKey{}), "");
  const auto line = KnownHostsLine("[127.0.0.1]:59983", server_.Raw());
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "[127.0.0.1]:59983 ssh-ed25519 " + server_.base64 + "\n");
  EXPECT_FALSE(KnownHostsLine("x", server_.Sha256Only()).has_value());
  // ssh itself finds the line it would have written.
  WriteKnownHosts(*line);
  EXPECT_NE(
      RunCommand("ssh-keygen -F '[127.0.0.1]:59983' -f " + Quote(dir_ / "home/.ssh/known_hosts"))
          .output.find(server_.base64),
      std::string::npos);
}

}  // namespace
}  // namespace taskfs::sync
