// Status and Result<T>: how every taskfs module reports failure.
//
// A Status is cheap when ok (a null pointer); an error carries a code and a message meant for a
// user: it names the file or task, what was wrong, and what to do. No exception crosses a module
// boundary; functions that can fail return a Status or a Result<T>. Thread-safe: immutable.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>

namespace taskfs {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kNotFound,
    kAlreadyExists,
    kInvalidArgument,
    kConflict,
    kBusy,
    kSyncRunning,  // another sync of the store holds its sync lock: try again later
    kIOError,
    kCorruption,
    kUnavailable,
    kPermissionDenied,
    kNoSpace,
    kTooLarge,
    kRefused,  // a peer's commits broke the rules for incoming history: none of them was taken in
    kNotSupported,  // the other side cannot do this (an older server): do it another way
    kCancelled,     // stopped by a request from another thread
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status SyncRunning(std::string msg) {
    return Status(Code::kSyncRunning, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status PermissionDenied(std::string msg) {
    return Status(Code::kPermissionDenied, std::move(msg));
  }
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }
  static Status TooLarge(std::string msg) { return Status(Code::kTooLarge, std::move(msg)); }
  static Status Refused(std::string msg) { return Status(Code::kRefused, std::move(msg)); }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status Cancelled(std::string msg) { return Status(Code::kCancelled, std::move(msg)); }
  // Maps an errno value from a failed system call to a Status carrying `what` and strerror.
  static Status FromErrno(int err, const std::string& what);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  const std::string& message() const;
  // "not found: <message>", or "ok".
  std::string ToString() const;

 private:
  struct State {
    Code code;
    std::string message;
  };
  Status(Code code, std::string msg)
      : state_(std::make_shared<const State>(State{code, std::move(msg)})) {}
  std::shared_ptr<const State> state_;
};

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace taskfs

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define TASKFS_RETURN_IF_ERROR(expr) \
  do {                               \
    ::taskfs::Status _st = (expr);   \
    if (!_st.ok()) return _st;       \
  } while (0)
