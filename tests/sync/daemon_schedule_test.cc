// The daemon's timing decisions without a daemon: the retry schedule of a failing remote
// (sync/daemon/retry_delay.h) and the head watcher's thread (sync/daemon/head_watcher.h) driven
// by a scripted HeadWatch, so that what it reports and when it stops is checked on conditions,
// not on sleeps.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "sync/daemon/head_watcher.h"
#include "sync/daemon/retry_delay.h"
#include "tests/test_util.h"

namespace taskfs::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Code = Status::Code;

TEST(RetryDelay, AnOrdinaryFailureDoublesFromASecondToTheCap) {
  const milliseconds cap = seconds(300);
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 1, cap, 1.0), seconds(1));
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 2, cap, 1.0), seconds(2));
  EXPECT_EQ(RetryDelay(Code::kIOError, 5, cap, 1.0), seconds(16));
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 9, cap, 1.0), seconds(256));
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 10, cap, 1.0), cap);
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 1000, cap, 1.0), cap);  // no overflow
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 1, cap, 0.8), milliseconds(800));
  EXPECT_EQ(RetryDelay(Code::kUnavailable, 10, cap, 1.2), milliseconds(360000));
}

TEST(RetryDelay, RefusedCredentialsWaitAMinuteDoublingToHalfAnHour) {
  const milliseconds cap = seconds(300);  // the daemon's default --max-backoff
  EXPECT_EQ(RetryDelay(Code::kPermissionDenied, 1, cap, 1.0), seconds(60));
  EXPECT_EQ(RetryDelay(Code::kPermissionDenied, 2, cap, 1.0), seconds(120));
  EXPECT_EQ(RetryDelay(Code::kPermissionDenied, 5, cap, 1.0), seconds(960));
  EXPECT_EQ(RetryDelay(Code::kPermissionDenied, 6, cap, 1.0), std::chrono::minutes(30));
  EXPECT_EQ(RetryDelay(Code::kPermissionDenied, 50, cap, 1.0), std::chrono::minutes(30));
  // A longer --max-backoff holds for refusals too.
  EXPECT_EQ(RetryDelay(Code::kPermissionDenied, 50, std::chrono::hours(2), 1.0),
            std::chrono::hours(2));
  // Lock-out storms: ten refusals in a row take hours, not the 40 minutes of ordinary ones.
  milliseconds refused{0}, ordinary{0};
  for (int n = 1; n <= 10; ++n) {
    refused += RetryDelay(Code::kPermissionDenied, n, cap, 1.0);
    ordinary += RetryDelay(Code::kUnavailable, n, cap, 1.0);
  }
  EXPECT_GT(refused, std::chrono::hours(2));
  EXPECT_LT(ordinary, std::chrono::hours(1));
}

// A HeadWatch whose answers the test gives one by one; a wait with nothing given blocks until
// the test gives an answer or the watch is cancelled.
class ScriptedWatch final : public HeadWatch {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Result<std::string>> answers;
    std::vector<std::string> asked;  // the `known` of each wait
    bool cancelled = false;
  };
  explicit ScriptedWatch(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  Result<std::string> WaitForHead(const std::string& known, seconds) override {
    std::unique_lock lock(shared_->mu);
    shared_->asked.push_back(known);
    shared_->cv.notify_all();
    shared_->cv.wait(lock, [&] { return shared_->cancelled || !shared_->answers.empty(); });
    if (shared_->cancelled) return Status::Cancelled("cancelled");
    auto answer = shared_->answers.front();
    shared_->answers.pop_front();
    return answer;
  }
  void Cancel() override {
    std::lock_guard lock(shared_->mu);
    shared_->cancelled = true;
    shared_->cv.notify_all();
  }

 private:
  std::shared_ptr<Shared> shared_;
};

class HeadWatcherTest : public ::testing::Test {
 protected:
  void Answer(Result<std::string> answer) {
    std::lock_guard lock(shared_->mu);
    shared_->answers.push_back(std::move(answer));
    shared_->cv.notify_all();
  }
  // Waits until the watcher has asked `n` times in all.
  bool Asked(size_t n) {
    return testing::WaitUntil([&] {
      std::lock_guard lock(shared_->mu);
      return shared_->asked.size() >= n;
    });
  }
  std::vector<std::string> AskedWith() {
    std::lock_guard lock(shared_->mu);
    return shared_->asked;
  }
  std::unique_ptr<HeadWatcher> Start(HeadWatcher::Timing timing = {}) {
    return std::make_unique<HeadWatcher>(
        "origin", std::make_unique<ScriptedWatch>(shared_), [this] { ++notified_; }, timing);
  }

