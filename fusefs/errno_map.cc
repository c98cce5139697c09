#include "fusefs/errno_map.h"

#include <cerrno>

namespace taskfs::fusefs {

static_assert(kInvalidTaskErrno == EBADMSG);

int ToErrno(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kInvalidArgument:
    case Code::kRefused:
      return EINVAL;
    case Code::kConflict:
    case Code::kBusy:
    case Code::kSyncRunning:
      return EBUSY;
    case Code::kPermissionDenied:
      return EACCES;
    case Code::kNoSpace:
      return ENOSPC;
    case Code::kTooLarge:
      return EFBIG;
    case Code::kNotSupported:
      return ENOTSUP;
    case Code::kCancelled:
      return EINTR;
    case Code::kUnavailable:
    case Code::kCorruption:
    case Code::kIOError:
      return EIO;
  }
  return EIO;
}

}  // namespace taskfs::fusefs
