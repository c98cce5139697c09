#include "sync/server/task_json.h"

#include <yaml-cpp/yaml.h>

#include "storage/task_limits.h"

namespace taskfs::sync {
namespace {

nlohmann::ordered_json ToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = ToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& item : node) out.push_back(ToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return node.Scalar();
    default:
      return nullptr;
  }
}

YAML::Node ToYaml(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::object: {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& [k, v] : value.items()) out[k] = ToYaml(v);
      return out;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& v : value) out.push_back(ToYaml(v));
      return out;
    }
    case nlohmann::json::value_t::string:
      return YAML::Node(value.get<std::string>());
    case nlohmann::json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    default:
      return YAML::Node(value.dump());  // numbers and booleans: their text
  }
}

}  // namespace

Result<nlohmann::ordered_json> TaskToJson(const std::string& yaml) {
  TASKFS_RETURN_IF_ERROR(storage::CheckTaskLimits(yaml));
  try {
    YAML::Node node = YAML::Load(yaml);
    if (!node.IsMap()) return Status::InvalidArgument("the task is not a YAML mapping");
    return ToJson(node);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("the task is not valid YAML: ") + e.what());
  }
}

Result<std::string> TaskFromJson(const nlohmann::ordered_json& task) {
  if (!task.is_object()) return Status::InvalidArgument("a task must be a JSON object");
  YAML::Emitter out;
  out << ToYaml(task);
  if (!out.good()) return Status::InvalidArgument(out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace taskfs::sync
