// The JSON requests of taskfs-server, decoded and checked before anything acts on them: pure
// functions (also fuzzed: tests/fuzz/fuzz_task_request.cc). Every field is checked: object ids
// are 40 lower-case hex digits, JSON nests no deeper than a task may (storage/task_limits.h),
// and a task's content passes ValidateTask. Thread-safe: no state.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "storage/task_limits.h"

namespace taskfs::sync {

// A request that cannot be taken: the HTTP status (400 malformed, 422 not a valid task) and why.
struct RequestError {
  int http_status = 400;
  std::string message;
};

// A git object id as the protocol writes it: 40 lower-case hex digits.
template <class Json>
bool IsObjectId(const Json& value) {
  if (!value.is_string()) return false;
  const std::string& s = value.template get_ref<const std::string&>();
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The JSON object in `body`, or a 400 naming `expected` when it is not JSON, not an object, or
// nests deeper than a task may (the body and its task object hold the task's own levels).
template <class Json = nlohmann::json>
std::optional<Json> ParseRequestBody(std::string_view body, const std::string& expected,
                                     RequestError* error) {
  int deepest = 0;
  Json parsed = Json::parse(
      body,
      [&](int depth, typename Json::parse_event_t, Json&) {
        deepest = std::max(deepest, depth);
        return true;
      },
      /*allow_exceptions=*/false);
  if (deepest > storage::kMaxTaskDepth + 2) {
    *error = {400, "the JSON is nested more than " + std::to_string(storage::kMaxTaskDepth) +
                       " deep; expected " + expected};
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    *error = {400, "expected " + expected};
    return std::nullopt;
  }
  return parsed;
}

// POST /task/NAME: {"client_state": null | {...}, "base": null | hash}.
struct TaskUpdate {
  std::optional<std::string> text;  // the task as YAML; nullopt: delete it
  std::optional<std::string> base;  // the hash of the version the client started from
};
std::optional<TaskUpdate> ParseTaskUpdate(std::string_view body, RequestError* error);

}  // namespace taskfs::sync
