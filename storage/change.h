// Change: one file's new bytes (or its removal), the unit a commit is made of.
#pragma once

#include <optional>
#include <string>

namespace taskfs::storage {

struct Change {
  std::string path;                    // relative path in the tree, e.g. "work/buy-milk.yaml"
  std::optional<std::string> content;  // nullopt removes the file

  bool operator==(const Change&) const = default;
};

}  // namespace taskfs::storage
