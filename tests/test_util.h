// Helpers shared by the test suites: temp folders outside /tmp (vim skips its backup dance under
// /tmp), running commands, reading files, and checking a repository with `git fsck`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace taskfs::testing {

// A fresh folder (under /var/tmp by default), removed (recursively) when destroyed.
class TempDir {
 public:
  // A new, empty folder in `parent` (/dev/shm: on tmpfs), removed with all it holds.
  explicit TempDir(const std::string& parent = "/var/tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh, capturing its output.
CommandResult RunCommand(const std::string& command);
// Shell-quotes `s` for use in RunCommand().
std::string Quote(const std::string& s);

// Polls `done` every 20 ms until it is true or `timeout` passed; returns its last answer. For
// what another process does in its own time (a mount's refresh, a background retry).
bool WaitUntil(const std::function<bool()>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(15));

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
bool Exists(const std::string& path);

// Waits (up to 5 s) until the taskfs store at `git_dir` has committed every save its journal
// holds: a mount acknowledges a save before its commit lands. The Git* helpers below call it.
void WaitForJournal(const std::string& git_dir);

// `git fsck --strict` output, empty when the repository is clean (or the error text).
std::string GitFsckErrors(const std::string& git_dir);
// Commit subjects on `branch`, newest first.
std::vector<std::string> GitSubjects(const std::string& git_dir,
                                     const std::string& branch = "main");
// Paths in the tree of `branch`.
std::vector<std::string> GitTreePaths(const std::string& git_dir,
                                      const std::string& branch = "main");
// Content of `path` in `branch`, or "<missing>".
std::string GitShow(const std::string& git_dir, const std::string& path,
                    const std::string& branch = "main");

// Whether the history index of the store at `git_dir` (storage/history_index.h) holds commit
// `head` (hex), read without adding to it.
bool HistoryIndexHolds(const std::string& git_dir, const std::string& head);

// What process `pid` ("self" or a number) holds of the packs of the repository at `git_dir`:
// open descriptors and mappings of its objects/pack files, and how many of them name files
// removed since (a long-running process that does not let go of merged packs).
struct HeldPacks {
  int held = 0;
  int removed = 0;
};
HeldPacks PacksHeldBy(const std::string& pid, const std::string& git_dir);

// The seed of this test's random choices: $TASKFS_TEST_SEED when set (to replay a failure),
// else a fresh one. Printed ("seed N: rerun with TASKFS_TEST_SEED=N") and recorded as the test's
// `seed` property, so tools/stress-tests.sh can report it with a failure.
unsigned TestSeed();
// `count` moments in [min_ms, max_ms], ascending, drawn from TestSeed(): when a test kills a
// process, so that every run tries other moments and a failing one can be replayed.
// TASKFS_KILL_ITERATIONS=N makes it N moments instead (tools/test.sh's kill loop: 30).
std::vector<int> RandomMomentsMs(int count, int min_ms, int max_ms);

// A task that is a YAML "billion laughs": about 1 KB whose nine levels of ten aliases expand to
// 10^9 strings for any code that walks it. `title` is its first line.
std::string YamlAliasBomb(const std::string& title = "lol");

// Runs `command` with /bin/sh in the background (exec'd: its pid is the command's), standard
// output and error appended to `log`. It is killed if the test process dies first.
pid_t SpawnLogged(const std::string& command, const std::string& log);

// The pid of the `taskfs daemon` syncing the store at `store` (a taskfs-made store), or 0 when
// none runs (nobody holds its lock).
pid_t RunningDaemonOf(const std::string& store);
// Leaves no daemon of `store` behind: waits up to `grace` for it to stop by itself (a daemon a
// mount started stops at unmount), then kills it. Fails the test if it had to kill it and
// `expect_exit` is set.
void EnsureNoDaemon(const std::string& store, bool expect_exit,
                    std::chrono::milliseconds grace = std::chrono::seconds(5));

}  // namespace taskfs::testing
