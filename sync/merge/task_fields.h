// TaskFields: a task file seen as its top-level keys and YAML values, for the field merge.
//
// Internal to sync/ (merge_task.cc): it exposes yaml-cpp types. Values are compared by meaning
// (quoting and layout don't count, explicit tags do) and written back in taskfs's layout: block
// maps, flow lists of scalars, literal blocks for multi-line strings. Thread-safe: no state.
//
// Beware: YAML::Node's operator= writes through to the node it refers to, which may belong to a
// parsed side. Rebind a handle with reset(), and build new values instead of assigning.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace taskfs::sync {

// A task's top-level keys and values, in file order.
using TaskFields = std::vector<std::pair<std::string, YAML::Node>>;

// The fields of `content` when it is a YAML mapping with distinct plain-string keys within the
// task limits (storage/task_limits.h); nullopt when it is not (broken YAML, a list, a duplicate
// key, an alias...), which sends it to the line merge.
std::optional<TaskFields> ParseTaskFields(const std::string& content);

// The value of `key`, or nullopt when the key is absent.
std::optional<YAML::Node> FindField(const TaskFields& fields, const std::string& key);

// Same meaning: same kind, same scalars, same items in the same order, same map entries in any
// order. Quoting style does not count; explicit tags (`!foo`) do.
bool SameValue(const YAML::Node& a, const YAML::Node& b);
// Same keys with the same values, in any order.
bool SameFields(const TaskFields& a, const TaskFields& b);

// A sequence whose items are all scalars (an empty sequence is one).
bool IsScalarList(const YAML::Node& node);

// `fields` as a task file: block mapping in the given key order, lists of scalars in flow style
// ([a, b]), multi-line strings as literal blocks when that keeps them exact. Ends with '\n'.
std::string EmitTaskFields(const TaskFields& fields);

}  // namespace taskfs::sync
