#include "sync/merge/task_fields.h"

#include <set>

#include "storage/task_limits.h"

namespace taskfs::sync {
namespace {

// "?" (plain), "!" (quoted) and "" (null) all mean "no explicit tag".
std::string ExplicitTag(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "!" ? "" : tag;
}

// Whether yaml-cpp's literal block gives back exactly `s`. It only writes clip chomping (`|`),
// so strings without exactly one final newline, or starting with a space, need quotes.
bool LiteralKeepsExact(const std::string& s) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "x" << YAML::Value << YAML::Literal << s;
  out << YAML::Key << "y" << YAML::Value << "z" << YAML::EndMap;  // as in a task: more follows
  if (!out.good()) return false;
  try {
    YAML::Node back = YAML::Load(out.c_str());
    return back["x"].IsScalar() && back["x"].Scalar() == s;
  } catch (const YAML::Exception&) {
    return false;
  }
}

void EmitValue(YAML::Emitter& out, const YAML::Node& node, bool in_flow) {
  if (std::string tag = ExplicitTag(node); !tag.empty()) out << YAML::VerbatimTag(tag);
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (!in_flow && s.find('\n') != std::string::npos && LiteralKeepsExact(s)) {
        out << YAML::Literal;
      }
      out << s;  // otherwise yaml-cpp picks plain or double quotes, whichever is exact
      break;
    }
    case YAML::NodeType::Sequence: {
      const bool flow = in_flow || IsScalarList(node);
      out << (flow ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
      for (const auto& item : node) EmitValue(out, item, flow);
      out << YAML::EndSeq;
      break;
    }
    case YAML::NodeType::Map:
      out << (in_flow ? YAML::Flow : YAML::Block) << YAML::BeginMap;
      for (const auto& kv : node) {
        out << YAML::Key;
        EmitValue(out, kv.first, in_flow);
        out << YAML::Value;
        EmitValue(out, kv.second, in_flow);
      }
      out << YAML::EndMap;
      break;
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::optional<TaskFields> ParseTaskFields(const std::string& content) {
  // Aliases would make walking the fields cost what they expand to: such a file goes to the line
  // merge, whose cost is its size.
  if (!storage::CheckTaskLimits(content).ok()) return std::nullopt;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(content);
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  // A second document would be lost by a field merge: leave such files to the line merge.
  if (docs.size() != 1 || !docs[0].IsMap()) return std::nullopt;
  TaskFields fields;
  std::set<std::string> seen;
  for (const auto& kv : docs[0]) {
    if (!kv.first.IsScalar() || !seen.insert(kv.first.Scalar()).second) return std::nullopt;
    fields.emplace_back(kv.first.Scalar(), kv.second);
  }
  return fields;
}

std::optional<YAML::Node> FindField(const TaskFields& fields, const std::string& key) {
  for (const auto& [k, v] : fields) {
    if (k == key) return v;
  }
  return std::nullopt;
}

bool SameValue(const YAML::Node& a, const YAML::Node& b) {
  if (a.Type() != b.Type() || ExplicitTag(a) != ExplicitTag(b)) return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!SameValue(a[i], b[i])) return false;
      }
      return true;
    case YAML::NodeType::Map:
      // Keys may be any node in nested maps: match entries by meaning, order aside.
      if (a.size() != b.size()) return false;
      for (const auto& kv : a) {
        bool found = false;
        for (const auto& other : b) {
          if (SameValue(kv.first, other.first)) {
            found = SameValue(kv.second, other.second);
            break;
          }
        }
        if (!found) return false;
      }
      return true;
    default:
      return true;
  }
}

bool SameFields(const TaskFields& a, const TaskFields& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a) {
    std::optional<YAML::Node> other = FindField(b, key);
    if (!other || !SameValue(value, *other)) return false;
  }
  return true;
}

bool IsScalarList(const YAML::Node& node) {
  if (!node.IsSequence()) return false;
  for (const auto& item : node) {
    if (!item.IsScalar()) return false;
  }
  return true;
}

std::string EmitTaskFields(const TaskFields& fields) {
  YAML::Emitter out;
  out << YAML::Block << YAML::BeginMap;
  for (const auto& [key, value] : fields) {
    out << YAML::Key << key << YAML::Value;
    EmitValue(out, value, /*in_flow=*/false);
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace taskfs::sync
