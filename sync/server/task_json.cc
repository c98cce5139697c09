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

// `value` as TaskToJson gives it back: numbers and booleans as their text.
nlohmann::ordered_json AsTaskJson(const nlohmann::ordered_json& value) {
  if (value.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& [k, v] : value.items()) out[k] = AsTaskJson(v);
    return out;
  }
  if (value.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& v : value) out.push_back(AsTaskJson(v));
    return out;
  }
  if (value.is_number() || value.is_boolean()) return value.dump();
  return value;
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
  std::string text = std::string(out.c_str()) + "\n";
  // The task must read back as what was sent: a value a task cannot hold (a control character,
  // a lone carriage return the emitter writes bare) is refused, never stored changed.
  auto back = TaskToJson(text);
  if (!back.ok() || *back != AsTaskJson(task)) {
    return Status::InvalidArgument(
        "the task holds a value a YAML task cannot keep as it is (a control character?)" +
        (back.ok() ? std::string() : ": " + back.status().message()));
  }
  return text;
}

}  // namespace taskfs::sync
