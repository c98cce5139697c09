// How taskfs shows times to people (command line, .taskfs/status): local time.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace taskfs {

inline std::string FormatTime(int64_t t, const char* format = "%Y-%m-%d %H:%M") {
  char buf[64];
  std::time_t tt = static_cast<std::time_t>(t);
  std::strftime(buf, sizeof buf, format, std::localtime(&tt));
  return buf;
}

}  // namespace taskfs
