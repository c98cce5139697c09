#include "sync/daemon/head_watcher.h"

#include <algorithm>

#include "storage/log.h"

namespace taskfs::sync {

HeadWatcher::HeadWatcher(std::string name, std::unique_ptr<HeadWatch> watch,
                         std::function<void()> notify, Timing timing)
    : name_(std::move(name)),
      watch_(std::move(watch)),
      notify_(std::move(notify)),
      timing_(timing),
      thread_([this] { Run(); }) {}

HeadWatcher::~HeadWatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stopped_cv_.notify_all();
  watch_->Cancel();
  thread_.join();
}

HeadWatcher::News HeadWatcher::Take() {
  std::lock_guard lock(mu_);
  News news = news_;
  news_ = News{};
  news_.live = live_;
  news_.ended = ended_;
  return news;
}

void HeadWatcher::Record(const std::optional<std::string>& head, bool live, bool ended) {
  {
    std::lock_guard lock(mu_);
    bool changed = ended && !ended_;
    ended_ = ended_ || ended;
    news_.ended = ended_;
    if (head) {
      news_.head = head;
      changed = true;
    }
    if (live != live_) {
      live_ = live;
      news_.live_changed = true;
      changed = true;
    }
    news_.live = live_;
    if (!changed) return;
  }
  notify_();
}

bool HeadWatcher::Pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return !stopped_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void HeadWatcher::Run() {
  std::string known;  // the head the remote told last ("" before its first answer)
  bool answered = false;
  auto retry = timing_.first_retry;
  while (true) {
    // The first wait returns at once: it tells whether the remote can wait at all.
    auto head = watch_->WaitForHead(known, answered ? timing_.wait : std::chrono::seconds(0));
    if (head.ok()) {
      const bool moved = !answered || *head != known;
      answered = true;
      known = *head;
      retry = timing_.first_retry;
      Record(moved ? std::optional<std::string>(known) : std::nullopt, /*live=*/true);
      continue;
    }
    const Status& failure = head.status();
    if (failure.code() == Status::Code::kCancelled) return;
    if (failure.code() == Status::Code::kNotSupported) {
      LogInfo(name_ + ": " + failure.message() + "; polled every --interval instead");
      Record(std::nullopt, /*live=*/false, /*ended=*/true);
      return;
    }
    Record(std::nullopt, /*live=*/false);
    Log(LogLevel::kDebug, "waiting for news from " + name_ + " failed: " + failure.message());
    // A busy server asks its waiters to come back later, not soon.
    if (!Pause(failure.code() == Status::Code::kBusy ? timing_.max_retry : retry)) return;
    retry = std::min(retry * 2, timing_.max_retry);
  }
}

}  // namespace taskfs::sync
