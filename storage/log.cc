#include "storage/log.h"

#include <syslog.h>

#include <atomic>
#include <cstdio>

#include "storage/task_limits.h"

namespace taskfs {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<bool> g_syslog{false};
const char* g_name = "taskfs";
}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }

void SetLogName(const char* name) { g_name = name; }

void LogToSyslog(const char* ident) {
  openlog(ident, LOG_PID, LOG_USER);
  g_syslog = true;
}

void Log(LogLevel level, const std::string& message) {
  if (level < g_level.load()) return;
  static const char* kNames[] = {"debug", "info", "warning", "error"};
  static const int kPriorities[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
  const int i = static_cast<int>(level);
  // A message may quote a name or text a peer sent: one line, no escape sequences.
  const std::string shown = storage::EscapeForDisplay(message);
  if (g_syslog) {
    syslog(kPriorities[i], "%s", shown.c_str());
  } else {
    std::fprintf(stderr, "%s: %s: %s\n", g_name, kNames[i], shown.c_str());
  }
}

}  // namespace taskfs
