#include "fusefs/store_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "storage/branch_watch.h"
#include "storage/thread_name.h"

namespace taskfs::fusefs {

StoreWatcher::StoreWatcher(std::string git_dir, std::function<void()> on_change,
                           std::chrono::milliseconds debounce, std::vector<std::string> folders)
    : git_dir_(std::move(git_dir)),
      folders_(std::move(folders)),
      on_change_(std::move(on_change)),
      debounce_(debounce) {}

StoreWatcher::~StoreWatcher() { Stop(); }

Status StoreWatcher::Start() {
  inotify_fd_.reset(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify_fd_) return Status::FromErrno(errno, "inotify_init1");
  int stop_pipe[2];
  if (pipe2(stop_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe2");
  stop_read_.reset(stop_pipe[0]);
  stop_write_.reset(stop_pipe[1]);
  if (!folders_.empty()) {
    for (const std::string& folder : folders_) {
      if (inotify_add_watch(inotify_fd_.get(), folder.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        return Status::FromErrno(errno, "watching " + folder);
      }
    }
    thread_ = std::thread([this] { Run(); });
    return Status::OK();
  }
  if (auto watches = storage::WatchBranches(inotify_fd_.get(), git_dir_); !watches.ok()) {
    return watches.status();
  }
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

void StoreWatcher::Stop() {
  if (thread_.joinable()) {
    char c = 'x';
    (void)!::write(stop_write_.get(), &c, 1);
    thread_.join();
  }
  inotify_fd_.reset();
  stop_read_.reset();
  stop_write_.reset();
}

void StoreWatcher::Run() {
  storage::NameThisThread(folders_.empty() ? "taskfs-refwatch" : "taskfs-requests");
  char buf[8192];
  // Watched folders (requests) may hold files written before the watch began: look at once.
  bool pending = !folders_.empty();
  while (true) {
    pollfd fds[2] = {{inotify_fd_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    // While a change is pending, wait only the debounce interval for more events.
    int rc = ::poll(fds, 2, pending ? static_cast<int>(debounce_.count()) : -1);
    if (rc < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (rc > 0 && (fds[0].revents & POLLIN)) {
      while (::read(inotify_fd_.get(), buf, sizeof buf) > 0) {
      }
      pending = true;
      continue;
    }
    if (pending) {
      pending = false;
      on_change_();
    }
  }
}

}  // namespace taskfs::fusefs
