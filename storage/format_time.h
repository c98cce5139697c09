// How taskfs shows times to people (command line, .taskfs/status): local time. Thread-safe
// (localtime_r).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace taskfs {

inline std::string FormatTime(int64_t t, const char* format = "%Y-%m-%d %H:%M") {
  char buf[64];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm local{};
  if (!localtime_r(&tt, &local)) return std::to_string(t);
  std::strftime(buf, sizeof buf, format, &local);
  return buf;
}

}  // namespace taskfs
