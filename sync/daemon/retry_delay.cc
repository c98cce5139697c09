#include "sync/daemon/retry_delay.h"

#include <algorithm>
#include <cstdint>

namespace taskfs::sync {

std::chrono::milliseconds RetryDelay(Status::Code failure, int failures,
                                     std::chrono::milliseconds max_backoff, double jitter) {
  using std::chrono::milliseconds;
  const bool refused = failure == Status::Code::kPermissionDenied;
  const milliseconds first = refused ? milliseconds(kFirstAuthRetry) : milliseconds(1000);
  const milliseconds cap =
      refused ? std::max<milliseconds>(kMaxAuthRetry, max_backoff) : max_backoff;
  const int doublings = std::clamp(failures - 1, 0, 20);
  const milliseconds delay = std::min<milliseconds>(cap, first * (int64_t{1} << doublings));
  return milliseconds(static_cast<int64_t>(static_cast<double>(delay.count()) * jitter));
}

}  // namespace taskfs::sync
