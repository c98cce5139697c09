// Fuzzes the decoding of taskfs-server's JSON requests (POST /task/NAME's body): any bytes give
// either a task update whose text is a valid task, or a 400/422 with a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/task_validate.h"
#include "sync/server/task_json.h"
#include "sync/server/task_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  taskfs::sync::RequestError error;
  auto update = taskfs::sync::ParseTaskUpdate(body, &error);
  if (!update) {
    if ((error.http_status != 400 && error.http_status != 422) || error.message.empty()) {
      std::abort();
    }
    return 0;
  }
  if (update->base && update->base->size() != 40) std::abort();
  if (update->text) {
    if (!taskfs::storage::ValidateTask(*update->text).ok()) std::abort();
    // What the server answers with: the stored task back as JSON.
    (void)taskfs::sync::TaskToJson(*update->text);
  }
  return 0;
}
