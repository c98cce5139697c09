// TaskEvents: the one pass of yaml-cpp's parser over a task that both the limits check
// (task_limits.h) and validation (task_validate.h) stand on, so a save is parsed once.
//
// Private to storage/. Pure function; thread-safe.
#pragma once

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>

#include <string>
#include <string_view>

#include "storage/status.h"

namespace taskfs::storage {

// Reads the YAML events of `content` once, enforcing CheckTaskLimits' rules, and hands every
// event to `observer` (nullptr: none) after it passed them. Returns the limit it broke, if any.
// Content that is not YAML breaks no limit: then *syntax_error (when given) says where and why
// ("line 3: ..."), and the events seen before the error were handed on.
Status ReadTaskEvents(std::string_view content, YAML::EventHandler* observer,
                      std::string* syntax_error);

}  // namespace taskfs::storage
