#include "sync/daemon/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "storage/branch_watch.h"
#include "storage/history_warmer.h"
#include "storage/idle_memory.h"
#include "storage/local_state.h"
#include "storage/log.h"
#include "storage/store_config.h"
#include "sync/daemon/head_watcher.h"
#include "sync/daemon/retry_delay.h"
#include "sync/sync_status.h"
#include "sync/syncer.h"
#include "sync/transport/remotes.h"
#include "sync/transport/transport.h"

namespace taskfs::sync {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How soon to look again at a folder remote some of whose files have not arrived, in case the
// syncer's writes come without an inotify event we watch for.
constexpr std::chrono::seconds kWaitingRetry{5};
// How soon to try again when a `taskfs sync` run by hand holds the sync lock.
constexpr std::chrono::seconds kBusyRetry{1};

constexpr uint32_t kWatchMask =
    IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE;

struct RemoteState {
  sync::RemoteInfo info;
  bool watched = false;  // inotify tells us when it changes: no polling
  // A server remote's long-poll (shared: RemoteState is copied when the remotes are reloaded).
  std::shared_ptr<HeadWatcher> head_watcher;
  bool head_live = false;  // head_watcher's waits succeed: the server tells us, no polling
  std::optional<Clock::time_point> due;
  std::optional<Clock::time_point> burst_start;
  Clock::time_point not_before{};  // back-off after failures
  RemoteSyncState record;
};

// What an inotify watch is for: the store, the stop file's folder, or remote number N (>= 0).
constexpr int kStoreWatch = -1;
constexpr int kStopFileWatch = -2;

int64_t WallNow() { return std::time(nullptr); }

}  // namespace

// --- DaemonLock ---

Result<std::unique_ptr<DaemonLock>> DaemonLock::Acquire(const storage::Store& store) {
  const std::string file = storage::LocalState(store).daemon_lock();
  auto lock = std::make_unique<storage::FileLock>(file);
  if (!lock->held()) {
    std::string pid = storage::ReadWholeFile(file).value_or("");
    while (!pid.empty() && pid.back() == '\n') pid.pop_back();
    if (pid.empty()) pid = "?";
    return Status::Busy("a taskfs daemon (pid " + pid + ") is already syncing " + store.git_dir() +
                        "; stop it first (kill " + pid + ")");
  }
  if (Status st = lock->Record(std::to_string(::getpid()) + "\n"); !st.ok()) {
    LogWarning("could not record the daemon's pid in " + file + ": " + st.message());
  }
  return std::unique_ptr<DaemonLock>(new DaemonLock(std::move(lock)));
}

// --- SyncDaemon ---

struct SyncDaemon::Impl {
  storage::Store* store;
  DaemonOptions options;
  int inotify_fd = -1;
  int stop_fd = -1;
  int news_fd = -1;  // written by head watchers' threads when they heard of something
  bool stopping = false;
  std::map<int, int> watch_owner;  // inotify watch -> kStoreWatch, kStopFileWatch or remote
  std::vector<RemoteState> remotes;
  SyncStatus status;
  std::mt19937 rng{std::random_device{}()};
  // Set after syncs: once the daemon is quiet until then, it lets go of the packs they read.
  std::optional<Clock::time_point> release_memory_at;
  // Indexes the commits syncs bring, for `taskfs log` (set by Run).
  std::unique_ptr<storage::HistoryWarmer> history_warmer;

