#include "storage/task_limits.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <sstream>

#include "storage/task_events.h"
#include "storage/task_name.h"

namespace taskfs::storage {
namespace {

// Thrown by LimitsHandler to stop the parser at the first event past a limit.
struct LimitExceeded {
  std::string message;
};

std::string LineOf(const YAML::Mark& mark) {
  return mark.line >= 0 ? "line " + std::to_string(mark.line + 1) + ": " : "";
}

// Follows the parser's events: refuses anchors and aliases, counts the nesting, and remembers
// the last quoted scalar (see UnterminatedQuote); hands every event it let pass to `observer_`.
class LimitsHandler : public YAML::EventHandler {
 public:
  explicit LimitsHandler(YAML::EventHandler* observer) : observer_(observer ? observer : &none_) {}

  void OnDocumentStart(const YAML::Mark& mark) override { observer_->OnDocumentStart(mark); }
  void OnDocumentEnd() override { observer_->OnDocumentEnd(); }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node(mark, anchor);
    observer_->OnNull(mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    throw LimitExceeded{LineOf(mark) + "YAML aliases (*name) are not allowed in a task"};
  }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override { Refuse(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node(mark, anchor);
    if (tag == "!") last_quoted_ = mark;  // yaml-cpp's tag for a quoted scalar
    observer_->OnScalar(mark, tag, anchor, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    Open(mark, anchor);
    observer_->OnSequenceStart(mark, tag, anchor, style);
  }
  void OnSequenceEnd() override {
    --depth_;
    observer_->OnSequenceEnd();
  }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    Open(mark, anchor);
    observer_->OnMapStart(mark, tag, anchor, style);
  }
  void OnMapEnd() override {
    --depth_;
    observer_->OnMapEnd();
  }

  const YAML::Mark& last_quoted() const { return last_quoted_; }

 private:
  // Takes the events when nobody else wants them.
  struct NoObserver : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };

  static void Refuse(const YAML::Mark& mark) {
    throw LimitExceeded{LineOf(mark) + "YAML anchors (&name) are not allowed in a task"};
  }
  static void Node(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) Refuse(mark);
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Node(mark, anchor);
    if (++depth_ > kMaxTaskDepth) {
      throw LimitExceeded{LineOf(mark) + "lists and maps nested more than " +
                          std::to_string(kMaxTaskDepth) + " deep"};
    }
  }

  NoObserver none_;
  YAML::EventHandler* observer_;
  int depth_ = 0;
  YAML::Mark last_quoted_ = YAML::Mark::null_mark();
};

// yaml-cpp accepts a quoted scalar that the end of the file cuts off (`pad: "`). Only the last
// quoted scalar can be so cut: true when the quote that opens it at `pos` is never closed.
bool UnterminatedQuote(std::string_view content, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) >= content.size()) return false;
  const char quote = content[pos];
  if (quote != '"' && quote != '\'') return false;
  for (size_t i = pos + 1; i < content.size(); ++i) {
    if (quote == '"' && content[i] == '\\') {
      ++i;  // an escaped character, a quote included
    } else if (content[i] == quote) {
      if (quote == '\'' && i + 1 < content.size() && content[i + 1] == '\'') {
        ++i;  // '' is a quote inside a single-quoted scalar
      } else {
        return false;
      }
    }
  }
  return true;
}

// The length of the UTF-8 sequence at the start of `s` if it is valid and not a control
// character (C1: U+0080..U+009F), else 0.
size_t PrintableUtf8Length(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x20 || c == 0x7f) return 0;
  if (c < 0x80) return 1;
  const size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || len > s.size() || !IsValidUtf8(s.substr(0, len))) return 0;
  if (c == 0xc2 && static_cast<unsigned char>(s[1]) < 0xa0) return 0;  // C1 control
  return len;
}

}  // namespace

