// How the taskfs command line prints times: local time, to the minute or second.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace taskfs::cli {

inline std::string FormatTime(int64_t t, const char* format = "%Y-%m-%d %H:%M") {
  char buf[64];
  std::time_t tt = static_cast<std::time_t>(t);
  std::strftime(buf, sizeof buf, format, std::localtime(&tt));
  return buf;
}

}  // namespace taskfs::cli
