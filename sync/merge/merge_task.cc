#include "sync/merge/merge_task.h"

#include <algorithm>
#include <ctime>
#include <tuple>
#include <vector>

#include "storage/task_merger.h"
#include "sync/merge/task_fields.h"
#include "sync/merge/task_text_patch.h"

namespace taskfs::sync {
namespace {

constexpr char kConflictsKey[] = "conflicts";

using Value = std::optional<YAML::Node>;  // nullopt: the key is absent

// One side of a merge of two present, different versions.
struct Side {
  const std::string& text;
  const SideInfo& info;
};

// The conflict rule: the later commit wins, ties go to the greater client id. The bytes break the
// last tie so that the choice never depends on which side is "ours".
bool Wins(const Side& a, const Side& b) {
  return std::tie(a.info.time, a.info.client_id, a.text) >
         std::tie(b.info.time, b.info.client_id, b.text);
}

std::string IsoTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TaskMergeResult Take(const std::optional<std::string>& content) {
  TaskMergeResult result;
  result.content = content;
  return result;
}

bool Same(const Value& a, const Value& b) {
  return a.has_value() == b.has_value() && (!a || SameValue(*a, *b));
}

bool IsText(const std::string& key, const YAML::Node& w, const YAML::Node& l) {
  if (!w.IsScalar() || !l.IsScalar()) return false;
  return key == "notes" || w.Scalar().find('\n') != std::string::npos ||
         l.Scalar().find('\n') != std::string::npos;
}

// The items of a value taken as a list: absent or null is empty, a non-list is one item.
std::vector<YAML::Node> ItemsOf(const Value& value) {
  if (!value || value->IsNull()) return {};
  if (!value->IsSequence()) return {*value};
  return {value->begin(), value->end()};
}

bool Contains(const std::vector<YAML::Node>& items, const YAML::Node& item) {
  for (const auto& i : items) {
    if (SameValue(i, item)) return true;
  }
  return false;
}

// Set merge: base items both sides kept, in base order, then the winner's additions, then the
// loser's, each once.
std::vector<YAML::Node> MergeSets(const std::vector<YAML::Node>& base,
                                  const std::vector<YAML::Node>& w,
                                  const std::vector<YAML::Node>& l) {
  std::vector<YAML::Node> out;
  for (const auto& item : base) {
    if (Contains(w, item) && Contains(l, item) && !Contains(out, item)) out.push_back(item);
  }
  for (const auto* side : {&w, &l}) {
    for (const auto& item : *side) {
      if (!Contains(base, item) && !Contains(out, item)) out.push_back(item);
    }
  }
  return out;
}

YAML::Node ListOf(const std::vector<YAML::Node>& items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& item : items) list.push_back(YAML::Clone(item));
  return list;
}

// Merges the values of one key. A value the conflict rule throws away is appended to `lost` as a
// conflict record.
Value MergeValue(const std::string& key, const Value& b, const Value& w, const Value& l,
                 const SideInfo& loser, std::vector<YAML::Node>& lost) {
  if (Same(w, l) || Same(l, b)) return w;
  if (Same(w, b)) return l;
  if (key == kConflictsKey) {
    // Records merge as a set, and a missing key is an empty set, so a record the user resolved
    // on one side stays resolved whatever the other side added.
    std::vector<YAML::Node> records = MergeSets(ItemsOf(b), ItemsOf(w), ItemsOf(l));
    return records.empty() ? Value() : ListOf(records);
  }
  if (!w) return l;  // removed on one side, changed on the other: the change stays
  if (!l) return w;
  if (IsScalarList(*w) && IsScalarList(*l)) {
    std::vector<YAML::Node> base_items;
    if (b && IsScalarList(*b)) base_items = ItemsOf(b);
    return ListOf(MergeSets(base_items, ItemsOf(w), ItemsOf(l)));
  }
  if (IsText(key, *w, *l)) {
    const std::string base_text = b && b->IsScalar() ? b->Scalar() : "";
    if (auto merged = storage::MergeLines(base_text, w->Scalar(), l->Scalar())) {
      return YAML::Node(*merged);
    }
  }
  YAML::Node record(YAML::NodeType::Map);
  record["key"] = key;
  record["value"] = YAML::Clone(*l);
  record["by"] = loser.author;
  record["at"] = IsoTime(loser.time);
  lost.push_back(record);
  return w;
}

struct FieldMerge {
  TaskFields fields;
  int conflicts = 0;
};

// Key by key over the union of keys: base order, then keys new on the winner's side, then on the
// loser's. Conflict records of this merge are appended to `conflicts` (at the end if new).
FieldMerge MergeFields(const TaskFields& base, const TaskFields& w, const TaskFields& l,
                       const SideInfo& loser) {
  std::vector<std::string> keys;
  for (const auto* fields : {&base, &w, &l}) {
    for (const auto& [key, value] : *fields) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  FieldMerge out;
  std::vector<YAML::Node> lost;
  for (const auto& key : keys) {
    Value v =
        MergeValue(key, FindField(base, key), FindField(w, key), FindField(l, key), loser, lost);
    if (v) out.fields.emplace_back(key, *v);
  }
  out.conflicts = static_cast<int>(lost.size());
  if (lost.empty()) return out;
  auto it = std::find_if(out.fields.begin(), out.fields.end(),
                         [](const auto& kv) { return kv.first == kConflictsKey; });
  if (it == out.fields.end()) {
    out.fields.emplace_back(kConflictsKey, ListOf(lost));
  } else {
    std::vector<YAML::Node> records = ItemsOf(it->second);
    records.insert(records.end(), lost.begin(), lost.end());
    it->second.reset(ListOf(records));  // rebinds; operator= would write into a side's tree
  }
  return out;
}

// Both sides present and different; `w` wins the conflict rule over `l`.
TaskMergeResult MergeBoth(const std::optional<std::string>& base, const Side& w, const Side& l) {
  const std::optional<std::string> text = storage::MergeLines(base.value_or(""), w.text, l.text);
  const std::optional<TaskFields> w_fields = ParseTaskFields(w.text);
  const std::optional<TaskFields> l_fields = ParseTaskFields(l.text);
  if (!w_fields || !l_fields) {
    if (text) return Take(text);
    TaskMergeResult both = Take(w.text);
    both.conflict_copy = l.text;
    return both;
  }
  // A base that is not a mapping says nothing about keys: merge as if both sides created them.
  const TaskFields base_fields =
      base ? ParseTaskFields(*base).value_or(TaskFields{}) : TaskFields{};
  FieldMerge merged = MergeFields(base_fields, *w_fields, *l_fields, l.info);

  // Prefer bytes a user wrote, so comments and layout survive, whenever they mean the result.
  TaskMergeResult result;
  result.conflicts = merged.conflicts;
  std::optional<TaskFields> text_fields = text ? ParseTaskFields(*text) : std::nullopt;
  if (text_fields && SameFields(*text_fields, merged.fields)) {
    result.content = *text;
  } else if (SameFields(*w_fields, merged.fields)) {
    result.content = w.text;
  } else if (SameFields(*l_fields, merged.fields)) {
    result.content = l.text;
  } else if (auto patched = PatchTaskText(w.text, *w_fields, l.text, *l_fields, merged.fields)) {
    result.content = *patched;
  } else {
    result.content = EmitTaskFields(merged.fields);
  }
  return result;
}

}  // namespace

TaskMergeResult MergeTask(const std::optional<std::string>& base,
                          const std::optional<std::string>& ours, const SideInfo& ours_info,
                          const std::optional<std::string>& theirs, const SideInfo& theirs_info) {
  if (ours == theirs || theirs == base) return Take(ours);
  if (ours == base) return Take(theirs);
  if (!ours) return Take(theirs);  // deleted on one side, edited on the other: the edit stays
  if (!theirs) return Take(ours);
  const Side o{*ours, ours_info};
  const Side t{*theirs, theirs_info};
  // Everything below sees the sides as (winner, loser), never as (ours, theirs): swapping the
  // arguments cannot change a byte of the result.
  return Wins(o, t) ? MergeBoth(base, o, t) : MergeBoth(base, t, o);
}

}  // namespace taskfs::sync