Status ReadTaskEvents(std::string_view content, YAML::EventHandler* observer,
                      std::string* syntax_error) {
  if (content.size() > kMaxTaskBytes) {
    return Status::TooLarge("task is larger than 1 MiB");
  }
  // YAML allows no control character but tab, newline and carriage return; yaml-cpp takes a NUL
  // for the end of the text, and an escape sequence would reach every terminal that shows the
  // task or an error about it.
  int line = 1;
  for (unsigned char c : content) {
    if (c == '\n') ++line;
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      return Status::InvalidArgument("not valid YAML: line " + std::to_string(line) +
                                     ": a control character (" + hex + ")");
    }
  }
  std::istringstream in{std::string(content)};
  LimitsHandler handler(observer);
  try {
    YAML::Parser parser(in);
    // One document only: a second would be lost by every reader that takes the first, and
    // yaml-cpp 0.7 finds empty documents without end in some broken input (",\xa1").
    for (int documents = 0; parser.HandleNextDocument(handler);) {
      if (++documents > 1) {
        return Status::InvalidArgument(
            "a task is one YAML document, this file holds more (a line '---' starts another)");
      }
    }
  } catch (const LimitExceeded& e) {
    return Status::InvalidArgument(e.message);
  } catch (const YAML::DeepRecursion& e) {
    return Status::InvalidArgument(LineOf(e.mark) + "lists and maps nested more than " +
                                   std::to_string(kMaxTaskDepth) + " deep");
  } catch (const YAML::Exception& e) {
    // Not YAML: not a question of limits.
    if (syntax_error) *syntax_error = LineOf(e.mark) + e.msg;
    return Status::OK();
  }
  if (UnterminatedQuote(content, handler.last_quoted().pos)) {
    return Status::InvalidArgument("not valid YAML: " + LineOf(handler.last_quoted()) +
                                   "a quoted string is never closed");
  }
  return Status::OK();
}

Status CheckTaskLimits(std::string_view content) { return ReadTaskEvents(content, nullptr, nullptr); }

Status CheckEntryName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("an empty name");
  if (name.size() > kMaxNameBytes) return Status::InvalidArgument("a name longer than 255 bytes");
  if (name.front() == '.') {
    return Status::InvalidArgument("a name starting with '.' (hidden, or . .. .git)");
  }
  if (name.find('/') != std::string_view::npos) return Status::InvalidArgument("a name with '/'");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("a name with a control character");
  }
  if (!IsValidUtf8(name)) return Status::InvalidArgument("a name that is not valid UTF-8");
  if (EscapeForDisplay(name) != name) {
    return Status::InvalidArgument("a name with a control character");  // C1 (U+0080..U+009F)
  }
  return Status::OK();
}

Status CheckTreeEntry(std::string_view path, std::string_view name, uint32_t mode, uint64_t size) {
  const std::string shown = "'" + EscapeForDisplay(path) + "'";
  if (Status st = CheckEntryName(name); !st.ok()) {
    return Status::InvalidArgument("entry " + shown + ": " + st.message());
  }
  if (path.size() > kMaxPathBytes) {
    return Status::InvalidArgument("entry " + shown + ": a path longer than 4096 bytes");
  }
  switch (mode) {
    case kModeTree:
      return Status::OK();
    case kModeFile:
    case kModeExecutable:
      if (size > kMaxTaskBytes) {
        return Status::TooLarge("entry " + shown + ": a file of " + std::to_string(size) +
                                " bytes (the limit is 1 MiB)");
      }
      return Status::OK();
    case 0120000:
      return Status::InvalidArgument("entry " + shown + ": a symbolic link");
    case 0160000:
      return Status::InvalidArgument("entry " + shown + ": a submodule (gitlink)");
    default: {
      char octal[16];
      std::snprintf(octal, sizeof octal, "%06o", mode);
      return Status::InvalidArgument("entry " + shown + ": unknown file mode " + octal);
    }
  }
}

std::string EscapeForDisplay(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (size_t len = PrintableUtf8Length(text.substr(i)); len > 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(text[i]));
      out += hex;
      ++i;
    }
  }
  return out;
}

}  // namespace taskfs::storage
