// The one place a Status becomes an errno for the kernel.
#pragma once

#include "storage/status.h"

namespace taskfs::fusefs {

// A positive errno for a failed Status (EIO for anything without a closer match).
int ToErrno(const Status& status);

// errno a writer gets from close()/fsync() when its save was not a valid task ("Bad message").
inline constexpr int kInvalidTaskErrno = 74;  // EBADMSG

}  // namespace taskfs::fusefs
