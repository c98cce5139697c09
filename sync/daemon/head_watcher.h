// HeadWatcher: a thread that holds a HeadWatch (sync/transport/transport.h) of one remote open
// and tells the daemon each head the remote moves to, so that a push from another machine is
// synced here within about a second instead of at the next poll.
//
// The thread only waits on the network: it never touches the store (the daemon compares the
// heads it hears of with its tracking refs). While the remote cannot be waited on (unreachable,
// busy, an older server without the route) the watcher says it is not live, and the daemon
// polls the remote every --interval as it would without a watcher.
//
// Thread-safety: Take() from the daemon's thread; `notify` is called from the watcher's thread
// after each change it records. Lock order: mu_ is a leaf.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "sync/transport/transport.h"

namespace taskfs::sync {

class HeadWatcher {
 public:
  struct Timing {
    std::chrono::seconds wait{50};                // one long-poll's timeout, under the server's 60
    std::chrono::milliseconds first_retry{1000};  // after a failed wait, doubling ...
    std::chrono::milliseconds max_retry{60000};   // ... to this
  };

  // What changed since the last Take().
  struct News {
    std::optional<std::string> head;  // the newest head heard of, if any came
    bool live = false;                // waits succeed now: the remote needs no polling
    bool live_changed = false;
    bool ended = false;  // the remote cannot be waited on at all (an older server): poll it
  };

  // Starts the thread. `name` is the remote's, for the log.
  HeadWatcher(std::string name, std::unique_ptr<HeadWatch> watch, std::function<void()> notify,
              Timing timing);
  HeadWatcher(std::string name, std::unique_ptr<HeadWatch> watch, std::function<void()> notify)
      : HeadWatcher(std::move(name), std::move(watch), std::move(notify), Timing{}) {}
  // Cancels the wait in progress and joins the thread.
  ~HeadWatcher();
  HeadWatcher(const HeadWatcher&) = delete;
  HeadWatcher& operator=(const HeadWatcher&) = delete;

  News Take();

 private:
  void Run();
  // Records what a wait brought and calls notify_ if that is news.
  void Record(const std::optional<std::string>& head, bool live, bool ended = false);
  // Sleeps `delay` unless stopped first; false when stopped.
  bool Pause(std::chrono::milliseconds delay);

  const std::string name_;
  const std::unique_ptr<HeadWatch> watch_;  // used by the thread; Cancel() from the destructor
  const std::function<void()> notify_;
  const Timing timing_;

  std::mutex mu_;  // guards everything below
  std::condition_variable stopped_cv_;
  bool stopping_ = false;
  News news_;
  bool live_ = false;
  bool ended_ = false;

  std::thread thread_;  // last: started once everything above is set
};

}  // namespace taskfs::sync
