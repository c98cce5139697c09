// Tasks as JSON, for taskfs-server's interchange with clients that don't speak git: a task's
// YAML mapping becomes a JSON object and back. Scalars become JSON strings (YAML does not say
// whether `5` is a number or a string; taskfs keeps the text), lists become arrays, mappings
// objects. From JSON, numbers and booleans become their text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "storage/status.h"

namespace taskfs::sync {

Result<nlohmann::ordered_json> TaskToJson(const std::string& yaml);
// YAML text for a JSON object (block style, keys in the order they came).
Result<std::string> TaskFromJson(const nlohmann::ordered_json& task);

}  // namespace taskfs::sync
