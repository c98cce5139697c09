#include "storage/status.h"

#include <cerrno>
#include <cstring>

namespace taskfs {

Status Status::FromErrno(int err, const std::string& what) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFound(msg);
    case EEXIST:
      return AlreadyExists(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDenied(msg);
    case ENOSPC:
    case EDQUOT:
      return NoSpace(msg);
    case EFBIG:
      return TooLarge(msg);
    case EBUSY:
    case EAGAIN:
      return Busy(msg);
    case EINVAL:
    case ENAMETOOLONG:
      return InvalidArgument(msg);
    default:
      return IOError(msg);
  }
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  const char* kind = "error";
  switch (state_->code) {
    case Code::kOk:
      kind = "ok";
      break;
    case Code::kNotFound:
      kind = "not found";
      break;
    case Code::kAlreadyExists:
      kind = "already exists";
      break;
    case Code::kInvalidArgument:
      kind = "invalid";
      break;
    case Code::kConflict:
      kind = "conflict";
      break;
    case Code::kBusy:
    case Code::kSyncRunning:
      kind = "busy";
      break;
    case Code::kIOError:
      kind = "I/O error";
      break;
    case Code::kCorruption:
      kind = "corrupt";
      break;
    case Code::kUnavailable:
      kind = "unavailable";
      break;
    case Code::kPermissionDenied:
      kind = "permission denied";
      break;
    case Code::kNoSpace:
      kind = "no space";
      break;
    case Code::kTooLarge:
      kind = "too large";
      break;
    case Code::kRefused:
      kind = "refused";
      break;
    case Code::kNotSupported:
      kind = "not supported";
      break;
    case Code::kCancelled:
      kind = "cancelled";
      break;
  }
  return std::string(kind) + ": " + state_->message;
}

}  // namespace taskfs
