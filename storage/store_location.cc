#include "storage/store_location.h"

#include <cstdlib>

namespace taskfs::storage {

std::string DefaultStorePath() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/taskfs/store";
  }
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/taskfs/store";
}

std::string ConfigDir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return xdg;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config";
}

std::string ResolveStorePath(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("TASKFS_STORE"); env && *env) return env;
  return DefaultStorePath();
}

}  // namespace taskfs::storage
