#include "sync/merge/conflicts.h"

#include <yaml-cpp/yaml.h>

#include "storage/task_name.h"

namespace taskfs::sync {

std::vector<ConflictedTask> FindConflicts(const storage::Snapshot& tree) {
  std::vector<ConflictedTask> found;
  tree.ForEachFile([&](const std::string& path, const storage::FileEntry& fe) {
    if (size_t at = path.rfind(".conflict-"); at != std::string::npos && path.ends_with(".yaml")) {
      found.push_back({path, {}, path.substr(0, at) + ".yaml"});
      return;
    }
    if (!storage::IsTaskPath(path)) return;
    auto content = tree.Content(path, fe);
    if (!content.ok() || (*content)->find("conflicts") == std::string::npos) return;
    try {
      YAML::Node task = YAML::Load(**content);
      if (!task.IsMap() || !task["conflicts"] || !task["conflicts"].IsSequence()) return;
      ConflictedTask ct{path, {}, ""};
      for (const auto& record : task["conflicts"]) {
        ConflictRecord r;
        if (record.IsMap()) {
          if (record["key"]) r.key = YAML::Dump(record["key"]);
          if (record["value"]) r.value = YAML::Dump(record["value"]);
          if (record["by"]) r.by = YAML::Dump(record["by"]);
          if (record["at"]) r.at = YAML::Dump(record["at"]);
        } else {
          r.value = YAML::Dump(record);
        }
        ct.records.push_back(std::move(r));
      }
      found.push_back(std::move(ct));
    } catch (const YAML::Exception&) {
      // Not valid YAML: not a task with a conflicts record.
    }
  });
  return found;
}

}  // namespace taskfs::sync
