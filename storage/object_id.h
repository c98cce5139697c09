// ObjectId: the 20 raw bytes of a git object id, as snapshots keep them (no libgit2 type).
#pragma once

#include <array>

namespace taskfs::storage {

using ObjectId = std::array<unsigned char, 20>;

}  // namespace taskfs::storage
