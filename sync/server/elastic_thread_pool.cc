#include "sync/server/elastic_thread_pool.h"

#include <algorithm>

namespace taskfs::sync {

ElasticThreadPool::ElasticThreadPool(size_t min_threads, size_t max_threads,
                                     std::chrono::milliseconds idle_exit)
    : min_threads_(std::max<size_t>(1, min_threads)),
      max_threads_(std::max(min_threads_, max_threads)),
      idle_exit_(idle_exit) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < min_threads_; ++i) workers_.emplace_back([this] { Work(true); });
}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

void ElasticThreadPool::enqueue(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  ReapExited();
  queue_.push_back(std::move(fn));
  if (idle_ < queue_.size() && workers_.size() < max_threads_ && !stopping_) {
    workers_.emplace_back([this] { Work(false); });
  }
  work_ready_.notify_one();
}

void ElasticThreadPool::shutdown() {
  std::list<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    work_ready_.notify_all();
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
}

size_t ElasticThreadPool::threads() const {
  std::lock_guard lock(mu_);
  return workers_.size() - exited_.size();
}

void ElasticThreadPool::ReapExited() {
  for (const std::thread::id id : exited_) {
    auto it = std::find_if(workers_.begin(), workers_.end(),
                           [id](const std::thread& t) { return t.get_id() == id; });
    if (it == workers_.end()) continue;
    it->join();  // it ended its loop: only its return is left
    workers_.erase(it);
  }
  exited_.clear();
}

void ElasticThreadPool::Work(bool resident) {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    const bool woken =
        work_ready_.wait_for(lock, idle_exit_, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) {
      if (stopping_) return;
      if (!woken && !resident) {
        exited_.push_back(std::this_thread::get_id());
        return;
      }
      continue;
    }
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace taskfs::sync