  ~Impl() {
    history_warmer.reset();
    remotes.clear();  // joins the head watchers before news_fd closes
    for (int fd : {inotify_fd, stop_fd, news_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Watch(const std::string& path, int owner, uint32_t mask = kWatchMask) {
    int wd = inotify_add_watch(inotify_fd, path.c_str(), mask);
    if (wd >= 0) watch_owner[wd] = owner;
  }

  // (Re)creates every watch: the store's refs and config, the stop file, each remote.
  Status RebuildWatches() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    watch_owner.clear();
    inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotify_fd < 0) return Status::FromErrno(errno, "inotify_init1");
    // The git dir's watch also sees its config (written by rename) change: remotes to reload.
    if (auto branches = storage::WatchBranches(inotify_fd, store->git_dir(), kWatchMask);
        branches.ok()) {
      for (int wd : *branches) watch_owner[wd] = kStoreWatch;
    } else {
      LogWarning(branches.status().message() + ": local commits sync only when a remote changes");
    }
    if (!options.stop_when_removed.empty()) {
      Watch(fs::path(options.stop_when_removed).parent_path().string(), kStopFileWatch,
            IN_DELETE | IN_MOVED_FROM);
    }
    for (size_t i = 0; i < remotes.size(); ++i) {
      const auto paths = WatchPathsOf(remotes[i].info);
      remotes[i].watched = !paths.empty();
      for (const std::string& p : paths) {
        int wd = inotify_add_watch(inotify_fd, p.c_str(), kWatchMask);
        if (wd < 0) {
          remotes[i].watched = false;  // missing for now (an unplugged disk): polled
          continue;
        }
        watch_owner[wd] = static_cast<int>(i);
      }
    }
    return Status::OK();
  }

  // Reads the remotes from the store's config; new ones sync at once.
  void LoadRemotes() {
    auto listed = sync::ListRemotes(*store);
    if (!listed.ok()) {
      LogError("reading the remotes: " + listed.status().message());
      return;
    }
    std::vector<RemoteState> next;
    for (const auto& info : *listed) {
      auto old = std::find_if(remotes.begin(), remotes.end(),
                              [&](const RemoteState& r) { return r.info.name == info.name; });
      if (old != remotes.end() && old->info.url == info.url && old->info.kind == info.kind) {
        next.push_back(*old);
        continue;
      }
      RemoteState fresh;
      fresh.info = info;
      fresh.due = Clock::now();
      fresh.record.name = info.name;
      fresh.record.url = info.url;
      fresh.record.kind = sync::KindName(info.kind);
      StartHeadWatcher(fresh);
      next.push_back(fresh);
    }
    remotes = std::move(next);
  }

  // A server remote is told of new heads by a long-poll; other kinds have no watch.
  void StartHeadWatcher(RemoteState& r) {
    auto watch = WatchHead(*store, r.info);
    if (!watch.ok()) {
      if (watch.status().code() != Status::Code::kNotSupported) {
        LogWarning(r.info.name + ": cannot wait for news (" + watch.status().message() +
                   "); polled every " + std::to_string(options.interval.count()) + " s");
      }
      return;
    }
    r.head_watcher = std::make_shared<HeadWatcher>(r.info.name, std::move(*watch), [this] {
      const uint64_t one = 1;
      (void)!::write(news_fd, &one, sizeof one);
    });
  }

  // What the head watchers heard: a remote whose head is not the one we know is synced.
  void HandleHeadNews() {
    uint64_t count = 0;
    (void)!::read(news_fd, &count, sizeof count);
    const auto now = Clock::now();
    for (auto& r : remotes) {
      if (!r.head_watcher) continue;
      const HeadWatcher::News news = r.head_watcher->Take();
      r.head_live = news.live;
      r.record.instant = news.live;
      const bool lost = (news.live_changed && !news.live) || news.ended;
      if (lost && !r.due) r.due = now + options.interval;  // polled meanwhile
      if (news.ended) r.head_watcher.reset();
      if (news.head &&
          *news.head != storage::RefTarget(*store, TrackingRefOf(*store, r.info.name))) {
        Trigger(r, now);
      }
    }
  }

  // Something changed for remote `r`: sync it after the debounce, but not later than max_delay
  // after the first change of this burst, and not before its back-off ends.
  void Trigger(RemoteState& r, Clock::time_point now) {
    if (!r.burst_start) r.burst_start = now;
    auto when = std::min(now + options.debounce, *r.burst_start + options.max_delay);
    r.due = std::max(when, r.not_before);
  }

  // Remotes that lack local commits (after a save, or after another remote brought changes),
  // except those just synced: what they still lack came in during their sync, and its inotify
  // event triggers them.
  void TriggerWherePending(Clock::time_point now, const std::vector<bool>& just_synced = {}) {
    for (size_t i = 0; i < remotes.size(); ++i) {
      RemoteState& r = remotes[i];
      if (i < just_synced.size() && just_synced[i]) continue;
      auto pending = sync::PendingCommits(*store, r.info.name);
      if (!pending.ok() || *pending > 0) Trigger(r, now);
    }
  }

  void RecordSuccess(RemoteState& r, const SyncReport& report, Clock::time_point now) {
    r.record.last_success = WallNow();
    r.record.last_error.clear();
    r.record.credentials_refused = false;
    r.record.error_since = 0;
    r.record.failures = 0;
    r.record.waiting = report.waiting;
    r.record.garbage = report.garbage;
    r.not_before = {};
    if (report.waiting) {
      r.due = now + kWaitingRetry;
    } else if (!r.watched && !r.head_live) {
      r.due = now + options.interval;
    }
    if (report.fast_forwarded || report.merged || report.pushed) LogInfo(report.Summary());
  }

  void RecordFailure(RemoteState& r, const Status& st, Clock::time_point now) {
    if (st.code() == Status::Code::kSyncRunning) {
      r.due = now + kBusyRetry;  // a `taskfs sync` by hand: not a failure
      return;
    }
    if (r.record.failures++ == 0) r.record.error_since = WallNow();
    r.record.last_error = st.message();
    r.record.credentials_refused = st.code() == Status::Code::kPermissionDenied;
    const auto delay = RetryDelay(st.code(), r.record.failures, options.max_backoff,
                                  std::uniform_real_distribution<double>(0.8, 1.2)(rng));
    r.not_before = now + delay;
    r.due = r.not_before;
    LogWarning("sync with " + r.info.name + " failed (attempt " +
               std::to_string(r.record.failures) + ", next in " +
               std::to_string(delay.count() / 1000) + " s): " + st.message());
  }

  void SyncRemote(RemoteState& r) {
    r.due.reset();
    r.burst_start.reset();
    const bool was_watched = r.watched;
    auto report = SyncWithRemote(*store, r.info.name, {});
    const auto now = Clock::now();
    ++r.record.syncs;
    r.record.last_attempt = WallNow();
    if (report.ok()) {
      if ((report->fast_forwarded || report->merged) && history_warmer) history_warmer->Poke();
      RecordSuccess(r, *report, now);
    } else {
      RecordFailure(r, report.status(), now);
    }
    // A folder that was missing may be back: watch it.
    if (!was_watched && !WatchPathsOf(r.info).empty()) (void)RebuildWatches();
  }

  void SaveStatus() {
    const auto steady_now = Clock::now();
    const int64_t wall_now = WallNow();
    status.remotes.clear();
    for (auto& r : remotes) {
      r.record.next_attempt =
          r.due ? wall_now + std::chrono::duration_cast<std::chrono::seconds>(
                                 std::max(*r.due - steady_now, Clock::duration::zero()))
                                 .count()
                : 0;
      status.remotes.push_back(r.record);
    }
    if (Status st = SaveSyncStatus(*store, status); !st.ok()) LogWarning(st.message());
  }

  void HandleEvents() {
    alignas(inotify_event) char buf[16384];
    bool local_change = false, reload = false;
    ssize_t n;
    while ((n = ::read(inotify_fd, buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(p);
        p += sizeof(inotify_event) + ev->len;
        const std::string name = ev->len ? ev->name : "";
        if (ev->mask & IN_Q_OVERFLOW) {
          local_change = true;
          for (auto& r : remotes) Trigger(r, Clock::now());
          continue;
        }
        auto owner = watch_owner.find(ev->wd);
        if (owner == watch_owner.end()) continue;
        if (owner->second == kStoreWatch) {
          if (name == "config") reload = true;
          local_change = true;
        } else if (owner->second == kStopFileWatch) {
          std::error_code ec;
          if (!fs::exists(options.stop_when_removed, ec)) stopping = true;
        } else {
          Trigger(remotes[static_cast<size_t>(owner->second)], Clock::now());
        }
      }
    }
    if (reload) {
      LoadRemotes();
      (void)RebuildWatches();
    }
    if (local_change) TriggerWherePending(Clock::now());
  }

  Status Run() {
    if (stop_fd < 0 || news_fd < 0) return Status::FromErrno(errno, "eventfd");
    LoadRemotes();
    TASKFS_RETURN_IF_ERROR(RebuildWatches());
    history_warmer = std::make_unique<storage::HistoryWarmer>(store);
    status.pid = ::getpid();
    status.started = WallNow();
    SaveStatus();
    std::error_code ec;
    if (!options.stop_when_removed.empty() && !fs::exists(options.stop_when_removed, ec)) {
      stopping = true;
    }
    while (!stopping) {
      std::vector<bool> synced(remotes.size(), false);
      for (size_t i = 0; i < remotes.size(); ++i) {
        if (remotes[i].due && *remotes[i].due <= Clock::now()) {
          SyncRemote(remotes[i]);
          synced[i] = true;
        }
      }
      if (std::find(synced.begin(), synced.end(), true) != synced.end()) {
        TriggerWherePending(Clock::now(), synced);  // changes one remote brought, for the others
        SaveStatus();
        release_memory_at = Clock::now() + storage::kIdleBeforeRelease;
        continue;  // something may have become due meanwhile
      }
      if (release_memory_at && *release_memory_at <= Clock::now()) {
        release_memory_at.reset();
        storage::ReleaseIdleMemory(*store);
      }
      std::optional<Clock::time_point> wake = release_memory_at;
      for (const auto& r : remotes) {
        if (r.due && (!wake || *r.due < *wake)) wake = r.due;
      }
      int timeout = -1;
      if (wake) {
        const auto ms = std::chrono::ceil<milliseconds>(*wake - Clock::now()).count();
        timeout = static_cast<int>(std::clamp<int64_t>(ms, 0, 1 << 30));
      }
      pollfd fds[3] = {{inotify_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}, {news_fd, POLLIN, 0}};
      int rc = ::poll(fds, 3, timeout);
      if (rc < 0 && errno != EINTR) return Status::FromErrno(errno, "poll");
      if (fds[1].revents & POLLIN) break;
      if (fds[0].revents & POLLIN) HandleEvents();
      if (fds[2].revents & POLLIN) {
        HandleHeadNews();
        SaveStatus();
      }
    }
    for (auto& r : remotes) r.head_watcher.reset();  // stops their waits
    status.pid = 0;
    SaveStatus();
    return Status::OK();
  }
};

SyncDaemon::SyncDaemon(storage::Store* store, DaemonOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->store = store;
  impl_->options = std::move(options);
  impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl_->news_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

SyncDaemon::~SyncDaemon() = default;

Status SyncDaemon::Run() { return impl_->Run(); }

void SyncDaemon::Stop() {
  const uint64_t one = 1;
  if (impl_->stop_fd >= 0) (void)!::write(impl_->stop_fd, &one, sizeof one);
}

}  // namespace taskfs::sync
