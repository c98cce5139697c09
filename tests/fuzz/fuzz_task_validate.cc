// Fuzzes task validation: the YAML a user saves through the mount or a peer sends. Whatever the
// bytes, ValidateTask and the limits check answer, in time linear in the size, and a task they
// accept can be walked field by field (no alias can expand it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "storage/task_limits.h"
#include "storage/task_validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const taskfs::Status limits = taskfs::storage::CheckTaskLimits(text);
  const taskfs::Status valid = taskfs::storage::ValidateTask(text);
  if (valid.ok() && !limits.ok()) std::abort();  // validation applies the limits
  taskfs::storage::EscapeForDisplay(valid.message());
  return 0;
}
