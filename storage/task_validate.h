// Validation of a task file's content (taskfs(5)): any YAML mapping is a task; the known keys
// (title, status, priority, project, tags, due, depends, notes, conflicts) must have their types.
//
// Unknown keys are accepted as they are. Validation never changes the bytes. Thread-safe.
#pragma once

#include <string_view>

#include "storage/status.h"
#include "storage/task_limits.h"

namespace taskfs::storage {

// OK when `content` is a valid task (within storage/task_limits.h too); otherwise InvalidArgument
// with a message that says what is wrong and where ("line 3: status must be one of pending, active,
// ...").
Status ValidateTask(std::string_view content);

}  // namespace taskfs::storage
