#include "storage/task_validate.h"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <set>
#include <string>

namespace taskfs::storage {
namespace {

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? "line " + std::to_string(mark.line + 1) + ": " : "";
}

bool IsString(const YAML::Node& n) { return n.IsScalar(); }

Status CheckStringList(const std::string& key, const YAML::Node& value) {
  if (!value.IsSequence()) {
    return Status::InvalidArgument(Where(value) + key + " must be a list of strings, e.g. " + key +
                                   ": [a, b]");
  }
  for (const auto& item : value) {
    if (!item.IsScalar()) {
      return Status::InvalidArgument(Where(item) + "every item of " + key + " must be a string");
    }
  }
  return Status::OK();
}

Status CheckOneOf(const std::string& key, const YAML::Node& value,
                  const std::set<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  if (!value.IsScalar() || !allowed.count(value.Scalar())) {
    return Status::InvalidArgument(Where(value) + key + " must be one of " + list);
  }
  return Status::OK();
}

Status CheckDate(const YAML::Node& value) {
  // ISO 8601 date, or date-time with optional seconds, fraction and zone.
  static const std::regex kIso(
      R"(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)");
  if (!value.IsScalar() || !std::regex_match(value.Scalar(), kIso)) {
    return Status::InvalidArgument(Where(value) +
                                   "due must be an ISO 8601 date or date-time, e.g. 2026-11-30 "
                                   "or 2026-11-30T17:00");
  }
  return Status::OK();
}

Status CheckKey(const std::string& key, const YAML::Node& value) {
  if (key == "title" || key == "project" || key == "notes") {
    if (!IsString(value)) {
      return Status::InvalidArgument(Where(value) + key + " must be a string");
    }
  } else if (key == "status") {
    return CheckOneOf(key, value, {"pending", "active", "waiting", "done", "cancelled"});
  } else if (key == "priority") {
    return CheckOneOf(key, value, {"H", "M", "L"});
  } else if (key == "tags" || key == "depends") {
    return CheckStringList(key, value);
  } else if (key == "due") {
    return CheckDate(value);
  } else if (key == "conflicts") {
    if (!value.IsSequence()) {
      return Status::InvalidArgument(Where(value) + "conflicts must be a list (written by sync)");
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidateTask(std::string_view content) {
  TASKFS_RETURN_IF_ERROR(CheckTaskLimits(content));
  YAML::Node root;
  try {
    root = YAML::Load(std::string(content));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("not valid YAML: line " + std::to_string(e.mark.line + 1) +
                                   ": " + e.msg);
  }
  if (!root.IsMap()) {
    return Status::InvalidArgument(
        "a task must be a YAML mapping of keys to values (e.g. 'title: Buy milk')");
  }
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) {
      return Status::InvalidArgument(Where(kv.first) + "keys must be plain strings");
    }
    TASKFS_RETURN_IF_ERROR(CheckKey(kv.first.Scalar(), kv.second));
  }
  return Status::OK();
}

}  // namespace taskfs::storage
