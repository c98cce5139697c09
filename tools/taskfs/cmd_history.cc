// taskfs log NAME, taskfs show NAME[@~N].
#include <ctime>
#include <iostream>

#include "storage/format_time.h"
#include "storage/history.h"
#include "storage/store.h"
#include "storage/store_location.h"
#include "storage/task_limits.h"
#include "storage/task_name.h"
#include "tools/taskfs/commands.h"

namespace taskfs::cli {

int RunLog(const GlobalOptions& g, const std::string& name) {
  auto store = OpenCommittedStore(g);
  if (!store.ok()) {
    std::cerr << "taskfs log: " << store.status().message() << "\n";
    return 1;
  }
  auto history = storage::TaskHistory(**store, storage::TaskPathOf(name));
  if (!history.ok()) {
    std::cerr << "taskfs log: " << history.status().message() << "\n";
    return 1;
  }
  for (const auto& e : *history) {
    // Authors and names come from any machine's commits: printed escaped.
    std::cout << e.commit_id.substr(0, 12) << "  " << FormatTime(e.time) << "  "
              << storage::EscapeForDisplay(e.author) << "  " << e.action << " ";
    if (e.action == "rename") {
      std::cout << storage::EscapeForDisplay(storage::TaskNameOf(e.old_path)) << " -> ";
    }
    std::cout << storage::EscapeForDisplay(storage::TaskNameOf(e.path)) << "\n";
  }
  return 0;
}

int RunShow(const GlobalOptions& g, const std::string& spec) {
  std::string name = spec;
  size_t back = 0;
  if (size_t at = spec.rfind("@~"); at != std::string::npos) {
    name = spec.substr(0, at);
    const std::string digits = spec.substr(at + 2);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 9) {
      std::cerr << "taskfs show: '" << spec << "': expected NAME@~N with N a number\n";
      return 2;
    }
    back = std::stoul(digits);
  }
  auto store = OpenCommittedStore(g);
  if (!store.ok()) {
    std::cerr << "taskfs show: " << store.status().message() << "\n";
    return 1;
  }
  auto history = storage::TaskHistory(**store, storage::TaskPathOf(name), back + 1);
  if (!history.ok()) {
    std::cerr << "taskfs show: " << history.status().message() << "\n";
    return 1;
  }
  if (history->size() <= back) {
    std::cerr << "taskfs show: " << name << " has only " << history->size() << " change(s); @~"
              << back << " goes back further than its creation\n";
    return 1;
  }
  const auto& e = (*history)[back];
  if (!e.blob) {
    std::cerr << "taskfs show: " << name << " was deleted by that change ("
              << e.commit_id.substr(0, 12) << "); try @~" << back + 1 << "\n";
    return 1;
  }
  auto content = storage::TaskVersion(**store, e);
  if (!content.ok()) {
    std::cerr << "taskfs show: " << content.status().message() << "\n";
    return 1;
  }
  std::cout << *content;
  return 0;
}

}  // namespace taskfs::cli
