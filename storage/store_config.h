// The store's git config and refs, read and written by name: values sync keeps in the
// repository's own config (remotes, the ssh key), and the remote-tracking refs it records.
// Each call opens its own repository handle. Thread-safe.
#pragma once

#include <string>

#include "storage/status.h"
#include "storage/store.h"

namespace taskfs::storage {

// A value of the store's git config; "" when unset.
std::string ConfigValue(const Store& store, const std::string& key);
Status SetConfigValue(const Store& store, const std::string& key, const std::string& value);
// The commit ref `ref` points to; "" if there is no such ref.
std::string RefTarget(const Store& store, const std::string& ref);
// Records `commit` as ref `ref` (a remote-tracking ref), whatever it was.
Status SetRef(const Store& store, const std::string& ref, const std::string& commit);

}  // namespace taskfs::storage
