#include "storage/history_warmer.h"

#include <sys/resource.h>
#include <unistd.h>

#include "storage/history.h"
#include "storage/idle_memory.h"
#include "storage/log.h"
#include "storage/store.h"
#include "storage/thread_name.h"

namespace taskfs::storage {

HistoryWarmer::HistoryWarmer(const Store* store, HistoryPassWorthARelease worth_a_release)
    : store_(store), worth_a_release_(worth_a_release), thread_([this] { Loop(); }) {}

HistoryWarmer::~HistoryWarmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HistoryWarmer::Poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
}

void HistoryWarmer::Loop() {
  NameThisThread("taskfs-history");
  // Linux gives each thread its own nice value: the process's saves and reads go first.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  const auto stop = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return poked_ || stopping_; });
    if (stopping_) return;
    poked_ = false;
    lock.unlock();
    Pass(stop);
    lock.lock();
  }
}

void HistoryWarmer::Pass(const std::function<bool()>& stop) {
  auto added = UpdateHistoryIndex(store_->git_dir(), stop);
  // Not an error of the process: `taskfs log` brings the index up to date itself.
  if (!added.ok()) {
    LogWarning("could not update the history index for taskfs log: " + added.status().ToString());
  } else if (added->commits >= worth_a_release_.commits || added->paths >= worth_a_release_.paths) {
    ReleaseIdleMemory(*store_);  // the pack pages read, the index's heap (tens of MB at 50,000)
  } else if (added->commits > 0) {
    ReleaseFreeHeap();
  }
}

}  // namespace taskfs::storage
