#include "storage/idle_memory.h"

#include <malloc.h>
#include <signal.h>

#include "storage/thread_name.h"

namespace taskfs::storage {

void MapLargeBuffersApart() { ::mallopt(M_MMAP_THRESHOLD, 128 * 1024); }

void ReleaseIdleMemory(const Store& store) {
  store.ReleasePacks();  // first: their caches are freed then, and trimmed with the rest
  ReleaseFreeHeap();
}

void ReleaseFreeHeap() { ::malloc_trim(0); }

IdleMemoryReleaser::IdleMemoryReleaser(const Store* store, std::chrono::milliseconds quiet)
    : store_(store), quiet_(quiet), thread_([this] { Loop(); }) {}

IdleMemoryReleaser::~IdleMemoryReleaser() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void IdleMemoryReleaser::Touch() {
  bool was_idle;
  {
    std::lock_guard lock(mu_);
    was_idle = !last_touch_;
    last_touch_ = Clock::now();
  }
  if (was_idle) wake_.notify_one();  // later touches only move the deadline the loop waits for
}

void IdleMemoryReleaser::Loop() {
  NameThisThread("idle-release");
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals are for the threads that wait for them
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!last_touch_) {
      wake_.wait(lock, [this] { return stopping_ || last_touch_; });
      continue;
    }
    const auto due = *last_touch_ + quiet_;
    if (Clock::now() < due) {
      wake_.wait_until(lock, due);  // touches meanwhile move last_touch_: looked at again
      continue;
    }
    last_touch_.reset();
    lock.unlock();
    ReleaseIdleMemory(*store_);
    lock.lock();
  }
}

}  // namespace taskfs::storage
