// taskfs status: the store, its mount, drafts (saves not committed), local-only files.
#include <signal.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "fusefs/drafts.h"
#include "storage/committer.h"
#include "storage/format_time.h"
#include "storage/history.h"
#include "storage/local_state.h"
#include "storage/store.h"
#include "storage/store_location.h"
#include "storage/task_limits.h"
#include "sync/sync_status.h"
#include "tools/taskfs/commands.h"

namespace taskfs::cli {
namespace {

// Names and messages may hold anything a file name or a peer held: printed escaped.
std::string Shown(const std::string& text) { return storage::EscapeForDisplay(text); }

void PrintStore(const std::string& path, const storage::Store& store,
                const storage::Snapshot& snap) {
  std::cout << "store:    " << path << "\n"
            << "client:   " << store.client_name() << " (id " << store.client_id() << ")\n";
  if (snap.commit_id().empty()) {
    std::cout << "branch:   " << store.branch_ref() << " (no commits yet)\n";
  } else {
    std::cout << "branch:   " << store.branch_ref() << " at " << snap.commit_id().substr(0, 12)
              << ", files: " << snap.file_count() << ", last change "
              << FormatTime(snap.commit_time(), "%Y-%m-%d %H:%M:%S") << "\n";
  }
}

// Prints the mount line; returns the mount's own "unsaved:" line ("" if none, or not mounted).
std::string PrintMount(const storage::Store& store) {
  const auto mount = storage::ReadMountRecord(storage::LocalState(store).mount_record());
  if (!mount || ::kill(mount->pid, 0) != 0) {
    std::cout << "mount:    not mounted\n";
    return "";
  }
  const std::string& mountpoint = mount->mountpoint;
  std::cout << "mount:    " << Shown(mountpoint) << " (pid " << mount->pid << ")\n";
  // Saves the mount holds in memory (the journal could not take them: a full disk) are known
  // only to it; its .taskfs/status says, without needing a byte of disk.
  std::string unsaved;
  std::ifstream mount_status(mountpoint + "/.taskfs/status");
  for (std::string line; std::getline(mount_status, line);) {
    if (line.starts_with("unsaved:")) unsaved = line + "\n";
  }
  return unsaved;
}

void PrintJournal(const storage::Store& store, const std::string& unsaved) {
  const size_t pending = storage::PendingSaves(store);
  std::cout << "journal:  " << pending
            << (pending ? " save(s) acknowledged and not committed yet (the mount, or the next "
                          "`taskfs sync`, commits them)\n"
                        : " saves waiting\n")
            << unsaved;
}

void PrintDrafts(const storage::Store& store) {
  fusefs::Drafts drafts(storage::LocalState(store).drafts());
  if (Status st = drafts.Load(); !st.ok()) {
    std::cerr << "taskfs status: some drafts could not be read: " << Shown(st.message()) << "\n";
  }
  std::cout << "drafts:   " << drafts.all().size()
            << (drafts.all().empty() ? "\n" : " (saved but not committed; fix or delete them)\n");
  for (const auto& [p, d] : drafts.all()) {
    std::cout << "  " << Shown(p) << ": " << Shown(d.reason) << "\n";
  }
}

void PrintLocalOnlyFiles(const storage::Store& store) {
  size_t scratch = 0;
  std::error_code ec;
  for (auto it =
           std::filesystem::recursive_directory_iterator(storage::LocalState(store).scratch(), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory()) ++scratch;
  }
  std::cout << "local-only files: " << scratch
            << " (editor swap and temp files; never committed)\n";
}

void PrintLastError(const storage::Store& store) {
  std::ifstream last_error(storage::LocalState(store).last_error());
  int64_t when = 0;
  std::string message;
  if (last_error >> when && std::getline(last_error, message)) {
    std::cout << "last error: " << FormatTime(when, "%Y-%m-%d %H:%M:%S") << Shown(message) << "\n";
  }
}

}  // namespace

int RunStatus(const GlobalOptions& g) {
  const std::string path = storage::ResolveStorePath(g.store);
  auto opened = OpenStore(g, storage::Store::Access::kReadOnly);
  if (!opened.ok()) {
    std::cerr << "taskfs status: " << opened.status().message() << "\n";
    return 1;
  }
  storage::Store& store = **opened;
  PrintStore(path, store, *store.snapshot());
  const std::string unsaved = PrintMount(store);
  PrintJournal(store, unsaved);
  PrintDrafts(store);
  PrintLocalOnlyFiles(store);
  std::cout << sync::RenderSyncStatus(store);
  PrintLastError(store);
  return 0;
}

}  // namespace taskfs::cli
