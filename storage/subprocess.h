// Subprocess: runs a program with an argument vector (never a shell), gives it bytes on stdin and
// returns what it wrote to stdout. The one way taskfs runs helpers (git's credential helpers,
// ssh-keygen).
// Thread-safety: thread-safe (posix_spawn; each call has its own pipes).
#pragma once

#include <string>
#include <vector>

#include "storage/status.h"

namespace taskfs::storage {

struct ProcessOutput {
  int exit_code = 0;   // 128 + N when killed by signal N
  std::string output;  // everything it wrote to its stdout
};

// Runs `argv` (argv[0] looked up in PATH) with `input` on its stdin, its stderr on /dev/null, in
// this process's environment plus `extra_env` ("NAME=value"). Fails only if it could not start.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                                 const std::vector<std::string>& extra_env = {});

}  // namespace taskfs::storage
