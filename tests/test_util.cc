#include "tests/test_util.h"

#include <fcntl.h>
#include <git2.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "storage/history_index.h"
#include "storage/journal.h"
#include "storage/local_state.h"
#include "storage/store.h"

namespace taskfs::testing {

TempDir::TempDir(const std::string& parent) {
  std::string tmpl = parent + "/taskfs-test-XXXXXX";
  const char* p = ::mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

unsigned TestSeed() {
  const char* env = std::getenv("TASKFS_TEST_SEED");
  const unsigned seed =
      env && *env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : std::random_device{}();
  std::printf("seed %u: rerun with TASKFS_TEST_SEED=%u\n", seed, seed);
  std::fflush(stdout);
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

std::vector<int> RandomMomentsMs(int count, int min_ms, int max_ms) {
  if (const char* env = std::getenv("TASKFS_KILL_ITERATIONS"); env && *env) {
    count = std::max(1, std::atoi(env));
  }
  std::mt19937 rng(TestSeed());
  std::uniform_int_distribution<int> pick(min_ms, max_ms);
  std::vector<int> moments(static_cast<size_t>(count));
  for (int& m : moments) m = pick(rng);
  std::sort(moments.begin(), moments.end());
  return moments;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

HeldPacks PacksHeldBy(const std::string& pid, const std::string& git_dir) {
  const std::string packs = std::filesystem::canonical(git_dir).string() + "/objects/pack/";
  HeldPacks found;
  const auto count = [&](const std::string& target) {
    if (target.find(packs) == std::string::npos) return;
    ++found.held;
    if (target.ends_with(" (deleted)")) ++found.removed;
  };
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + pid + "/fd")) {
    std::error_code ec;
    count(std::filesystem::read_symlink(fd.path(), ec).string());
  }
  std::istringstream maps(ReadFile("/proc/" + pid + "/maps"));
  for (std::string line; std::getline(maps, line);) count(line);
  return found;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string GitFsckErrors(const std::string& git_dir) {
  CommandResult r = RunCommand("git --git-dir=" + Quote(git_dir) + " fsck --strict --no-dangling");
  return r.exit_code == 0 ? "" : r.output;
}

static std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void WaitForJournal(const std::string& git_dir) {
  const std::string journal = storage::LocalState(git_dir + "/taskfs").journal();
  if (!Exists(journal)) return;
  WaitUntil([&] { return storage::ReadJournal(journal).empty(); }, std::chrono::seconds(5));
}

std::vector<std::string> GitSubjects(const std::string& git_dir, const std::string& branch) {
  WaitForJournal(git_dir);
  CommandResult r =
      RunCommand("git --git-dir=" + Quote(git_dir) + " log --format=%s " + branch + " --");
  return r.exit_code == 0 ? Lines(r.output) : std::vector<std::string>{};
}

std::vector<std::string> GitTreePaths(const std::string& git_dir, const std::string& branch) {
  WaitForJournal(git_dir);
  return Lines(
      RunCommand("git --git-dir=" + Quote(git_dir) + " ls-tree -r --name-only " + branch).output);
}

bool HistoryIndexHolds(const std::string& git_dir, const std::string& head) {
  auto store = storage::Store::Open(git_dir, storage::Store::Access::kReadOnly,
                                    storage::Store::Load::kOnFirstUse);
  if (!store.ok()) return false;
  git_oid oid;
  if (git_oid_fromstr(&oid, head.c_str()) != 0) return false;
  auto index = (*store)->WithRepository([&](git_repository* repo) {
    return storage::HistoryIndex::Update(repo, storage::LocalState(**store).history_index(), oid,
                                         [] { return true; });
  });
  return index.ok() && !index->NewestFirst(oid).empty();
}

std::string GitShow(const std::string& git_dir, const std::string& path,
                    const std::string& branch) {
  WaitForJournal(git_dir);
  CommandResult r =
      RunCommand("git --git-dir=" + Quote(git_dir) + " show " + Quote(branch + ":" + path));
  return r.exit_code == 0 ? r.output : "<missing>";
}

pid_t SpawnLogged(const std::string& command, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a crashed test
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string exec = "exec " + command;
    ::execl("/bin/sh", "sh", "-c", exec.c_str(), nullptr);
    ::_exit(127);
  }
  return pid;
}

pid_t RunningDaemonOf(const std::string& store) {
  const std::string lock = store + "/taskfs/daemon.lock";
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  pid_t pid = 0;
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
  } else {
    std::ifstream(lock) >> pid;
    if (pid == 0) pid = -1;  // held, pid not yet written
  }
  ::close(fd);
  return pid;
}

void EnsureNoDaemon(const std::string& store, bool expect_exit, std::chrono::milliseconds grace) {
  if (WaitUntil([&] { return RunningDaemonOf(store) == 0; }, grace)) return;
  const pid_t pid = RunningDaemonOf(store);
  if (expect_exit)
    ADD_FAILURE() << "the daemon of " << store << " (pid " << pid << ") kept running";
  if (pid > 0) ::kill(pid, SIGKILL);
  WaitUntil([&] { return RunningDaemonOf(store) == 0; }, std::chrono::seconds(5));
}

std::string YamlAliasBomb(const std::string& title) {
  std::string yaml = "title: " + title + "\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c, ++prev) {
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) yaml += std::string(i ? "," : "") + "*" + prev;
    yaml += "]\n";
  }
  return yaml;
}

}  // namespace taskfs::testing
