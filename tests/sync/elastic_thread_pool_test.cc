#include "sync/server/elastic_thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace taskfs::sync {
namespace {

using std::chrono::milliseconds;

// A gate that blocked tasks wait behind, counting how many are waiting.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  bool WaitForWaiting(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(ElasticThreadPool, GrowsWhileEveryWorkerIsBusyUpToItsBound) {
  ElasticThreadPool pool(2, 6, milliseconds(100));
  EXPECT_EQ(pool.threads(), 2u);
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) {
    pool.enqueue([&] {
      gate.Wait();
      ++done;
    });
  }
  // Six run at once although only two workers are resident; two wait in the queue.
  ASSERT_TRUE(gate.WaitForWaiting(6));
  EXPECT_EQ(pool.threads(), 6u);
  gate.Open();
  pool.shutdown();
  EXPECT_EQ(done.load(), 8);
}

TEST(ElasticThreadPool, ExtraWorkersEndWhenIdleAndResidentOnesStay) {
  ElasticThreadPool pool(1, 4, milliseconds(50));
  Gate gate;
  for (int i = 0; i < 4; ++i) pool.enqueue([&] { gate.Wait(); });
  ASSERT_TRUE(gate.WaitForWaiting(4));
  gate.Open();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.threads() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(pool.threads(), 1u);
  // It still serves, and grows again.
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) pool.enqueue([&] { ++ran; });
  pool.shutdown();
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace taskfs::sync
