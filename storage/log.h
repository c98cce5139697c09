// Logging with levels, to stderr or (for a daemonized mount) syslog. Thread-safe.
#pragma once

#include <string>

namespace taskfs {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetLogLevel(LogLevel level);
// The program name that starts each line on stderr (default "taskfs"); call before any thread.
void SetLogName(const char* name);
// After this, messages go to syslog under `ident` instead of stderr.
void LogToSyslog(const char* ident);
void Log(LogLevel level, const std::string& message);

inline void LogInfo(const std::string& m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(const std::string& m) { Log(LogLevel::kWarning, m); }
inline void LogError(const std::string& m) { Log(LogLevel::kError, m); }

}  // namespace taskfs
