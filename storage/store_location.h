// Where things live by default (XDG base directories).
//
// The default store is $XDG_DATA_HOME/taskfs/store (~/.local/share/taskfs/store); TASKFS_STORE
// overrides it, and every program's --store overrides both. Pure functions of the environment.
#pragma once

#include <string>

namespace taskfs::storage {

// --store if given, else $TASKFS_STORE, else the XDG default.
std::string ResolveStorePath(const std::string& flag_value);
std::string DefaultStorePath();
// $XDG_CONFIG_HOME, else ~/.config.
std::string ConfigDir();

}  // namespace taskfs::storage