  std::shared_ptr<ScriptedWatch::Shared> shared_ = std::make_shared<ScriptedWatch::Shared>();
  std::atomic<int> notified_{0};
};

TEST_F(HeadWatcherTest, EachNewHeadIsReportedOnceAndAskedAboutNext) {
  auto watcher = Start();
  ASSERT_TRUE(Asked(1));
  Answer(std::string("aaa"));
  ASSERT_TRUE(Asked(2));
  auto news = watcher->Take();
  EXPECT_EQ(news.head, "aaa");
  EXPECT_TRUE(news.live);
  EXPECT_TRUE(news.live_changed);
  EXPECT_EQ(notified_.load(), 1);

  Answer(std::string("aaa"));  // a wait that timed out: the same head, no news
  ASSERT_TRUE(Asked(3));
  news = watcher->Take();
  EXPECT_FALSE(news.head);
  EXPECT_TRUE(news.live);
  EXPECT_FALSE(news.live_changed);
  EXPECT_EQ(notified_.load(), 1);

  Answer(std::string("bbb"));
  Answer(std::string("ccc"));  // two moves before the daemon looks: the newest counts
  ASSERT_TRUE(Asked(5));
  EXPECT_EQ(watcher->Take().head, "ccc");
  EXPECT_EQ(AskedWith(), (std::vector<std::string>{"", "aaa", "aaa", "bbb", "ccc"}));
}

TEST_F(HeadWatcherTest, AFailedWaitIsNotLiveAndIsRetriedAfterAPause) {
  auto watcher = Start({seconds(50), milliseconds(1), milliseconds(4)});
  ASSERT_TRUE(Asked(1));
  Answer(std::string("aaa"));
  ASSERT_TRUE(Asked(2));
  (void)watcher->Take();
  Answer(Status::Unavailable("the server is down"));
  ASSERT_TRUE(Asked(3));  // it tries again
  auto news = watcher->Take();
  EXPECT_FALSE(news.live);
  EXPECT_TRUE(news.live_changed);
  EXPECT_FALSE(news.head);
  Answer(std::string("bbb"));  // back, and moved meanwhile
  ASSERT_TRUE(Asked(4));
  news = watcher->Take();
  EXPECT_TRUE(news.live);
  EXPECT_EQ(news.head, "bbb");
}

TEST_F(HeadWatcherTest, AServerWithoutTheRouteEndsTheWatchForPolling) {
  auto watcher = Start();
  ASSERT_TRUE(Asked(1));
  Answer(Status::NotSupported("the server has no /sync/wait"));
  ASSERT_TRUE(testing::WaitUntil([&] { return notified_.load() == 1; }));
  const auto news = watcher->Take();
  EXPECT_TRUE(news.ended);
  EXPECT_FALSE(news.live);
  EXPECT_FALSE(news.head);
  Answer(std::string("never asked for"));
  watcher.reset();  // joins: the thread had ended, it asks no more
  EXPECT_EQ(AskedWith().size(), 1u);
}

TEST_F(HeadWatcherTest, DestroyingItCancelsTheWaitInProgress) {
  auto watcher = Start();
  ASSERT_TRUE(Asked(1));  // blocked in a wait that would never end by itself
  watcher.reset();
  std::lock_guard lock(shared_->mu);
  EXPECT_TRUE(shared_->cancelled);
}

TEST_F(HeadWatcherTest, DestroyingItDuringAPauseEndsThePause) {
  auto watcher = Start({seconds(50), std::chrono::hours(1), std::chrono::hours(1)});
  ASSERT_TRUE(Asked(1));
  Answer(Status::Unavailable("down"));
  // Not live before, not live now: no news; it pauses for an hour, then would ask again.
  ASSERT_TRUE(testing::WaitUntil([&] {
    std::lock_guard lock(shared_->mu);
    return shared_->answers.empty();
  }));
  watcher.reset();  // would hang for an hour if the pause were a plain sleep
  EXPECT_EQ(AskedWith().size(), 1u);
  EXPECT_EQ(notified_.load(), 0);
}

}  // namespace
}  // namespace taskfs::sync
