// The server's connection workers: a pool that grows when every worker is busy, so that a new
// connection's TLS handshake never waits behind slow requests (a client gives up a handshake
// after its connection timeout, and a fixed pool of 16 made the 51st client fail).
//
// `min_threads` workers always run; up to `max_threads` are started while work waits and no
// worker is idle, and those extra ones end after `idle_exit` without work. Past `max_threads`,
// work waits in the queue. The server bounds the requests it serves at once separately (it
// answers 503 with Retry-After beyond that, see task_server.cc), so the queue stays short.
//
// Thread-safety: enqueue() from the listening thread (any thread is fine); shutdown() once, then
// the destructor. Lock order: mu_ is a leaf.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace taskfs::sync {

class ElasticThreadPool : public httplib::TaskQueue {
 public:
  ElasticThreadPool(size_t min_threads, size_t max_threads,
                    std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~ElasticThreadPool() override;

  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then stops and joins every worker.
  void shutdown() override;

  // Workers running now (for tests and logs).
  size_t threads() const;

 private:
  void Work(bool resident);
  // Joins workers that ended after idling. Needs mu_ held.
  void ReapExited();

  const size_t min_threads_, max_threads_;
  const std::chrono::milliseconds idle_exit_;

  mutable std::mutex mu_;
  std::condition_variable work_ready_;       // guarded by mu_
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  std::list<std::thread> workers_;           // guarded by mu_
  std::vector<std::thread::id> exited_;      // guarded by mu_: ended, not yet joined
  size_t idle_ = 0;                          // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
};

}  // namespace taskfs::sync
