#include "sync/server/task_request.h"

#include "storage/task_validate.h"
#include "sync/server/task_json.h"

namespace taskfs::sync {

std::optional<TaskUpdate> ParseTaskUpdate(std::string_view body, RequestError* error) {
  const std::string expected = "{\"client_state\": null | {...}, \"base\": hash or null}";
  auto parsed = ParseRequestBody<nlohmann::ordered_json>(body, expected, error);
  if (!parsed) return std::nullopt;
  const nlohmann::ordered_json& request = *parsed;
  const bool has_base = request.contains("base") && !request["base"].is_null();
  if (!request.contains("client_state") || (has_base && !IsObjectId(request["base"]))) {
    *error = {400, "expected " + expected};
    return std::nullopt;
  }
  TaskUpdate update;
  if (has_base) update.base = request["base"].get<std::string>();
  if (!request["client_state"].is_null()) {
    auto text = TaskFromJson(request["client_state"]);
    if (!text.ok()) {
      *error = {400, text.status().message()};
      return std::nullopt;
    }
    if (Status st = storage::ValidateTask(*text); !st.ok()) {
      *error = {422, st.message()};
      return std::nullopt;
    }
    update.text = std::move(*text);
  }
  return update;
}

}  // namespace taskfs::sync
