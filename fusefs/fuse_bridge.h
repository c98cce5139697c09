// The FUSE mount: binds TaskFilesystem to libfuse3 (high-level API, multithreaded loop).
//
// Each FUSE entry point goes through one trampoline that turns exceptions into an errno
// (ENOMEM, else EIO, logged), so libfuse always gets exactly one answer.
#pragma once

#include <functional>
#include <string>

#include "storage/store.h"

namespace taskfs::fusefs {

struct MountOptions {
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool allow_other = false;  // other users may use the mount (as their modes allow)
  bool read_only = false;    // every change through the mount is refused with EROFS
  // Runs once the mount is live and its record written (the CLI starts the sync daemon here).
  std::function<void()> on_mounted;
  // The text of the read-only file .taskfs/status, made on each open.
  std::function<std::string()> status_text;
};

// Mounts `store` at options.mountpoint and serves until unmounted (taskfs umount, fusermount3 -u)
// or signalled. Unless `foreground`, daemonizes once the mount is live, so the caller's parent
// returns with the mount ready. Returns a process exit code.
int RunMount(storage::Store* store, const MountOptions& options);

}  // namespace taskfs::fusefs
