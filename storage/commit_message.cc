#include "storage/commit_message.h"

#include <git2.h>

#include <sstream>

#include "storage/git_handles.h"

namespace taskfs::storage {
namespace {

constexpr char kRenameTrailer[] = "Taskfs-Rename";
constexpr char kArrow[] = " -> ";

// "FROM -> TO" split at its arrow; nullopt-like empty `from` when there is none.
Rename SplitAtArrow(const std::string& text) {
  const size_t arrow = text.find(kArrow);
  if (arrow == std::string::npos) return {};
  return {text.substr(0, arrow), text.substr(arrow + sizeof(kArrow) - 1)};
}

// The first line of a message.
std::string SubjectOf(const std::string& message) { return message.substr(0, message.find('\n')); }

}  // namespace

std::string RenameMessage(const std::string& from, const std::string& to) {
  return WithRenameTrailers("rename " + from + kArrow + to, {{from, to}});
}

std::string WithRenameTrailers(std::string subject_and_body, const std::vector<Rename>& renames) {
  if (renames.empty()) return subject_and_body;
  while (subject_and_body.ends_with('\n')) subject_and_body.pop_back();
  subject_and_body += "\n\n";
  for (const Rename& r : renames) {
    subject_and_body += std::string(kRenameTrailer) + ": " + r.from + kArrow + r.to + "\n";
  }
  return subject_and_body;
}

std::vector<Rename> RenamesIn(const std::string& message) {
  std::vector<Rename> renames;
  EnsureLibgit2();
  TrailerArray trailers;
  if (git_message_trailers(trailers.get(), message.c_str()) == 0) {
    for (size_t i = 0; i < trailers->count; ++i) {
      if (std::string(trailers->trailers[i].key) != kRenameTrailer) continue;
      if (Rename r = SplitAtArrow(trailers->trailers[i].value); !r.from.empty()) {
        renames.push_back(std::move(r));
      }
    }
  }
  if (!renames.empty()) return renames;
  std::istringstream lines(message);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("rename ")) continue;
    if (Rename r = SplitAtArrow(line.substr(7)); !r.from.empty()) renames.push_back(std::move(r));
  }
  return renames;
}

std::string GroupMessage(const std::vector<std::string>& messages, size_t tasks) {
  if (messages.size() == 1) return messages.front();
  std::string verb, name;
  bool one_task = true;
  std::vector<Rename> renames;
  for (const std::string& m : messages) {
    const std::string subject = SubjectOf(m);
    const size_t space = subject.find(' ');
    const std::string v = subject.substr(0, space), n = subject.substr(space + 1);
    one_task = one_task && (v == "create" || v == "edit") && (name.empty() || name == n);
    name = n;
    verb = verb.empty() || verb == v ? v : "change";
    for (Rename& r : RenamesIn(m)) renames.push_back(std::move(r));
  }
  if (one_task) {
    return (messages.front().starts_with("create ") ? "create " : "edit ") + name;
  }
  if (verb != "edit" && verb != "create" && verb != "delete") verb = "change";
  std::string out = verb + " " + std::to_string(tasks) + " tasks\n\n";
  for (const std::string& m : messages) out += SubjectOf(m) + "\n";
  return WithRenameTrailers(std::move(out), renames);
}

}  // namespace taskfs::storage
