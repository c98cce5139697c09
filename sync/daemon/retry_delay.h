// How long the daemon waits before it tries a failing remote again. A pure function, so that
// tests check the schedule without waiting it out.
//
// An ordinary failure (the remote unreachable, a server busy, a full disk) waits 1 s, doubling
// to `max_backoff`. A refusal of our credentials (PermissionDenied: a wrong or revoked key, a
// wrong password, a changed host key) does not heal by itself, and every try may count against
// us (sshd's MaxAuthTries, fail2ban, a forge locking an account after failed logins): it waits
// 60 s, doubling to 30 minutes (or to `max_backoff` when that is longer). `jitter`, in
// [0.8, 1.2], spreads daemons that failed together.
#pragma once

#include <chrono>

#include "storage/status.h"

namespace taskfs::sync {

inline constexpr std::chrono::seconds kFirstAuthRetry{60};
inline constexpr std::chrono::minutes kMaxAuthRetry{30};

// `failures`: in a row, this one included (>= 1).
std::chrono::milliseconds RetryDelay(Status::Code failure, int failures,
                                     std::chrono::milliseconds max_backoff, double jitter);

}  // namespace taskfs::sync
