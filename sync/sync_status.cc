#include "sync/sync_status.h"

#include <signal.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "storage/file_util.h"
#include "storage/format_time.h"
#include "storage/local_state.h"
#include "storage/task_limits.h"
#include "sync/transport/remotes.h"

namespace taskfs::sync {
namespace {

using nlohmann::json;

std::string Ago(int64_t then, int64_t now) {
  const int64_t s = now - then;
  if (s < 120) return std::to_string(std::max<int64_t>(s, 0)) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  if (s < 172800) return std::to_string(s / 3600) + " h ago";
  return std::to_string(s / 86400) + " days ago";
}

std::string When(int64_t t, int64_t now) {
  return FormatTime(t, "%Y-%m-%d %H:%M:%S") + " (" + Ago(t, now) + ")";
}

bool DaemonAlive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

}  // namespace

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RemoteSyncState, name, url, kind, last_success,
                                                last_attempt, last_error, error_since, next_attempt,
                                                failures, waiting, garbage, syncs,
                                                credentials_refused, instant)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SyncStatus, pid, started, remotes)


Status SaveSyncStatus(const storage::Store& store, const SyncStatus& status) {
  return storage::WriteFileAtomically(storage::LocalState(store).sync_status(), json(status).dump(2) + "\n");
}

std::optional<SyncStatus> LoadSyncStatus(const storage::Store& store) {
  auto text = storage::ReadWholeFile(storage::LocalState(store).sync_status());
  if (!text) return std::nullopt;
  try {
    return json::parse(*text).get<SyncStatus>();
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string RenderSyncStatus(const storage::Store& store) {
  const int64_t now = std::time(nullptr);
  auto remotes = sync::ListRemotes(store);
  if (!remotes.ok()) return "sync:     " + remotes.status().message() + "\n";
  if (remotes->empty()) return "sync:     no remotes (add one with `taskfs remote add`)\n";
  const auto status = LoadSyncStatus(store);
  std::string out = "sync:     ";
  if (status && DaemonAlive(status->pid)) {
    out += "daemon running (pid " + std::to_string(status->pid) + ", since " +
           FormatTime(status->started, "%Y-%m-%d %H:%M:%S") + ")\n";
  } else {
    out += "no daemon running (start one with `taskfs daemon`, or mount the store)\n";
  }
  for (const auto& remote : *remotes) {
    const bool git = remote.kind == sync::RemoteKind::kGit;
    out += "  " + remote.name + " (" + (git ? "" : sync::KindName(remote.kind) + std::string(" ")) +
           sync::UrlForDisplay(remote.url) + ")\n";
    const RemoteSyncState* st = nullptr;
    if (status) {
      for (const auto& r : status->remotes) {
        if (r.name == remote.name) st = &r;
      }
    }
    out += "    last sync:  " + (st && st->last_success ? When(st->last_success, now) : "never") +
           "\n";
    if (st && !st->last_error.empty()) {
      out += "    failing since " + When(st->error_since, now) + " (" +
             std::to_string(st->failures) +
             " attempts): " + storage::EscapeForDisplay(st->last_error) + "\n";
      if (st->credentials_refused) {
        out +=
            "    the remote refused our credentials: the daemon retries only every few minutes "
            "(up to 30) so as not to get locked out; fix the key or password, then run "
            "`taskfs sync`\n";
      }
      if (st->next_attempt > now) {
        out += "    next try:   in " + std::to_string(st->next_attempt - now) + " s\n";
      }
    }
    if (st && st->instant) out += "    news:       instant (the server tells us of each push)\n";
    if (st && st->waiting) {
      out += "    waiting for the files of " + std::to_string(st->waiting) +
             " client(s) to arrive in the folder\n";
    }
    if (st && !st->garbage.empty()) {
      std::string files;
      for (const std::string& f : st->garbage) files += (files.empty() ? "" : ", ") + f;
      out += "    ignored in the folder (no client's ref; delete them): " +
             storage::EscapeForDisplay(files) + "\n";
    }
    auto pending = sync::PendingCommits(store, remote.name);
    out += "    not yet sent: " +
           (pending.ok() ? std::to_string(*pending) + " local commit(s)"
                         : pending.status().message()) +
           "\n";
  }
  return out;
}

}  // namespace taskfs::sync
