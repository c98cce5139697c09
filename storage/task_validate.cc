#include "storage/task_validate.h"

#include <regex>
#include <set>
#include <string>

#include "storage/task_events.h"

namespace taskfs::storage {
namespace {

std::string Where(const YAML::Mark& mark) {
  return mark.line >= 0 ? "line " + std::to_string(mark.line + 1) + ": " : "";
}

bool IsIsoDate(const std::string& text) {
  // ISO 8601 date, or date-time with optional seconds, fraction and zone.
  static const std::regex kIso(
      R"(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)");
  return std::regex_match(text, kIso);
}

// Checks the known keys of the root mapping from the parser's events, as they pass (no node tree
// is built): the root must be a mapping, its keys plain strings, and each known key's value of its
// type. Remembers the first problem, in document order.
class KnownKeysChecker : public YAML::EventHandler {
 public:
  Status result() const {
    if (!saw_root_) return NotAMapping();
    return first_error_;
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    Node(Kind::kNull, mark, nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Node(Kind::kNull, mark, nullptr);  // never reached: the limits refuse aliases first
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Node(Kind::kScalar, mark, &value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(Kind::kSequence, mark, nullptr);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(Kind::kMap, mark, nullptr);
  }
  void OnMapEnd() override { Close(); }

 private:
  enum class Kind { kNull, kScalar, kSequence, kMap };

  static Status NotAMapping() {
    return Status::InvalidArgument(
        "a task must be a YAML mapping of keys to values (e.g. 'title: Buy milk')");
  }

  // depth_: collections open around the node that starts (0: the document's root).
  void Node(Kind kind, const YAML::Mark& mark, const std::string* scalar) {
    if (depth_ == 0 && !saw_root_) {
      saw_root_ = true;
      root_is_map_ = kind == Kind::kMap;
      if (!root_is_map_) Fail(NotAMapping());
    } else if (depth_ == 1 && root_is_map_) {
      if (expect_key_) {
        Key(kind, mark, scalar);
      } else {
        Value(kind, mark, scalar);
      }
    } else if (depth_ == 2 && root_is_map_ && checking_items_of_ != nullptr &&
               kind != Kind::kScalar) {
      Fail(Status::InvalidArgument(Where(mark) + "every item of " + *checking_items_of_ +
                                   " must be a string"));
    }
    if (kind == Kind::kSequence || kind == Kind::kMap) {
      ++depth_;
    } else {
      Done();
    }
  }

  void Close() {
    --depth_;
    Done();
  }

  // A node at depth_ is complete: in the root mapping, a key is followed by its value.
  void Done() {
    if (depth_ != 1 || !root_is_map_) return;
    if (!expect_key_) checking_items_of_ = nullptr;
    expect_key_ = !expect_key_;
  }

  void Key(Kind kind, const YAML::Mark& mark, const std::string* scalar) {
    if (kind != Kind::kScalar) {
      key_.clear();
      Fail(Status::InvalidArgument(Where(mark) + "keys must be plain strings"));
      return;
    }
    key_ = *scalar;
  }

  void Value(Kind kind, const YAML::Mark& mark, const std::string* scalar) {
    const bool is_scalar = kind == Kind::kScalar;
    if (key_ == "title" || key_ == "project" || key_ == "notes") {
      if (!is_scalar) Fail(Status::InvalidArgument(Where(mark) + key_ + " must be a string"));
    } else if (key_ == "status") {
      OneOf(mark, scalar, {"pending", "active", "waiting", "done", "cancelled"});
    } else if (key_ == "priority") {
      OneOf(mark, scalar, {"H", "M", "L"});
    } else if (key_ == "tags" || key_ == "depends") {
      if (kind == Kind::kSequence) {
        checking_items_of_ = &key_;
      } else {
        Fail(Status::InvalidArgument(Where(mark) + key_ + " must be a list of strings, e.g. " +
                                     key_ + ": [a, b]"));
      }
    } else if (key_ == "due") {
      if (!is_scalar || !IsIsoDate(*scalar)) {
        Fail(Status::InvalidArgument(Where(mark) +
                                     "due must be an ISO 8601 date or date-time, e.g. 2026-11-30 "
                                     "or 2026-11-30T17:00"));
      }
    } else if (key_ == "conflicts") {
      if (kind != Kind::kSequence) {
        Fail(Status::InvalidArgument(Where(mark) + "conflicts must be a list (written by sync)"));
      }
    }
  }

  void OneOf(const YAML::Mark& mark, const std::string* scalar,
             const std::set<std::string>& allowed) {
    if (scalar && allowed.count(*scalar)) return;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    Fail(Status::InvalidArgument(Where(mark) + key_ + " must be one of " + list));
  }

  void Fail(Status status) {
    if (first_error_.ok()) first_error_ = std::move(status);
  }

  int depth_ = 0;
  bool saw_root_ = false;
  bool root_is_map_ = false;
  bool expect_key_ = true;
  std::string key_;                                // the root key whose value comes next
  const std::string* checking_items_of_ = nullptr;  // &key_ inside a tags/depends list
  Status first_error_ = Status::OK();
};

}  // namespace

Status ValidateTask(std::string_view content) {
  KnownKeysChecker checker;
  std::string syntax_error;
  TASKFS_RETURN_IF_ERROR(ReadTaskEvents(content, &checker, &syntax_error));
  if (!syntax_error.empty()) return Status::InvalidArgument("not valid YAML: " + syntax_error);
  return checker.result();
}

}  // namespace taskfs::storage
